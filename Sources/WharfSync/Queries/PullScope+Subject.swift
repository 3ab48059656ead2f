import WharfAuth
import WharfDatabase

extension PullScope {
    /// What `subject` may pull under `rules`, as a listing filters it: ``PermissionRules``' pull rule stated per
    /// subject kind (admins and the service account everything; anonymous callers public namespaces when anonymous
    /// pull is on, else nothing; users and bots the global namespace, public and protected namespaces, their own
    /// and their teams'). `CatalogVisibilityTests` holds it equal to the rules, row by row.
    public static func of(_ subject: TokenSubject, rules: PermissionRules) -> PullScope {
        switch subject.kind {
        case .admin, .service: .everything
        case .anonymous: rules.policy.anonymousPull ? .publicNamespaces : .nothing
        case .user, .bot: .member(userID: subject.userID)
        }
    }
}
