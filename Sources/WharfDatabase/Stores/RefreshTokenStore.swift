import Foundation

/// A refresh token (the token specification's `refresh_token`, docker's "identity token"): issued on
/// `offline_token=true` or `access_type=offline`, exchanged at `POST /v2/token` for access tokens until revoked.
/// Only its keyed hash is stored.
public struct RefreshToken: Sendable, Equatable, RowDecodable {
    public var id: Int64
    public var userID: Int64
    /// The `client_id` (or `docker` for `GET` requests) it was issued to.
    public var clientID: String
    public var tokenHash: String
    /// The credential it was issued from (`app:ID`, `user:ID`); nil for tokens from before this was recorded.
    public var source: String?
    public var createdAt: Date
    public var lastUsedAt: Date?

    init(row: SQLRow) throws {
        id = try row.decode("id")
        userID = try row.decode("user_id")
        clientID = try row.decode("client_id")
        tokenHash = try row.decode("token_hash")
        source = try row.decode("source")
        createdAt = try row.decode("created_at")
        lastUsedAt = try row.decode("last_used_at")
    }
}

public struct RefreshTokenStore: Store {
    let transaction: Transaction
    init(_ transaction: Transaction) { self.transaction = transaction }

    static let columns = "id, user_id, client_id, token_hash, source, created_at, last_used_at"

    @discardableResult
    public func create(userID: Int64, clientID: String, tokenHash: String, source: String? = nil) throws -> RefreshToken {
        let binds: [any SQLValueConvertible] = [
            userID, try Validation.name(clientID, "client id"), try Validation.name(tokenHash, "token hash"),
            try Validation.name(source, "refresh token source"), now(),
        ]
        let id = try unique("a refresh token with this hash") {
            try transaction.insert("INSERT INTO refresh_tokens (user_id, client_id, token_hash, source, created_at) VALUES (?, ?, ?, ?, ?)", binds)
        }
        return try find(id: id)!
    }

    public func find(id: Int64) throws -> RefreshToken? {
        try transaction.fetchOne("SELECT \(Self.columns) FROM refresh_tokens WHERE id = ?", [id])
    }

    public func find(hash: String) throws -> RefreshToken? {
        try transaction.fetchOne("SELECT \(Self.columns) FROM refresh_tokens WHERE token_hash = ?", [hash])
    }

    /// The user's refresh tokens, newest first.
    public func list(userID: Int64) throws -> [RefreshToken] {
        try transaction.fetch("SELECT \(Self.columns) FROM refresh_tokens WHERE user_id = ? ORDER BY created_at DESC, id DESC", [userID])
    }

    public func recordUse(id: Int64, at time: Date = Date()) throws {
        try transaction.execute("UPDATE refresh_tokens SET last_used_at = ? WHERE id = ?", [time, id])
    }

    @discardableResult
    public func delete(id: Int64, userID: Int64) throws -> Bool {
        try changed("DELETE FROM refresh_tokens WHERE id = ? AND user_id = ?", [id, userID])
    }

    /// Revokes the refresh tokens issued from `source` (an application token being revoked); returns how many.
    @discardableResult
    public func deleteAll(source: String) throws -> Int {
        try transaction.execute("DELETE FROM refresh_tokens WHERE source = ?", [source]).affectedRows
    }

    /// Revokes all of a user's refresh tokens (a password change does this); returns how many.
    @discardableResult
    public func deleteAll(userID: Int64) throws -> Int {
        try transaction.execute("DELETE FROM refresh_tokens WHERE user_id = ?", [userID]).affectedRows
    }
}
