import Foundation
import WharfAuth
import WharfDatabase

/// A user as the API shows it (never their password hash).
struct UserBody: Encodable {
    var id: Int64
    var name: String
    var email: String?
    var displayName: String?
    var admin: Bool
    var bot: Bool
    var enabled: Bool
    var locked: Bool
    var ldap: Bool
    var createdAt: Date
    var lastLoginAt: Date?

    init(_ user: User) {
        id = user.id
        name = user.name
        email = user.email
        displayName = user.displayName
        admin = user.isAdmin
        bot = user.isBot
        enabled = user.enabled
        locked = user.isLocked()
        ldap = user.ldapDN != nil
        createdAt = user.createdAt
        lastLoginAt = user.lastLoginAt
    }

    /// Nulls are written, so a client sees every field the schema names.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encode(email, forKey: .email)
        try container.encode(displayName, forKey: .displayName)
        try container.encode(admin, forKey: .admin)
        try container.encode(bot, forKey: .bot)
        try container.encode(enabled, forKey: .enabled)
        try container.encode(locked, forKey: .locked)
        try container.encode(ldap, forKey: .ldap)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(lastLoginAt, forKey: .lastLoginAt)
    }

    enum CodingKeys: String, CodingKey { case id, name, email, displayName, admin, bot, enabled, locked, ldap, createdAt, lastLoginAt }
}

/// `/users`: the first administrator, and users as administrators manage them.
struct UsersAPI {
    let api: APIServices

    var handlers: [String: APIHandler] {
        [
            "bootstrapUser": bootstrap, "listUsers": list, "createUser": create, "getUser": get, "updateUser": update, "deleteUser": delete,
            "unlockUser": unlock,
        ]
    }

    struct BootstrapRequest: Decodable {
        var name: String
        var password: String
        var email: String?
        var tokenLabel: String?
    }

    struct Bootstrap: Encodable {
        var user: UserBody
        var token: TokenSecretBody
    }

    /// The first administrator, only while no user exists at all; a race of two requests leaves one admin (the
    /// second finds a user and is refused, or conflicts on the name).
    func bootstrap(_ request: APIRequest) async throws -> APIResponse {
        let body = try request.decode(BootstrapRequest.self)
        let refused = APIError(.bootstrapDone, "users exist already: sign in as an administrator to create more")
        guard try await api.pool.read({ transaction in try transaction.users.count() }) == 0 else { throw refused }
        let actor = ActivityActor(id: nil, name: body.name, address: request.caller.address)
        let user = try await api.accounts.createUser(name: body.name, password: body.password, isAdmin: true, actor: actor)
        // A concurrent bootstrap that also got past the check above: the later user is removed again.
        let first = try await api.pool.read { transaction in try transaction.users.list(limit: 2) }
        if first.count > 1 {
            let earliest = first.min { $0.id < $1.id }
            if earliest?.id != user.id {
                try await api.accounts.deleteUser(name: user.name, actor: actor)
                throw refused
            }
        }
        if let email = body.email { try await api.accounts.updateProfile(name: user.name, email: email, displayName: nil, actor: actor) }
        let created = try await api.accounts.createToken(user: user.name, label: body.tokenLabel ?? "bootstrap", actor: actor)
        let stored = try await api.pool.read { transaction in try transaction.users.find(id: user.id) } ?? user
        return try .json(Bootstrap(user: UserBody(stored), token: TokenSecretBody(created.token, secret: created.secret)), status: .created)
    }

    func list(_ request: APIRequest) async throws -> APIResponse {
        try request.requireAdmin()
        let (size, after) = request.page
        let text = request.string("q")
        let admin = request.bool("admin")
        let enabled = request.bool("enabled")
        // Filters are applied while reading pages in name order, so the page is full whenever more users match.
        let users = try await api.pool.read { transaction in
            var found: [User] = []
            var cursor = after
            while found.count <= size {
                let page = try transaction.users.list(after: cursor, limit: 500)
                for user in page {
                    if let text, !text.isEmpty, !user.name.contains(text) { continue }
                    if let admin, user.isAdmin != admin { continue }
                    if let enabled, user.enabled != enabled { continue }
                    found.append(user)
                }
                guard page.count == 500, let last = page.last else { break }
                cursor = last.name
            }
            return found
        }
        return try .page(users.map(UserBody.init), size: size, key: \.name, request: request)
    }

