import Foundation

/// One garbage collection, as the portal, the API and `wharf gc` list it: who started it and how, what the mark
/// found, what the sweep removed, and how it ended. Written when the run starts (``Status/running``) and again when
/// it ends, so a run that never finished (its replica died) stays visible until a later run marks it abandoned.
public struct GCRun: Sendable, Equatable, RowDecodable {
    /// What started a run.
    public enum Trigger: String, Sendable, CaseIterable, SQLValueConvertible {
        /// `wharf gc`.
        case cli
        /// `gc.schedule` in `wharf serve`.
        case schedule
        /// An admin's button in the portal.
        case portal
        /// `POST /api/v1/gc/runs`.
        case api

        public var sqlValue: SQLValue { .text(rawValue) }
        public init?(sqlValue: SQLValue) { self.init(rawValue: String(sqlValue: sqlValue) ?? "") }
    }

    public enum Status: String, Sendable, CaseIterable, SQLValueConvertible {
        /// Holding the lease, collecting now.
        case running
        case ok
        /// It threw (``GCRun/error`` says why), or its replica stopped before it finished.
        case failed
        /// Refused: another run held the lease (``GCRun/error`` names it).
        case busy

        public var sqlValue: SQLValue { .text(rawValue) }
        public init?(sqlValue: SQLValue) { self.init(rawValue: String(sqlValue: sqlValue) ?? "") }
    }

    public var id: Int64
    public var startedAt: Date
    public var finishedAt: Date?
    public var trigger: Trigger
    /// The user who asked (`cli` for the command line, `schedule` for the timer).
    public var requestedBy: String
    public var dryRun: Bool
    public var untagged: Bool
    public var minAgeSeconds: Int64
    public var status: Status
    /// The replica that ran it (its host name).
    public var host: String
    public var figures: GCRunFigures
    /// JSON written by the runner (the removed manifests and the eligible blobs, capped); `{}` until it ends.
    public var details: String
    public var error: String?

    /// How long it ran (nil while running).
    public var duration: TimeInterval? { finishedAt.map { $0.timeIntervalSince(startedAt) } }

    init(row: SQLRow) throws {
        id = try row.decode("id")
        startedAt = try row.decode("started_at")
        finishedAt = try row.decode("finished_at")
        trigger = try row.decode("trigger_kind")
        requestedBy = try row.decode("requested_by")
        dryRun = try row.decode("dry_run")
        untagged = try row.decode("untagged")
        minAgeSeconds = try row.decode("min_age_seconds")
        status = try row.decode("status")
        host = try row.decode("host")
        figures = try GCRunFigures(row: row)
        details = try row.decode("details")
        error = try row.decode("error")
    }
}
