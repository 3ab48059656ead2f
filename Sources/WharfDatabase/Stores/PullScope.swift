import WharfCore

/// Which repositories and namespaces a listing may show, as SQL can filter them in the listing's own query (one
/// query per page, not one decision per row). WharfAuth's permission rules decide which case a caller is
/// (`CatalogVisibility` in WharfSync); this type only knows how each case reads in SQL.
public enum PullScope: Sendable, Hashable {
    /// Everything, content without a namespace row included (admins, the service account).
    case everything
    /// Nothing (anonymous callers when anonymous pull is off).
    case nothing
    /// Namespaces whose visibility is public (anonymous callers when anonymous pull is on). The global namespace is
    /// protected, so it is not public.
    case publicNamespaces
    /// What a logged-in user or bot pulls: the global namespace (names without a slash, and namespace rows of kind
    /// global), public and protected namespaces, their own personal namespace and their teams' namespaces. Content
    /// without a namespace row is not theirs to see. A nil id (a subject without an account) sees no team's.
    case member(userID: Int64?)

    /// A filter on the namespaces row aliased `n`, joined by the caller; `m` is the joined membership row.
    struct Filter {
        /// What to add after `FROM … n` (the membership join); its binds come first.
        var joins: String
        var joinBinds: [any SQLValueConvertible]
        var condition: String
        var conditionBinds: [any SQLValueConvertible]
    }

    /// The filter for a query over `namespaces` aliased `n`.
    func namespaceFilter(_ n: String = "n", membership m: String = "m") -> Filter {
        switch self {
        case .everything: return Filter(joins: "", joinBinds: [], condition: "1 = 1", conditionBinds: [])
        case .nothing: return Filter(joins: "", joinBinds: [], condition: "1 = 0", conditionBinds: [])
        case .publicNamespaces:
            return Filter(joins: "", joinBinds: [], condition: "\(n).visibility = ?", conditionBinds: [Visibility.public])
        case .member(let userID):
            return Filter(
                joins: " LEFT JOIN team_members \(m) ON \(m).team_id = \(n).team_id AND \(m).user_id = ?",
                joinBinds: [userID],
                condition:
                    "(\(n).kind = ? OR \(n).visibility <> ? OR (\(n).kind = ? AND \(n).owner_id = ?) OR \(m).role IS NOT NULL)",
                conditionBinds: [NamespaceKind.global, Visibility.private, NamespaceKind.personal, userID]
            )
        }
    }

    /// The filter for a query over `repositories` aliased `r`: its namespace row is joined as `vn` (a repository
    /// whose namespace has no row is only in ``everything``).
    func repositoryFilter(_ r: String = "r") -> Filter {
        switch self {
        case .everything, .nothing: return namespaceFilter()
        case .publicNamespaces:
            let inner = namespaceFilter("vn", membership: "vm")
            return Filter(
                joins: " JOIN namespaces vn ON vn.name = \(r).namespace",
                joinBinds: [],
                condition: inner.condition,
                conditionBinds: inner.conditionBinds
            )
        case .member:
            let inner = namespaceFilter("vn", membership: "vm")
            return Filter(
                joins: " LEFT JOIN namespaces vn ON vn.name = \(r).namespace" + inner.joins,
                joinBinds: inner.joinBinds,
                // The global namespace (names without a slash) has no row: every logged-in caller pulls from it.
                condition: "(\(r).namespace = '' OR (vn.id IS NOT NULL AND \(inner.condition)))",
                conditionBinds: inner.conditionBinds
            )
        }
    }
}
