import Foundation

/// A token a user created for a tool (`docker login` with it as the password, API scripts). Only its hash is
/// stored.
public struct ApplicationToken: Sendable, Equatable, RowDecodable {
    public var id: Int64
    public var userID: Int64
    public var application: String
    public var tokenHash: String
    public var createdAt: Date
    public var lastUsedAt: Date?
    /// After this time the token no longer logs in; nil: never expires.
    public var expiresAt: Date?

    public func isExpired(at time: Date = Date()) -> Bool { expiresAt.map { $0 <= time } ?? false }

    init(row: SQLRow) throws {
        id = try row.decode("id")
        userID = try row.decode("user_id")
        application = try row.decode("application")
        tokenHash = try row.decode("token_hash")
        createdAt = try row.decode("created_at")
        lastUsedAt = try row.decode("last_used_at")
        expiresAt = try row.decode("expires_at")
    }
}

public struct ApplicationTokenStore: Store {
    let transaction: Transaction
    init(_ transaction: Transaction) { self.transaction = transaction }

    static let columns = "id, user_id, application, token_hash, created_at, last_used_at, expires_at"

    @discardableResult
    public func create(userID: Int64, application: String, tokenHash: String, expiresAt: Date? = nil) throws -> ApplicationToken {
        let binds: [any SQLValueConvertible] = [
            userID, try Validation.name(application, "application name"), try Validation.name(tokenHash, "token hash"), now(),
            expiresAt.map { Date(millisecondsSince1970: $0.millisecondsSince1970) },
        ]
        let id = try unique("a token for application \(application)") {
            try transaction.insert(
                "INSERT INTO application_tokens (user_id, application, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                binds
            )
        }
        return try transaction.fetchOne("SELECT \(Self.columns) FROM application_tokens WHERE id = ?", [id])!
    }

    /// The token with this hash and its owner: the lookup behind every Basic login with a token.
    public func find(hash: String) throws -> (token: ApplicationToken, user: User)? {
        let rows = try transaction.query(
            "SELECT t.id AS token_id, t.user_id, t.application, t.token_hash, t.created_at AS token_created_at, t.last_used_at, t.expires_at, u.* FROM application_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?",
            [hash]
        )
        guard let row = rows.first else { return nil }
        var token = try ApplicationToken(row: row)
        token.id = try row.decode("token_id")
        token.createdAt = try row.decode("token_created_at")
        return (token, try User(row: row))
    }

    public func find(id: Int64) throws -> ApplicationToken? {
        try transaction.fetchOne("SELECT \(Self.columns) FROM application_tokens WHERE id = ?", [id])
    }

    public func list(userID: Int64) throws -> [ApplicationToken] {
        try transaction.fetch("SELECT \(Self.columns) FROM application_tokens WHERE user_id = ? ORDER BY application", [userID])
    }

    public func recordUse(id: Int64, at time: Date = Date()) throws {
        try transaction.execute("UPDATE application_tokens SET last_used_at = ? WHERE id = ?", [time, id])
    }

    /// Replaces the stored hash of a token while it is still `old` (an imported hash re-stored in Wharf's form on
    /// first use); false when another login did it first.
    @discardableResult
    public func replaceHash(id: Int64, old: String, new: String) throws -> Bool {
        try changed(
            "UPDATE application_tokens SET token_hash = ? WHERE id = ? AND token_hash = ?",
            [try Validation.name(new, "token hash"), id, old]
        )
    }

    @discardableResult
    public func delete(id: Int64, userID: Int64) throws -> Bool {
        try changed("DELETE FROM application_tokens WHERE id = ? AND user_id = ?", [id, userID])
    }
}
