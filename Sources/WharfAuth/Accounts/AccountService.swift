import Foundation
import WharfCore
import WharfDatabase

/// Users and their application tokens, as the CLI (and later the portal and the API) manage them.
///
/// Works on the database and the storage folder alone, so it gives the same result whether or not a server runs
/// on them. Each operation is one transaction: a person is created together with their personal namespace, or not
/// at all. Storage is asked what a namespace holds: a user is not deleted from under their repositories without
/// saying what becomes of them, and a new user does not inherit content left under their name.
public struct AccountService: Sendable {
    /// Portus allowed five application tokens per user; so does Wharf.
    public static let maximumTokensPerUser = 5

    let pool: DatabasePool
    let passwords: PasswordHasher
    let tokens: ApplicationTokenHasher
    /// Names no user may take (the service account's, whether or not its password is set now).
    let reservedNames: Set<String>
    let content: any NamespaceStorage

    public init(
        pool: DatabasePool,
        content: any NamespaceStorage,
        passwords: PasswordHasher,
        tokens: ApplicationTokenHasher,
        reservedNames: Set<String> = []
    ) {
        self.pool = pool
        self.content = content
        self.passwords = passwords
        self.tokens = tokens
        self.reservedNames = reservedNames
    }

    /// Creates a user; a person (not a bot) gets a private personal namespace of the same name in the same
    /// transaction. The name must be a valid namespace name, since it becomes one. When storage holds content
    /// under that name without an owner (a deleted user's repositories), the user is refused unless
    /// `adoptNamespace` gives them that content as their personal namespace.
    @discardableResult
    public func createUser(
        name: String,
        password: String,
        isAdmin: Bool = false,
        isBot: Bool = false,
        adoptNamespace: Bool = false,
        actor: ActivityActor = .commandLine
    ) async throws -> User {
        try Self.validateName(name)
        if adoptNamespace && isBot { throw AccountError(.notAllowed, "a bot has no personal namespace to adopt content into") }
        guard !reservedNames.contains(name) else {
            throw AccountError(.userExists, "\(name) is the service account's name (auth.service_account); choose another")
        }
        let hash = try await hashPassword(password)
        // Storage is read before the transaction (a database transaction never waits on storage).
        let unowned = isBot ? false : try await content.holdsContent(name)
        let repositories = unowned ? try await content.repositories(in: name) : []
        return try await pool.write { transaction in
            if try transaction.users.find(name: name) != nil {
                throw AccountError(.userExists, "user \(name) already exists")
            }
            if !isBot, try transaction.namespaces.find(name: name) != nil {
                throw AccountError(.userExists, "a namespace named \(name) already exists")
            }
            if unowned && !adoptNamespace {
                throw AccountError(
                    .unownedContent,
                    "namespace \(name) holds content without an owner (\(Self.describe(repositories))): give it to the new user "
                        + "(wharf user create \(name) --adopt-namespace), to a team (wharf namespace adopt \(name) --team TEAM), "
                        + "or delete it (wharf namespace purge \(name))"
                )
            }
            if adoptNamespace && !unowned {
                throw AccountError(.noContent, "namespace \(name) holds no content without an owner: create the user without --adopt-namespace")
            }
            let user = try transaction.users.create(NewUser(name: name, passwordHash: hash, isAdmin: isAdmin, isBot: isBot))
            try transaction.activities.record(.userCreate, by: actor, on: .user(user), details: ["admin": isAdmin, "bot": isBot])
            if !isBot {
                let namespace = try transaction.namespaces.create(name: name, kind: .personal, visibility: .private, ownerID: user.id)
                if unowned {
                    try transaction.activities.record(
                        .namespaceAdopt,
                        by: actor,
                        on: .namespace(namespace),
                        details: ["user": name, "repositories": repositories.count]
                    )
                }
            }
            return user
        }
    }

