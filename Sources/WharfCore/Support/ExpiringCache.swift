import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A small map whose entries live for a fixed time: the registry's memory of recent authorisation answers (a
/// verified Basic login, an account's status, granted actions), so one push does not ask the database or bcrypt
/// for every chunk. A lock, not an actor: lookups are a few hundred nanoseconds and never wait for I/O.
///
/// Bounded: when full, expired entries are dropped, and if that is not enough the whole map is emptied (the
/// answers are recomputed on demand, so forgetting is always safe).
///
/// Time is read from a coarse monotonic clock (Linux's `CLOCK_MONOTONIC_COARSE`: 12 ns a read against 45 ns for
/// `ContinuousClock.now`, measured; a few milliseconds of resolution, nothing next to lifetimes of a second or
/// more). Every registry request makes several lookups, among them the token check.
public final class ExpiringCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct Entry {
        var value: Value
        /// ``ExpiringCache/ticks()`` at which the entry expires.
        var expires: Int64
    }

    private let entries = Mutex<[Key: Entry]>([:])
    public let lifetime: Duration
    public let limit: Int
    private let lifetimeTicks: Int64

    public init(lifetime: Duration, limit: Int = 10_000) {
        self.lifetime = lifetime
        self.limit = limit
        // At most about 136 years, so that adding it to a reading cannot overflow.
        let seconds = min(max(lifetime.components.seconds, 0), 1 << 32)
        lifetimeTicks = seconds * 1_000_000_000 + (seconds < 1 << 32 ? lifetime.components.attoseconds / 1_000_000_000 : 0)
    }

    /// Nanoseconds on a monotonic clock from an arbitrary origin.
    static func ticks() -> Int64 {
        #if canImport(Glibc) || canImport(Musl)
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC_COARSE, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
        #else
        let elapsed = ContinuousClock.now - origin
        return elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
        #endif
    }

    #if !(canImport(Glibc) || canImport(Musl))
    private static let origin = ContinuousClock.now
    #endif

    public func value(for key: Key) -> Value? {
        let now = Self.ticks()
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
        let now = Self.ticks()
        entries.withLock { entries in
            if entries.count >= limit, entries[key] == nil {
                entries = entries.filter { $0.value.expires > now }
                if entries.count >= limit { entries.removeAll(keepingCapacity: true) }
            }
            entries[key] = Entry(value: value, expires: now + lifetimeTicks)
        }
    }

    /// Entries held, expired ones not yet dropped included (for tests and metrics).
    public var count: Int { entries.withLock { $0.count } }

    public func removeAll() {
        entries.withLock { $0.removeAll() }
    }
}
