import Foundation
import Logging
import ServiceLifecycle
import WharfDatabase
import WharfStorage

/// Keeps the catalogue mirror in step with storage: a pass at start-up (in the background: the server answers at
/// once and `/v2/_catalog` walks storage until the first pass completes), then every `sync.interval`, and when
/// asked (``syncNow()``). Passes never overlap; one that fails (storage or database error) is logged and changes
/// nothing, and the next one tries again.
public actor SyncScheduler: Service {
    let pass: SyncPass
    let state: CatalogState
    let interval: Duration
    let logger: Logger
    private var running: Task<SyncReport, any Error>?
    private let wake: AsyncStream<Void>
    private let wakeContinuation: AsyncStream<Void>.Continuation
    /// The last pass's outcome, for an admin page and the logs.
    public private(set) var lastReport: SyncReport?
    public private(set) var lastError: String?

    public init(mirror: CatalogMirror, interval: Duration = .seconds(15), logger: Logger = Logger(label: "wharf.sync")) {
        self.pass = SyncPass(pool: mirror.pool, driver: mirror.driver, logger: logger)
        self.state = mirror.state
        self.interval = interval
        self.logger = logger
        (wake, wakeContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.loop() }
            try? await gracefulShutdown()
            group.cancelAll()
        }
    }

    private func loop() async {
        // The database is migrated by its own service at start-up; a pass before that would only fail.
        while !pass.pool.health.isReady, !Task.isCancelled { try? await Task.sleep(for: .milliseconds(50)) }
        while !Task.isCancelled {
            _ = try? await syncNow()
            // Sleep for the interval, or less when a pass is asked for.
            await withTaskGroup(of: Void.self) { group in
                group.addTask { [interval] in try? await Task.sleep(for: interval) }
                group.addTask { [wake] in
                    var iterator = wake.makeAsyncIterator()
                    _ = await iterator.next()
                }
                _ = await group.next()
                group.cancelAll()
            }
        }
    }

    /// Asks for a pass soon, without waiting for it.
    public nonisolated func requestPass() {
        wakeContinuation.yield()
    }

    /// Runs a pass now (after the one running, if any) and returns what it did.
    @discardableResult
    public func syncNow() async throws -> SyncReport {
        while let current = running { _ = try? await current.value }
        let token = state.passStarting()
        let task = Task { [pass] in try await pass.run() }
        running = task
        defer { running = nil }
        do {
            let report = try await task.value
            state.passCompleted(token)
            lastReport = report
            lastError = nil
            if report.changed {
                logger.info(
                    "catalogue synced with storage",
                    metadata: [
                        "repositories": "\(report.repositories)", "tags": "\(report.tags)", "repositories_added": "\(report.repositoriesAdded)",
                        "repositories_removed": "\(report.repositoriesRemoved)", "tags_written": "\(report.tagsWritten)",
                        "tags_removed": "\(report.tagsRemoved)", "duration": "\(report.duration)",
                    ]
                )
            }
            return report
        } catch {
            lastError = "\(error)"
            logger.error("catalogue sync pass failed; the catalogue is kept as it was", metadata: ["error": "\(error)"])
            throw error
        }
    }
}
