import WharfAuth
import WharfCore
import WharfDatabase

/// Who may do what with retention policies, whichever surface asks: a namespace's members view its policy and
/// preview a run, its owners and admins change it and run it; admins alone change or run the global default.
/// Scoped tokens (machines) may do neither. A namespace the caller cannot even pull from does not exist for them.
public struct RetentionAccess: Sendable {
    public enum Need: Sendable {
        case view
        case change
    }

    let rules: PermissionRules

    public init(rules: PermissionRules) {
        self.rules = rules
    }

    /// Throws ``RetentionError`` `denied` or `namespaceUnknown` unless `caller` may `need` the policy of
    /// `namespace` (nil: the global default).
    public func check(_ need: Need, namespace: String?, caller: TokenSubject, in transaction: Transaction) throws {
        guard caller.restriction == nil else { throw RetentionError(.denied, "a scoped token cannot use retention policies") }
        guard let namespace else {
            if caller.kind == .admin || (need == .view && caller.userID != nil) { return }
            throw RetentionError(.denied, "only an admin may change the global retention policy")
        }
        let unknown = RetentionError(.namespaceUnknown, "no namespace named \(namespace)")
        guard let access = try transaction.namespaces.access(name: namespace, userID: caller.userID) else { throw unknown }
        let facts = Authorizer.facts(of: access.namespace, teamRole: access.role, subject: caller)
        if rules.mayManage(caller.kind, facts) { return }
        if need == .view, facts.role != nil { return }
        guard rules.isAllowed(.pull, for: caller.kind, on: .namespace(facts)) else { throw unknown }
        throw RetentionError(
            .denied,
            need == .view
                ? "only members of namespace \(namespace) may see its retention policy"
                : "only an owner of namespace \(namespace)'s team or an admin may change or run its retention policy"
        )
    }
}
