import WharfAuth
import WharfCore
import WharfDatabase

/// Users and their application tokens, as the CLI (and later the portal and the API) manage them.
///
/// Works on the database alone, so it gives the same result whether or not a server runs on the same database.
/// Each operation is one transaction: a person is created together with their personal namespace, or not at all.
public struct AccountService: Sendable {
    /// Portus allowed five application tokens per user; so does Wharf.
    public static let maximumTokensPerUser = 5

    let pool: DatabasePool
    let passwords: PasswordHasher
    let tokens: ApplicationTokenHasher

    public init(pool: DatabasePool, passwords: PasswordHasher = PasswordHasher(), tokens: ApplicationTokenHasher) {
        self.pool = pool
        self.passwords = passwords
        self.tokens = tokens
    }

    /// The service as every Wharf process on a data folder builds it: application tokens keyed by its `secrets`.
    public init(pool: DatabasePool, secrets: ServerSecrets, passwords: PasswordHasher = PasswordHasher()) {
        self.init(pool: pool, passwords: passwords, tokens: ApplicationTokenHasher(secret: secrets.applicationTokenKey))
    }

    /// Creates a user; a person (not a bot) gets a private personal namespace of the same name in the same
    /// transaction. The name must be a valid namespace name, since it becomes one.
    @discardableResult
    public func createUser(name: String, password: String, isAdmin: Bool = false, isBot: Bool = false) async throws -> User {
        try Self.validateName(name)
        let hash = try await hashPassword(password)
        return try await pool.write { transaction in
            if try transaction.users.find(name: name) != nil {
                throw AccountError(.userExists, "user \(name) already exists")
            }
            if !isBot, try transaction.namespaces.find(name: name) != nil {
                throw AccountError(.userExists, "a namespace named \(name) already exists")
            }
            let user = try transaction.users.create(NewUser(name: name, passwordHash: hash, isAdmin: isAdmin, isBot: isBot))
            if !isBot {
                try transaction.namespaces.create(name: name, kind: .personal, visibility: .private, ownerID: user.id)
            }
            return user
        }
    }

    /// Every user, ordered by name.
    public func listUsers() async throws -> [User] {
        try await pool.read { transaction in
            var users: [User] = []
            while true {
                let page = try transaction.users.list(after: users.last?.name, limit: 1000)
                users += page
                if page.count < 1000 { return users }
            }
        }
    }

    public func setPassword(name: String, password: String) async throws {
        let hash = try await hashPassword(password)
        try await modify(name) { $0.passwordHash = hash }
    }

    public func setAdmin(name: String, _ isAdmin: Bool) async throws {
        try await modify(name) { $0.isAdmin = isAdmin }
    }

    public func setEnabled(name: String, _ enabled: Bool) async throws {
        try await modify(name) { $0.enabled = enabled }
    }

    /// Removes the user, their personal namespace (with its repositories' records), memberships and tokens.
    public func deleteUser(name: String) async throws {
        try await pool.write { transaction in
            let user = try Self.user(name, in: transaction)
            if let namespace = try transaction.namespaces.find(name: name), namespace.kind == .personal, namespace.ownerID == user.id {
                try transaction.namespaces.delete(id: namespace.id)
            }
            try transaction.users.delete(id: user.id)
        }
    }

    /// Creates an application token called `label` for `user` and returns it with the secret, which is shown once:
    /// only its keyed hash is stored.
    public func createToken(user name: String, label: String) async throws -> (token: ApplicationToken, secret: String) {
        let secret = ApplicationTokenHasher.generate()
        let hash = tokens.hash(secret)
        let token = try await pool.write { transaction in
            let user = try Self.user(name, in: transaction)
            let existing = try transaction.tokens.list(userID: user.id)
            if existing.contains(where: { $0.application == label }) {
                throw AccountError(.tokenExists, "user \(name) already has a token named \(label)")
            }
            guard existing.count < Self.maximumTokensPerUser else {
                throw AccountError(
                    .tooManyTokens,
                    "user \(name) already has \(existing.count) tokens, the most allowed; revoke one first"
                )
            }
            return try transaction.tokens.create(userID: user.id, application: label, tokenHash: hash)
        }
        return (token, secret)
    }

    /// The user's tokens, ordered by label.
    public func listTokens(user name: String) async throws -> [ApplicationToken] {
        try await pool.read { transaction in try transaction.tokens.list(userID: Self.user(name, in: transaction).id) }
    }

    public func revokeToken(user name: String, label: String) async throws {
        try await pool.write { transaction in
            let user = try Self.user(name, in: transaction)
            guard let token = try transaction.tokens.list(userID: user.id).first(where: { $0.application == label }) else {
                throw AccountError(.unknownToken, "user \(name) has no token named \(label)")
            }
            try transaction.tokens.delete(id: token.id, userID: user.id)
        }
    }

    /// A user name must be usable as a namespace: one component of the repository name grammar.
    static func validateName(_ name: String) throws {
        guard !name.contains("/"), (try? RepositoryName(name)) != nil else {
            throw AccountError(
                .nameInvalid,
                "invalid user name \(name.debugDescription): lowercase letters and digits, separated by . _ __ or -, at most 255"
            )
        }
    }

    private func hashPassword(_ password: String) async throws -> String {
        do {
            try PasswordHasher.validate(password)
        } catch {
            throw AccountError(.weakPassword, error.message)
        }
        return try await passwords.hash(password)
    }

    private func modify(_ name: String, _ change: @escaping @Sendable (inout User) -> Void) async throws {
        try await pool.write { transaction in
            var user = try Self.user(name, in: transaction)
            change(&user)
            try transaction.users.update(user)
        }
    }

    private static func user(_ name: String, in transaction: Transaction) throws -> User {
        guard let user = try transaction.users.find(name: name) else { throw AccountError(.unknownUser, "unknown user \(name)") }
        return user
    }
}
