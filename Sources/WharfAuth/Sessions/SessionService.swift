import Crypto
import Foundation
import WharfCore
import WharfDatabase

/// The portal's sign-in sessions. The browser holds a random 256-bit secret; the database holds only its SHA-256,
/// so a copy of the database opens no session. A session ends when it has been idle for ``idleTimeout``, at
/// ``lifetime`` after sign-in whatever its use, at sign-out, and when its user changes password, is disabled or is
/// deleted (``AccountService`` removes the rows in the same transaction).
public struct SessionService: Sendable {
    let pool: DatabasePool
    public let idleTimeout: Duration
    public let lifetime: Duration
    /// How stale `last_seen_at` may get before a visit writes it again: one write a minute per active browser,
    /// not one per page.
    static let touchInterval: TimeInterval = 60

    public init(pool: DatabasePool, idleTimeout: Duration = .seconds(8 * 3600), lifetime: Duration = .seconds(7 * 86400)) {
        self.pool = pool
        self.idleTimeout = idleTimeout
        self.lifetime = lifetime
    }

    /// A session that was resumed: whose it is, and the id (the secret's hash) that CSRF tokens are bound to.
    public struct Resumed: Sendable {
        public var user: User
        public var id: String

        public init(user: User, id: String) {
            self.user = user
            self.id = id
        }

        public var caller: Caller {
            Caller(subject: Authenticator.subject(user), credential: CredentialID.password(userID: user.id).description)
        }
    }

    /// Starts a session for `user` and returns the secret for the cookie. A browser that signs in again gets a
    /// new secret (the old one, if `replacing` names it, ends): a session id set before sign-in is never kept.
    public func start(user: User, address: String, userAgent: String, replacing old: String? = nil) async throws -> (secret: String, id: String) {
        let secret = Base64URL.encode(Data(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }))
        let id = Self.id(of: secret)
        let expires = Date().addingTimeInterval(Self.seconds(lifetime))
        let data = String(
            decoding: try JSONSerialization.data(withJSONObject: ["address": address, "agent": String(userAgent.prefix(200))]),
            as: UTF8.self
        )
        try await pool.write { transaction in
            if let old { try transaction.sessions.delete(id: Self.id(of: old)) }
            try transaction.sessions.create(id: id, userID: user.id, expiresAt: expires, data: data)
        }
        return (secret, id)
    }

    /// The session behind a cookie's secret, when it is still good: not expired, not idle too long, its user
    /// enabled. Refreshes `last_seen_at` at most once a minute.
    public func resume(secret: String, at time: Date = Date()) async throws -> Resumed? {
        guard Self.isWellFormed(secret) else { return nil }
        let id = Self.id(of: secret)
        let found = try await pool.read { transaction -> (Session, User)? in
            guard let session = try transaction.sessions.find(id: id, at: time), let user = try transaction.users.find(id: session.userID) else {
                return nil
            }
            return (session, user)
        }
        guard let (session, user) = found else { return nil }
        let idle = time.timeIntervalSince(session.lastSeenAt)
        guard user.enabled, idle < Self.seconds(idleTimeout) else {
            _ = try await pool.write { transaction in try transaction.sessions.delete(id: id) }
            return nil
        }
        if idle > Self.touchInterval {
            try await pool.write { transaction in try transaction.sessions.touch(id: id, expiresAt: session.expiresAt, at: time) }
        }
        return Resumed(user: user, id: id)
    }

    /// Ends the session behind a cookie's secret (sign-out); nothing happens for an unknown one.
    public func end(secret: String) async throws {
        guard Self.isWellFormed(secret) else { return }
        let id = Self.id(of: secret)
        _ = try await pool.write { transaction in try transaction.sessions.delete(id: id) }
    }

    /// Ends every session of a user (signing out everywhere).
    @discardableResult
    public func endAll(userID: Int64) async throws -> Int {
        try await pool.write { transaction in try transaction.sessions.deleteAll(userID: userID) }
    }

    /// Removes expired rows; idle ones go when next presented, or here once their absolute expiry passes.
    @discardableResult
    public func purgeExpired(at time: Date = Date()) async throws -> Int {
        try await pool.write { transaction in try transaction.sessions.deleteExpired(at: time) }
    }

    /// The stored id of a secret: its SHA-256 in hex.
    public static func id(of secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// 43 base64url characters: what ``start(user:address:userAgent:replacing:)`` hands out. Anything else is not
    /// looked up at all.
    static func isWellFormed(_ secret: String) -> Bool {
        secret.utf8.count == 43 && Base64URL.decode(secret)?.count == 32
    }

    static func seconds(_ duration: Duration) -> TimeInterval {
        TimeInterval(duration.components.seconds) + TimeInterval(duration.components.attoseconds) / 1e18
    }
}
