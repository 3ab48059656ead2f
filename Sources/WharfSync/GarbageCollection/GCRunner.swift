import Foundation
import Logging
import WharfCore
import WharfDatabase
import WharfStorage

/// Runs garbage collection the one way every surface does (`wharf gc`, the schedule in `wharf serve`, the portal,
/// the API): under the database's lease, recorded as a run, with what it removed told to the catalogue mirror,
/// the activity log, webhooks and the event bus.
///
/// The lease makes a collection exclusive across replicas sharing the database: a run takes it (or is refused,
/// naming who holds it since when), renews it every ``renewInterval`` while the mark and the sweep go on, and
/// releases it at the end. A replica that dies stops renewing, so after ``leaseDuration`` another may collect;
/// the run it left `running` is then marked failed.
public struct GCRunner: Sendable {
    public let pool: DatabasePool
    public let collector: GarbageCollector
    public let catalog: CatalogMirror
    public let events: EventBus
    /// This replica, as runs and the lease name it.
    public let host: String
    public let leaseDuration: TimeInterval
    public let renewInterval: Duration
    let logger: Logger

    /// Who removed what, in activities and webhook events.
    public static let actorName = "garbage-collector"

    public init(
        catalog: CatalogMirror,
        events: EventBus,
        host: String = ProcessInfo.processInfo.hostName,
        leaseDuration: TimeInterval = 120,
        renewInterval: Duration = .seconds(30),
        logger: Logger = Logger(label: "wharf.gc")
    ) {
        self.pool = catalog.pool
        self.collector = GarbageCollector(driver: catalog.driver)
        self.catalog = catalog
        self.events = events
        self.host = String(host.prefix(255))
        self.leaseDuration = leaseDuration
        self.renewInterval = renewInterval
        self.logger = logger
    }

    /// Begins and completes a run in the caller's task.
    public func run(_ request: GCRunRequest) async throws -> GCRunOutcome {
        await collect(try await begin(request))
    }

    /// Takes the lease and records the run as running; throws ``GCRunError/Code/busy`` (after recording the
    /// refusal) when another run holds the lease. The caller must then call ``collect(_:)``, which releases it.
    public func begin(_ request: GCRunRequest) async throws -> GCStartedRun {
        let holder = UUID().uuidString.lowercased()
        let new = NewGCRun(
            trigger: request.trigger,
            requestedBy: request.requestedBy,
            dryRun: request.dryRun,
            untagged: request.untagged,
            minAgeSeconds: Int64(request.minAge.rounded()),
            host: host,
            startedAt: Date()
        )
        let host = self.host
        let duration = leaseDuration
        try await pool.write { try $0.gcLeases.seed() }
        let started: Result<GCRun, GCRunError> = try await pool.write { transaction in
            // The run starts when it has the lease (a writer may have waited for the database before).
            let time = Date()
            var new = new
            new.startedAt = time
            guard try transaction.gcLeases.acquire(holder: holder, host: host, for: duration, at: time) else {
                let lease = try transaction.gcLeases.holder(at: time)
                let message = Self.busyMessage(lease)
                let refused = try transaction.gcRuns.start(new, status: .busy, error: message)
                return .failure(GCRunError(.busy, message, runID: refused.id))
            }
            // Only a lease holder runs: anything still marked running was left by a replica that stopped.
            try transaction.gcRuns.abandonRunning(reason: "abandoned: its replica stopped before it finished (the lease expired)", at: time)
            let run = try transaction.gcRuns.start(new)
            try transaction.gcLeases.attach(holder: holder, runID: run.id)
            return .success(run)
        }
        let run = try started.get()
        logger.info(
            "garbage collection started",
            metadata: ["run": "\(run.id)", "trigger": "\(request.trigger.rawValue)", "dry_run": "\(request.dryRun)"]
        )
        return GCStartedRun(run: run, request: request, holder: holder)
    }

    /// `garbage collection is already running: run 12 on node-b, since 2026-12-01 06:10:00 UTC`.
    static func busyMessage(_ lease: GCLease?) -> String {
        guard let lease else { return "garbage collection is already running" }
        let run = lease.runID.map { "run \($0) " } ?? ""
        return
            "garbage collection is already running: \(run)on \(lease.host.isEmpty ? "another replica" : lease.host), since \(Self.format(lease.acquiredAt))"
    }

    static func format(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss 'UTC'"
        return formatter.string(from: date)
    }

