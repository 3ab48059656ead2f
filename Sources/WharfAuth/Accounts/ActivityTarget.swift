import WharfDatabase

/// What an activity is about, as the activities table keeps it: a kind, the row's id while it exists and its name
/// at the time (kept once the row is gone), and the namespace whose history it belongs to.
struct ActivityTarget: Sendable {
    var kind: String
    var id: Int64?
    var name: String
    var namespaceID: Int64?

    static func namespace(_ namespace: Namespace) -> ActivityTarget {
        ActivityTarget(kind: "namespace", id: namespace.id, name: namespace.name, namespaceID: namespace.id)
    }

    /// A namespace that has no row (content without an owner, purged).
    static func namespace(named name: String) -> ActivityTarget {
        ActivityTarget(kind: "namespace", id: nil, name: name, namespaceID: nil)
    }

    static func team(_ team: Team) -> ActivityTarget { ActivityTarget(kind: "team", id: team.id, name: team.name, namespaceID: nil) }

    static func user(_ user: User) -> ActivityTarget { ActivityTarget(kind: "user", id: user.id, name: user.name, namespaceID: nil) }

    /// An application token by its label (unique per user; the details name the user), or a refresh token as
    /// `refresh:ID`.
    static func token(id: Int64, label: String) -> ActivityTarget { ActivityTarget(kind: "token", id: id, name: label, namespaceID: nil) }

    /// A namespace's scoped token by its login name (`robot$NAMESPACE+NAME`), in the namespace's history; by its
    /// name alone when the login name is longer than a stored name may be (a long namespace and a long name).
    static func scopedToken(_ token: ScopedToken) -> ActivityTarget {
        let login = token.username.description
        return ActivityTarget(kind: "token", id: token.id, name: login.utf8.count <= 255 ? login : token.name, namespaceID: token.namespaceID)
    }
}
