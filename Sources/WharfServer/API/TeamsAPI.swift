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
        _ = try request.requireUser()
        let (size, after) = request.page
        let teams = try await access(request).list(after: after, limit: size + 1)
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
        let team = try await access(request).create(name: body.name, description: body.description ?? "", owner: body.owner)
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
        try await access(request).delete(name, namespaces: Disposition(request.string("namespaces")))
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
        try await access(request).setMember(team: team, user: user, role: role)
        return try .json(MemberBody(user: user, role: role.rawValue))
    }

    /// Owners and administrators remove anyone; a member may leave (the team keeps an owner either way).
    func removeMember(_ request: APIRequest) async throws -> APIResponse {
        let team = request.path("team")
        let user = request.path("user")
        try await access(request).removeMember(team: team, user: user)
        return .noContent
    }

    private func detail(_ name: String, request: APIRequest) async throws -> TeamDetail {
        try await access(request).detail(name)
    }

    /// Fails unless the caller may manage the team: 404 when they may not even see it.
    private func requireManager(_ name: String, request: APIRequest) async throws {
        _ = try request.requireUser()
        try await access(request).requireManager(name)
    }

    private func access(_ request: APIRequest) -> TeamAccess { TeamAccess(api: api, caller: request.caller) }

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
