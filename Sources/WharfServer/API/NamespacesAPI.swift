import Foundation
import WharfAuth
import WharfCore
import WharfDatabase

/// A namespace as the API shows it, with what the caller may do in it (from the permission table).
struct NamespaceBody: Encodable {
    struct Permissions: Encodable {
        var pull: Bool
        var push: Bool
        var delete: Bool
        var manage: Bool
    }

    var id: Int64
    var name: String
    var kind: String
    var visibility: String
    var team: String?
    var owner: String?
    var description: String
    var createdAt: Date
    var permissions: Permissions

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encode(kind, forKey: .kind)
        try container.encode(visibility, forKey: .visibility)
        try container.encode(team, forKey: .team)
        try container.encode(owner, forKey: .owner)
        try container.encode(description, forKey: .description)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(permissions, forKey: .permissions)
    }

    enum CodingKeys: String, CodingKey { case id, name, kind, visibility, team, owner, description, createdAt, permissions }
}

/// `/namespaces`: namespaces as the caller may see them (those they may pull from), and their settings for those
/// who manage them.
struct NamespacesAPI {
    let api: APIServices

    var handlers: [String: APIHandler] {
        [
            "listNamespaces": list, "createNamespace": create, "getNamespace": get, "updateNamespace": update, "deleteNamespace": delete,
        ]
    }

    func list(_ request: APIRequest) async throws -> APIResponse {
        let (size, after) = request.page
        let subject = request.caller.subject
        let rules = api.rules
        let team = request.string("team")
        let visibility = request.string("visibility").flatMap(Visibility.init(rawValue:))
        let kind = request.string("kind").flatMap(NamespaceKind.init(rawValue:))
        let text = request.string("q")
        let found = try await api.pool.read { transaction -> [NamespaceBody] in
            let roles = try Self.roles(subject, in: transaction)
            let teamID = try team.map { try transaction.teams.find(name: $0)?.id ?? -1 }
            var bodies: [NamespaceBody] = []
            var cursor = after
            while bodies.count <= size {
                let page = try transaction.namespaces.list(after: cursor, limit: 500)
                for namespace in page {
                    if let teamID, namespace.teamID != teamID { continue }
                    if let visibility, namespace.visibility != visibility { continue }
                    if let kind, namespace.kind != kind { continue }
                    if let text, !text.isEmpty, !namespace.name.contains(text) { continue }
                    let body = try Self.body(namespace, subject: subject, roles: roles, rules: rules, in: transaction)
                    if body.permissions.pull { bodies.append(body) }
                }
                guard page.count == 500, let last = page.last else { break }
                cursor = last.name
            }
            return bodies
        }
        return try .page(found, size: size, key: \.name, request: request)
    }

    struct NamespaceCreate: Decodable {
        var name: String
        var team: String
        var visibility: String?
        var description: String?
    }

    func create(_ request: APIRequest) async throws -> APIResponse {
        _ = try request.requireUser()
        let body = try request.decode(NamespaceCreate.self)
        try await requireTeamOwner(body.team, request: request)
        let visibility = body.visibility.flatMap(Visibility.init(rawValue:)) ?? .private
        let namespace = try await api.organizations.createNamespace(
            name: body.name,
            team: body.team,
            visibility: visibility,
            description: body.description ?? "",
            actor: request.caller.actor
        )
        return try .json(try await visible(namespace.name, request: request), status: .created).located("/api/v1/namespaces/\(namespace.name)")
    }

    func get(_ request: APIRequest) async throws -> APIResponse {
        try .json(try await visible(request.path("namespace"), request: request))
    }

    struct NamespaceUpdate: Decodable {
        var visibility: String?
        var team: String?
        var description: String?
    }

    func update(_ request: APIRequest) async throws -> APIResponse {
        let name = request.path("namespace")
        try await requireManager(name, request: request)
        let body = try request.decode(NamespaceUpdate.self)
        if let team = body.team { try await requireTeamOwner(team, request: request) }
        try await api.organizations.updateNamespace(
            name: name,
            visibility: body.visibility.flatMap(Visibility.init(rawValue:)),
            team: body.team,
            description: body.description,
            actor: request.caller.actor
        )
        return try .json(try await visible(name, request: request))
    }

