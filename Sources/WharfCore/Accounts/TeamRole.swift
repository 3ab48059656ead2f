/// A member's role in a team, and so in the team's namespaces: what the permission rules, the stores, the CLI
/// and (later) the portal all mean by viewer, contributor and owner. Not being a member is no role (`nil`).
/// A user is the owner of their personal namespace.
public enum TeamRole: String, Sendable, Hashable, CaseIterable, Comparable {
    /// Pull.
    case viewer
    /// Pull and push.
    case contributor
    /// Pull, push, delete, and manage the team and its namespaces.
    case owner

    /// Ordered by what the role may do: viewer < contributor < owner.
    public static func < (a: TeamRole, b: TeamRole) -> Bool { allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)! }
}
