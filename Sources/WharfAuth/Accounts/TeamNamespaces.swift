/// What becomes of a team's namespaces when the team is deleted.
public enum TeamNamespaces: Sendable, Hashable {
    /// Deleting a team that owns namespaces is refused.
    case refuse
    /// They go to the named team.
    case transfer(String)
    /// They are deleted with their repositories.
    case delete
}
