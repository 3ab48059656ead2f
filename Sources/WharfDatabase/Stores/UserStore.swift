import Crypto
import Foundation

/// A person or bot that can log in.
public struct User: Sendable, Equatable, RowDecodable {
    public var id: Int64
    public var name: String
    public var email: String?
    /// bcrypt hash of the local password; nil for LDAP users and bots.
    public var passwordHash: String?
    public var displayName: String?
    public var ldapDN: String?
    public var isAdmin: Bool
    public var isBot: Bool
    public var enabled: Bool
    public var createdAt: Date
    public var updatedAt: Date
    public var lastLoginAt: Date?
    /// Failed password logins since ``failedSince`` (the lockout window's start).
    public var failedLogins: Int
    public var failedSince: Date?
    /// While in the future, password logins are refused.
    public var lockedUntil: Date?

    /// Whether password logins are locked at `time`.
    public func isLocked(at time: Date = Date()) -> Bool { lockedUntil.map { $0 > time } ?? false }

    init(row: SQLRow) throws {
        id = try row.decode("id")
        name = try row.decode("name")
        email = try row.decode("email")
        passwordHash = try row.decode("password_hash")
        displayName = try row.decode("display_name")
        ldapDN = try row.decode("ldap_dn")
        isAdmin = try row.decode("is_admin")
        isBot = try row.decode("is_bot")
        enabled = try row.decode("enabled")
        createdAt = try row.decode("created_at")
        updatedAt = try row.decode("updated_at")
        lastLoginAt = try row.decode("last_login_at")
        failedLogins = try row.decode("failed_logins")
        failedSince = try row.decode("failed_since")
        lockedUntil = try row.decode("locked_until")
    }
}

/// What is needed to create a user.
public struct NewUser: Sendable {
    public var name: String
    public var email: String?
    public var passwordHash: String?
    public var displayName: String?
    public var ldapDN: String?
    public var isAdmin = false
    public var isBot = false

    public init(
        name: String,
        email: String? = nil,
        passwordHash: String? = nil,
        displayName: String? = nil,
        ldapDN: String? = nil,
        isAdmin: Bool = false,
        isBot: Bool = false
    ) {
        self.name = name
        self.email = email
        self.passwordHash = passwordHash
        self.displayName = displayName
        self.ldapDN = ldapDN
        self.isAdmin = isAdmin
        self.isBot = isBot
    }
}

public struct UserStore: Store {
    let transaction: Transaction
    init(_ transaction: Transaction) { self.transaction = transaction }

    static let columns =
        "id, name, email, password_hash, display_name, ldap_dn, is_admin, is_bot, enabled, created_at, updated_at, last_login_at, failed_logins, failed_since, locked_until"

    /// Creates an enabled user; `.conflict` when the name or email is taken.
    @discardableResult
    public func create(_ user: NewUser) throws -> User {
        let time = now()
        let binds: [any SQLValueConvertible] = [
            try Validation.name(user.name, "user name"), try Validation.name(user.email, "email"),
            try Validation.name(user.passwordHash, "password hash"), try Validation.name(user.displayName, "display name"),
            try Validation.text(user.ldapDN, "LDAP DN"), Self.directoryKey(user.ldapDN), user.isAdmin, user.isBot, true, time, time,
        ]
        let id = try unique(Self.conflict(user.name, user.email, user.ldapDN)) {
            try transaction.insert(
                "INSERT INTO users (name, email, password_hash, display_name, ldap_dn, directory_key, is_admin, is_bot, enabled, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                binds
            )
        }
        return try find(id: id)!
    }

    public func find(id: Int64) throws -> User? {
        try transaction.fetchOne("SELECT \(Self.columns) FROM users WHERE id = ?", [id])
    }

    /// The lookup every authenticated request does.
    public func find(name: String) throws -> User? {
        try transaction.fetchOne("SELECT \(Self.columns) FROM users WHERE name = ?", [name])
    }

    /// The user linked to the directory entry `dn` (compared without regard to case, as LDAP compares DNs).
    public func find(ldapDN dn: String) throws -> User? {
        guard let key = Self.directoryKey(dn) else { return nil }
        return try transaction.fetchOne("SELECT \(Self.columns) FROM users WHERE directory_key = ?", [key])
    }

    /// Every user linked to a directory entry, by id (for LDAP sync).
    public func directoryUsers() throws -> [User] {
        try transaction.fetch("SELECT \(Self.columns) FROM users WHERE directory_key IS NOT NULL ORDER BY id")
    }

    /// What a refused create or update says: the name, the email and, for a directory user, the entry.
    static func conflict(_ name: String, _ email: String?, _ dn: String?) -> String {
        "a user named \(name) or with email \(email ?? "-")" + (dn.map { " or linked to \($0)" } ?? "")
    }

