import Foundation
import WharfDatabase

/// Teams and namespaces, as the CLI (and later the portal and the API) manage them: who belongs to which team
/// with which role, and which team owns which namespace with which visibility. One transaction per operation.
public struct OrganizationService: Sendable {
    let pool: DatabasePool

    public init(pool: DatabasePool) {
        self.pool = pool
    }

    /// Creates a team; `owner` (a user) becomes its first owner.
    @discardableResult
    public func createTeam(name: String, owner: String?, description: String = "") async throws -> Team {
        try AccountService.validateName(name, what: "team")
        return try await pool.write { transaction in
            if try transaction.teams.find(name: name) != nil { throw AccountError(.teamExists, "team \(name) already exists") }
            let ownerID = try owner.map { try Self.user($0, in: transaction).id }
            let team = try transaction.teams.create(name: name, description: description)
            if let ownerID { try transaction.teams.setMember(teamID: team.id, userID: ownerID, role: .owner) }
            return team
        }
    }

    /// Visible teams by name, with their members.
    public func listTeams() async throws -> [(team: Team, members: [TeamMember])] {
        try await pool.read { transaction in
            try transaction.teams.list(limit: 10_000).map { ($0, try transaction.teams.members(teamID: $0.id)) }
        }
    }

    /// Adds `user` to `team` with `role`, or changes their role.
    public func setMember(team: String, user: String, role: TeamRole) async throws {
        try await pool.write { transaction in
            let team = try Self.team(team, in: transaction)
            let user = try Self.user(user, in: transaction)
            if role != .owner, try transaction.teams.role(teamID: team.id, userID: user.id) == .owner {
                try Self.keepAnOwner(team, leaving: user.id, in: transaction)
            }
            try transaction.teams.setMember(teamID: team.id, userID: user.id, role: role)
        }
    }

    public func removeMember(team: String, user: String) async throws {
        try await pool.write { transaction in
            let team = try Self.team(team, in: transaction)
            let user = try Self.user(user, in: transaction)
            if try transaction.teams.role(teamID: team.id, userID: user.id) == .owner {
                try Self.keepAnOwner(team, leaving: user.id, in: transaction)
            }
            guard try transaction.teams.removeMember(teamID: team.id, userID: user.id) else {
                throw AccountError(.unknownUser, "\(user.name) is not a member of team \(team.name)")
            }
        }
    }

    /// Creates a namespace owned by `team`.
    @discardableResult
    public func createNamespace(name: String, team: String, visibility: Namespace.Visibility = .private, description: String = "")
        async throws -> Namespace
    {
        try AccountService.validateName(name, what: "namespace")
        return try await pool.write { transaction in
            if try transaction.namespaces.find(name: name) != nil { throw AccountError(.namespaceExists, "namespace \(name) already exists") }
            let team = try Self.team(team, in: transaction)
            return try transaction.namespaces.create(name: name, kind: .team, visibility: visibility, teamID: team.id, description: description)
        }
    }

    public func setVisibility(namespace name: String, _ visibility: Namespace.Visibility) async throws {
        try await pool.write { transaction in
            guard let namespace = try transaction.namespaces.find(name: name) else {
                throw AccountError(.unknownNamespace, "unknown namespace \(name)")
            }
            try transaction.namespaces.update(id: namespace.id, visibility: visibility, description: namespace.description)
        }
    }

    /// Every namespace by name, with the owning team's name (nil for personal ones).
    public func listNamespaces() async throws -> [(namespace: Namespace, team: String?)] {
        try await pool.read { transaction in
            var result: [(Namespace, String?)] = []
            var after: String? = nil
            while true {
                let page = try transaction.namespaces.list(after: after, limit: 1000)
                for namespace in page { result.append((namespace, try namespace.teamID.flatMap { try transaction.teams.find(id: $0)?.name })) }
                guard page.count == 1000, let last = page.last else { return result }
                after = last.name
            }
        }
    }

    private static func keepAnOwner(_ team: Team, leaving userID: Int64, in transaction: Transaction) throws {
        let owners = try transaction.teams.members(teamID: team.id).filter { $0.role == .owner && $0.userID != userID }
        guard !owners.isEmpty else { throw AccountError(.notAllowed, "team \(team.name) would have no owner left; make someone else owner first") }
    }

    private static func team(_ name: String, in transaction: Transaction) throws -> Team {
        guard let team = try transaction.teams.find(name: name) else { throw AccountError(.unknownTeam, "unknown team \(name)") }
        return team
    }

    private static func user(_ name: String, in transaction: Transaction) throws -> User {
        guard let user = try transaction.users.find(name: name) else { throw AccountError(.unknownUser, "unknown user \(name)") }
        return user
    }
}