    /// Runs the mark (and the sweep unless a dry run) for a begun run while renewing its lease, records how it
    /// ended, tells everyone about the manifests it removed, and releases the lease. Never throws: a failure is
    /// a run recorded as failed (``GCRun/error`` says why).
    public func collect(_ started: GCStartedRun) async -> GCRunOutcome {
        let request = started.request
        let result: Result<GCReport, any Error> = await withTaskGroup(of: Result<GCReport, any Error>?.self) { group in
            group.addTask { await renewLease(holder: started.holder) }
            group.addTask { [collector] in
                do {
                    return .success(
                        try await collector.run(
                            GCOptions(untagged: request.untagged, minAge: request.minAge),
                            dryRun: request.dryRun,
                            listKept: request.listKept
                        )
                    )
                } catch {
                    return .failure(error)
                }
            }
            var outcome: Result<GCReport, any Error> = .failure(CancellationError())
            for await value in group {
                if let value {
                    outcome = value
                    group.cancelAll()
                }
            }
            return outcome
        }
        let report = try? result.get()
        // What the sweep removed is gone from storage whatever the database says next: the mirror and webhooks
        // hear of it before the run is recorded.
        if let report, !report.dryRun {
            await announce(report.removedManifests, run: started.run)
        }
        var failure: String?
        if case .failure(let error) = result {
            failure = String(describing: error)
            logger.error("garbage collection failed", metadata: ["run": "\(started.run.id)", "error": "\(error)"])
        }
        let status: GCRun.Status = failure == nil ? .ok : .failed
        let errorText = failure
        let figures = report.map(Self.figures) ?? GCRunFigures()
        let details = report.map { GCRunDetails(report: $0).json } ?? "{}"
        let id = started.run.id
        let holder = started.holder
        let recorded = try? await pool.write { transaction -> GCRun? in
            try transaction.gcRuns.finish(id: id, status: status, figures: figures, details: details, error: errorText)
            if let report, !report.dryRun {
                try Self.recordActivity(started, report: report, in: transaction)
            }
            try transaction.gcLeases.release(holder: holder)
            return try transaction.gcRuns.find(id: id)
        }
        if recorded == nil { _ = try? await pool.write { try $0.gcLeases.release(holder: holder) } }
        var run = (recorded ?? nil) ?? started.run
        if recorded == nil {
            // The database is away: the run's own record says running until a later holder marks it abandoned,
            // and the lease expires on its own.
            run.status = status
            run.error = errorText
            run.figures = figures
        }
        logger.info(
            "garbage collection ended",
            metadata: [
                "run": "\(id)", "status": "\(status.rawValue)", "reclaimed_blobs": "\(figures.reclaimedBlobs)",
                "reclaimed_bytes": "\(figures.reclaimedBytes)",
            ]
        )
        return GCRunOutcome(run: run, report: report)
    }

    /// Renews the lease every ``renewInterval`` until cancelled; returns nil (the group waits for the collection).
    private func renewLease(holder: String) async -> Result<GCReport, any Error>? {
        let duration = leaseDuration
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: renewInterval)
            } catch {
                return nil
            }
            do {
                let kept = try await pool.write { try $0.gcLeases.renew(holder: holder, for: duration) }
                if !kept { logger.error("garbage collection lost its lease (it expired): another replica may collect meanwhile") }
            } catch {
                logger.warning("garbage collection could not renew its lease", metadata: ["error": "\(error)"])
            }
        }
        return nil
    }

    /// Each unlinked manifest: its catalogue rows go, with a `repository.delete` activity and webhook deliveries
    /// by the garbage collector, and the event is published.
    func announce(_ manifests: [GCManifest], run: GCRun) async {
        for manifest in manifests {
            let event = RegistryEvent(
                action: .delete,
                target: RegistryEvent.Target(repository: manifest.repository, digest: manifest.digest.description, size: manifest.bytes),
                request: RegistryEvent.Request(host: host, method: "GC", userAgent: "wharf-gc/run-\(run.id)"),
                actor: RegistryEvent.Actor(name: Self.actorName)
            )
            var deleted = event
            deleted.webhooksQueued = await catalog.recordDelete(event)
            events.publish(deleted)
        }
    }

    static func recordActivity(_ started: GCStartedRun, report: GCReport, in transaction: Transaction) throws {
        let details: [String: Any] = [
            "run_id": started.run.id, "trigger": started.request.trigger.rawValue, "requested_by": started.request.requestedBy,
            "reclaimed_blobs": report.reclaimedBlobs, "reclaimed_bytes": report.reclaimedBytes, "removed_manifests": report.removedManifests.count,
            "rescued_blobs": report.rescuedBlobs,
        ]
        let data = (try? JSONSerialization.data(withJSONObject: details, options: [.sortedKeys])) ?? Data("{}".utf8)
        try transaction.activities.record(
            NewActivity(
                actorID: nil,
                actorName: actorName,
                action: ActivityAction.gcRun.rawValue,
                targetKind: "gc_run",
                targetID: started.run.id,
                targetName: "garbage collection \(started.run.id)",
                details: String(decoding: data, as: UTF8.self)
            )
        )
    }

    /// The report's numbers as a run stores them.
    static func figures(_ report: GCReport) -> GCRunFigures {
        var figures = GCRunFigures()
        figures.blobs = report.blobs
        figures.bytes = report.bytes
        figures.eligibleBlobs = report.eligibleBlobs
        figures.eligibleBytes = report.eligibleBytes
        figures.keptBlobs = report.keptBlobs
        figures.keptBytes = report.keptBytes
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        figures.kept = (try? encoder.encode(report.kept)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
        figures.reclaimedBlobs = report.reclaimedBlobs
        figures.reclaimedBytes = report.reclaimedBytes
        figures.removedLayerLinks = report.removedLayerLinks
        figures.removedManifests = report.removedManifests.count
        figures.rescuedBlobs = report.rescuedBlobs
        figures.missingBlobs = report.missing
        figures.repositories = report.repositories
        figures.manifests = report.manifests
        figures.untaggedManifests = report.untaggedManifests.count
        figures.durationMilliseconds = Int64((report.seconds * 1000).rounded())
        return figures
    }
}