    /// What a DN is indexed by: its SHA-256 in lower case hex, of the DN in lower case.
    static func directoryKey(_ dn: String?) -> String? {
        guard let dn, !dn.isEmpty else { return nil }
        return SHA256.hash(data: Data(dn.lowercased().utf8)).map { String(format: "%02x", $0) }.joined()
    }

    public func find(email: String) throws -> User? {
        try transaction.fetchOne("SELECT \(Self.columns) FROM users WHERE email = ?", [email])
    }

    /// Users ordered by name, after `name` (for paging).
    public func list(after name: String? = nil, limit: Int = 100) throws -> [User] {
        try transaction.fetch("SELECT \(Self.columns) FROM users WHERE name > ? ORDER BY name LIMIT ?", [name ?? "", pageSize(limit)])
    }

    /// Saves the changeable fields of `user` (everything but id and creation time).
    public func update(_ user: User) throws {
        let binds: [any SQLValueConvertible] = [
            try Validation.name(user.name, "user name"), try Validation.name(user.email, "email"),
            try Validation.name(user.passwordHash, "password hash"), try Validation.name(user.displayName, "display name"),
            try Validation.text(user.ldapDN, "LDAP DN"), Self.directoryKey(user.ldapDN), user.isAdmin, user.isBot, user.enabled, now(),
            user.lastLoginAt, user.id,
        ]
        try unique(Self.conflict(user.name, user.email, user.ldapDN)) {
            _ = try transaction.execute(
                "UPDATE users SET name = ?, email = ?, password_hash = ?, display_name = ?, ldap_dn = ?, directory_key = ?, is_admin = ?, is_bot = ?, enabled = ?, updated_at = ?, last_login_at = ? WHERE id = ?",
                binds
            )
        }
    }

    public func recordLogin(id: Int64, at time: Date = Date()) throws {
        try transaction.execute("UPDATE users SET last_login_at = ? WHERE id = ?", [time, id])
    }

    /// Counts a failed password login: the count restarts when the last window (`window` long) is over, and
    /// reaching `limit` locks password logins until `time + lockFor`. Returns the lock's end when this failure
    /// set it. One statement per step inside the caller's write transaction, so concurrent failures all count.
    public func recordFailedLogin(id: Int64, at time: Date = Date(), window: Duration, limit: Int, lockFor: Duration) throws -> Date? {
        let time = Date(millisecondsSince1970: time.millisecondsSince1970)
        let windowStart = time.addingTimeInterval(-Double(window.components.seconds))
        try transaction.execute(
            "UPDATE users SET failed_logins = CASE WHEN failed_since IS NULL OR failed_since < ? THEN 1 ELSE failed_logins + 1 END, failed_since = CASE WHEN failed_since IS NULL OR failed_since < ? THEN ? ELSE failed_since END WHERE id = ?",
            [windowStart, windowStart, time, id]
        )
        guard let user = try find(id: id), limit > 0, user.failedLogins >= limit else { return nil }
        let until = time.addingTimeInterval(Double(lockFor.components.seconds))
        try transaction.execute("UPDATE users SET locked_until = ?, failed_logins = 0, failed_since = NULL WHERE id = ?", [until, id])
        return until
    }

    /// A correct password's last step: forgets failed logins, unless the account is locked at `time`. One
    /// conditional statement, so a lock set by failures that raced this login is never cleared by it. Returns
    /// whether the login may go ahead.
    public func admitLogin(id: Int64, at time: Date = Date()) throws -> Bool {
        let time = Date(millisecondsSince1970: time.millisecondsSince1970)
        return try changed(
            "UPDATE users SET failed_logins = 0, failed_since = NULL, locked_until = NULL WHERE id = ? AND (locked_until IS NULL OR locked_until <= ?)",
            [id, time]
        )
    }

    /// Forgets failed logins and any lock (an admin unlocking the account, a new password).
    public func clearFailedLogins(id: Int64) throws {
        try transaction.execute("UPDATE users SET failed_logins = 0, failed_since = NULL, locked_until = NULL WHERE id = ?", [id])
    }

    /// How many admins exist (disabled ones included).
    public func adminCount() throws -> Int {
        try transaction.query("SELECT COUNT(*) AS n FROM users WHERE is_admin = 1").first?.decode("n") ?? 0
    }

    /// Removes the user with their memberships, tokens, sessions and stars. Fails with `.invalidValue` while
    /// they own a personal namespace (remove it first).
    @discardableResult
    public func delete(id: Int64) throws -> Bool {
        try changed("DELETE FROM users WHERE id = ?", [id])
    }

    public func count() throws -> Int {
        try transaction.query("SELECT COUNT(*) AS n FROM users").first?.decode("n") ?? 0
    }
}
