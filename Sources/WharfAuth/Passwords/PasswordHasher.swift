import HummingbirdBcrypt

/// Hashes and checks account passwords with bcrypt.
///
/// bcrypt is deliberately slow (about 0.25 s at cost 12), so every hash and check runs on a
/// ``PasswordCheckPool`` of its own, never on Swift's cooperative pool nor on the thread pool that does the
/// storage's file I/O.
public struct PasswordHasher: Sendable {
    public static let minimumLength = 8
    /// bcrypt reads at most 72 bytes; longer passwords would be silently truncated, so they are refused.
    public static let maximumBytes = 72

    public let cost: UInt8
    private let pool: PasswordCheckPool

    /// - Parameter cost: bcrypt's work factor, 4 to 31 (each step doubles the time).
    public init(cost: UInt8 = 12, pool: PasswordCheckPool = .shared) {
        precondition((4...31).contains(cost), "bcrypt cost must be between 4 and 31")
        self.cost = cost
        self.pool = pool
    }

    /// Checks the password rules: at least ``minimumLength`` characters, at most ``maximumBytes`` bytes of UTF-8,
    /// no NUL (bcrypt's C implementation would stop there).
    public static func validate(_ password: String, minimumLength: Int = minimumLength) throws(AuthError) {
        guard password.count >= minimumLength else {
            throw AuthError(.passwordTooShort, "the password must have at least \(minimumLength) characters")
        }
        guard password.utf8.count <= maximumBytes else {
            throw AuthError(.passwordTooLong, "the password must have at most \(maximumBytes) bytes")
        }
        guard !password.utf8.contains(0) else {
            throw AuthError(.passwordInvalid, "the password must not contain NUL")
        }
    }

    /// Validates `password` and returns its bcrypt hash (`$2b$…`, with its own salt).
    public func hash(_ password: String, client: String = "") async throws -> String {
        try Self.validate(password)
        let cost = self.cost
        return try await pool.run(client: client) { Bcrypt.hash(password, cost: cost) }
    }

    /// Validates `password` (with its own minimum length) and hashes it on the calling thread: for start-up only
    /// (the service account's password), where nothing else waits yet.
    public func hashNow(_ password: String, minimumLength: Int = minimumLength) throws(AuthError) -> String {
        try Self.validate(password, minimumLength: minimumLength)
        return Bcrypt.hash(password, cost: cost)
    }

    /// Whether `password` matches `hash`, checked in `client`'s turn (its address; see ``PasswordCheckPool``).
    /// With `hash` nil (no such account) it spends the time of a check and answers false, so "no such user"
    /// cannot be told from "wrong password" by timing. A malformed hash or a password with NUL never matches.
    /// `admit` is asked when the check's turn comes (see ``PasswordCheckPool/run(client:admit:_:)``).
    public func verify(
        _ password: String,
        against hash: String?,
        client: String = "",
        admit: (@Sendable () -> AuthError?)? = nil
    ) async throws -> Bool {
        let cost = self.cost
        guard let hash, !password.utf8.contains(0) else {
            _ = try await pool.run(client: client, admit: admit) { Bcrypt.hash(password, cost: cost) }
            return false
        }
        return try await pool.run(client: client, admit: admit) { Bcrypt.verify(password, hash: hash) }
    }
}
