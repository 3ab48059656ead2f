import HummingbirdBcrypt
import NIOPosix

/// Hashes and checks account passwords with bcrypt.
///
/// bcrypt is deliberately slow (about 0.25 s at cost 12), so every hash and check runs on a `NIOThreadPool`,
/// never on Swift's cooperative pool where it would stall other requests.
public struct PasswordHasher: Sendable {
    public static let minimumLength = 8
    /// bcrypt reads at most 72 bytes; longer passwords would be silently truncated, so they are refused.
    public static let maximumBytes = 72

    public let cost: UInt8
    private let threadPool: NIOThreadPool

    /// - Parameter cost: bcrypt's work factor, 4 to 31 (each step doubles the time).
    public init(cost: UInt8 = 12, threadPool: NIOThreadPool = .singleton) {
        precondition((4...31).contains(cost), "bcrypt cost must be between 4 and 31")
        self.cost = cost
        self.threadPool = threadPool
    }

    /// Checks the password rules: at least ``minimumLength`` characters, at most ``maximumBytes`` bytes of UTF-8,
    /// no NUL (bcrypt's C implementation would stop there).
    public static func validate(_ password: String) throws(AuthError) {
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
    public func hash(_ password: String) async throws -> String {
        try Self.validate(password)
        let cost = self.cost
        return try await threadPool.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    /// Whether `password` matches `hash`. With `hash` nil (no such account) it spends the time of a check and
    /// answers false, so "no such user" cannot be told from "wrong password" by timing. A malformed hash or a
    /// password with NUL never matches.
    public func verify(_ password: String, against hash: String?) async throws -> Bool {
        let cost = self.cost
        guard let hash, !password.utf8.contains(0) else {
            _ = try await threadPool.runIfActive { Bcrypt.hash(password, cost: cost) }
            return false
        }
        return try await threadPool.runIfActive { Bcrypt.verify(password, hash: hash) }
    }
}
