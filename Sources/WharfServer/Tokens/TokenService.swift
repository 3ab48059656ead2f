import Crypto
import Foundation
import Logging
import Synchronization
import WharfAuth
import WharfCore
import WharfDatabase
import WharfStorage

/// Who a token is for, after authentication.
struct TokenSubject: Sendable, Hashable {
    /// The account name; empty for anonymous callers.
    var name: String
    var kind: SubjectKind
    var userID: Int64?

    static let anonymous = TokenSubject(name: "", kind: .anonymous, userID: nil)
}

/// An authenticated caller: the subject, and the credential used (`app:ID`, `refresh:ID`, `user:ID` for a password;
/// nil for anonymous callers and the service account), which tokens carry so that revoking it ends them too, and
/// so that a token never passes to a later account of the same name.
struct Caller: Sendable, Hashable {
    var subject: TokenSubject
    var credential: String?

    static let anonymous = Caller(subject: .anonymous, credential: nil)
}

/// The lockout rule: `attempts` failed password logins within `window` lock password logins for `duration`.
struct LockoutPolicy: Sendable {
    var attempts = 10
    var window: Duration = .seconds(600)
    var duration: Duration = .seconds(600)
}

/// The service account (Portus's `portus`): configured, not stored; it pulls everything and reads the catalogue.
struct ServiceAccount: Sendable {
    var name: String
    /// SHA-256 of the password, compared in constant time.
    private var passwordDigest: SHA256.Digest

    init(name: String, password: String) {
        self.name = name
        passwordDigest = SHA256.hash(data: Data(password.utf8))
    }

    func matches(_ password: String) -> Bool {
        let given = SHA256.hash(data: Data(password.utf8))
        // Digest equality in swift-crypto is constant-time.
        return given == passwordDigest
    }

    var subject: TokenSubject { TokenSubject(name: name, kind: .service, userID: nil) }
}

/// The token server's logic without HTTP, shared by `/v2/token` and the registry's own checks: credentials
/// (passwords with lockout, application tokens, refresh tokens, the service account), which requested actions a
/// caller gets (``PermissionRules`` with the namespace facts from the database), signing, whether a token's
/// account and credential are still good, and creating a namespace on first push.
///
/// A repository name without a slash is in the global namespace (not a database row: logged-in users pull, admins
/// push). A namespace without a database row is ``PermissionTarget/unownedNamespace`` when storage holds
/// repositories under it (its owner was deleted, or the content predates Wharf), else
/// ``PermissionTarget/missingNamespace``.
struct TokenService: Sendable {
    /// Setting written once the first admin exists; after it, nobody becomes admin without an admin.
    static let firstAdminSetting = "accounts.first_admin"
    /// Refresh tokens kept per user; older ones are revoked when a new one is issued.
    static let refreshTokensPerUser = 20

    let pool: DatabasePool
    let passwords: PasswordHasher
    let applicationTokens: ApplicationTokenHasher
    let issuer: TokenIssuer
    let rules: PermissionRules
    /// Storage, asked whether a namespace without a row holds content (which makes it unowned, not missing).
    /// Set by ``makeTokenService``; nil only where no storage exists (then such a namespace counts as missing).
    var content: NamespaceContent? = nil
    /// The audience when a request names no `service`, and the one the registry accepts.
    let defaultService: String
    var lockout = LockoutPolicy()
    var serviceAccount: ServiceAccount? = nil
    let recorder: UsageRecorder
    let logger: Logger
    private let state = SharedState()

    /// Caches shared by copies of the service.
    private final class SharedState: Sendable {
        /// Whether a first admin exists (never goes back to false).
        let firstAdminSettled = Mutex(false)
        /// "Is this account (and credential) still good, and as what?", by `name|credential`.
        let status = ExpiringCache<String, TokenSubject?>(lifetime: .seconds(1))
        /// Namespaces a subject was cleared to push into, by `subject|namespace`.
        let namespaces = ExpiringCache<String, Bool>(lifetime: .seconds(5))
    }

