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
    /// The same wrong password from the same client within this time counts once: containerd sends a failed
    /// login again as a `GET` after its `POST`, and one typo must not count twice.
    var repeatWindow: Duration = .seconds(60)
}

/// The service account (Portus's `portus`): configured, not stored; it pulls everything and reads the catalogue.
/// Its password costs what a user's does to check: a bcrypt hash made once at start-up, so it cannot be guessed
/// faster than anyone else's (a SHA-256 compare allowed about 1,000 guesses a second).
struct ServiceAccount: Sendable {
    /// The shortest service password accepted: it is typed by no person, only pasted into configuration.
    static let minimumPasswordLength = 16

    var name: String
    let passwordHash: String

    /// Hashes `password` now, on the calling thread (start-up only: it takes about 0.25 s at cost 12).
    init(name: String, password: String, hasher: PasswordHasher) throws(AuthError) {
        self.name = name
        passwordHash = try hasher.hashNow(password, minimumLength: Self.minimumPasswordLength)
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
    /// Failed password checks per client address (`auth.failures_per_address` in `auth.failures_window`).
    let failures: FailureLimiter
    let recorder: UsageRecorder
    let logger: Logger
    private let state: SharedState

    /// Caches shared by copies of the service.
    private final class SharedState: Sendable {
        /// Failed logins seen lately, by a keyed hash of user, password and client: a repeat is not counted again.
        let recentFailures: ExpiringCache<String, Bool>
        /// Keys `recentFailures`, so that no password is kept in memory in a form that can be checked offline.
        let failureKey = SymmetricKey(size: .bits256)
        /// "Is this account (and credential) still good, and as what?", by `name|credential`.
        let status = ExpiringCache<String, TokenSubject?>(lifetime: .seconds(1))
        /// Namespaces a subject was cleared to push into, by `subject|namespace`.
        let namespaces = ExpiringCache<String, Bool>(lifetime: .seconds(5))

        init(repeatWindow: Duration) {
            recentFailures = ExpiringCache(lifetime: repeatWindow)
        }
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
        failures: FailureLimiter = FailureLimiter(limit: 20, window: .seconds(60)),
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
        self.failures = failures
        self.recorder = recorder ?? UsageRecorder(pool: pool, logger: logger)
        self.logger = logger
        state = SharedState(repeatWindow: lockout.repeatWindow)
    }

    // MARK: Credentials

    /// Checks Basic credentials from `client` (its address): the service account, an application token of
    /// `username` (recognised by its shape, looked up by its keyed hash), or the user's bcrypt password. Unknown
    /// users, wrong passwords, locked, expired and disabled accounts all fail with the same ``TokenError``; an
    /// unknown user still costs a bcrypt check, so timing does not tell them apart.
    ///
    /// An address with too many recent failures is refused before any check (429 with the time to wait), and
    /// every check waits its client's turn on the password pool, which refuses at once when full.
    func authenticate(username: String, password: String, client: String = "") async throws -> Caller {
        if let wait = failures.retryAfter(client: client) {
            logger.notice("login refused: too many failures from this address", metadata: ["client": "\(client)", "user": "\(username)"])
            throw TokenError(.tooManyRequests, "too many failed logins from this address; try again later", retryAfter: wait)
        }
        do {
            return try await checkCredentials(username: username, password: password, client: client)
        } catch let error as TokenError where error.code == .unauthorized {
            await countFailure(username: username, password: password, client: client)
            throw error
        } catch let error as AuthError where error.code == .passwordChecksBusy {
            throw TokenError(.unavailable, error.message, retryAfter: .seconds(1))
        } catch let error as AuthError where error.code == .passwordChecksThrottled {
            throw TokenError(.tooManyRequests, error.message, retryAfter: failures.retryAfter(client: client) ?? .seconds(1))
        }
    }

    private func checkCredentials(username: String, password: String, client: String) async throws -> Caller {
        let refused = TokenError(.unauthorized, "invalid username or password")
        // Asked again when the check's turn comes: failures counted while it waited may have used up the address.
        let failures = self.failures
        let admit: @Sendable () -> AuthError? = {
            failures.retryAfter(client: client) == nil
                ? nil : AuthError(.passwordChecksThrottled, "too many failed logins from this address; try again later")
        }
        if let serviceAccount, username == serviceAccount.name {
            // Always local, never a database row: a user of the same name cannot stand in for it.
            guard try await passwords.verify(password, against: serviceAccount.passwordHash, client: client, admit: admit) else { throw refused }
            return Caller(subject: serviceAccount.subject, credential: nil)
        }
        if ApplicationTokenHasher.isWellFormed(password) {
            let hash = applicationTokens.hash(password)
            let found = try await pool.read { transaction in try transaction.tokens.find(hash: hash) }
            if let (token, user) = found, user.name == username, applicationTokens.matches(password, storedHash: token.tokenHash) {
                guard user.enabled, !token.isExpired() else { throw refused }
                recorder.applicationTokenUsed(token.id)
                return Caller(subject: Self.subject(user), credential: CredentialID.applicationToken(token.id).description)
            }
        }
        let user = try await pool.read { transaction in try transaction.users.find(name: username) }
        let verified = try await passwords.verify(password, against: user?.passwordHash, client: client, admit: admit)
        guard let user, verified else { throw refused }
        guard user.enabled else { throw refused }
        // Decided on the row as it is now, not as it was before the bcrypt check: failures counted meanwhile
        // (a burst sent just before this login) may have locked the account. One conditional statement clears
        // the failures only while the account is not locked.
        guard try await pool.write({ transaction in try transaction.users.admitLogin(id: user.id) }) else {
            logger.notice("login refused: account locked", metadata: ["user": "\(user.name)", "client": "\(client)"])
            throw refused
        }
        recorder.userLoggedIn(user.id)
        return Caller(subject: Self.subject(user), credential: CredentialID.password(userID: user.id).description)
    }

    /// Counts a refused login against the client's address and, for a known user, the account's lockout; the
    /// same wrong password from the same client within ``LockoutPolicy/repeatWindow`` counts once.
    private func countFailure(username: String, password: String, client: String) async {
        let fingerprint = HMAC<SHA256>.authenticationCode(
            for: Data((username + "\u{0}" + password + "\u{0}" + client).utf8),
            using: state.failureKey
        ).map { String(format: "%02x", $0) }.joined()
        if state.recentFailures.value(for: fingerprint) != nil { return }
        state.recentFailures.set(true, for: fingerprint)
        failures.recordFailure(client: client)
        guard lockout.attempts > 0, serviceAccount?.name != username else { return }
        let lockout = self.lockout
        do {
            let locked = try await pool.write { transaction -> Date? in
                guard let user = try transaction.users.find(name: username) else { return nil }
                return try transaction.users.recordFailedLogin(id: user.id, window: lockout.window, limit: lockout.attempts, lockFor: lockout.duration)
            }
            if let locked {
                logger.warning(
                    "account locked after failed logins",
                    metadata: ["user": "\(username)", "attempts": "\(lockout.attempts)", "until": "\(locked.formatted(.iso8601))", "client": "\(client)"]
                )
            }
        } catch {
            logger.warning("could not count a failed login", metadata: ["user": "\(username)", "error": "\(error)"])
        }
    }

    /// Issues a refresh token to `caller` (a user, never anonymous or the service account) for `clientID` (checked
    /// by the controller: short and printable); only its keyed hash is stored, with the credential it came from
    /// (so revoking or expiring that credential ends it), and the oldest are revoked past ``refreshTokensPerUser``.
    func createRefreshToken(for caller: Caller, clientID: String) async throws -> String? {
        guard let userID = caller.subject.userID else { return nil }
        let secret = ApplicationTokenHasher.generate()
        let hash = applicationTokens.hash(secret)
        let source = caller.credential
        try await pool.write { transaction in
            try transaction.refreshTokens.create(userID: userID, clientID: clientID, tokenHash: hash, source: source)
            for old in try transaction.refreshTokens.list(userID: userID).dropFirst(Self.refreshTokensPerUser) {
                try transaction.refreshTokens.delete(id: old.id, userID: userID)
            }
        }
        return secret
    }

    /// The caller a refresh token stands for; refused like a wrong password when it is unknown, revoked, its user
    /// is disabled, or the credential it was issued from (an application token) is revoked or expired.
    func exchangeRefreshToken(_ secret: String, clientID: String) async throws -> Caller {
        let refused = TokenError(.unauthorized, "invalid refresh token")
        guard ApplicationTokenHasher.isWellFormed(secret) else { throw refused }
        let hash = applicationTokens.hash(secret)
        let found = try await pool.read { transaction -> (RefreshToken, User)? in
            guard let token = try transaction.refreshTokens.find(hash: hash), let user = try transaction.users.find(id: token.userID),
                try Self.sourceIsValid(token.source, userID: user.id, in: transaction)
            else { return nil }
            return (token, user)
        }
        // Bound to the client it was issued to (RFC 6749 §6), as well as to its user.
        guard let (token, user) = found, applicationTokens.matches(secret, storedHash: token.tokenHash), user.enabled,
            token.clientID == clientID
        else { throw refused }
        recorder.refreshTokenUsed(token.id)
        return Caller(subject: Self.subject(user), credential: CredentialID.refreshToken(token.id).description)
    }

    /// Whether the credential a refresh token was issued from still stands: an application token that exists,
    /// belongs to the user and has not expired, or the user's password login. Refresh tokens from before sources
    /// were recorded (nil) stand; a password change revokes those anyway.
    static func sourceIsValid(_ source: String?, userID: Int64, in transaction: Transaction) throws -> Bool {
        guard let source else { return true }
        switch CredentialID(source) {
        case .password(let id): return id == userID
        case .applicationToken(let id):
            guard let token = try transaction.tokens.find(id: id) else { return false }
            return token.userID == userID && !token.isExpired()
        case .refreshToken, nil: return false
        }
    }

    /// The account behind a token or a remembered login, when it is still good: it exists and is enabled, and
    /// the credential it was issued from (application or refresh token, and a refresh token's own source) has not
    /// been revoked or expired. Also gives the account's current kind (an admin demoted since is no longer treated
    /// as one). Anonymous callers and the service account always are. Answers are remembered for a second.
    func activeSubject(name: String, credential: String?) async throws -> TokenSubject? {
        if name.isEmpty { return .anonymous }
        if let serviceAccount, name == serviceAccount.name { return credential == nil ? serviceAccount.subject : nil }
        let key = name + "|" + (credential ?? "")
        if let known = state.status.value(for: key) { return known }
        let subject = try await pool.read { transaction -> TokenSubject? in
            guard let user = try transaction.users.find(name: name), user.enabled else { return nil }
            if let credential {
                switch CredentialID(credential) {
                case .applicationToken(let id):
                    guard let token = try transaction.tokens.find(id: id), token.userID == user.id, !token.isExpired() else { return nil }
                case .refreshToken(let id):
                    guard let token = try transaction.refreshTokens.find(id: id), token.userID == user.id,
                        try Self.sourceIsValid(token.source, userID: user.id, in: transaction)
                    else { return nil }
                case .password(let id):
                    guard id == user.id else { return nil }
                case nil:
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
