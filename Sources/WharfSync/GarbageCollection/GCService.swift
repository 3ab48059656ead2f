import Foundation
import Logging
import ServiceLifecycle
import WharfDatabase

/// Garbage collection in `wharf serve`: a run every `gc.schedule` (none when it is off), and runs an admin starts
/// from the portal or the API. Every run goes through ``GCRunner`` in a task of its own, so a collection never
/// holds up a request; the lease keeps it to one at a time across replicas. Shutdown waits for a run in progress
/// (it releases its lease and records its end).
public actor GCService: Service {
    public nonisolated let runner: GCRunner
    /// `gc.schedule`; nil: no scheduled runs.
    public nonisolated let schedule: Duration?
    /// `gc.untagged` for scheduled runs.
    public nonisolated let untagged: Bool
    /// `gc.min_age`, in seconds.
    public nonisolated let minAge: Double
    let logger: Logger
    private var inFlight: [Int64: Task<GCRunOutcome, Never>] = [:]
    /// When the next scheduled run is due (nil when none is scheduled, or before the service runs).
    public private(set) var nextScheduledRun: Date?

    public init(runner: GCRunner, schedule: Duration?, untagged: Bool, minAge: Double, logger: Logger = Logger(label: "wharf.gc")) {
        self.runner = runner
        self.schedule = schedule
        self.untagged = untagged
        self.minAge = minAge
        self.logger = logger
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.loop() }
            try? await gracefulShutdown()
            group.cancelAll()
        }
        for task in inFlight.values { _ = await task.value }
    }

    /// The first scheduled run is one interval after start-up, not at it: restarting replicas would collect
    /// every time otherwise.
    private func loop() async {
        guard let schedule else { return }
        while !Task.isCancelled {
            nextScheduledRun = Date().addingTimeInterval(Double(schedule.components.seconds))
            do {
                try await Task.sleep(for: schedule)
            } catch {
                return
            }
            guard runner.pool.health.isReady else { continue }
            let request = GCRunRequest(trigger: .schedule, requestedBy: "schedule", dryRun: false, untagged: untagged, minAge: minAge)
            do {
                _ = await wait(for: try await start(request))
            } catch let error as GCRunError where error.code == .busy {
                logger.info("scheduled garbage collection skipped", metadata: ["reason": "\(error.message)"])
            } catch {
                logger.warning("scheduled garbage collection could not start", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Takes the lease and records the run, then collects in the background; returns the run as recorded
    /// (running). Throws ``GCRunError/Code/busy`` when another run holds the lease.
    public func start(_ request: GCRunRequest) async throws -> GCRun {
        let started = try await runner.begin(request)
        let runner = self.runner
        let id = started.run.id
        inFlight[id] = Task {
            let outcome = await runner.collect(started)
            self.finished(id)
            return outcome
        }
        return started.run
    }

    /// The outcome of a run this service started, once it ends; nil for one it does not know (already done).
    public func wait(for run: GCRun) async -> GCRunOutcome? {
        await inFlight[run.id]?.value
    }

    private func finished(_ id: Int64) {
        inFlight[id] = nil
    }
}
