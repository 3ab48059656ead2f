import Foundation
import Logging
import ServiceLifecycle

/// Background service that removes upload sessions abandoned for longer than `maxAge`.
public struct UploadPurger: Service {
    let blobs: BlobStore
    let maxAge: Duration
    let interval: Duration
    let logger: Logger
    /// Told which sessions were removed, so they stop counting against their account.
    let quota: UploadQuota?

    public init(blobs: BlobStore, maxAge: Duration, interval: Duration, logger: Logger, quota: UploadQuota? = nil) {
        self.blobs = blobs
        self.maxAge = maxAge
        self.interval = interval
        self.logger = logger
        self.quota = quota
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
        guard let repositories = try? await walker.repositories(includeUploadsOnly: true) else { return 0 }
        let seconds = Double(maxAge.components.seconds) + Double(maxAge.components.attoseconds) / 1e18
        let removed = await blobs.purgeUploadSessions(startedBefore: now.addingTimeInterval(-seconds), repositories: repositories)
        quota?.close(removed)
        quota?.forgetExpired(now: now)
        if !removed.isEmpty { logger.info("purged abandoned uploads", metadata: ["count": "\(removed.count)"]) }
        return removed.count
    }
}
