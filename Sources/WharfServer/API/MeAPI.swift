import Foundation
import WharfAuth
import WharfCore
import WharfDatabase

/// An application token as listed (never its secret or hash).
struct TokenBody: Encodable {
    var id: Int64
    var label: String
    var createdAt: Date
    var lastUsedAt: Date?
    var expiresAt: Date?

    init(_ token: ApplicationToken) {
        id = token.id
        label = token.application
        createdAt = token.createdAt
        lastUsedAt = token.lastUsedAt
        expiresAt = token.expiresAt
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(label, forKey: .label)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(lastUsedAt, forKey: .lastUsedAt)
        try container.encode(expiresAt, forKey: .expiresAt)
    }

    enum CodingKeys: String, CodingKey { case id, label, createdAt, lastUsedAt, expiresAt }
}

/// A new application token with its secret, the one time it is shown.
struct TokenSecretBody: Encodable {
    var id: Int64
    var label: String
    var createdAt: Date
    var expiresAt: Date?
    var secret: String

    init(_ token: ApplicationToken, secret: String) {
        id = token.id
        label = token.application
        createdAt = token.createdAt
        expiresAt = token.expiresAt
        self.secret = secret
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(label, forKey: .label)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(expiresAt, forKey: .expiresAt)
        try container.encode(secret, forKey: .secret)
    }

    enum CodingKeys: String, CodingKey { case id, label, createdAt, expiresAt, secret }
}

/// `/me`: the caller's own account, password and tokens.
struct MeAPI {
    let api: APIServices

    var handlers: [String: APIHandler] {
        [
            "getMe": me, "changeMyPassword": changePassword, "listMyTokens": listTokens, "createMyToken": createToken,
            "revokeMyToken": revokeToken, "listMyRefreshTokens": listRefreshTokens, "revokeMyRefreshToken": revokeRefreshToken,
        ]
    }

    struct Me: Encodable {
        struct Membership: Encodable {
            var name: String
            var role: String
        }
        var user: UserBody
        var teams: [Membership]
    }

    func me(_ request: APIRequest) async throws -> APIResponse {
        let id = try request.requireUser()
        let found = try await api.pool.read { transaction -> (User, [(team: Team, role: TeamRole)])? in
            guard let user = try transaction.users.find(id: id) else { return nil }
            return (user, try transaction.teams.memberships(userID: id))
        }
        guard let (user, memberships) = found else { throw APIError.unauthorized("your account no longer exists") }
        let teams = memberships.filter { !$0.team.isHidden }.map { Me.Membership(name: $0.team.name, role: $0.role.rawValue) }
        return try .json(Me(user: UserBody(user), teams: teams))
    }

    struct PasswordChange: Decodable {
        var currentPassword: String
        var newPassword: String
    }

    /// The current password is checked as a login is (``AccountSelfService/changePassword(current:new:)``).
    func changePassword(_ request: APIRequest) async throws -> APIResponse {
        _ = try request.requireUser()
        let body = try request.decode(PasswordChange.self)
        try await AccountSelfService(api: api, caller: request.caller).changePassword(current: body.currentPassword, new: body.newPassword)
        return .noContent
    }

    func listTokens(_ request: APIRequest) async throws -> APIResponse {
        _ = try request.requireUser()
        let tokens = try await api.accounts.listTokens(user: request.caller.subject.name)
        return try .items(tokens.map(TokenBody.init))
    }

    struct TokenCreate: Decodable {
        var label: String
        var expiresInDays: Int?
    }

    func createToken(_ request: APIRequest) async throws -> APIResponse {
        _ = try request.requireUser()
        let body = try request.decode(TokenCreate.self)
        let expiry = body.expiresInDays.map { Date().addingTimeInterval(Double($0) * 86_400) }
        let created = try await api.accounts.createToken(
            user: request.caller.subject.name,
            label: body.label,
            expiresAt: expiry,
            actor: request.caller.actor
        )
        return try .json(TokenSecretBody(created.token, secret: created.secret), status: .created)
    }

    func revokeToken(_ request: APIRequest) async throws -> APIResponse {
        _ = try request.requireUser()
        try await AccountSelfService(api: api, caller: request.caller).revokeToken(id: Int64(request.path("id")) ?? 0)
        return .noContent
    }

    struct RefreshBody: Encodable {
        var id: Int64
        var clientId: String
        var createdAt: Date
        var lastUsedAt: Date?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(clientId, forKey: .clientId)
            try container.encode(createdAt, forKey: .createdAt)
            try container.encode(lastUsedAt, forKey: .lastUsedAt)
        }

        enum CodingKeys: String, CodingKey { case id, clientId, createdAt, lastUsedAt }
    }

    func listRefreshTokens(_ request: APIRequest) async throws -> APIResponse {
        _ = try request.requireUser()
        let tokens = try await api.accounts.listRefreshTokens(user: request.caller.subject.name)
        return try .items(tokens.map { RefreshBody(id: $0.id, clientId: $0.clientID, createdAt: $0.createdAt, lastUsedAt: $0.lastUsedAt) })
    }

    func revokeRefreshToken(_ request: APIRequest) async throws -> APIResponse {
        _ = try request.requireUser()
        try await AccountSelfService(api: api, caller: request.caller).revokeRefreshToken(id: Int64(request.path("id")) ?? 0)
        return .noContent
    }
}
