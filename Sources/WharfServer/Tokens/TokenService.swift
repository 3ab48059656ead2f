import Foundation
import WharfAuth
import WharfCore
import WharfDatabase

/// Who a token is for, after authentication.
struct TokenSubject: Sendable, Hashable {
    /// The account name; empty for anonymous callers.
    var name: String
    var kind: SubjectKind
    var userID: Int64?

    static let anonymous = TokenSubject(name: "", kind: .anonymous, userID: nil)
}

/// The token server's logic without HTTP: checks credentials, decides which of the requested actions the caller
/// gets (``PermissionRules`` with the namespace facts from the database) and signs the token.
///
/// A repository name without a slash is in the global namespace (not a database row: logged-in users pull, admins
/// push). A repository in a namespace that does not exist gets no actions yet: creating the namespace on push is
/// part of the registry-side enforcement, which must then also make the push visible.
struct TokenService: Sendable {
    let pool: DatabasePool
    let passwords: PasswordHasher
    let applicationTokens: ApplicationTokenHasher
    let issuer: TokenIssuer
    let rules: PermissionRules
    /// The audience when a request names no `service`.
    let defaultService: String

    /// Checks Basic credentials: an application token of `username` (recognised by its shape, looked up by its
    /// keyed hash) or the user's bcrypt password. Unknown users, wrong passwords and disabled accounts all fail
    /// with the same ``TokenError``; an unknown user still costs a bcrypt check, so timing does not tell them apart.
    func authenticate(username: String, password: String) async throws -> TokenSubject {
        let refused = TokenError(.unauthorized, "invalid username or password")
        if ApplicationTokenHasher.isWellFormed(password) {
            let hash = applicationTokens.hash(password)
            let found = try await pool.read { transaction in try transaction.tokens.find(hash: hash) }
            if let (token, user) = found, user.name == username, applicationTokens.matches(password, storedHash: token.tokenHash) {
                guard user.enabled else { throw refused }
                return Self.subject(user)
            }
        }
        let user = try await pool.read { transaction in try transaction.users.find(name: username) }
        guard try await passwords.verify(password, against: user?.passwordHash), let user, user.enabled else { throw refused }
        return Self.subject(user)
    }

    /// The requested scopes narrowed to what `subject` may do; scopes left without actions are dropped.
    func grant(_ requested: [AccessScope], to subject: TokenSubject) async throws -> [AccessScope] {
        let rules = self.rules
        return try await pool.read { transaction in
            var granted: [AccessScope] = []
            for scope in requested {
                let target: PermissionTarget
                switch scope.resource {
                case .catalog:
                    target = .catalog
                case .repository(let name):
                    guard let facts = try Self.facts(for: name, subject: subject, in: transaction) else { continue }
                    target = .namespace(facts)
                }
                let actions = rules.allowed(scope.actions, for: subject.kind, on: target)
                if !actions.isEmpty { granted.append(AccessScope(scope.resource, actions: actions)) }
            }
            return granted
        }
    }

    /// Signs a token for `subject` with `access` for `service` (or ``defaultService``).
    func issue(to subject: TokenSubject, service: String?, access: [AccessScope]) throws -> IssuedToken {
        try issuer.issue(subject: subject.name, audience: service.flatMap { $0.isEmpty ? nil : $0 } ?? defaultService, access: access)
    }

    /// The namespace facts for `name` from `subject`'s point of view; nil when its namespace does not exist.
    static func facts(for name: RepositoryName, subject: TokenSubject, in transaction: Transaction) throws -> NamespaceFacts? {
        guard let slash = name.value.firstIndex(of: "/") else {
            return NamespaceFacts(kind: .global, visibility: .protected, role: .none)
        }
        guard let access = try transaction.namespaces.access(name: String(name.value[..<slash]), userID: subject.userID) else { return nil }
        let namespace = access.namespace
        let role: WharfAuth.TeamRole
        if namespace.kind == .personal, let owner = namespace.ownerID, owner == subject.userID {
            role = .owner
        } else {
            switch access.role {
            case nil: role = .none
            case .viewer: role = .viewer
            case .contributor: role = .contributor
            case .owner: role = .owner
            }
        }
        let kind: NamespaceKind =
            switch namespace.kind {
            case .personal: .personal
            case .global: .global
            case .team: .team
            }
        let visibility: WharfAuth.Visibility =
            switch namespace.visibility {
            case .private: .private
            case .protected: .protected
            case .public: .public
            }
        return NamespaceFacts(kind: kind, visibility: visibility, role: role)
    }

    static func subject(_ user: User) -> TokenSubject {
        TokenSubject(name: user.name, kind: user.isAdmin ? .admin : user.isBot ? .bot : .user, userID: user.id)
    }
}