    /// A person creating their own account (the portal's sign-up). On an installation without any user the first
    /// account becomes administrator; two people signing up at that moment leave one administrator (the later
    /// account stays a plain user, or is removed again when `open` is false, since sign-up was only offered for
    /// the first account). Otherwise refused unless `open` (`portal.signup`). Returns the user and whether they
    /// became administrator.
    public func signUp(name: String, password: String, email: String?, open: Bool, actor: ActivityActor) async throws -> (user: User, isAdmin: Bool) {
        let first = try await pool.read { transaction in try transaction.users.count() } == 0
        guard first || open else { throw AccountError(.notAllowed, "sign-up is closed on this server: ask an administrator for an account") }
        if let email, !email.isEmpty, try await pool.read({ transaction in try transaction.users.find(email: email) }) != nil {
            throw AccountError(.userExists, "an account with this email exists already")
        }
        var user = try await createUser(name: name, password: password, isAdmin: first, actor: actor)
        if first {
            let earliest = try await pool.read { transaction in try transaction.users.list(limit: 2) }.min { $0.id < $1.id }
            if earliest?.id != user.id {
                guard open else {
                    try await deleteUser(name: user.name, actor: actor)
                    throw AccountError(.notAllowed, "sign-up is closed on this server: ask an administrator for an account")
                }
                try await setAdmin(name: user.name, false, actor: actor)
                user.isAdmin = false
            }
        }
        if let email, !email.isEmpty {
            try await updateProfile(name: user.name, email: email, displayName: nil, actor: actor)
            user.email = email
        }
        return (user, user.isAdmin)
    }

