/// What the permission table answered for one action, and the row that decided it, so that every surface (the
/// token endpoint, the `/v2` door, later the API and the portal) gives the same reason.
public struct PermissionDecision: Hashable, Sendable, CustomStringConvertible {
    public var allowed: Bool
    public var rule: PermissionRule

    public init(_ allowed: Bool, _ rule: PermissionRule) {
        self.allowed = allowed
        self.rule = rule
    }

    public var description: String { "\(allowed ? "allowed" : "refused"): \(rule)" }
}

/// The rows of the permission table, each with the sentence that states it.
public enum PermissionRule: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case unrestricted
    case catalogForEveryone
    case anonymousPullDisabled
    case globalNamespace
    case member
    case visible
    case notVisible
    case roleTooLow
    case pushPolicy
    case readOnly
    case deletesDisabled
    case futureOwner
    case missingNamespace
    case namespacesNotCreatedOnPush
    case unownedContent
    case notApplicable

    public var description: String {
        switch self {
        case .unrestricted: "admins and the service account are unrestricted (the service account only reads)"
        case .catalogForEveryone: "every logged-in caller lists the catalogue, anonymous callers too when anonymous pull is on"
        case .anonymousPullDisabled: "anonymous pull is disabled"
        case .globalNamespace: "the global namespace is protected: logged-in users pull, only admins push or delete"
        case .member: "the caller's role in the namespace's team allows it"
        case .visible: "the namespace's visibility lets the caller pull"
        case .notVisible: "the namespace is not visible to the caller"
        case .roleTooLow: "the caller's role in the namespace's team does not allow it"
        case .pushPolicy: "the push policy does not let the caller push here"
        case .readOnly: "anonymous callers and the service account never write"
        case .deletesDisabled: "deletes are disabled"
        case .futureOwner: "a push creates the missing namespace with the pusher as its owner"
        case .missingNamespace: "a missing namespace is never pullable, pushable or deletable but by whoever may create it"
        case .namespacesNotCreatedOnPush: "pushing does not create namespaces here"
        case .unownedContent: "content without an owner is for admins only until it is adopted"
        case .notApplicable: "the action does not apply to this target"
        }
    }
}
