/// What group → team sync may do to a team (`ldap.mode`).
public enum DirectorySyncMode: String, Sendable, CaseIterable {
    /// Members of a group are added to the team of the same name; nothing is ever removed (what Portus did).
    case addOnly = "add-only"
    /// As `addOnly`, and a membership sync made is removed again when its user leaves the group or the group
    /// goes, so that leaving a group in the directory takes the team's access away.
    case mirror = "mirror"
}
