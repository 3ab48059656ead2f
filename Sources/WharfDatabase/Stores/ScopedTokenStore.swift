import Foundation

/// A token for a machine (Harbor's robot accounts, a Kubernetes pull secret): it may pull, or pull and push, the
/// repositories of one namespace that match ``repositories``, until ``expiresAt``. Only its keyed hash is stored.
/// What the pattern and the actions mean is WharfAuth's (`ScopedTokenService`); the store keeps them as written.
public struct ScopedToken: Sendable, Equatable, RowDecodable {
    public var id: Int64
    public var namespaceID: Int64
    /// The namespace's name now (read with the token, so a listing needs no second query).
    public var namespace: String
    /// The label, unique in the namespace; the login name is `robot$NAMESPACE+NAME`.
    public var name: String
    /// The pattern of repository paths below the namespace: `*`, a glob such as `app-*`, or a path such as `tools/cli`.
    public var repositories: String
    /// `pull` or `pull,push`.
    public var actions: String
    public var tokenHash: String
    /// Always set: a scoped token never lives forever.
    public var expiresAt: Date
    /// The user who created it; nil once that user is deleted, or when the command line created it.
    public var createdBy: Int64?
    /// The creator's name at the time (`cli` for the command line), kept after the user is gone.
    public var createdByName: String
    public var createdAt: Date
    public var lastUsedAt: Date?

    public func isExpired(at time: Date = Date()) -> Bool { expiresAt <= time }

    init(row: SQLRow) throws {
        id = try row.decode("id")
        namespaceID = try row.decode("namespace_id")
        namespace = try row.decode("namespace_name")
        name = try row.decode("name")
        repositories = try row.decode("repositories")
        actions = try row.decode("actions")
        tokenHash = try row.decode("token_hash")
        expiresAt = try row.decode("expires_at")
        createdBy = try row.decode("created_by")
        createdByName = try row.decode("created_by_name")
        createdAt = try row.decode("created_at")
        lastUsedAt = try row.decode("last_used_at")
    }
}

/// What a new scoped token is made of; the store checks only what SQL needs (lengths, no control characters).
public struct NewScopedToken: Sendable {
    public var namespaceID: Int64
    public var name: String
    public var repositories: String
    public var actions: String
    public var tokenHash: String
    public var expiresAt: Date
    public var createdBy: Int64?
    public var createdByName: String

    public init(
        namespaceID: Int64,
        name: String,
        repositories: String,
        actions: String,
        tokenHash: String,
        expiresAt: Date,
        createdBy: Int64?,
        createdByName: String
    ) {
        self.namespaceID = namespaceID
        self.name = name
        self.repositories = repositories
        self.actions = actions
        self.tokenHash = tokenHash
        self.expiresAt = expiresAt
        self.createdBy = createdBy
        self.createdByName = createdByName
    }
}

public struct ScopedTokenStore: Store {
    let transaction: Transaction
    init(_ transaction: Transaction) { self.transaction = transaction }

    /// Every read joins the namespace, for its name.
    static let select = """
        SELECT t.id, t.namespace_id, n.name AS namespace_name, t.name, t.repositories, t.actions, t.token_hash, t.expires_at, \
        t.created_by, t.created_by_name, t.created_at, t.last_used_at FROM scoped_tokens t JOIN namespaces n ON n.id = t.namespace_id
        """

    /// Stores a token; a second one of the same name in the namespace (or the same hash) is a `.conflict`.
    @discardableResult
    public func create(_ token: NewScopedToken) throws -> ScopedToken {
        let binds: [any SQLValueConvertible] = [
            token.namespaceID, try Validation.name(token.name, "token name"), try Validation.name(token.repositories, "repository pattern"),
            try Validation.name(token.actions, "actions"), try Validation.name(token.tokenHash, "token hash"),
            token.expiresAt, token.createdBy,
            try Validation.name(token.createdByName, "creator name"), now(),
        ]
        let id = try unique("a token named \(token.name) in this namespace") {
            try transaction.insert(
                """
                INSERT INTO scoped_tokens (namespace_id, name, repositories, actions, token_hash, expires_at, created_by, created_by_name, \
                created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                binds
            )
        }
        return try find(id: id)!
    }

    /// The token with this hash: the lookup behind every login with a scoped token.
    public func find(hash: String) throws -> ScopedToken? {
        try transaction.fetchOne("\(Self.select) WHERE t.token_hash = ?", [hash])
    }

    /// The token with this id: how a token issued from a scoped login is checked to be still good.
    public func find(id: Int64) throws -> ScopedToken? {
        try transaction.fetchOne("\(Self.select) WHERE t.id = ?", [id])
    }

    /// The namespace's tokens by name, expired ones included (they stay listed until revoked).
    public func list(namespaceID: Int64) throws -> [ScopedToken] {
        try transaction.fetch("\(Self.select) WHERE t.namespace_id = ? ORDER BY t.name", [namespaceID])
    }

    /// Removes the token when it belongs to the namespace; false when there is no such token there.
    @discardableResult
    public func delete(id: Int64, namespaceID: Int64) throws -> Bool {
        try changed("DELETE FROM scoped_tokens WHERE id = ? AND namespace_id = ?", [id, namespaceID])
    }

    public func recordUse(id: Int64, at time: Date = Date()) throws {
        try transaction.execute("UPDATE scoped_tokens SET last_used_at = ? WHERE id = ?", [time, id])
    }
}
