import WharfCore

/// How ``DirectorySync`` runs: the group-sync part of the `ldap.*` keys.
public struct DirectorySyncSettings: Sendable, Equatable {
    public var mode: DirectorySyncMode
    /// The role a membership made by sync gets (`ldap.default_role`). A person changing it makes the membership
    /// manual, and sync leaves it alone from then on.
    public var defaultRole: TeamRole
    /// Time between two passes (`ldap.interval`); sign-ins sync their user in between.
    public var interval: Duration
    /// Whether a pass disables accounts whose entry is gone. Only when the directory can be read outside a login
    /// (`ldap.bind_dn`): read anonymously, an entry that exists usually looks gone, and every account would go.
    public var checkEntries: Bool

    public init(
        mode: DirectorySyncMode = .addOnly,
        defaultRole: TeamRole = .viewer,
        interval: Duration = .seconds(300),
        checkEntries: Bool = true
    ) {
        self.mode = mode
        self.defaultRole = defaultRole
        self.interval = interval
        self.checkEntries = checkEntries
    }
}