    func delete(_ request: APIRequest) async throws -> APIResponse {
        let name = request.path("namespace")
        try await requireManager(name, request: request)
        let withRepositories = request.bool("delete_repositories") ?? false
        if withRepositories { try await api.services.immutability.checkDeleteNamespace(name) }
        try await api.organizations.deleteNamespace(
            name: name,
            deleteRepositories: withRepositories,
            actor: request.caller.actor
        )
        return .noContent
    }

    /// The namespace if the caller may see it (pull from it); otherwise it does not exist for them (404).
    func visible(_ name: String, request: APIRequest) async throws -> NamespaceBody {
        try await visible(name, caller: request.caller)
    }

    /// The namespace as `caller` sees it (the portal asks too); 404 when they may not see it.
    func visible(_ name: String, caller: APICaller) async throws -> NamespaceBody {
        let subject = caller.subject
        let rules = api.rules
        let body = try await api.pool.read { transaction -> NamespaceBody? in
            guard let namespace = try transaction.namespaces.find(name: name) else { return nil }
            return try Self.body(namespace, subject: subject, roles: Self.roles(subject, in: transaction), rules: rules, in: transaction)
        }
        guard let body, body.permissions.pull else {
            if caller.isAnonymous { throw APIError(.namespaceNotFound, "unknown namespace \(name) (sign in to see private namespaces)") }
            throw APIError(.namespaceNotFound, "unknown namespace \(name)")
        }
        return body
    }

    /// Fails unless the caller manages the namespace (404 when they may not even see it).
    func requireManager(_ name: String, request: APIRequest) async throws {
        _ = try request.requireUser()
        try await requireManager(name, caller: request.caller)
    }

    /// The namespace if `caller` manages it; fails otherwise (404 when they may not even see it).
    @discardableResult
    func requireManager(_ name: String, caller: APICaller) async throws -> NamespaceBody {
        let body = try await visible(name, caller: caller)
        guard body.permissions.manage else {
            throw APIError(.forbidden, "only the namespace's owners and administrators may change namespace \(name)")
        }
        return body
    }

    /// Fails unless the caller owns `team` (or is an administrator): only they give a team a namespace.
    private func requireTeamOwner(_ team: String, request: APIRequest) async throws {
        try await requireTeamOwner(team, caller: request.caller)
    }

    /// Fails unless `caller` owns `team` (or is an administrator); the portal's namespace forms ask too.
    func requireTeamOwner(_ team: String, caller: APICaller) async throws {
        if caller.isAdmin { return }
        let userID = caller.subject.userID
        let role = try await api.pool.read { transaction -> TeamRole?? in
            guard let found = try transaction.teams.find(name: team) else { return nil }
            return .some(try userID.flatMap { try transaction.teams.role(teamID: found.id, userID: $0) })
        }
        guard let role else { throw APIError(.teamNotFound, "unknown team \(team)") }
        guard api.rules.mayManageTeam(caller.subject.kind, role: role) else {
            throw APIError(.forbidden, "only owners of team \(team) and administrators give it namespaces")
        }
    }

    /// The caller's role in each team they belong to.
    static func roles(_ subject: TokenSubject, in transaction: Transaction) throws -> [Int64: TeamRole] {
        guard let userID = subject.userID else { return [:] }
        var roles: [Int64: TeamRole] = [:]
        for membership in try transaction.teams.memberships(userID: userID) { roles[membership.team.id] = membership.role }
        return roles
    }

    static func body(
        _ namespace: Namespace,
        subject: TokenSubject,
        roles: [Int64: TeamRole],
        rules: PermissionRules,
        in transaction: Transaction
    ) throws -> NamespaceBody {
        let facts = Authorizer.facts(of: namespace, teamRole: namespace.teamID.flatMap { roles[$0] }, subject: subject)
        let target = PermissionTarget.namespace(facts)
        return NamespaceBody(
            id: namespace.id,
            name: namespace.name,
            kind: namespace.kind.rawValue,
            visibility: namespace.visibility.rawValue,
            team: try namespace.teamID.flatMap { try transaction.teams.find(id: $0)?.name },
            owner: try namespace.ownerID.flatMap { try transaction.users.find(id: $0)?.name },
            description: namespace.description,
            createdAt: namespace.createdAt,
            permissions: .init(
                pull: rules.isAllowed(.pull, for: subject.kind, on: target),
                push: rules.isAllowed(.push, for: subject.kind, on: target),
                delete: rules.isAllowed(.delete, for: subject.kind, on: target),
                manage: rules.mayManage(subject.kind, facts)
            )
        )
    }
}