    struct UserCreate: Decodable {
        var name: String
        var password: String
        var email: String?
        var displayName: String?
        var admin: Bool?
        var bot: Bool?
    }

    func create(_ request: APIRequest) async throws -> APIResponse {
        try request.requireAdmin()
        let body = try request.decode(UserCreate.self)
        let actor = request.caller.actor
        if let email = body.email, try await api.pool.read({ transaction in try transaction.users.find(email: email) }) != nil {
            throw APIError(.userExists, "another user has the email \(email)")
        }
        let user = try await api.accounts.createUser(
            name: body.name,
            password: body.password,
            isAdmin: body.admin ?? false,
            isBot: body.bot ?? false,
            actor: actor
        )
        if body.email != nil || body.displayName != nil {
            try await api.accounts.updateProfile(name: user.name, email: body.email, displayName: body.displayName, actor: actor)
        }
        return try .json(UserBody(try await find(user.name)), status: .created).located("/api/v1/users/\(user.name)")
    }

    func get(_ request: APIRequest) async throws -> APIResponse {
        let name = request.path("user")
        guard request.caller.isAdmin || request.caller.subject.name == name else {
            _ = try request.requireUser()
            throw APIError(.forbidden, "only administrators see other users")
        }
        return try .json(UserBody(try await find(name)))
    }

    struct UserUpdate: Decodable {
        var email: String?
        var displayName: String?
        var admin: Bool?
        var enabled: Bool?
        var password: String?
    }

    func update(_ request: APIRequest) async throws -> APIResponse {
        try request.requireAdmin()
        let name = request.path("user")
        let body = try request.decode(UserUpdate.self)
        let actor = request.caller.actor
        _ = try await find(name)
        if name == request.caller.subject.name {
            if body.admin == false { throw APIError(.notAllowed, "you cannot demote yourself; another administrator can") }
            if body.enabled == false { throw APIError(.notAllowed, "you cannot disable yourself; another administrator can") }
            if body.password != nil { throw APIError(.notAllowed, "change your own password with PUT /me/password, which asks for the current one") }
        }
        if body.email != nil || body.displayName != nil {
            try await api.accounts.updateProfile(name: name, email: body.email, displayName: body.displayName, actor: actor)
        }
        if let admin = body.admin { try await api.accounts.setAdmin(name: name, admin, actor: actor) }
        if let enabled = body.enabled { try await api.accounts.setEnabled(name: name, enabled, actor: actor) }
        if let password = body.password { try await api.accounts.setPassword(name: name, password: password, actor: actor) }
        return try .json(UserBody(try await find(name)))
    }

    func delete(_ request: APIRequest) async throws -> APIResponse {
        try request.requireAdmin()
        let name = request.path("user")
        guard name != request.caller.subject.name else { throw APIError(.notAllowed, "you cannot delete yourself; another administrator can") }
        let disposition: PersonalRepositories
        switch Disposition(request.string("repositories")) {
        case .delete: disposition = .delete
        case .transfer(let team): disposition = .transfer(toTeam: team)
        case .refuse: disposition = .refuse
        }
        try await api.accounts.deleteUser(name: name, repositories: disposition, actor: request.caller.actor)
        return .noContent
    }

    func unlock(_ request: APIRequest) async throws -> APIResponse {
        try request.requireAdmin()
        let name = request.path("user")
        try await api.accounts.unlock(name: name, actor: request.caller.actor)
        return try .json(UserBody(try await find(name)))
    }

    private func find(_ name: String) async throws -> User {
        guard let user = try await api.pool.read({ transaction in try transaction.users.find(name: name) }) else {
            throw APIError(.userNotFound, "unknown user \(name)")
        }
        return user
    }
}
