import Foundation
import NIOConcurrencyHelpers
import WharfDatabase

/// The portal switches an administrator changes at run time (`portal.signup`, `portal.anonymous_browsing`): kept
/// in the database's settings table, so every replica follows them, over the configuration's values. Pages read a
/// snapshot without waiting; the session middleware refreshes it from the database when it is older than
/// ``maxAge`` (a change shows on other replicas within that time, on this one at once).
final class PortalSettings: Sendable {
    static let signupKey = "portal.signup"
    static let anonymousBrowsingKey = "portal.anonymous_browsing"
    static let maxAge: TimeInterval = 5

    let configured: PortalPolicy
    private let pool: DatabasePool
    private let state: NIOLockedValueBox<(policy: PortalPolicy, readAt: Date?)>

    init(configured: PortalPolicy, pool: DatabasePool) {
        self.configured = configured
        self.pool = pool
        state = NIOLockedValueBox((configured, nil))
    }

    /// The policy in force as last read.
    var current: PortalPolicy { state.withLockedValue { $0.policy } }

    /// Reads the settings again when the snapshot is stale; a database that does not answer keeps the snapshot.
    func refreshIfStale(now: Date = Date()) async {
        let stale = state.withLockedValue { state in state.readAt.map { now.timeIntervalSince($0) >= Self.maxAge } ?? true }
        guard stale else { return }
        try? await refresh(now: now)
    }

    func refresh(now: Date = Date()) async throws {
        let stored = try await pool.read { transaction in
            (try transaction.settings.value(Self.signupKey), try transaction.settings.value(Self.anonymousBrowsingKey))
        }
        var policy = configured
        if let signup = stored.0 { policy.signup = signup == "on" }
        if let anonymous = stored.1 { policy.anonymousBrowsing = anonymous == "on" }
        state.withLockedValue { $0 = (policy, now) }
    }

    /// Stores a switch (nil: back to the configuration's value) and applies it here at once.
    func set(signup: Bool?, anonymousBrowsing: Bool?) async throws {
        try await pool.write { transaction in
            if let signup {
                try transaction.settings.set(Self.signupKey, to: signup ? "on" : "off")
            } else {
                try transaction.settings.remove(Self.signupKey)
            }
            if let anonymousBrowsing {
                try transaction.settings.set(Self.anonymousBrowsingKey, to: anonymousBrowsing ? "on" : "off")
            } else {
                try transaction.settings.remove(Self.anonymousBrowsingKey)
            }
        }
        try await refresh()
    }

    /// What the database holds (nil: the configuration decides).
    func stored() async throws -> (signup: Bool?, anonymousBrowsing: Bool?) {
        try await pool.read { transaction in
            (
                try transaction.settings.value(Self.signupKey).map { $0 == "on" },
                try transaction.settings.value(Self.anonymousBrowsingKey).map { $0 == "on" }
            )
        }
    }
}
