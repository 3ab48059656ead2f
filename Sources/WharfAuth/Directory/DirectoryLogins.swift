import Crypto
import Foundation
import Logging
import WharfCore
import WharfDatabase

/// Password logins that belong to the LDAP directory, for the ``Authenticator``: every login without a local
/// account of that name (a local user with a password, a bot, the service account: those never go to the
/// directory), and every account linked to an entry.
///
/// A good bind is remembered for `cacheTTL` by a keyed hash of login and password, so a CI job's pushes do not
/// reach the directory per request and keep working through a short outage; a password changed in the directory
/// takes effect when the entry expires. A directory that does not answer is ``AuthError/Code/directoryUnavailable``
/// (503), never a wrong password.
public struct DirectoryLogins: Sendable {
    public let directory: any Directory
    /// Group → team sync and the disabling of gone entries, run as a service; nil in tests of logins alone.
    public let sync: DirectorySync?
    let accounts: AccountService
    let pool: DatabasePool
    let cacheTTL: Duration
    /// Whether refresh grants check the entry (only with a bind account: read anonymously, entries look gone).
    let checkEntries: Bool
    let logger: Logger
    /// Runs after each directory login, with the account: group sync for that one user (best effort).
    let afterLogin: @Sendable (User) async -> Void
    private let state: State

    private final class State: Sendable {
        /// Binds that succeeded lately: keyed hash of login and password → the account's id.
        let binds: ExpiringCache<String, Int64>
        /// Entries found lately by a refresh grant's check: account id → its DN as checked.
        let entries: ExpiringCache<Int64, String>
        let key = SymmetricKey(size: .bits256)

        init(lifetime: Duration) {
            binds = ExpiringCache(lifetime: lifetime)
            entries = ExpiringCache(lifetime: lifetime)
        }
    }

    public init(
        directory: any Directory,
        accounts: AccountService,
        pool: DatabasePool,
        cacheTTL: Duration,
        checkEntries: Bool = true,
        logger: Logger,
        sync: DirectorySync? = nil,
        afterLogin: @escaping @Sendable (User) async -> Void = { _ in }
    ) {
        self.directory = directory
        self.sync = sync
        self.accounts = accounts
        self.pool = pool
        self.cacheTTL = cacheTTL
        self.checkEntries = checkEntries
        self.logger = logger
        self.afterLogin = afterLogin
        state = State(lifetime: cacheTTL)
    }

    /// Whether a login for `user` (the account of that name, nil when there is none) goes to the directory.
    func owns(_ user: User?) -> Bool {
        guard let user else { return true }
        return user.ldapDN != nil && !user.isBot
    }

    static let unavailable = AuthError(
        .directoryUnavailable,
        "the directory (LDAP) is unavailable: the password cannot be checked now; try again shortly",
        retryAfter: .seconds(5)
    )

    /// The account `login` and `password` stand for, or ``AuthError/Code/invalidCredentials`` (counted toward lockout
    /// by the caller), or ``AuthError/Code/directoryUnavailable`` (never counted). `portal`: a sign-in in the portal,
    /// where the first account of an empty installation becomes admin when no admin group decides.
    func login(_ login: String, password: String, portal: Bool) async throws -> User {
        let refused = AuthError(.invalidCredentials, "invalid username or password")
        // An empty password would be an unauthenticated bind, which LDAP servers accept.
        guard !password.isEmpty else { throw refused }
        let fingerprint = fingerprint(login, password)
        if cacheTTL > .zero, let id = state.binds.value(for: fingerprint) {
            let user = try await pool.read { transaction in try transaction.users.find(id: id) }
            if let user, user.ldapDN != nil, user.enabled, !user.isLocked() { return user }
        }
        let verdict: DirectoryLogin
        do {
            verdict = try await directory.authenticate(login: login, password: password)
        } catch let error as DirectoryUnavailable {
            logger.warning("LDAP login refused: the directory is unavailable", metadata: ["login": "\(login)", "error": "\(error.message)"])
            throw Self.unavailable
        }
        guard case .accepted(let entry) = verdict else {
            if case .refused(let reason) = verdict { logger.info("LDAP login refused", metadata: ["login": "\(login)", "reason": "\(reason)"]) }
            throw refused
        }
        let user = try await accounts.linkDirectoryUser(entry, firstMayBeAdmin: portal, logger: logger)
        guard user.enabled else {
            logger.notice("LDAP login refused: the account is disabled", metadata: ["login": "\(login)", "user": "\(user.name)"])
            throw refused
        }
        // Lockout applies as to local accounts: a locked account is refused even with the right password.
        guard try await pool.write({ transaction in try transaction.users.admitLogin(id: user.id) }) else {
            logger.notice("LDAP login refused: account locked", metadata: ["user": "\(user.name)"])
            throw refused
        }
        if cacheTTL > .zero { state.binds.set(user.id, for: fingerprint) }
        await afterLogin(user)
        return user
    }

    /// Whether a linked account's entry still exists, asked at most once per `cacheTTL` per account (for refresh
    /// grants, which carry no password). An entry that is gone disables the account (as sync does).
    func entryStands(for user: User) async throws -> Bool {
        // An account imported from Portus has no entry's DN before its first directory login: nothing to check.
        guard checkEntries, let dn = user.ldapDN, !dn.hasPrefix(PortusMapping.pendingDirectoryPrefix) else { return true }
        if cacheTTL > .zero, state.entries.value(for: user.id) == dn { return true }
        let entry: DirectoryEntry?
        do {
            entry = try await directory.entry(dn: dn)
        } catch is DirectoryUnavailable {
            throw Self.unavailable
        }
        guard entry != nil else {
            logger.notice("LDAP entry gone: the account is disabled", metadata: ["user": "\(user.name)", "dn": "\(dn)"])
            try await accounts.setEnabled(name: user.name, false, actor: AccountService.directoryActor)
            return false
        }
        if cacheTTL > .zero { state.entries.set(dn, for: user.id) }
        return true
    }

    /// A keyed hash of the parts, so that no password is kept in memory in a form that can be checked offline.
    private func fingerprint(_ parts: String...) -> String {
        HMAC<SHA256>.authenticationCode(for: Data(parts.joined(separator: "\u{0}").utf8), using: state.key).map { String(format: "%02x", $0) }
            .joined()
    }
}
