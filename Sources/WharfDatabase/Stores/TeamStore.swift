import Foundation
import WharfCore

public struct Team: Sendable, Equatable, RowDecodable {
    public var id: Int64
    public var name: String
    public var description: String
    /// Personal teams (one per user, owning the personal namespace) are hidden from team lists.
    public var isHidden: Bool
    public var createdAt: Date

    init(row: SQLRow) throws {
        id = try row.decode("id")
        name = try row.decode("name")
        description = try row.decode("description")
        isHidden = try row.decode("is_hidden")
        createdAt = try row.decode("created_at")
    }
}

public struct TeamMember: Sendable, Equatable, RowDecodable {
    public var teamID: Int64
    public var userID: Int64
    public var userName: String
    public var role: TeamRole
    /// Added by LDAP group sync (which may remove it again), not by a person.
    public var fromDirectory: Bool

    init(row: SQLRow) throws {
        teamID = try row.decode("team_id")
        userID = try row.decode("user_id")
        userName = try row.decode("user_name")
        role = try row.decode("role")
        fromDirectory = try row.decode("from_directory")
    }
}

public struct TeamStore: Store {
    let transaction: Transaction
    init(_ transaction: Transaction) { self.transaction = transaction }

    static let columns = "id, name, description, is_hidden, created_at"

    @discardableResult
    public func create(name: String, description: String = "", isHidden: Bool = false) throws -> Team {
        let binds: [any SQLValueConvertible] = [
            try Validation.name(name, "team name"), try Validation.text(description, "team description"), isHidden, now(),
        ]
        let id = try unique("a team named \(name)") {
            try transaction.insert("INSERT INTO teams (name, description, is_hidden, created_at) VALUES (?, ?, ?, ?)", binds)
        }
        return try find(id: id)!
    }

    public func find(id: Int64) throws -> Team? {
        try transaction.fetchOne("SELECT \(Self.columns) FROM teams WHERE id = ?", [id])
    }

    public func find(name: String) throws -> Team? {
        try transaction.fetchOne("SELECT \(Self.columns) FROM teams WHERE name = ?", [name])
    }

    /// Visible teams by name, after `name`.
    public func list(after name: String? = nil, limit: Int = 100, includeHidden: Bool = false) throws -> [Team] {
        try transaction.fetch(
            "SELECT \(Self.columns) FROM teams WHERE name > ? AND (is_hidden = 0 OR ? = 1) ORDER BY name LIMIT ?",
            [name ?? "", includeHidden, pageSize(limit)]
        )
    }

    /// Teams `userID` belongs to, with the role in each.
    public func memberships(userID: Int64) throws -> [(team: Team, role: TeamRole)] {
        try transaction.query(
            "SELECT t.id, t.name, t.description, t.is_hidden, t.created_at, m.role FROM teams t JOIN team_members m ON m.team_id = t.id WHERE m.user_id = ? ORDER BY t.name",
            [userID]
        ).map { (try Team(row: $0), try $0.decode("role")) }
    }

    public func update(id: Int64, name: String, description: String) throws {
        let binds: [any SQLValueConvertible] = [try Validation.name(name, "team name"), try Validation.text(description, "team description"), id]
        try unique("a team named \(name)") { _ = try transaction.execute("UPDATE teams SET name = ?, description = ? WHERE id = ?", binds) }
    }

    /// Removes the team and its memberships; fails with `.invalidValue` while it owns namespaces.
    @discardableResult
    public func delete(id: Int64) throws -> Bool {
        try changed("DELETE FROM teams WHERE id = ?", [id])
    }

    /// Adds `userID` to the team, or changes their role when they are a member already.
    /// Adds or changes a membership by hand: from then on group sync leaves it alone.
    public func setMember(teamID: Int64, userID: Int64, role: TeamRole) throws {
        let sql = transaction.dialect.upsert(
            into: "team_members",
            columns: ["team_id", "user_id", "role", "from_directory", "created_at"],
            conflict: ["team_id", "user_id"],
            update: ["role", "from_directory"]
        )
        try transaction.execute(sql, [teamID, userID, role, false, now()])
    }

    /// Adds a membership for LDAP group sync, unless the user is a member already (a manual membership, or one
    /// sync made before, keeps its role). Returns whether it was added.
    @discardableResult
    public func addDirectoryMember(teamID: Int64, userID: Int64, role: TeamRole) throws -> Bool {
        if try self.role(teamID: teamID, userID: userID) != nil { return false }
        let sql = transaction.dialect.upsert(
            into: "team_members",
            columns: ["team_id", "user_id", "role", "from_directory", "created_at"],
            conflict: ["team_id", "user_id"],
            update: []
        )
        return try transaction.execute(sql, [teamID, userID, role, true, now()]).affectedRows > 0
    }

    /// Removes a membership only if group sync made it. Returns whether it was removed.
    @discardableResult
    public func removeDirectoryMember(teamID: Int64, userID: Int64) throws -> Bool {
        try transaction.execute("DELETE FROM team_members WHERE team_id = ? AND user_id = ? AND from_directory = ?", [teamID, userID, true])
            .affectedRows > 0
    }

    /// Every membership group sync made, by team.
    public func directoryMembers() throws -> [TeamMember] {
        try transaction.fetch(
            "SELECT m.team_id, m.user_id, u.name AS user_name, m.role, m.from_directory FROM team_members m JOIN users u ON u.id = m.user_id WHERE m.from_directory = ? ORDER BY m.team_id, u.name",
            [true]
        )
    }

    @discardableResult
    public func removeMember(teamID: Int64, userID: Int64) throws -> Bool {
        try changed("DELETE FROM team_members WHERE team_id = ? AND user_id = ?", [teamID, userID])
    }

    public func members(teamID: Int64) throws -> [TeamMember] {
        try transaction.fetch(
            "SELECT m.team_id, m.user_id, u.name AS user_name, m.role, m.from_directory FROM team_members m JOIN users u ON u.id = m.user_id WHERE m.team_id = ? ORDER BY u.name",
            [teamID]
        )
    }

    public func role(teamID: Int64, userID: Int64) throws -> TeamRole? {
        try transaction.query("SELECT role FROM team_members WHERE team_id = ? AND user_id = ?", [teamID, userID]).first?.decode("role")
    }
}
