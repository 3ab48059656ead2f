import WharfCore
import WharfDatabase

extension ScopedToken {
    /// What the token logs in as: `robot$NAMESPACE+NAME`.
    public var username: ScopedTokenUsername { ScopedTokenUsername(namespace: namespace, name: name) }

    /// The stored actions read back (`pull` or `pull,push`); nil when the row holds anything else.
    public var allowedActions: Set<Action>? { try? ScopedTokenService.actions(parsing: actions) }

    /// The stored pattern read back; nil when the row holds an invalid one.
    public var pattern: RepositoryPattern? { try? RepositoryPattern(repositories) }

    /// What a login with the token is bounded by; nil when the row does not parse (the login is then refused).
    public var restriction: AccessRestriction? {
        guard let pattern, let allowedActions else { return nil }
        return AccessRestriction(namespaceID: namespaceID, namespace: namespace, repositories: pattern, actions: allowedActions)
    }
}
