import Foundation

/// The lease that makes garbage collection exclusive across replicas sharing the database.
///
/// A lease is one row per name. It is taken by one conditional `UPDATE` (free, expired, or already ours), which
/// both engines apply atomically: of two replicas racing, the second's `WHERE` no longer matches once the first
/// commits (SQLite serializes writers; InnoDB re-reads the locked row), so exactly one sees a changed row. The row
/// is written free by ``seed(_:)`` first, in a transaction of its own. A holder renews before
/// ``GCLease/expiresAt``; one that crashed stops renewing, and the lease is free again once it expires. Times are
/// passed in, so tests need no clock.
public struct GCLeaseStore: Store {
    let transaction: Transaction
    init(_ transaction: Transaction) { self.transaction = transaction }

    public static let garbageCollection = "gc"

    /// Writes lease `name`'s row, free, unless it is there: run it in a transaction of its own before the first
    /// ``acquire(_:holder:host:for:at:)``. On InnoDB, racing inserts of one key that then update it deadlock (each
    /// holds a shared lock the other's update waits for); a transaction that only inserts cannot.
    public func seed(_ name: String = garbageCollection) throws {
        do {
            try transaction.execute(
                "INSERT INTO gc_leases (name, holder, host, run_id, acquired_at, renewed_at, expires_at) VALUES (?, '', '', NULL, ?, ?, ?)",
                [
                    try Validation.name(name, "lease name"), Date(millisecondsSince1970: 0), Date(millisecondsSince1970: 0),
                    Date(millisecondsSince1970: 0),
                ]
            )
        } catch let error as DatabaseError where error.code == .conflict {
            // Already there.
        }
    }

    /// Takes lease `name` for `holder` until `time + duration` if it is free or expired (or `holder`'s already);
    /// returns whether it did. One statement: a conditional `UPDATE` of the seeded row (false when there is no row).
    public func acquire(
        _ name: String = garbageCollection,
        holder: String,
        host: String,
        for duration: TimeInterval,
        at time: Date = Date()
    ) throws -> Bool {
        try changed(
            """
            UPDATE gc_leases SET holder = ?, host = ?, run_id = NULL, acquired_at = ?, renewed_at = ?, expires_at = ? \
            WHERE name = ? AND (holder = '' OR expires_at <= ? OR holder = ?)
            """,
            [
                try Validation.name(holder, "lease holder"), try Validation.name(host, "host"), time, time, time.addingTimeInterval(duration), name,
                time, holder,
            ]
        )
    }

    /// Extends `holder`'s lease to `time + duration`; false when it is no longer theirs (it expired and another
    /// holder took it, or it was released).
    public func renew(
        _ name: String = garbageCollection,
        holder: String,
        for duration: TimeInterval,
        at time: Date = Date()
    ) throws -> Bool {
        try changed(
            "UPDATE gc_leases SET renewed_at = ?, expires_at = ? WHERE name = ? AND holder = ? AND holder <> ''",
            [time, time.addingTimeInterval(duration), name, holder]
        )
    }

    /// Notes which run `holder` is collecting for (shown to whoever is refused).
    @discardableResult
    public func attach(_ name: String = garbageCollection, holder: String, runID: Int64) throws -> Bool {
        try changed("UPDATE gc_leases SET run_id = ? WHERE name = ? AND holder = ? AND holder <> ''", [runID, name, holder])
    }

    /// Frees `holder`'s lease at once; false when it was not theirs any more.
    @discardableResult
    public func release(_ name: String = garbageCollection, holder: String) throws -> Bool {
        try changed(
            "UPDATE gc_leases SET holder = '', host = '', run_id = NULL, expires_at = ? WHERE name = ? AND holder = ? AND holder <> ''",
            [Date(millisecondsSince1970: 0), name, holder]
        )
    }

    /// The lease as stored (held or not: see ``GCLease/isHeld(at:)``); nil before anyone took it.
    public func find(_ name: String = garbageCollection) throws -> GCLease? {
        try transaction.fetchOne(
            "SELECT name, holder, host, run_id, acquired_at, renewed_at, expires_at FROM gc_leases WHERE name = ?",
            [name]
        )
    }

    /// The lease when someone holds it at `time`.
    public func holder(_ name: String = garbageCollection, at time: Date = Date()) throws -> GCLease? {
        try find(name).flatMap { $0.isHeld(at: time) ? $0 : nil }
    }
}
