import WharfAuth
import WharfCore

/// The `ldap.*` keys: whether the directory is used, how to reach and read it (``LDAPConfiguration``), how long a
/// good bind is remembered, and how groups sync to teams.
public struct LDAPSettings: Sendable, Equatable {
    /// `ldap.enabled`: logins the database does not own (no local account of that name) go to the directory.
    public var enabled: Bool
    public var directory: LDAPConfiguration
    /// `ldap.cache_ttl`: how long a successful bind (and a refresh grant's check of the entry) is remembered;
    /// zero: never.
    public var cacheTTL: Duration
    /// `ldap.sync_interval`: how often groups sync to teams and gone entries are disabled.
    public var syncInterval: Duration
    /// `ldap.sync_mode`: `mirror` also removes memberships sync made when the person left the group.
    public var mirror: Bool
    /// `ldap.default_role`: the role group sync gives.
    public var defaultRole: TeamRole

    /// Refuses settings that cannot work, with the key to fix: checked when the server starts and by
    /// `wharf ldap check`, not per key (each key alone is valid; their combination may not be).
    public func validate() throws {
        guard enabled else { return }
        guard !directory.urls.isEmpty else { throw ConfigurationError("ldap.url: required when ldap.enabled is on") }
        guard !directory.baseDN.isEmpty else { throw ConfigurationError("ldap.base_dn: required when ldap.enabled is on") }
        for url in directory.urls {
            let secure = url.lowercased().hasPrefix("ldaps://")
            guard secure || url.lowercased().hasPrefix("ldap://") else {
                throw ConfigurationError("ldap.url: expected ldap://HOST[:PORT] or ldaps://HOST[:PORT], got \(url)")
            }
            if directory.encryption == .ldaps, !secure {
                throw ConfigurationError("ldap.url: \(url) is not ldaps:// but ldap.encryption is ldaps")
            }
            if directory.encryption != .ldaps, secure {
                throw ConfigurationError("ldap.url: \(url) is ldaps:// but ldap.encryption is \(directory.encryption.rawValue)")
            }
        }
        if directory.bindDN != nil, directory.bindPassword == nil {
            throw ConfigurationError("ldap.bind_password: required when ldap.bind_dn is set")
        }
        if let filter = directory.filter.nilIfEmpty, !(filter.hasPrefix("(") && filter.hasSuffix(")")) {
            throw ConfigurationError("ldap.filter: expected an LDAP filter in parentheses, got \(filter)")
        }
    }

    /// What start-up warns about: settings that work but are weak or surprising.
    public var warnings: [String] {
        guard enabled else { return [] }
        var warnings: [String] = []
        if directory.insecureSkipVerify, directory.encryption != .plain {
            warnings.append("ldap.insecure_skip_verify is on: the directory's certificate is NOT checked, anyone on the path can read passwords")
        }
        if directory.encryption == .plain {
            warnings.append("ldap.encryption is plain: passwords cross the network in clear text to the directory")
        }
        if directory.bindDN == nil {
            warnings.append(
                "ldap.bind_dn is empty: Wharf reads the directory only while someone logs in, so accounts whose entry is removed are not disabled by sync and their application and refresh tokens keep working until an administrator disables them"
            )
        }
        if directory.bindDN == nil, directory.userAttribute.lowercased() == "samaccountname" {
            warnings.append(
                "ldap.user_attribute is sAMAccountName without ldap.bind_dn: a direct bind as sAMAccountName=LOGIN,BASE works only when that attribute is the entry's RDN (Active Directory needs ldap.bind_dn for search-then-bind)"
            )
        }
        return warnings
    }
}

extension String {
    fileprivate var nilIfEmpty: String? { isEmpty ? nil : self }
}
