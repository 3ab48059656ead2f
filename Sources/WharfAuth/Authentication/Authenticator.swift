import Crypto
import Foundation
import Logging
import WharfCore
import WharfDatabase

/// Who a caller is: credentials (passwords with lockout and per-address failure limits, application tokens,
/// refresh tokens, namespaces' scoped tokens, the service account, and with LDAP on the directory's logins through
/// ``DirectoryLogins``) checked without HTTP, for the token endpoint, the `/v2` door, the portal and the API.
/// Refusals are ``AuthError``s: ``AuthError/Code/invalidCredentials`` for every wrong, unknown, disabled or locked
/// login alike; ``AuthError/Code/passwordChecksThrottled`` (with the time to wait) for an address with too many
/// failures or waiting checks; ``AuthError/Code/passwordChecksBusy`` when every password-check slot is taken;
/// ``AuthError/Code/directoryUnavailable`` when the directory that owns the login does not answer.
public struct Authenticator: Sendable {
    /// Refresh tokens kept per user; older ones are revoked when a new one is issued.
    public static let refreshTokensPerUser = 20

    let pool: DatabasePool
    let passwords: PasswordHasher
    let applicationTokens: ApplicationTokenHasher
    let lockout: LockoutPolicy
    public let serviceAccount: ServiceAccount?
    /// Failed password checks per client address (`auth.failures_per_address` in `auth.failures_window`).
    let failures: FailureLimiter
    /// Last-login and last-use times, written in batches (run it as a service).
    public let recorder: UsageRecorder
    let logger: Logger
    /// Logins owned by the LDAP directory (`ldap.enabled`); nil: every login is local.
    public let directory: DirectoryLogins?
    private let state: SharedState

    /// Caches shared by copies of the authenticator.
    private final class SharedState: Sendable {
        /// Failed logins seen lately, by a keyed hash of user, password and client: a repeat is not counted again.
        let recentFailures: ExpiringCache<String, Bool>
        /// Keys `recentFailures`, so that no password is kept in memory in a form that can be checked offline.
        let failureKey = SymmetricKey(size: .bits256)
        /// "Is this account (and credential) still good, and as what?", by `name|credential`.
        let status = ExpiringCache<String, TokenSubject?>(lifetime: .seconds(1))
        /// Passwords that passed bcrypt lately, by a keyed hash of user, password, the stored hash and the client's
        /// address: a script calling the API with Basic credentials pays bcrypt once a minute, not on every request.
        /// A new password (a new stored hash) never matches an old entry, nor does another address.
        let verified = ExpiringCache<String, Bool>(lifetime: .seconds(60))

        init(repeatWindow: Duration) {
            recentFailures = ExpiringCache(lifetime: repeatWindow)
        }
    }

    public init(
        pool: DatabasePool,
        passwords: PasswordHasher,
        applicationTokens: ApplicationTokenHasher,
        lockout: LockoutPolicy,
        failures: FailureLimiter,
        serviceAccount: ServiceAccount? = nil,
        recorder: UsageRecorder? = nil,
        directory: DirectoryLogins? = nil,
        logger: Logger = Logger(label: "wharf.auth")
    ) {
        self.pool = pool
        self.passwords = passwords
        self.applicationTokens = applicationTokens
        self.lockout = lockout
        self.failures = failures
        self.serviceAccount = serviceAccount
        self.recorder = recorder ?? UsageRecorder(pool: pool, logger: logger)
        self.logger = logger
        self.directory = directory
        state = SharedState(repeatWindow: lockout.repeatWindow)
    }

    /// Checks Basic credentials from `client` (its address): the service account, a scoped token (the username
    /// `robot$NAMESPACE+NAME`, ``ScopedTokenUsername``), an application token of `username` (recognised by its
    /// shape, looked up by its keyed hash), or the user's bcrypt password. Unknown
    /// users, wrong passwords, locked, expired and disabled accounts all fail with the same ``AuthError`` (``AuthError/Code/invalidCredentials``); an
    /// unknown user still costs a bcrypt check, so timing does not tell them apart.
    ///
    /// An address with too many recent failures is refused before any check (429 with the time to wait), and
    /// every check waits its client's turn on the password pool, which refuses at once when full.
    ///
    /// With LDAP on, a login without a local account of that name (and any account linked to an entry) is checked
    /// by the directory (``DirectoryLogins``); `portal` says it is a sign-in in the portal, where the first account
    /// of an empty installation may become admin.
    public func authenticate(username: String, password: String, client: String = "", portal: Bool = false) async throws -> Caller {
        if let wait = failures.retryAfter(client: client) {
            logger.notice("login refused: too many failures from this address", metadata: ["client": "\(client)", "user": "\(username)"])
            throw AuthError(.passwordChecksThrottled, "too many failed logins from this address; try again later", retryAfter: wait)
        }
        do {
            return try await checkCredentials(username: username, password: password, client: client, portal: portal)
        } catch let error as AuthError where error.code == .invalidCredentials {
            await countFailure(username: username, password: password, client: client)
            throw error
        } catch var error as AuthError where error.code == .passwordChecksBusy {
            error.retryAfter = error.retryAfter ?? .seconds(1)
            throw error
        } catch var error as AuthError where error.code == .passwordChecksThrottled {
            error.retryAfter = error.retryAfter ?? failures.retryAfter(client: client) ?? .seconds(1)
            throw error
        }
    }

