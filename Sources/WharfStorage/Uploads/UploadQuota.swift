import Foundation
import Synchronization
import WharfCore

/// The cap on open upload sessions per account (`uploads.max_open_per_account`): each open session keeps a folder
/// and a file in storage until it is finished, so one account (or one address, without auth) could otherwise fill
/// the disk's inodes or the purger's work by starting sessions it never finishes.
///
/// A session counts from its start until it is committed, cancelled, purged, or older than `maxAge` (the purge age:
/// by then the purger removes it anyway). Consulted once when a session starts and once when it ends, never per
/// chunk, so a lock rather than an actor: the critical section is a dictionary update.
///
/// Kept in memory only: a restart forgets which sessions were open, so the sessions left from before a restart do
/// not count (they still end with the purge age). Replicas each count their own sessions.
public final class UploadQuota: Sendable {
    /// Open sessions allowed per account; 0 means no limit (and no bookkeeping).
    public let limit: Int
    /// Sessions older than this stop counting.
    public let maxAge: TimeInterval
    /// What a refused client is told to wait, in seconds (an upload elsewhere of the same account may finish by then).
    public static let retryAfterSeconds = 5

    private struct Table {
        /// account -> its open sessions and when each started (seconds since 1970).
        var byAccount: [String: [UploadID: TimeInterval]] = [:]
        /// session -> account, to release a session without knowing whose it was.
        var owners: [UploadID: String] = [:]
    }

    private let table = Mutex(Table())

    public init(limit: Int, maxAge: Duration) {
        self.limit = max(0, limit)
        self.maxAge = Double(maxAge.components.seconds) + Double(maxAge.components.attoseconds) / 1e18
    }

    /// Counts session `id` for `account`, or throws `tooManyUploads` (with `retryAfterSeconds`) when the account
    /// already has `limit` sessions open. Check and insert are one critical section, so concurrent starts cannot
    /// overshoot the limit.
    public func open(_ id: UploadID, account: String, now: Date = Date()) throws {
        guard limit > 0 else { return }
        let cutoff = now.timeIntervalSince1970 - maxAge
        let admitted = table.withLock { table -> Bool in
            var sessions = table.byAccount[account] ?? [:]
            if sessions.count >= limit {
                for (stale, started) in sessions where started < cutoff {
                    sessions[stale] = nil
                    table.owners[stale] = nil
                }
            }
            guard sessions.count < limit else {
                table.byAccount[account] = sessions
                return false
            }
            sessions[id] = now.timeIntervalSince1970
            table.byAccount[account] = sessions
            table.owners[id] = account
            return true
        }
        guard admitted else {
            throw ContentError(
                .tooManyUploads,
                "too many open uploads",
                detail: "\(limit) upload sessions are open for this account; finish or cancel one first (uploads.max_open_per_account)",
                retryAfterSeconds: Self.retryAfterSeconds
            )
        }
    }

    /// Stops counting a session (committed, cancelled or purged). Unknown ids are ignored: sessions from before a
    /// restart, or started by a monolithic upload that never counted.
    public func close(_ id: UploadID) {
        guard limit > 0 else { return }
        table.withLock { table in Self.remove(id, from: &table) }
    }

    /// Stops counting several sessions (those the purger removed).
    public func close(_ ids: some Sequence<UploadID>) {
        guard limit > 0 else { return }
        table.withLock { table in
            for id in ids { Self.remove(id, from: &table) }
        }
    }

    /// Drops every session older than `maxAge` (called by the purger's pass, so accounts that never come back do
    /// not keep entries).
    public func forgetExpired(now: Date = Date()) {
        guard limit > 0 else { return }
        let cutoff = now.timeIntervalSince1970 - maxAge
        table.withLock { table in
            for (account, sessions) in table.byAccount {
                let kept = sessions.filter { $0.value >= cutoff }
                guard kept.count != sessions.count else { continue }
                for id in sessions.keys where kept[id] == nil { table.owners[id] = nil }
                table.byAccount[account] = kept.isEmpty ? nil : kept
            }
        }
    }

    /// How many sessions count for `account` now.
    public func openCount(for account: String, now: Date = Date()) -> Int {
        let cutoff = now.timeIntervalSince1970 - maxAge
        return table.withLock { table in (table.byAccount[account] ?? [:]).values.filter { $0 >= cutoff }.count }
    }

    private static func remove(_ id: UploadID, from table: inout Table) {
        guard let account = table.owners.removeValue(forKey: id) else { return }
        table.byAccount[account]?[id] = nil
        if table.byAccount[account]?.isEmpty == true { table.byAccount[account] = nil }
    }
}