    /// Whether any administrator exists (disabled ones count): the CLI tells how to make the first one, since
    /// logging in never makes anyone admin.
    public func adminExists() async throws -> Bool {
        try await pool.read { transaction in try transaction.users.adminCount() > 0 }
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

    /// Sets the password, lifts a lockout, and revokes the user's refresh tokens and ends their portal sessions
    /// (logins made with the old password end with them).
    public func setPassword(name: String, password: String, actor: ActivityActor = .commandLine) async throws {
        let hash = try await hashPassword(password)
        try await pool.write { transaction in
            var user = try Self.user(name, in: transaction)
            // A directory user's password lives in the directory: a local one would never be asked for.
            if let dn = user.ldapDN {
                throw AccountError(.notAllowed, "\(name) signs in through the directory (LDAP, \(dn)): change the password there")
            }
            user.passwordHash = hash
            try transaction.users.update(user)
            try transaction.users.clearFailedLogins(id: user.id)
            let ended = try transaction.refreshTokens.deleteAll(userID: user.id)
            // Browsers signed in with the old password too; the portal starts a new session for the one that
            // made the change.
            try transaction.sessions.deleteAll(userID: user.id)
            try transaction.activities.record(
                .userPasswordChange,
                by: actor,
                on: .user(user),
                details: ended > 0 ? ["refresh_tokens_revoked": ended] : [:]
            )
        }
    }

    /// Makes the user an administrator or no longer one; recorded only when that changes something.
    public func setAdmin(name: String, _ isAdmin: Bool, actor: ActivityActor = .commandLine) async throws {
        try await modify(name, actor: actor, isAdmin ? .userPromote : .userDemote) { user in
            guard user.isAdmin != isAdmin else { return false }
            user.isAdmin = isAdmin
            return true
        }
    }

    /// Changes the user's email and display name (nil: kept; empty: cleared); records `user.update` naming what
    /// changed. An email another user has is refused.
    public func updateProfile(name: String, email: String?, displayName: String?, actor: ActivityActor = .commandLine) async throws {
        try await pool.write { transaction in
            var user = try Self.user(name, in: transaction)
            var changed: [String] = []
            if let email {
                let value = email.isEmpty ? nil : email
                if value != user.email {
                    if let value, let other = try transaction.users.find(email: value), other.id != user.id {
                        throw AccountError(.userExists, "another user has the email \(value)")
                    }
                    user.email = value
                    changed.append("email")
                }
            }
            if let displayName {
                let value = displayName.isEmpty ? nil : displayName
                if value != user.displayName {
                    user.displayName = value
                    changed.append("display_name")
                }
            }
            guard !changed.isEmpty else { return }
            try transaction.users.update(user)
            try transaction.activities.record(.userUpdate, by: actor, on: .user(user), details: ["changed": changed.joined(separator: ",")])
        }
    }

    /// Lifts a lockout after failed logins; recorded when the user was locked.
    public func unlock(name: String, actor: ActivityActor = .commandLine) async throws {
        try await pool.write { transaction in
            let user = try Self.user(name, in: transaction)
            try transaction.users.clearFailedLogins(id: user.id)
            if user.isLocked() { try transaction.activities.record(.userUnlock, by: actor, on: .user(user)) }
        }
    }

    /// Enables or disables the user; recorded only when that changes something.
    public func setEnabled(name: String, _ enabled: Bool, actor: ActivityActor = .commandLine) async throws {
        try await modify(name, actor: actor, enabled ? .userEnable : .userDisable) { user in
            guard user.enabled != enabled else { return false }
            user.enabled = enabled
            return true
        }
        if !enabled {
            // A disabled account's browsers are signed out at once (its tokens already stop at their next check).
            try await pool.write { transaction in
                if let user = try transaction.users.find(name: name) { try transaction.sessions.deleteAll(userID: user.id) }
            }
        }
    }

    /// Removes the user with their memberships and tokens, and their personal namespace as `repositories` says:
    /// a namespace holding repositories is refused by default (``PersonalRepositories``), one without any is
    /// removed. Returns the repositories the namespace held.
    @discardableResult
    public func deleteUser(
        name: String,
        repositories disposition: PersonalRepositories = .refuse,
        actor: ActivityActor = .commandLine
    )
        async throws -> [RepositoryName]
    {
        // Storage is read (and, to delete the repositories, written) outside the transaction: a database
        // transaction never waits on storage.
        let hasContent = try await content.holdsContent(name)
        let repositories = hasContent ? try await content.repositories(in: name) : []
        if case .delete = disposition, hasContent {
            // Storage first, once the user is known to own the namespace: should the removal fail half-way, the
            // user and namespace are still there to try again, and nothing is left without an owner.
            let owns = try await pool.read { transaction in
                let user = try Self.user(name, in: transaction)
                guard let namespace = try transaction.namespaces.find(name: name) else { return false }
                return namespace.kind == .personal && namespace.ownerID == user.id
            }
            if owns { try await content.remove(name) }
        }
        return try await pool.write { transaction in
            let user = try Self.user(name, in: transaction)
            var held: [RepositoryName] = []
            if let namespace = try transaction.namespaces.find(name: name), namespace.kind == .personal, namespace.ownerID == user.id {
                held = repositories
                switch disposition {
                case .refuse:
                    if hasContent {
                        throw AccountError(
                            .namespaceNotEmpty,
                            "user \(name)'s namespace holds \(Self.describe(held)): add --transfer-to TEAM or --delete-repositories"
                        )
                    }
                    try transaction.namespaces.delete(id: namespace.id)
                case .transfer(let teamName):
                    guard let team = try transaction.teams.find(name: teamName) else { throw AccountError(.unknownTeam, "unknown team \(teamName)") }
                    try transaction.namespaces.transfer(id: namespace.id, teamID: team.id)
                    try transaction.activities.record(
                        .namespaceTransfer,
                        by: actor,
                        on: .namespace(namespace),
                        details: ["from_user": name, "team": team.name, "repositories": held.count]
                    )
                case .delete:
                    try transaction.namespaces.delete(id: namespace.id)
                    try transaction.activities.record(
                        .namespacePurge,
                        by: actor,
                        on: .namespace(namespace),
                        details: ["user": name, "repositories": held.count]
                    )
                }
            }
            try transaction.users.delete(id: user.id)
            try transaction.activities.record(.userDelete, by: actor, on: .user(user))
            return held
        }
    }

    /// `N repositories (a, b, …)` for a one-line message, at most ten names; leftovers that make no repository
    /// (folders without manifests) are called what they are.
    static func describe(_ repositories: [RepositoryName]) -> String {
        guard !repositories.isEmpty else { return "leftover files but no repository" }
        var names = repositories.prefix(10).map(\.value).joined(separator: ", ")
        if repositories.count > 10 { names += ", and \(repositories.count - 10) more" }
        return "\(repositories.count) \(repositories.count == 1 ? "repository" : "repositories") (\(names))"
    }

    /// Creates an application token called `label` for `user` and returns it with the secret, which is shown once:
    /// only its keyed hash is stored.
    public func createToken(
        user name: String,
        label: String,
        expiresAt: Date? = nil,
        actor: ActivityActor = .commandLine
    ) async throws -> (token: ApplicationToken, secret: String) {
        if let expiresAt, expiresAt <= Date() { throw AccountError(.expiryInvalid, "the expiry \(expiresAt.formatted(.iso8601)) is in the past") }
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
            let token = try transaction.tokens.create(userID: user.id, application: label, tokenHash: hash, expiresAt: expiresAt)
            var details: [String: any Sendable] = ["user": user.name]
            if let expiresAt { details["expires"] = expiresAt.formatted(.iso8601) }
            try transaction.activities.record(.tokenCreate, by: actor, on: .token(id: token.id, label: label), details: details)
            return token
        }
        return (token, secret)
    }

