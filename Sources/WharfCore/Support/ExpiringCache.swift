import Foundation
import Synchronization

/// A small map whose entries live for a fixed time: the registry's memory of recent authorisation answers (a
/// verified Basic login, an account's status, granted actions), so one push does not ask the database or bcrypt
/// for every chunk. A lock, not an actor: lookups are a few hundred nanoseconds and never wait for I/O.
///
/// Bounded: when full, expired entries are dropped, and if that is not enough the whole map is emptied (the
/// answers are recomputed on demand, so forgetting is always safe).
public final class ExpiringCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct Entry {
        var value: Value
        var expires: ContinuousClock.Instant
    }

    private let entries = Mutex<[Key: Entry]>([:])
    public let lifetime: Duration
    public let limit: Int

    public init(lifetime: Duration, limit: Int = 10_000) {
        self.lifetime = lifetime
        self.limit = limit
    }

    public func value(for key: Key) -> Value? {
        let now = ContinuousClock.now
        return entries.withLock { entries in
            guard let entry = entries[key] else { return nil }
            guard entry.expires > now else {
                entries[key] = nil
                return nil
            }
            return entry.value
        }
    }

    public func set(_ value: Value, for key: Key) {
        let now = ContinuousClock.now
        entries.withLock { entries in
            if entries.count >= limit, entries[key] == nil {
                entries = entries.filter { $0.value.expires > now }
                if entries.count >= limit { entries.removeAll(keepingCapacity: true) }
            }
            entries[key] = Entry(value: value, expires: now + lifetime)
        }
    }

    /// Entries held, expired ones not yet dropped included (for tests and metrics).
    public var count: Int { entries.withLock { $0.count } }

    public func removeAll() {
        entries.withLock { $0.removeAll() }
    }
}
