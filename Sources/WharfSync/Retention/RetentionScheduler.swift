import Foundation
import Logging
import ServiceLifecycle

/// `retention.schedule`: applies every retention policy every `interval` in `wharf serve` (off by default: an
/// operator turns automatic deletion on knowingly). Several replicas may each run it: a run is idempotent and a
/// removal another replica made first counts as already gone. The first run waits one interval, so a restart
/// loop never deletes more often than configured.
public struct RetentionScheduler: Service {
    let service: RetentionService
    let interval: Duration
    let logger: Logger

    public init(service: RetentionService, interval: Duration, logger: Logger) {
        self.service = service
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            guard !Task.isShuttingDownGracefully, !Task.isCancelled else { return }
            await runOnce()
        }
    }

    /// One run of every policy; a failure (the database away) is logged and the next interval tries again.
    @discardableResult
    public func runOnce(now: Date = Date()) async -> RetentionReport? {
        do {
            let report = try await service.run(dryRun: false, now: now)
            logger.info(
                "retention run",
                metadata: [
                    "repositories": "\(report.repositories)", "removed": "\(report.removals.count)",
                    "already_gone": "\(report.alreadyGone)", "skipped": "\(report.skipped.count)",
                ]
            )
            return report
        } catch {
            logger.warning("retention run failed: \(error)")
            return nil
        }
    }
}