    init(
        pool: DatabasePool,
        passwords: PasswordHasher,
        applicationTokens: ApplicationTokenHasher,
        issuer: TokenIssuer,
        rules: PermissionRules,
        defaultService: String,
        lockout: LockoutPolicy = LockoutPolicy(),
        serviceAccount: ServiceAccount? = nil,
        recorder: UsageRecorder? = nil,
        logger: Logger = Logger(label: "wharf.auth")
    ) {
        self.pool = pool
        self.passwords = passwords
        self.applicationTokens = applicationTokens
        self.issuer = issuer
        self.rules = rules
        self.defaultService = defaultService
        self.lockout = lockout
        self.serviceAccount = serviceAccount
        self.recorder = recorder ?? UsageRecorder(pool: pool, logger: logger)
        self.logger = logger
    }

    // MARK: Credentials

    /// Checks Basic credentials: the service account, an application token of `username` (recognised by its
    /// shape, looked up by its keyed hash), or the user's bcrypt password. Unknown users, wrong passwords, locked,
    /// expired and disabled accounts all fail with the same ``TokenError``; an unknown user still costs a bcrypt
    /// check, so timing does not tell them apart.
    func authenticate(username: String, password: String) async throws -> Caller {
        let refused = TokenError(.unauthorized, "invalid username or password")
        if let serviceAccount, username == serviceAccount.name {
            // Always local, never a database row: a user of the same name cannot stand in for it.
            guard serviceAccount.matches(password) else { throw refused }
            return Caller(subject: serviceAccount.subject, credential: nil)
        }
        if ApplicationTokenHasher.isWellFormed(password) {
            let hash = applicationTokens.hash(password)
            let found = try await pool.read { transaction in try transaction.tokens.find(hash: hash) }
            if let (token, user) = found, user.name == username, applicationTokens.matches(password, storedHash: token.tokenHash) {
                guard user.enabled, !token.isExpired() else { throw refused }
                recorder.applicationTokenUsed(token.id)
                return Caller(subject: try await subjectAfterLogin(user), credential: "app:\(token.id)")
            }
        }
        let user = try await pool.read { transaction in try transaction.users.find(name: username) }
        let verified = try await passwords.verify(password, against: user?.passwordHash)
        guard let user else { throw refused }
        if user.isLocked() {
            logger.notice("login refused: account locked", metadata: ["user": "\(user.name)"])
            throw refused
        }
        guard verified else {
            await recordFailure(user)
            throw refused
        }
        guard user.enabled else { throw refused }
        if user.failedLogins > 0 || user.lockedUntil != nil {
            try await pool.write { transaction in try transaction.users.clearFailedLogins(id: user.id) }
        }
        recorder.userLoggedIn(user.id)
        return Caller(subject: try await subjectAfterLogin(user), credential: "user:\(user.id)")
    }

    private func recordFailure(_ user: User) async {
        guard lockout.attempts > 0 else { return }
        let lockout = self.lockout
        do {
            let locked = try await pool.write { transaction in
                try transaction.users.recordFailedLogin(id: user.id, window: lockout.window, limit: lockout.attempts, lockFor: lockout.duration)
            }
            if let locked {
                logger.warning(
                    "account locked after failed logins",
                    metadata: ["user": "\(user.name)", "attempts": "\(lockout.attempts)", "until": "\(locked.formatted(.iso8601))"]
                )
            }
        } catch {
            logger.warning("could not count a failed login", metadata: ["user": "\(user.name)", "error": "\(error)"])
        }
    }

