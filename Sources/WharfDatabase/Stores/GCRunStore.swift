import Foundation

/// Garbage collection runs: recorded as they start and end, listed newest first.
public struct GCRunStore: Store {
    let transaction: Transaction
    init(_ transaction: Transaction) { self.transaction = transaction }

    static let select = """
        SELECT id, started_at, finished_at, trigger_kind, requested_by, dry_run, untagged, min_age_seconds, status, host, \
        \(GCRunFigures.columns.joined(separator: ", ")), details, error FROM gc_runs
        """

    /// Records a run as `status` (``GCRun/Status/running`` for one that holds the lease, ``GCRun/Status/busy``
    /// for one refused, which is finished at once with `error` saying who holds it).
    @discardableResult
    public func start(_ run: NewGCRun, status: GCRun.Status = .running, error: String? = nil) throws -> GCRun {
        let started = Date(millisecondsSince1970: run.startedAt.millisecondsSince1970)
        let id = try transaction.insert(
            """
            INSERT INTO gc_runs (started_at, finished_at, trigger_kind, requested_by, dry_run, untagged, min_age_seconds, status, host, kept, \
            details, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '[]', '{}', ?)
            """,
            [
                started, status == .running ? nil : started, run.trigger, try Validation.name(run.requestedBy, "requester"), run.dryRun,
                run.untagged, run.minAgeSeconds, status, try Validation.name(run.host, "host"), try error.map { try Validation.text($0, "error") },
            ]
        )
        return try find(id: id)!
    }

    /// Records how a running run ended. False when there is no such run still running (a later run marked it
    /// abandoned meanwhile): the record is not overwritten.
    @discardableResult
    public func finish(
        id: Int64,
        status: GCRun.Status,
        figures: GCRunFigures,
        details: String = "{}",
        error: String? = nil,
        at time: Date = Date()
    ) throws -> Bool {
        let assignments = GCRunFigures.columns.map { "\($0) = ?" }.joined(separator: ", ")
        return try changed(
            "UPDATE gc_runs SET status = ?, finished_at = ?, \(assignments), details = ?, error = ? WHERE id = ? AND status = ?",
            [status, time] + (try figures.values())
                + [try Validation.text(details, "run details"), try error.map { try Validation.text($0, "error") }, id, GCRun.Status.running]
        )
    }

    /// Marks every run still `running` as failed with `reason`: called by the holder of a fresh lease, since a
    /// run only goes on while its replica holds the lease. Returns how many there were.
    @discardableResult
    public func abandonRunning(reason: String, at time: Date = Date()) throws -> Int {
        try transaction.execute(
            "UPDATE gc_runs SET status = ?, finished_at = ?, error = ? WHERE status = ?",
            [GCRun.Status.failed, time, try Validation.text(reason, "error"), GCRun.Status.running]
        ).affectedRows
    }

    public func find(id: Int64) throws -> GCRun? {
        try transaction.fetchOne("\(Self.select) WHERE id = ?", [id])
    }

    /// The latest runs, newest first; `before` pages back by id.
    public func list(limit: Int = 50, before: Int64? = nil) throws -> [GCRun] {
        if let before {
            return try transaction.fetch("\(Self.select) WHERE id < ? ORDER BY id DESC LIMIT \(pageSize(limit))", [before])
        }
        return try transaction.fetch("\(Self.select) ORDER BY id DESC LIMIT \(pageSize(limit))")
    }

    /// The latest run that is not a refusal, for the portal's schedule line.
    public func latestCompleted() throws -> GCRun? {
        try transaction.fetchOne("\(Self.select) WHERE status IN (?, ?) ORDER BY id DESC LIMIT 1", [GCRun.Status.ok, GCRun.Status.failed])
    }
}
