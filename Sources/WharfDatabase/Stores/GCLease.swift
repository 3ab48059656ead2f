import Foundation

/// Who holds garbage collection's lease, and until when: a holder that stops renewing loses it at ``expiresAt``.
public struct GCLease: Sendable, Equatable, RowDecodable {
    /// The lease's name (one per kind of exclusive work; `gc` for garbage collection).
    public var name: String
    /// A token unique to the holding runner (a replica may run several over time).
    public var holder: String
    /// The holder's host name, for people.
    public var host: String
    /// The run it is collecting for, once recorded.
    public var runID: Int64?
    public var acquiredAt: Date
    public var renewedAt: Date
    public var expiresAt: Date

    /// Whether it still holds at `time`.
    public func isHeld(at time: Date) -> Bool { !holder.isEmpty && expiresAt > time }

    init(row: SQLRow) throws {
        name = try row.decode("name")
        holder = try row.decode("holder")
        host = try row.decode("host")
        runID = try row.decode("run_id")
        acquiredAt = try row.decode("acquired_at")
        renewedAt = try row.decode("renewed_at")
        expiresAt = try row.decode("expires_at")
    }
}