    /// The subject for a user who just logged in; the first person to log in while no admin has ever existed
    /// becomes admin (once: a setting records it, and a racing second login loses on its unique key).
    private func subjectAfterLogin(_ user: User) async throws -> TokenSubject {
        guard !user.isAdmin, !user.isBot, !state.firstAdminSettled.withLock({ $0 }) else { return Self.subject(user) }
        let promoted = try await pool.write { transaction -> Bool in
            if try transaction.settings.value(Self.firstAdminSetting) != nil || transaction.users.adminCount() > 0 { return false }
            guard try transaction.settings.insert(Self.firstAdminSetting, value: user.name) else { return false }
            var admin = user
            admin.isAdmin = true
            try transaction.users.update(admin)
            try transaction.activities.record(
                NewActivity(actorID: user.id, actorName: user.name, action: "user.first_admin", targetKind: "user", targetID: user.id, targetName: user.name)
            )
            return true
        }
        state.firstAdminSettled.withLock { $0 = true }
        guard promoted else { return Self.subject(user) }
        logger.notice("first user to log in is now admin", metadata: ["user": "\(user.name)"])
        var admin = user
        admin.isAdmin = true
        return Self.subject(admin)
    }

    /// Issues a refresh token to `caller` (a user, never anonymous or the service account) for `clientID` (checked
    /// by the controller: short and printable); only its keyed hash is stored, and the oldest are revoked past
    /// ``refreshTokensPerUser``.
    func createRefreshToken(for caller: Caller, clientID: String) async throws -> String? {
        guard let userID = caller.subject.userID else { return nil }
        let secret = ApplicationTokenHasher.generate()
        let hash = applicationTokens.hash(secret)
        try await pool.write { transaction in
            try transaction.refreshTokens.create(userID: userID, clientID: clientID, tokenHash: hash)
            for old in try transaction.refreshTokens.list(userID: userID).dropFirst(Self.refreshTokensPerUser) {
                try transaction.refreshTokens.delete(id: old.id, userID: userID)
            }
        }
        return secret
    }

    /// The caller a refresh token stands for; refused like a wrong password when it is unknown, revoked, or its
    /// user is disabled.
    func exchangeRefreshToken(_ secret: String, clientID: String) async throws -> Caller {
        let refused = TokenError(.unauthorized, "invalid refresh token")
        guard ApplicationTokenHasher.isWellFormed(secret) else { throw refused }
        let hash = applicationTokens.hash(secret)
        let found = try await pool.read { transaction -> (RefreshToken, User)? in
            guard let token = try transaction.refreshTokens.find(hash: hash), let user = try transaction.users.find(id: token.userID) else { return nil }
            return (token, user)
        }
        // Bound to the client it was issued to (RFC 6749 §6), as well as to its user.
        guard let (token, user) = found, applicationTokens.matches(secret, storedHash: token.tokenHash), user.enabled,
            token.clientID == clientID
        else { throw refused }
        recorder.refreshTokenUsed(token.id)
        return Caller(subject: Self.subject(user), credential: "refresh:\(token.id)")
    }

    /// The account behind a token or a remembered login, when it is still good: it exists and is enabled, and
    /// the credential it was issued from (application or refresh token) has not been revoked or expired. Also
    /// gives the account's current kind (an admin demoted since is no longer treated as one). Anonymous callers
    /// and the service account always are. Answers are remembered for a second.
    func activeSubject(name: String, credential: String?) async throws -> TokenSubject? {
        if name.isEmpty { return .anonymous }
        if let serviceAccount, name == serviceAccount.name { return credential == nil ? serviceAccount.subject : nil }
        let key = name + "|" + (credential ?? "")
        if let known = state.status.value(for: key) { return known }
        let subject = try await pool.read { transaction -> TokenSubject? in
            guard let user = try transaction.users.find(name: name), user.enabled else { return nil }
            if let credential {
                let parts = credential.split(separator: ":", maxSplits: 1)
                guard parts.count == 2, let id = Int64(parts[1]) else { return nil }
                switch parts[0] {
                case "app":
                    guard let token = try transaction.tokens.find(id: id), token.userID == user.id, !token.isExpired() else { return nil }
                case "refresh":
                    guard try transaction.refreshTokens.find(id: id)?.userID == user.id else { return nil }
                case "user":
                    guard id == user.id else { return nil }
                default:
                    return nil
                }
            }
            return Self.subject(user)
        }
        state.status.set(subject, for: key)
        return subject
    }

