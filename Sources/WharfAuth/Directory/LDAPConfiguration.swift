/// How to reach and read the LDAP directory: the `ldap.*` configuration keys, parsed and checked by the server's
/// configuration (`WharfServer`), used by ``LDAPDirectory``.
public struct LDAPConfiguration: Sendable, Equatable {
    /// How the connection is protected.
    public enum Encryption: String, Sendable, CaseIterable {
        case plain
        case ldaps
        case starttls
    }

    /// What a group lists its members by.
    public enum MemberAttribute: String, Sendable, CaseIterable {
        case member
        case uniqueMember
        case memberUid
    }

    /// Servers in fail-over order (`ldap://host:389`, `ldaps://host:636`).
    public var urls: [String] = []
    public var encryption: Encryption = .plain
    /// PEM file of the CA(s) that sign the server's certificate; nil: the system's trust store.
    public var caFile: String?
    /// Accept any server certificate (logged loudly at start-up).
    public var insecureSkipVerify = false
    public var baseDN = ""
    /// The attribute a login name is matched against: `uid`, `cn`, `sAMAccountName`.
    public var userAttribute = "uid"
    /// An extra filter every user entry must match, e.g. `(objectClass=person)`; empty for none.
    public var filter = ""
    /// Search as this account, then bind as the found DN; nil: bind directly as `userAttribute=login,baseDN`.
    public var bindDN: String?
    public var bindPassword: String?
    /// The DN of the group whose members are administrators; nil: the directory decides no one's admin status.
    public var adminGroup: String?
    public var emailAttribute = "mail"
    public var displayNameAttribute = "cn"
    public var connectTimeout: Duration = .seconds(5)
    public var operationTimeout: Duration = .seconds(10)
    /// Connections kept open (and threads that run the blocking libldap calls).
    public var poolSize = 4
    /// Where group sync looks for groups; nil: no group sync.
    public var groupBaseDN: String?
    public var groupFilter = "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup))"
    public var memberAttribute: MemberAttribute = .member

    public init() {}
}
