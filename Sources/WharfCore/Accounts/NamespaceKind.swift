/// Which kind of namespace a repository lives in.
public enum NamespaceKind: String, Sendable, Hashable, CaseIterable {
    /// A user's own namespace, named after them.
    case personal
    /// Repository names without a slash (`library`-style): admins push, every logged-in user pulls.
    case global
    /// A namespace owned by a team; the members' roles apply.
    case team
}
