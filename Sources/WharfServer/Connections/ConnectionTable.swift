import Synchronization

/// Every open connection of one server, so that at the cap (`http.max_connections`) the longest-idle one can be
/// closed to admit a new one: a legitimate client is still served while idle or half-open connections hold
/// the file descriptors.
///
/// A lock rather than an actor: it is touched on accept and twice per request (busy, idle), never per read, and
/// each touch is a dictionary update of well under a microsecond that must not suspend the event loop.
/// Idle connections form a list ordered by when they became idle (a linked list through the dictionary), so
/// finding the longest-idle one is O(1) however many connections are open.
final class ConnectionTable: Sendable {
    /// What ``admit(evict:)`` decided.
    struct Admission {
        /// The new connection's id, for ``markBusy(_:)``, ``markIdle(_:)`` and ``remove(_:)``; nil when refused.
        var id: UInt64?
        /// Closes the connection chosen to make room (call it outside any lock); nil when there was room.
        var victim: (@Sendable () -> Void)?
        /// True for the first admission at the cap in a while, so the caller warns once rather than per connection.
        var shouldWarn: Bool
    }

    private struct Entry {
        var evict: @Sendable () -> Void
        /// In the idle list; false while busy and once chosen for eviction.
        var isIdle: Bool
        var evicting = false
        var older: UInt64?
        var newer: UInt64?
    }

    private struct State {
        var entries: [UInt64: Entry] = [:]
        var oldestIdle: UInt64?
        var newestIdle: UInt64?
        var nextID: UInt64 = 1
        var lastWarning: ContinuousClock.Instant?

        mutating func unlink(_ id: UInt64) {
            guard let entry = entries[id], entry.isIdle else { return }
            if let older = entry.older { entries[older]?.newer = entry.newer } else { oldestIdle = entry.newer }
            if let newer = entry.newer { entries[newer]?.older = entry.older } else { newestIdle = entry.older }
            entries[id]?.isIdle = false
            entries[id]?.older = nil
            entries[id]?.newer = nil
        }

        mutating func appendIdle(_ id: UInt64) {
            guard let entry = entries[id], !entry.isIdle, !entry.evicting else { return }
            entries[id]?.isIdle = true
            entries[id]?.older = newestIdle
            entries[id]?.newer = nil
            if let newest = newestIdle { entries[newest]?.newer = id } else { oldestIdle = id }
            newestIdle = id
        }
    }

    /// Connections allowed at once.
    let capacity: Int
    /// How often the cap is worth a warning in the log.
    let warningInterval: Duration
    private let state = Mutex(State())

    init(capacity: Int, warningInterval: Duration = .seconds(60)) {
        self.capacity = max(1, capacity)
        self.warningInterval = warningInterval
    }

    /// Open connections, counting those chosen for eviction until they are closed.
    var count: Int { state.withLock { $0.entries.count } }

    /// Registers a new connection (idle until ``markBusy(_:)``). At the cap, the longest-idle other connection is
    /// chosen to be closed; when every connection is busy the new one is refused instead, since each busy one is
    /// a request the server has accepted and is working on.
    func admit(evict: @escaping @Sendable () -> Void) -> Admission {
        let now = ContinuousClock.now
        return state.withLock { state in
            var victim: (@Sendable () -> Void)?
            var shouldWarn = false
            if state.entries.count >= capacity {
                if let last = state.lastWarning, now - last < warningInterval {
                    shouldWarn = false
                } else {
                    state.lastWarning = now
                    shouldWarn = true
                }
                guard let oldest = state.oldestIdle, let entry = state.entries[oldest] else {
                    return Admission(id: nil, victim: nil, shouldWarn: shouldWarn)
                }
                state.unlink(oldest)
                state.entries[oldest]?.evicting = true
                victim = entry.evict
            }
            let id = state.nextID
            state.nextID += 1
            state.entries[id] = Entry(evict: evict, isIdle: false)
            state.appendIdle(id)
            return Admission(id: id, victim: victim, shouldWarn: shouldWarn)
        }
    }

    /// The connection has a request in flight (HTTP/2: an open stream): never chosen for eviction.
    func markBusy(_ id: UInt64) {
        state.withLock { $0.unlink(id) }
    }

    /// The connection has nothing in flight: it becomes the newest idle connection.
    func markIdle(_ id: UInt64) {
        state.withLock { $0.appendIdle(id) }
    }

    /// The connection is closed.
    func remove(_ id: UInt64) {
        state.withLock { state in
            state.unlink(id)
            state.entries[id] = nil
        }
    }
}
