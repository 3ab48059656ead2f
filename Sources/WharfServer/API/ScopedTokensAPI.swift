import Foundation
import WharfAuth
import WharfDatabase

/// `/namespaces/{namespace}/tokens`: scoped tokens for machines (Harbor's robot accounts), made, listed and revoked
/// by the namespace's owners and administrators (``ScopedTokenService`` decides who).
struct ScopedTokensAPI {
    let api: APIServices

    var handlers: [String: APIHandler] {
        ["listScopedTokens": list, "createScopedToken": create, "revokeScopedToken": revoke]
    }

    struct ScopedTokenBody: Encodable {
        var id: Int64
        var name: String
        var username: String
        var namespace: String
        var repositories: String
        var actions: String
        var expiresAt: Date
        var createdBy: String
        var createdAt: Date
        var lastUsedAt: Date?
        var secret: String?

        init(_ token: ScopedToken, secret: String? = nil) {
            id = token.id
            name = token.name
            username = token.username.description
            namespace = token.namespace
            repositories = token.repositories
            actions = token.actions
            expiresAt = token.expiresAt
            createdBy = token.createdByName
            createdAt = token.createdAt
            lastUsedAt = token.lastUsedAt
            self.secret = secret
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(name, forKey: .name)
            try container.encode(username, forKey: .username)
            try container.encode(namespace, forKey: .namespace)
            try container.encode(repositories, forKey: .repositories)
            try container.encode(actions, forKey: .actions)
            try container.encode(expiresAt, forKey: .expiresAt)
            try container.encode(createdBy, forKey: .createdBy)
            try container.encode(createdAt, forKey: .createdAt)
            try container.encode(lastUsedAt, forKey: .lastUsedAt)
            try container.encodeIfPresent(secret, forKey: .secret)
        }

        enum CodingKeys: String, CodingKey {
            case id, name, username, namespace, repositories, actions, expiresAt, createdBy, createdAt, lastUsedAt, secret
        }
    }

    func list(_ request: APIRequest) async throws -> APIResponse {
        _ = try request.requireUser()
        let tokens = try await api.scopedTokens.list(namespace: request.path("namespace"), by: request.caller.subject)
        return try .items(tokens.map { ScopedTokenBody($0) })
    }

    struct ScopedTokenCreate: Decodable {
        var name: String
        var repositories: String?
        var actions: String?
        var expiresInDays: Int
    }

    func create(_ request: APIRequest) async throws -> APIResponse {
        _ = try request.requireUser()
        let body = try request.decode(ScopedTokenCreate.self)
        let actions = try ScopedTokenService.actions(parsing: body.actions ?? "pull")
        let created = try await api.scopedTokens.create(
            namespace: request.path("namespace"),
            name: body.name,
            repositories: body.repositories ?? "*",
            actions: actions,
            expiresAt: Date().addingTimeInterval(Double(body.expiresInDays) * 86_400),
            by: request.caller.subject,
            address: request.caller.address
        )
        return try APIResponse.json(ScopedTokenBody(created.token, secret: created.secret), status: .created)
    }

    func revoke(_ request: APIRequest) async throws -> APIResponse {
        _ = try request.requireUser()
        let id = Int64(request.path("id")) ?? 0
        try await api.scopedTokens.revoke(namespace: request.path("namespace"), id: id, by: request.caller.subject, address: request.caller.address)
        return .noContent
    }
}