    // MARK: Access

    /// The requested scopes narrowed to what `subject` may do; scopes left without actions are dropped.
    func grant(_ requested: [AccessScope], to subject: TokenSubject) async throws -> [AccessScope] {
        // nil: the namespace has no row; storage then tells unowned content from a namespace yet to be made.
        let known = try await pool.read { transaction in
            try requested.map { scope -> PermissionTarget? in
                switch scope.resource {
                case .catalog: .catalog
                case .repository(let name): try Self.facts(for: name, subject: subject, in: transaction).map { .namespace($0) }
                }
            }
        }
        var granted: [AccessScope] = []
        for (scope, target) in zip(requested, known) {
            let resolved: PermissionTarget
            if let target {
                resolved = target
            } else if case .repository(let name) = scope.resource {
                resolved = missingTarget(for: name)
            } else {
                resolved = .catalog
            }
            let actions = rules.allowed(scope.actions, for: subject.kind, on: resolved)
            if !actions.isEmpty { granted.append(AccessScope(scope.resource, actions: actions)) }
        }
        return granted
    }

    /// The rules' target for `name` as `subject` sees it now.
    func target(for name: RepositoryName, subject: TokenSubject) async throws -> PermissionTarget {
        let facts = try await pool.read { transaction in try Self.facts(for: name, subject: subject, in: transaction) }
        return facts.map { .namespace($0) } ?? missingTarget(for: name)
    }

    /// The target of a repository whose namespace has no row: unowned when storage holds anything under the
    /// namespace (one listing of its folder), missing otherwise. A folder that cannot be read counts as content:
    /// the rules then fail closed (admins only).
    func missingTarget(for name: RepositoryName) -> PermissionTarget {
        guard let namespace = Self.namespaceName(of: name), let content else { return .missingNamespace }
        do {
            return try content.holdsContent(namespace) ? .unownedNamespace : .missingNamespace
        } catch {
            logger.warning(
                "could not list a namespace's folder; treating it as unowned",
                metadata: ["namespace": "\(namespace)", "error": "\(error)"]
            )
            return .unownedNamespace
        }
    }

    /// Which of `names` `subject` may pull, deciding each namespace once (the filtered `_catalog`).
    func pullable(_ names: [RepositoryName], by subject: TokenSubject) async throws -> [RepositoryName] {
        if subject.kind == .admin || subject.kind == .service { return names }
        let rules = self.rules
        return try await pool.read { transaction in
            var decided: [String: Bool] = [:]
            return try names.filter { name in
                let namespace = Self.namespaceName(of: name) ?? ""
                if let known = decided[namespace] { return known }
                // A listed repository is in storage, so a namespace without a row holds content without an owner.
                let target: PermissionTarget =
                    try Self.facts(for: name, subject: subject, in: transaction).map { .namespace($0) } ?? .unownedNamespace
                let allowed = rules.isAllowed(.pull, for: subject.kind, on: target)
                decided[namespace] = allowed
                return allowed
            }
        }
    }

