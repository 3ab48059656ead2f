import WharfCore

/// The reasons the registry gives when it refuses a repository request, in one place.
///
/// A namespace's existence is told only to callers who may see it (pull from it) or who could create it (and so
/// learn by pushing whether it exists anyway): to anyone else a namespace that does not exist, one they may not
/// see and content without an owner get the same status, code and words, with nothing but the names they sent.
enum AccessDenial {
    /// Why `subject` may not do `actions` on `name`, whose namespace is `target` from their point of view.
    static func reason(
        subject: TokenSubject,
        actions: Set<Action>,
        name: RepositoryName,
        target: PermissionTarget,
        rules: PermissionRules
    )
        -> String
    {
        let who = subject.name
        let refused = "\(who) may not \(actions.sorted().map(\.rawValue).joined(separator: ",")) \(name.value)"
        // A scoped token is told its own scope, and nothing about namespaces beyond it.
        if let restriction = subject.restriction {
            guard restriction.allowed(actions, on: .repository(name)).isSuperset(of: actions) else {
                return "\(refused): the token allows only \(restriction)"
            }
            return refused
        }
        // The global namespace is every logged-in user's to see.
        guard let namespace = name.namespace else { return refused }
        let mayKnow = subject.kind == .admin || subject.kind == .service || rules.mayCreateNamespace(subject.kind)
        switch target {
        case .namespace where rules.isAllowed(.pull, for: subject.kind, on: target):
            return refused
        case .missingNamespace where mayKnow:
            guard actions.contains(.push) else { return "\(refused): namespace \(namespace) does not exist" }
            return rules.policy.createNamespaceOnPush
                ? "namespace \(namespace) does not exist and only an admin may create it"
                : "namespace \(namespace) does not exist and pushing does not create namespaces here; "
                    + "an admin creates it with wharf namespace create \(namespace) --team TEAM"
        case .unownedNamespace where mayKnow:
            return "\(refused): namespace \(namespace) holds content without an owner; "
                + "an admin must adopt it (wharf namespace adopt \(namespace) --team TEAM)"
        default:
            let phrases = actions.sorted().map { action in
                switch action {
                case .pull: "pull from"
                case .push: "push to"
                case .delete: "delete from"
                case .catalog: "list"
                }
            }
            let phrase = phrases.joined(separator: " or ")
            return "\(refused): no namespace \(namespace) that \(who) may \(phrase); ask an admin to create it or to give \(who) access"
        }
    }
}