    private func checkCredentials(username: String, password: String, client: String, portal: Bool) async throws -> Caller {
        let refused = AuthError(.invalidCredentials, "invalid username or password")
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
        if let login = ScopedTokenUsername(username) {
            // Never a user's name (the grammar has no `$` or `+`): a scoped token or nothing.
            guard ApplicationTokenHasher.isWellFormed(password) else { throw refused }
            let hash = applicationTokens.hash(password)
            let found = try await pool.read { transaction in try transaction.scopedTokens.find(hash: hash) }
            guard let token = found, token.username == login, applicationTokens.matches(password, storedHash: token.tokenHash),
                !token.isExpired(), let subject = Self.subject(token)
            else { throw refused }
            recorder.scopedTokenUsed(token.id)
            return Caller(subject: subject, credential: CredentialID.scopedToken(token.id).description)
        }
        // Tokens imported from Portus have no `wharf_` prefix; once used they are stored like Wharf's own.
        if ApplicationTokenHasher.isWellFormed(password) || PortusToken.mayBeToken(password) {
            let hash = applicationTokens.hash(password)
            let found = try await pool.read { transaction in try transaction.tokens.find(hash: hash) }
            if let (token, user) = found, user.name == username, applicationTokens.matches(password, storedHash: token.tokenHash) {
                guard user.enabled, !token.isExpired() else { throw refused }
                recorder.applicationTokenUsed(token.id)
                return Caller(subject: Self.subject(user), credential: CredentialID.applicationToken(token.id).description)
            }
        }
        let user = try await pool.read { transaction in try transaction.users.find(name: username) }
        if let directory, directory.owns(user) {
            // A directory user's application token imported from Portus and not used since is theirs, not a
            // password. Asked first only for an account still waiting for its first directory login (the directory
            // does not know it by that link yet); for the others only once the directory refused, so that the
            // bind cache's logins (a CI job's pushes) pay no extra query.
            if let user, user.ldapDN?.hasPrefix(PortusMapping.pendingDirectoryPrefix) == true,
                let caller = try await importedPortusToken(password, user: user, client: client, admit: admit)
            {
                return caller
            }
            let linked: User
            do {
                linked = try await directory.login(username, password: password, portal: portal)
            } catch let error as AuthError where error.code == .invalidCredentials {
                if let user, let caller = try await importedPortusToken(password, user: user, client: client, admit: admit) { return caller }
                throw error
            }
            recorder.userLoggedIn(linked.id)
            return Caller(subject: Self.subject(linked), credential: CredentialID.password(userID: linked.id).description)
        }
        let recent = user.flatMap { $0.passwordHash }.map { fingerprint(username, password, $0, client) }
        // A password checked within the minute, on an account in good standing (enabled, no failed logins since,
        // not locked): no bcrypt and no write.
        if let user, let recent, state.verified.value(for: recent) == true, user.enabled, user.failedLogins == 0, !user.isLocked() {
            recorder.userLoggedIn(user.id)
            return Caller(subject: Self.subject(user), credential: CredentialID.password(userID: user.id).description)
        }
        let verified = try await passwords.verify(password, against: user?.passwordHash, client: client, admit: admit)
        if let user, !verified, let caller = try await importedPortusToken(password, user: user, client: client, admit: admit) { return caller }
        guard let user, verified else { throw refused }
        guard user.enabled else { throw refused }
        if let recent { state.verified.set(true, for: recent) }
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

    /// Checks an application token presented on its own (`Authorization: Bearer` on the API): the token names its
    /// user. Refused like a wrong password when unknown, expired, or its user is disabled. No bcrypt runs (the
    /// token is looked up by its keyed hash), so no password-check slot is taken.
    public func authenticate(applicationToken secret: String) async throws -> Caller {
        let refused = AuthError(.invalidCredentials, "invalid token")
        guard ApplicationTokenHasher.isWellFormed(secret) else { throw refused }
        let hash = applicationTokens.hash(secret)
        let found = try await pool.read { transaction in try transaction.tokens.find(hash: hash) }
        guard let (token, user) = found, applicationTokens.matches(secret, storedHash: token.tokenHash), user.enabled, !token.isExpired() else {
            throw refused
        }
        recorder.applicationTokenUsed(token.id)
        return Caller(subject: Self.subject(user), credential: CredentialID.applicationToken(token.id).description)
    }

    /// A keyed hash of the parts, so that no password is kept in memory in a form that can be checked offline.
    private func fingerprint(_ parts: String...) -> String {
        HMAC<SHA256>.authenticationCode(for: Data(parts.joined(separator: "\u{0}").utf8), using: state.failureKey).map { String(format: "%02x", $0) }
            .joined()
    }

    /// Counts a refused login against the client's address and, for a known user, the account's lockout; the
    /// same wrong password from the same client within ``LockoutPolicy/repeatWindow`` counts once.
    private func countFailure(username: String, password: String, client: String) async {
        let fingerprint = fingerprint(username, password, client)
        if state.recentFailures.value(for: fingerprint) != nil { return }
        state.recentFailures.set(true, for: fingerprint)
        failures.recordFailure(client: client)
        guard lockout.attempts > 0, serviceAccount?.name != username else { return }
        let lockout = self.lockout
        do {
            let locked = try await pool.write { transaction -> Date? in
                guard let user = try transaction.users.find(name: username) else { return nil }
                return try transaction.users.recordFailedLogin(
                    id: user.id,
                    window: lockout.window,
                    limit: lockout.attempts,
                    lockFor: lockout.duration
                )
            }
            if let locked {
                logger.warning(
                    "account locked after failed logins",
                    metadata: [
                        "user": "\(username)", "attempts": "\(lockout.attempts)", "until": "\(locked.formatted(.iso8601))", "client": "\(client)",
                    ]
                )
            }
        } catch {
            logger.warning("could not count a failed login", metadata: ["user": "\(username)", "error": "\(error)"])
        }
    }

    /// Issues a refresh token to `caller` (a user, never anonymous or the service account) for `clientID` (checked
    /// by the controller: short and printable); only its keyed hash is stored, with the credential it came from
    /// (so revoking or expiring that credential ends it), and the oldest are revoked past ``refreshTokensPerUser``.
    public func createRefreshToken(for caller: Caller, clientID: String) async throws -> String? {
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
    public func exchangeRefreshToken(_ secret: String, clientID: String) async throws -> Caller {
        let refused = AuthError(.invalidCredentials, "invalid refresh token")
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
        // A directory user's entry is checked again (at most once per ldap.cache_ttl): removing someone from the
        // directory ends their refresh grants.
        if let directory, user.ldapDN != nil, try await !directory.entryStands(for: user) { throw refused }
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
        case .refreshToken, .scopedToken, nil: return false
        }
    }

    /// The account behind a token or a remembered login, when it is still good: it exists and is enabled, and
    /// the credential it was issued from (application or refresh token, and a refresh token's own source) has not
    /// been revoked or expired. Also gives the account's current kind (an admin demoted since is no longer treated
    /// as one). Anonymous callers and the service account always are. A scoped token (`scoped:ID`) is good while
    /// it exists under that login name and has not expired; its subject carries its restriction. Answers are
    /// remembered for a second.
    public func activeSubject(name: String, credential: String?) async throws -> TokenSubject? {
        if name.isEmpty { return .anonymous }
        if let serviceAccount, name == serviceAccount.name { return credential == nil ? serviceAccount.subject : nil }
        let key = name + "|" + (credential ?? "")
        if let known = state.status.value(for: key) { return known }
        let subject = try await pool.read { transaction -> TokenSubject? in
            if case .scopedToken(let id) = credential.flatMap(CredentialID.init) {
                guard let token = try transaction.scopedTokens.find(id: id), token.username.description == name, !token.isExpired() else {
                    return nil
                }
                return Self.subject(token)
            }
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
                case .scopedToken, nil:
                    return nil
                }
            }
            return Self.subject(user)
        }
        state.status.set(subject, for: key)
        return subject
    }

    static func subject(_ user: User) -> TokenSubject {
        TokenSubject(name: user.name, kind: user.isAdmin ? .admin : user.isBot ? .bot : .user, userID: user.id)
    }

    /// A scoped token's subject: a bot without an account, restricted to its scope; nil when its stored scope
    /// does not parse (refused like a wrong secret rather than read more widely).
    static func subject(_ token: ScopedToken) -> TokenSubject? {
        guard let restriction = token.restriction else { return nil }
        return TokenSubject(name: token.username.description, kind: .bot, userID: nil, restriction: restriction)
    }
}
