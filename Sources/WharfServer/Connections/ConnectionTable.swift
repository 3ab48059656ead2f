import Synchronization

/// Every open connection of one server, so that at the cap (`http.max_connections`) the longest-idle one can be
/// closed to admit a new one: a legitimate client is still served while idle or half-open connections hold
/// the file descriptors.
///
/// A lock rather than an actor: it is touched on accept and twice per request (busy, idle), never per read, and
/// each touch is a few array writes that must not suspend the event loop (measured in `ConnectionTableTests`).
/// Connections live in reusable slots; the idle ones also form a list through the slots, ordered by when they
/// became idle, so the longest-idle connection is found in O(1) however many are open.
final class ConnectionTable: Sendable {
    /// What ``admit(evict:)`` decided.
    struct Admission {
        /// The new connection's id, for ``markBusy(_:)``, ``markIdle(_:)`` and ``remove(_:)``; nil when refused.
        var id: Int?
        /// Closes the connection chosen to make room (call it outside any lock); nil when there was room.
        var victim: (@Sendable () -> Void)?
        /// True for the first admission at the cap in a while, so the caller warns once rather than per connection.
        var shouldWarn: Bool
    }

    private struct Slot {
        var evict: (@Sendable () -> Void)?
        /// In the idle list; false while busy and once chosen for eviction.
        var isIdle = false
        var evicting = false
        var older = -1
        var newer = -1
    }

    private struct State {
        var slots: [Slot] = []
        var freeSlots: [Int] = []
        var count = 0
        var oldestIdle = -1
        var newestIdle = -1
        var lastWarning: ContinuousClock.Instant?

        mutating func unlink(_ id: Int) {
            guard slots.indices.contains(id), slots[id].isIdle else { return }
            let older = slots[id].older
            let newer = slots[id].newer
            if older >= 0 { slots[older].newer = newer } else { oldestIdle = newer }
            if newer >= 0 { slots[newer].older = older } else { newestIdle = older }
            slots[id].isIdle = false
            slots[id].older = -1
            slots[id].newer = -1
        }

        mutating func appendIdle(_ id: Int) {
            guard slots.indices.contains(id), slots[id].evict != nil, !slots[id].isIdle, !slots[id].evicting else { return }
            slots[id].isIdle = true
            slots[id].older = newestIdle
            slots[id].newer = -1
            if newestIdle >= 0 { slots[newestIdle].newer = id } else { oldestIdle = id }
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
    var count: Int { state.withLock { $0.count } }

    /// Registers a new connection (idle until ``markBusy(_:)``). At the cap, the longest-idle other connection is
    /// chosen to be closed; when every connection is busy the new one is refused instead, since each busy one is
    /// a request the server has accepted and is working on.
    func admit(evict: @escaping @Sendable () -> Void) -> Admission {
        let now = ContinuousClock.now
        return state.withLock { state in
            var victim: (@Sendable () -> Void)?
            var shouldWarn = false
            if state.count >= capacity {
                if state.lastWarning.map({ now - $0 >= warningInterval }) ?? true {
                    state.lastWarning = now
                    shouldWarn = true
                }
                let oldest = state.oldestIdle
                guard oldest >= 0 else { return Admission(id: nil, victim: nil, shouldWarn: shouldWarn) }
                state.unlink(oldest)
                state.slots[oldest].evicting = true
                victim = state.slots[oldest].evict
            }
            let id: Int
            if let free = state.freeSlots.popLast() {
                id = free
                state.slots[id] = Slot(evict: evict)
            } else {
                id = state.slots.count
                state.slots.append(Slot(evict: evict))
            }
            state.count += 1
            state.appendIdle(id)
            return Admission(id: id, victim: victim, shouldWarn: shouldWarn)
        }
    }

    /// The connection has a request in flight (HTTP/2: an open stream): never chosen for eviction.
    func markBusy(_ id: Int) {
        state.withLock { $0.unlink(id) }
    }

    /// The connection has nothing in flight: it becomes the newest idle connection.
    func markIdle(_ id: Int) {
        state.withLock { $0.appendIdle(id) }
    }

    /// The connection is closed; its id may be given to a later connection, so call this exactly once.
    func remove(_ id: Int) {
        state.withLock { state in
            guard state.slots.indices.contains(id), state.slots[id].evict != nil else { return }
            state.unlink(id)
            state.slots[id] = Slot()
            state.freeSlots.append(id)
            state.count -= 1
        }
    }
}
