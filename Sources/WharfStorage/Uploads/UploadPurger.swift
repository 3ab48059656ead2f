import Foundation
import Logging
import ServiceLifecycle

/// Background service that removes upload sessions abandoned for longer than `maxAge`.
public struct UploadPurger: Service {
    let blobs: BlobStore
    let maxAge: Duration
    let interval: Duration
    let logger: Logger

    public init(blobs: BlobStore, maxAge: Duration, interval: Duration, logger: Logger) {
        self.blobs = blobs
        self.maxAge = maxAge
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await purgeOnce()
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// One pass; returns how many sessions were removed.
    @discardableResult
    public func purgeOnce(now: Date = Date()) async -> Int {
        let walker = RepositoryWalker(driver: blobs.driver)
        guard let repositories = try? walker.repositories(includeUploadsOnly: true) else { return 0 }
        let seconds = Double(maxAge.components.seconds) + Double(maxAge.components.attoseconds) / 1e18
        let removed = await blobs.purgeUploads(startedBefore: now.addingTimeInterval(-seconds), repositories: repositories)
        if removed > 0 { logger.info("purged abandoned uploads", metadata: ["count": "\(removed)"]) }
        return removed
    }
}
