import Foundation
import WharfAuth
import WharfCore
import WharfDatabase

/// A team as the API shows it, with the caller's role in it.
struct TeamBody: Encodable {
    var id: Int64
    var name: String
    var description: String
    var createdAt: Date
    var memberCount: Int
    var role: String?
}

/// `/teams`: teams, their members and roles. Administrators see and manage every team; others see the teams they
/// belong to, and owners manage theirs (``PermissionRules/mayManageTeam(_:role:)``).
struct TeamsAPI {
    let api: APIServices

    var handlers: [String: APIHandler] {
        [
            "listTeams": list, "createTeam": create, "getTeam": get, "updateTeam": update, "deleteTeam": delete,
            "listTeamMembers": members, "setTeamMember": setMember, "removeTeamMember": removeMember,
        ]
    }

    struct TeamDetail: Encodable {
        var team: TeamBody
        var members: [MemberBody]
        var namespaces: [String]
    }

    struct MemberBody: Encodable {
        var user: String
        var role: String
    }

    func list(_ request: APIRequest) async throws -> APIResponse {
        let userID = try request.requireUser()
        let (size, after) = request.page
        let admin = request.caller.isAdmin
        let teams = try await api.pool.read { transaction -> [TeamBody] in
            if admin {
                return try transaction.teams.list(after: after, limit: size + 1).map { team in
                    let members = try transaction.teams.members(teamID: team.id)
                    return Self.body(team, members: members, userID: userID)
                }
            }
            let mine = try transaction.teams.memberships(userID: userID).filter { !$0.team.isHidden && $0.team.name > (after ?? "") }
            return try mine.sorted { $0.team.name < $1.team.name }.prefix(size + 1).map { membership in
                Self.body(membership.team, members: try transaction.teams.members(teamID: membership.team.id), userID: userID)
            }
        }
        return try .page(teams, size: size, key: \.name, request: request)
    }

    struct TeamCreate: Decodable {
        var name: String
        var description: String?
        var owner: String?
    }

    func create(_ request: APIRequest) async throws -> APIResponse {
        _ = try request.requireUser()
        let body = try request.decode(TeamCreate.self)
        if let owner = body.owner, owner != request.caller.subject.name, !request.caller.isAdmin {
            throw APIError(.forbidden, "only administrators create teams for someone else")
        }
        let team = try await api.organizations.createTeam(
            name: body.name,
            owner: body.owner ?? request.caller.subject.name,
            description: body.description ?? "",
            actor: request.caller.actor
        )
        return try .json(try await detail(team.name, request: request).team, status: .created).located("/api/v1/teams/\(team.name)")
    }

    func get(_ request: APIRequest) async throws -> APIResponse {
        _ = try request.requireUser()
        return try .json(try await detail(request.path("team"), request: request))
    }

    struct TeamUpdate: Decodable {
        var name: String?
        var description: String?
    }

    func update(_ request: APIRequest) async throws -> APIResponse {
        var name = request.path("team")
        try await requireManager(name, request: request)
        let body = try request.decode(TeamUpdate.self)
        if let newName = body.name, newName != name {
            try await api.organizations.renameTeam(name, to: newName, actor: request.caller.actor)
            name = newName
        }
        if let description = body.description {
            try await api.organizations.describeTeam(name, description: description, actor: request.caller.actor)
        }
        return try .json(try await detail(name, request: request).team)
    }

    func delete(_ request: APIRequest) async throws -> APIResponse {
        let name = request.path("team")
        try await requireManager(name, request: request)
        let disposition: TeamNamespaces
        switch Disposition(request.string("namespaces")) {
        case .delete: disposition = .delete
        case .transfer(let target):
            if !request.caller.isAdmin { try await requireManager(target, request: request) }
            disposition = .transfer(target)
        case .refuse: disposition = .refuse
        }
        try await api.organizations.deleteTeam(name, namespaces: disposition, actor: request.caller.actor)
        return .noContent
    }

    func members(_ request: APIRequest) async throws -> APIResponse {
        _ = try request.requireUser()
        return try .items(try await detail(request.path("team"), request: request).members)
    }

    struct MemberRole: Decodable { var role: String }

    func setMember(_ request: APIRequest) async throws -> APIResponse {
        let team = request.path("team")
        let user = request.path("user")
        try await requireManager(team, request: request)
        let body = try request.decode(MemberRole.self)
        guard let role = TeamRole(rawValue: body.role) else { throw APIError(.validation, "unknown role \(body.role)") }
        try await api.organizations.setMember(team: team, user: user, role: role, actor: request.caller.actor)
        return try .json(MemberBody(user: user, role: role.rawValue))
    }

    /// Owners and administrators remove anyone; a member may leave (the team keeps an owner either way).
    func removeMember(_ request: APIRequest) async throws -> APIResponse {
        let team = request.path("team")
        let user = request.path("user")
        if user != request.caller.subject.name { try await requireManager(team, request: request) } else { _ = try request.requireUser() }
        do {
            try await api.organizations.removeMember(team: team, user: user, actor: request.caller.actor)
        } catch let error as AccountError where error.code == .unknownUser {
            throw APIError(.memberNotFound, error.message)
        }
        return .noContent
    }

    /// The team with its members and namespaces, if the caller may see it (a member or an administrator);
    /// others are told it does not exist.
    private func detail(_ name: String, request: APIRequest) async throws -> TeamDetail {
        let userID = request.caller.subject.userID
        let admin = request.caller.isAdmin
        let found = try await api.pool.read { transaction -> TeamDetail? in
            guard let team = try transaction.teams.find(name: name) else { return nil }
            let members = try transaction.teams.members(teamID: team.id)
            guard admin || members.contains(where: { $0.userID == userID }) else { return nil }
            let namespaces = try transaction.namespaces.list(teamID: team.id).map(\.name).sorted()
            return TeamDetail(
                team: Self.body(team, members: members, userID: userID),
                members: members.map { MemberBody(user: $0.userName, role: $0.role.rawValue) }.sorted { $0.user < $1.user },
                namespaces: namespaces
            )
        }
        guard let found else { throw APIError(.teamNotFound, "unknown team \(name)") }
        return found
    }

    /// Fails unless the caller may manage the team: 404 when they may not even see it.
    private func requireManager(_ name: String, request: APIRequest) async throws {
        _ = try request.requireUser()
        let team = try await detail(name, request: request)
        guard api.rules.mayManageTeam(request.caller.subject.kind, role: team.team.role.flatMap(TeamRole.init(rawValue:))) else {
            throw APIError(.forbidden, "only the team's owners and administrators may change team \(name)")
        }
    }

    static func body(_ team: Team, members: [TeamMember], userID: Int64?) -> TeamBody {
        TeamBody(
            id: team.id,
            name: team.name,
            description: team.description,
            createdAt: team.createdAt,
            memberCount: members.count,
            role: members.first { $0.userID == userID }?.role.rawValue
        )
    }
}
