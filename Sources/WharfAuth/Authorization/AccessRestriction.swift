import WharfCore

/// A bound on what a subject may do, whatever the permission rules would allow it: a scoped token's namespace,
/// repository pattern and actions. The ``Authorizer`` intersects what ``PermissionRules`` allow with it, so it
/// only ever narrows: the rules stay the one table of who may do what, and a restricted subject never gets the
/// catalogue, a delete, another namespace or a namespace created by its push.
public struct AccessRestriction: Hashable, Sendable, CustomStringConvertible {
    /// The namespace's row: a namespace deleted and made again under the same name is another one.
    public var namespaceID: Int64
    public var namespace: String
    public var repositories: RepositoryPattern
    /// Pull, or pull and push; never delete or the catalogue.
    public var actions: Set<Action>

    public init(namespaceID: Int64, namespace: String, repositories: RepositoryPattern, actions: Set<Action>) {
        self.namespaceID = namespaceID
        self.namespace = namespace
        self.repositories = repositories
        self.actions = actions.intersection([.pull, .push])
    }

    /// The part of `requested` the restriction leaves on `resource`: its actions on the repositories of its
    /// namespace that match its pattern, nothing anywhere else.
    public func allowed(_ requested: Set<Action>, on resource: AccessScope.Resource) -> Set<Action> {
        guard case .repository(let name) = resource, repositories.matches(name, in: namespace) else { return [] }
        return requested.intersection(actions)
    }

    /// The role the permission rules see for the holder in its own namespace: a viewer when it only pulls; when
    /// it pushes, a contributor of a team namespace, and the owner of a personal one (the owner is who pushes
    /// there under the `allow-personal` policy). Deletes stay out of reach whatever the role: the restriction
    /// never allows them.
    public func role(in kind: NamespaceKind) -> TeamRole {
        guard actions.contains(.push) else { return .viewer }
        return kind == .personal ? .owner : .contributor
    }

    /// `pull,push on team/app-*`.
    public var description: String {
        "\(actions.sorted().map(\.rawValue).joined(separator: ",")) on \(namespace)/\(repositories)"
    }
}