    /// Makes sure the namespace of `name` exists before `subject` writes into it: a missing one is created,
    /// owned by a new team of the same name with `subject` as owner, when the rules allow it; otherwise the
    /// push is denied with a reason that names the namespace. A namespace that exists (made by someone else since
    /// the token was issued, or by a push racing this one) takes the push only under its own rules. Content in
    /// storage without a namespace row stays unowned: an admin writes into it without creating the namespace,
    /// anyone else is denied until an admin adopts it. A subject's clearance for a namespace is remembered for
    /// 5 seconds.
    func ensureNamespace(for name: RepositoryName, subject: TokenSubject) async throws {
        guard let namespace = Self.namespaceName(of: name) else { return }
        let key = subject.name + "|" + namespace
        if state.namespaces.value(for: key) == true { return }
        let rules = self.rules
        if try await pool.read({ transaction in try Self.mayPushIfExists(name, subject: subject, rules: rules, in: transaction) }) {
            state.namespaces.set(true, for: key)
            return
        }
        if missingTarget(for: name) == .unownedNamespace {
            guard subject.kind == .admin else {
                throw RegistryError(
                    .denied,
                    detail: AccessDenial.reason(subject: subject, actions: [.push], name: name, target: .unownedNamespace, rules: rules)
                )
            }
            state.namespaces.set(true, for: key)
            return
        }
        guard rules.mayCreateNamespace(subject.kind) else {
            throw RegistryError(
                .denied,
                detail: AccessDenial.reason(subject: subject, actions: [.push], name: name, target: .missingNamespace, rules: rules)
            )
        }
        do {
            let created = try await pool.write { transaction -> Bool in
                if try Self.mayPushIfExists(name, subject: subject, rules: rules, in: transaction) { return false }
                if try transaction.teams.find(name: namespace) != nil {
                    throw RegistryError(.denied, detail: "namespace \(namespace) does not exist and a team of that name does; ask its owner to create it")
                }
                let team = try transaction.teams.create(name: namespace, description: "Created by \(subject.name)'s first push")
                if let userID = subject.userID { try transaction.teams.setMember(teamID: team.id, userID: userID, role: .owner) }
                let created = try transaction.namespaces.create(name: namespace, kind: .team, visibility: .private, teamID: team.id)
                try transaction.activities.record(
                    NewActivity(
                        actorID: subject.userID,
                        actorName: subject.name,
                        action: "namespace.create",
                        targetKind: "namespace",
                        targetID: created.id,
                        targetName: namespace,
                        namespaceID: created.id,
                        details: #"{"reason":"push"}"#
                    )
                )
                return true
            }
            if created { logger.info("namespace created by a push", metadata: ["namespace": "\(namespace)", "user": "\(subject.name)"]) }
        } catch let error as DatabaseError where error.code == .conflict {
            // A push racing this one created it first (MariaDB does not serialise the two transactions as
            // SQLite does): go ahead under the namespace's rules, as for any existing namespace.
            guard try await pool.read({ transaction in try Self.mayPushIfExists(name, subject: subject, rules: rules, in: transaction) }) else {
                throw error
            }
        }
        state.namespaces.set(true, for: key)
    }

    /// True when the namespace of `name` exists and `subject` may push into it, false when it does not exist;
    /// throws `DENIED` when it exists and the rules refuse the push.
    static func mayPushIfExists(_ name: RepositoryName, subject: TokenSubject, rules: PermissionRules, in transaction: Transaction) throws -> Bool {
        guard let facts = try facts(for: name, subject: subject, in: transaction) else { return false }
        guard rules.isAllowed(.push, for: subject.kind, on: .namespace(facts)) else {
            throw RegistryError(
                .denied,
                detail: AccessDenial.reason(subject: subject, actions: [.push], name: name, target: .namespace(facts), rules: rules)
            )
        }
        return true
    }

    /// Signs a token for `caller` with `access` for `service` (or ``defaultService``).
    func issue(to caller: Caller, service: String?, access: [AccessScope]) throws -> IssuedToken {
        try issuer.issue(
            subject: caller.subject.name,
            audience: service.flatMap { $0.isEmpty ? nil : $0 } ?? defaultService,
            access: access,
            credential: caller.credential
        )
    }

    /// The namespace part of a repository name; nil in the global namespace (no slash).
    static func namespaceName(of name: RepositoryName) -> String? {
        name.value.firstIndex(of: "/").map { String(name.value[..<$0]) }
    }

    /// The namespace facts for `name` from `subject`'s point of view; nil when its namespace does not exist.
    static func facts(for name: RepositoryName, subject: TokenSubject, in transaction: Transaction) throws -> NamespaceFacts? {
        guard let namespaceName = namespaceName(of: name) else {
            return NamespaceFacts(kind: .global, visibility: .protected, role: .none)
        }
        guard let access = try transaction.namespaces.access(name: namespaceName, userID: subject.userID) else { return nil }
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
