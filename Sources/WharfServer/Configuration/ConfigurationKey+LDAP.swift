import WharfAuth
import WharfCore

extension ConfigurationKey {
    /// The `ldap.*` keys (issue 15), in the order an operator fills them in.
    static let ldapKeys: [ConfigurationKey] = [
        .init(
            key: "ldap.enabled",
            flag: nil,
            defaultValue: "off",
            summary: "`on`: the portal's sign-in and registry logins check the LDAP directory for every user without a local account "
                + "(local admins, bots and the service account stay local); sign-up is off."
        ) {
            $0.ldap.enabled = try boolean($1, "ldap.enabled")
        },
        .init(
            key: "ldap.url",
            flag: nil,
            defaultValue: "",
            summary: "Directory servers, comma-separated, tried in order (fail-over): `ldap://HOST:389` or `ldaps://HOST:636`."
        ) {
            $0.ldap.directory.urls = $1.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        },
        .init(
            key: "ldap.encryption",
            flag: nil,
            defaultValue: "starttls",
            summary: "`starttls` (ldap:// upgraded before any bind), `ldaps` (TLS from the start) or `plain` (passwords in clear text)."
        ) {
            guard let encryption = LDAPConfiguration.Encryption(rawValue: $1.lowercased()) else {
                throw ConfigurationError("ldap.encryption: expected plain, ldaps or starttls, got \($1)")
            }
            $0.ldap.directory.encryption = encryption
        },
        .init(
            key: "ldap.ca_file",
            flag: nil,
            defaultValue: "",
            summary: "PEM file of the CA that signs the directory's certificate; empty: the system's trust store."
        ) {
            $0.ldap.directory.caFile = $1.isEmpty ? nil : $1
        },
        .init(
            key: "ldap.insecure_skip_verify",
            flag: nil,
            defaultValue: "off",
            summary: "`on` accepts any directory certificate (logged as a warning at start-up); for tests only."
        ) {
            $0.ldap.directory.insecureSkipVerify = try boolean($1, "ldap.insecure_skip_verify")
        },
        .init(key: "ldap.base_dn", flag: nil, defaultValue: "", summary: "Where users are searched (`ou=people,dc=example,dc=com`).") {
            $0.ldap.directory.baseDN = $1
        },
        .init(
            key: "ldap.user_attribute",
            flag: nil,
            defaultValue: "uid",
            summary: "The attribute a login name is matched against: `uid`, `cn`, `sAMAccountName` (which needs `ldap.bind_dn`)."
        ) {
            $0.ldap.directory.userAttribute = try attributeName($1, "ldap.user_attribute")
        },
        .init(
            key: "ldap.filter",
            flag: nil,
            defaultValue: "",
            summary: "An extra filter every user entry must match, e.g. `(objectClass=person)`; empty: none."
        ) {
            $0.ldap.directory.filter = $1
        },
        .init(
            key: "ldap.bind_dn",
            flag: nil,
            defaultValue: "",
            summary: "Search as this account, then bind as the entry found; empty: bind directly as `USER_ATTRIBUTE=LOGIN,BASE_DN`."
        ) {
            $0.ldap.directory.bindDN = $1.isEmpty ? nil : $1
        },
        .init(key: "ldap.bind_password", flag: nil, defaultValue: "", summary: "The password of `ldap.bind_dn` (never logged).") {
            $0.ldap.directory.bindPassword = $1.isEmpty ? nil : $1
        },
        .init(
            key: "ldap.admin_group",
            flag: nil,
            defaultValue: "",
            summary: "DN of the group whose members are administrators, checked at each login (leaving it demotes); empty: "
                + "admin status is Wharf's own, and on an installation without users the first LDAP sign-in in the portal becomes admin."
        ) {
            $0.ldap.directory.adminGroup = $1.isEmpty ? nil : $1
        },
        .init(key: "ldap.email_attribute", flag: nil, defaultValue: "mail", summary: "The attribute that holds a user's email.") {
            $0.ldap.directory.emailAttribute = try attributeName($1, "ldap.email_attribute")
        },
        .init(key: "ldap.display_name_attribute", flag: nil, defaultValue: "cn", summary: "The attribute that holds a user's display name.") {
            $0.ldap.directory.displayNameAttribute = try attributeName($1, "ldap.display_name_attribute")
        },
        .init(key: "ldap.connect_timeout", flag: nil, defaultValue: "5s", summary: "How long connecting to one directory server may take.") {
            $0.ldap.directory.connectTimeout = try duration($1, "ldap.connect_timeout")
        },
        .init(key: "ldap.operation_timeout", flag: nil, defaultValue: "10s", summary: "How long one bind or search may take.") {
            $0.ldap.directory.operationTimeout = try duration($1, "ldap.operation_timeout")
        },
        .init(key: "ldap.pool_size", flag: nil, defaultValue: "4", summary: "Connections to the directory kept open (and threads running its calls).")
        {
            let size = try count($1, "ldap.pool_size")
            guard size > 0 else { throw ConfigurationError("ldap.pool_size: expected at least 1, got \($1)") }
            $0.ldap.directory.poolSize = size
        },
        .init(
            key: "ldap.cache_ttl",
            flag: nil,
            defaultValue: "60s",
            summary: "A good bind is remembered this long (CI pushes do not hit the directory per request, and keep working while it is "
                + "down); a password changed in the directory takes effect after it. `0` or `off`: never remembered."
        ) {
            $0.ldap.cacheTTL = ["0", "0s", "0m", "0h", "0d", "off"].contains($1.lowercased()) ? .zero : try duration($1, "ldap.cache_ttl")
        },
        .init(
            key: "ldap.group_base_dn",
            flag: nil,
            defaultValue: "",
            summary: "Where groups are searched for group → team sync: a team named like a group gets its members; empty: no group sync."
        ) {
            $0.ldap.directory.groupBaseDN = $1.isEmpty ? nil : $1
        },
        .init(
            key: "ldap.group_filter",
            flag: nil,
            defaultValue: "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup))",
            summary: "Which entries under `ldap.group_base_dn` are groups."
        ) {
            $0.ldap.directory.groupFilter = try nonEmpty($1, "ldap.group_filter")
        },
        .init(
            key: "ldap.member_attribute",
            flag: nil,
            defaultValue: "member",
            summary: "How groups list members: `member` or `uniqueMember` (DNs) or `memberUid` (login names)."
        ) {
            configuration,
            value in
            let wanted = value.lowercased()
            guard let attribute = LDAPConfiguration.MemberAttribute.allCases.first(where: { $0.rawValue.lowercased() == wanted }) else {
                throw ConfigurationError("ldap.member_attribute: expected member, uniqueMember or memberUid, got \(value)")
            }
            configuration.ldap.directory.memberAttribute = attribute
        },
        .init(
            key: "ldap.default_role",
            flag: nil,
            defaultValue: "viewer",
            summary: "The team role group sync gives: `viewer`, `contributor` or `owner`."
        ) {
            guard let role = TeamRole(rawValue: $1.lowercased()) else {
                throw ConfigurationError("ldap.default_role: expected viewer, contributor or owner, got \($1)")
            }
            $0.ldap.defaultRole = role
        },
        .init(
            key: "ldap.sync_interval",
            flag: nil,
            defaultValue: "5m",
            summary: "How often groups sync to teams and accounts whose entry is gone are disabled (also at each sign-in, for that user)."
        ) {
            $0.ldap.syncInterval = try duration($1, "ldap.sync_interval")
        },
        .init(
            key: "ldap.sync_mode",
            flag: nil,
            defaultValue: "mirror",
            summary: "`mirror`: leaving a group removes the memberships sync made; `add-only`: sync only adds (as Portus did). "
                + "Memberships made by people are never touched."
        ) {
            switch $1.lowercased() {
            case "mirror": $0.ldap.mirror = true
            case "add-only": $0.ldap.mirror = false
            default: throw ConfigurationError("ldap.sync_mode: expected mirror or add-only, got \($1)")
            }
        },
    ]

    /// An LDAP attribute name (RFC 4512 descr): a letter, then letters, digits and hyphens.
    static func attributeName(_ value: String, _ key: String) throws -> String {
        guard let first = value.first, first.isASCII, first.isLetter,
            value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") })
        else { throw ConfigurationError("\(key): expected an attribute name like uid or mail, got \(value)") }
        return value
    }
}