    /// The user's tokens, ordered by label.
    public func listTokens(user name: String) async throws -> [ApplicationToken] {
        try await pool.read { transaction in try transaction.tokens.list(userID: Self.user(name, in: transaction).id) }
    }

    /// The user's refresh tokens (from `docker login` and OAuth2 clients asking for offline access), newest first.
    public func listRefreshTokens(user name: String) async throws -> [RefreshToken] {
        try await pool.read { transaction in try transaction.refreshTokens.list(userID: Self.user(name, in: transaction).id) }
    }

    /// Revokes an application token by its label, or a refresh token as `refresh:ID` (as `token list` shows it).
    public func revokeToken(user name: String, label: String, actor: ActivityActor = .commandLine) async throws {
        try await pool.write { transaction in
            let user = try Self.user(name, in: transaction)
            if case .refreshToken(let id) = CredentialID(label) {
                guard try transaction.refreshTokens.delete(id: id, userID: user.id) else {
                    throw AccountError(.unknownToken, "user \(name) has no refresh token \(label)")
                }
                try transaction.activities.record(
                    .tokenRevoke,
                    by: actor,
                    on: .token(id: id, label: label),
                    details: ["user": user.name, "refresh": true]
                )
                return
            }
            guard let token = try transaction.tokens.list(userID: user.id).first(where: { $0.application == label }) else {
                throw AccountError(.unknownToken, "user \(name) has no token named \(label)")
            }
            try transaction.tokens.delete(id: token.id, userID: user.id)
            // Refresh tokens minted by logging in with it end with it (their access tokens within a second).
            let ended = try transaction.refreshTokens.deleteAll(source: CredentialID.applicationToken(token.id).description)
            var details: [String: any Sendable] = ["user": user.name]
            if ended > 0 { details["refresh_tokens_revoked"] = ended }
            try transaction.activities.record(.tokenRevoke, by: actor, on: .token(id: token.id, label: label), details: details)
        }
    }

    /// A user, team or namespace name must be usable as a namespace: one component of the repository name grammar.
    static func validateName(_ name: String, what: String = "user") throws {
        guard !name.contains("/"), (try? RepositoryName(name)) != nil else {
            throw AccountError(
                .nameInvalid,
                "invalid \(what) name \(name.debugDescription): lowercase letters and digits, separated by . _ __ or -, at most 255"
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

    /// Applies `change` to the user; when it says it changed something, stores the user and records `action`.
    private func modify(
        _ name: String,
        actor: ActivityActor,
        _ action: ActivityAction,
        _ change: @escaping @Sendable (inout User) -> Bool
    ) async throws {
        try await pool.write { transaction in
            var user = try Self.user(name, in: transaction)
            guard change(&user) else { return }
            try transaction.users.update(user)
            try transaction.activities.record(action, by: actor, on: .user(user))
        }
    }

    private static func user(_ name: String, in transaction: Transaction) throws -> User {
        guard let user = try transaction.users.find(name: name) else { throw AccountError(.unknownUser, "unknown user \(name)") }
        return user
    }
}
