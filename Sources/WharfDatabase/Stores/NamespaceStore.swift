import Foundation
import WharfCore

public struct Namespace: Sendable, Equatable, RowDecodable {
    public var id: Int64
    public var name: String
    public var kind: NamespaceKind
    public var visibility: Visibility
    public var teamID: Int64?
    public var ownerID: Int64?
    public var description: String
    public var createdAt: Date

    init(row: SQLRow) throws {
        id = try row.decode("id")
        name = try row.decode("name")
        kind = try row.decode("kind")
        visibility = try row.decode("visibility")
        teamID = try row.decode("team_id")
        ownerID = try row.decode("owner_id")
        description = try row.decode("description")
        createdAt = try row.decode("created_at")
    }
}

/// A namespace with the role a given user has in it through its team (nil: not a member).
public struct NamespaceAccess: Sendable, Equatable {
    public var namespace: Namespace
    public var role: TeamRole?
}

public struct NamespaceStore: Store {
    let transaction: Transaction
    init(_ transaction: Transaction) { self.transaction = transaction }

    static let columns = "id, name, kind, visibility, team_id, owner_id, description, created_at"

    @discardableResult
    public func create(
        name: String,
        kind: NamespaceKind,
        visibility: Visibility,
        teamID: Int64? = nil,
        ownerID: Int64? = nil,
        description: String = ""
    ) throws -> Namespace {
        let binds: [any SQLValueConvertible] = [
            try Validation.name(name, "namespace name"), kind, visibility, teamID, ownerID, try Validation.text(description, "namespace description"),
            now(),
        ]
        let id = try unique("a namespace named \(name)") {
            try transaction.insert(
                "INSERT INTO namespaces (name, kind, visibility, team_id, owner_id, description, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                binds
            )
        }
        return try find(id: id)!
    }

    public func find(id: Int64) throws -> Namespace? {
        try transaction.fetchOne("SELECT \(Self.columns) FROM namespaces WHERE id = ?", [id])
    }

    public func find(name: String) throws -> Namespace? {
        try transaction.fetchOne("SELECT \(Self.columns) FROM namespaces WHERE name = ?", [name])
    }

    /// The namespace called `name` and `userID`'s role in it, in one query: what the token endpoint needs to
    /// decide a scope.
    public func access(name: String, userID: Int64?) throws -> NamespaceAccess? {
        let rows = try transaction.query(
            "SELECT n.id, n.name, n.kind, n.visibility, n.team_id, n.owner_id, n.description, n.created_at, m.role FROM namespaces n LEFT JOIN team_members m ON m.team_id = n.team_id AND m.user_id = ? WHERE n.name = ?",
            [userID, name]
        )
        guard let row = rows.first else { return nil }
        return NamespaceAccess(namespace: try Namespace(row: row), role: try row.decode("role"))
    }

    public func list(after name: String? = nil, limit: Int = 100) throws -> [Namespace] {
        try transaction.fetch("SELECT \(Self.columns) FROM namespaces WHERE name > ? ORDER BY name LIMIT ?", [name ?? "", pageSize(limit)])
    }

    public func list(teamID: Int64) throws -> [Namespace] {
        try transaction.fetch("SELECT \(Self.columns) FROM namespaces WHERE team_id = ? ORDER BY name", [teamID])
    }

    public func update(id: Int64, visibility: Visibility, description: String) throws {
        try transaction.execute(
            "UPDATE namespaces SET visibility = ?, description = ? WHERE id = ?",
            [visibility, try Validation.text(description, "namespace description"), id]
        )
    }

    /// Makes a namespace (a personal one, whose user is leaving) a team namespace of `teamID`, keeping its
    /// visibility, repositories and webhooks.
    public func transfer(id: Int64, teamID: Int64) throws {
        try transaction.execute("UPDATE namespaces SET kind = ?, team_id = ?, owner_id = NULL WHERE id = ?", [NamespaceKind.team, teamID, id])
    }

    /// Removes the namespace with its repositories, tags and webhooks.
    @discardableResult
    public func delete(id: Int64) throws -> Bool {
        try changed("DELETE FROM namespaces WHERE id = ?", [id])
    }
}
