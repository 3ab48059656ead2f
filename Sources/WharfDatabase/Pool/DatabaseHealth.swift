import NIOConcurrencyHelpers

/// Whether the database can be used right now, readable from any request without waiting for an actor.
///
/// `DatabaseService` sets it (ready after connecting and migrating, unavailable with a reason after a failed
/// attempt or probe); the pool marks it unavailable when a statement finds the server gone.
public final class DatabaseHealth: Sendable {
    public enum State: Sendable, Equatable {
        case starting
        case ready(schemaVersion: Int)
        case unavailable(reason: String)
    }

    private let box = NIOLockedValueBox(State.starting)

    public init() {}

    public var state: State { box.withLockedValue { $0 } }

    public var isReady: Bool {
        if case .ready = state { return true }
        return false
    }

    /// Why requests cannot be served now, or nil when they can.
    public var unavailableReason: String? {
        switch state {
        case .ready: return nil
        case .starting: return "the database is starting"
        case .unavailable(let reason): return "the database is unavailable: \(reason)"
        }
    }

    func set(_ state: State) { box.withLockedValue { $0 = state } }

    /// Marks the database unavailable unless it already is (keeping the first reason).
    func markUnavailable(_ reason: String) {
        box.withLockedValue { state in
            if case .unavailable = state { return }
            state = .unavailable(reason: reason)
        }
    }
}
