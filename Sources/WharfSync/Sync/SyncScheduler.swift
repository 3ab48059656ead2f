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
    /// The last pass's outcome, for an admin page and the logs.
    public private(set) var lastReport: SyncReport?
    public private(set) var lastError: String?
    /// Passes completed since start (the start-up one included).
    public private(set) var completedPasses = 0

    public init(mirror: CatalogMirror, interval: Duration = .seconds(15), logger: Logger = Logger(label: "wharf.sync")) {
        self.pass = SyncPass(pool: mirror.pool, driver: mirror.driver, logger: logger)
        self.state = mirror.state
        self.interval = interval
        self.logger = logger
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
            // A pass asked for meanwhile (`syncNow`) runs in its caller's task; shutdown cancels this sleep.
            try? await Task.sleep(for: interval)
        }
    }

    /// Runs a pass now (after the one running, if any) and returns what it did.
    @discardableResult
    public func syncNow() async throws -> SyncReport {
        // Each pass waits for the one before it, so passes never overlap, whoever asks.
        let previous = running
        let task = Task { [pass, state] in
            _ = try? await previous?.value
            let token = state.passStarting()
            let report = try await pass.run()
            state.passCompleted(token)
            return report
        }
        running = task
        do {
            let report = try await task.value
            lastReport = report
            lastError = nil
            completedPasses += 1
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
