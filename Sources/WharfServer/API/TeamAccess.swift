import Foundation
import WharfAuth
import WharfCore
import WharfDatabase

/// Who may see and change a team, in one place for `/api/v1/teams` and the portal's team pages: members and
/// administrators see a team (others are told it does not exist), owners and administrators manage it
/// (``PermissionRules/mayManageTeam(_:role:)``), and a member may leave.
struct TeamAccess {
    let api: APIServices
    let caller: APICaller

    /// The teams the caller sees, by name after `after`: every team for an administrator, their own visible ones
    /// for anyone else.
    func list(after: String?, limit: Int) async throws -> [TeamBody] {
        let userID = try requireUser()
        let admin = caller.isAdmin
        return try await api.pool.read { transaction -> [TeamBody] in
            if admin {
                return try transaction.teams.list(after: after, limit: limit).map { team in
                    TeamsAPI.body(team, members: try transaction.teams.members(teamID: team.id), userID: userID)
                }
            }
            let mine = try transaction.teams.memberships(userID: userID).filter { !$0.team.isHidden && $0.team.name > (after ?? "") }
            return try mine.sorted { $0.team.name < $1.team.name }.prefix(limit).map { membership in
                TeamsAPI.body(membership.team, members: try transaction.teams.members(teamID: membership.team.id), userID: userID)
            }
        }
    }

    /// A new team; only administrators create one for someone else.
    func create(name: String, description: String, owner: String?) async throws -> Team {
        _ = try requireUser()
        if let owner, owner != caller.subject.name, !caller.isAdmin {
            throw APIError(.forbidden, "only administrators create teams for someone else")
        }
        return try await api.organizations.createTeam(
            name: name,
            owner: owner ?? caller.subject.name,
            description: description,
            actor: caller.actor
        )
    }

    /// The team with its members and namespaces, if the caller may see it (a member or an administrator).
    func detail(_ name: String) async throws -> TeamsAPI.TeamDetail {
        let userID = caller.subject.userID
        let admin = caller.isAdmin
        let found = try await api.pool.read { transaction -> TeamsAPI.TeamDetail? in
            guard let team = try transaction.teams.find(name: name) else { return nil }
            let members = try transaction.teams.members(teamID: team.id)
            guard admin || members.contains(where: { $0.userID == userID }) else { return nil }
            let namespaces = try transaction.namespaces.list(teamID: team.id).map(\.name).sorted()
            return TeamsAPI.TeamDetail(
                team: TeamsAPI.body(team, members: members, userID: userID),
                members: members.map { TeamsAPI.MemberBody(user: $0.userName, role: $0.role.rawValue) }.sorted { $0.user < $1.user },
                namespaces: namespaces
            )
        }
        guard let found else { throw APIError(.teamNotFound, "unknown team \(name)") }
        return found
    }

    /// Whether the caller may manage a team they see with `detail`.
    func mayManage(_ detail: TeamsAPI.TeamDetail) -> Bool {
        api.rules.mayManageTeam(caller.subject.kind, role: detail.team.role.flatMap(TeamRole.init(rawValue:)))
    }

    /// Fails unless the caller may manage the team: 404 when they may not even see it.
    @discardableResult
    func requireManager(_ name: String) async throws -> TeamsAPI.TeamDetail {
        _ = try requireUser()
        let team = try await detail(name)
        guard mayManage(team) else {
            throw APIError(.forbidden, "only the team's owners and administrators may change team \(name)")
        }
        return team
    }

    /// Adds a member or changes their role (the domain keeps the team an owner).
    func setMember(team: String, user: String, role: TeamRole) async throws {
        try await requireManager(team)
        try await api.organizations.setMember(team: team, user: user, role: role, actor: caller.actor)
    }

    /// Owners and administrators remove anyone; a member may leave (the team keeps an owner either way).
    func removeMember(team: String, user: String) async throws {
        if user != caller.subject.name { try await requireManager(team) } else { _ = try requireUser() }
        do {
            try await api.organizations.removeMember(team: team, user: user, actor: caller.actor)
        } catch let error as AccountError where error.code == .unknownUser {
            throw APIError(.memberNotFound, error.message)
        }
    }

    /// Deletes a team; its namespaces go to a team the caller also manages (any team for an administrator), are
    /// deleted with it, or the deletion is refused while it has any.
    func delete(_ name: String, namespaces: Disposition) async throws {
        try await requireManager(name)
        let disposition: TeamNamespaces
        switch namespaces {
        case .delete: disposition = .delete
        case .transfer(let target):
            if !caller.isAdmin { try await requireManager(target) }
            disposition = .transfer(target)
        case .refuse: disposition = .refuse
        }
        try await api.organizations.deleteTeam(name, namespaces: disposition, actor: caller.actor)
    }

    private func requireUser() throws -> Int64 {
        guard let id = caller.subject.userID else {
            if caller.isAnonymous { throw APIError.unauthorized("sign in to do this") }
            throw APIError(.forbidden, "only users may do this")
        }
        return id
    }
}
