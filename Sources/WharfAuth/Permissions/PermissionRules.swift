import WharfCore

/// Who is asking, as far as the permission rules care.
///
/// An application token acts as the user it belongs to; a disabled or deleted account never reaches the rules
/// (authentication refuses it first). A namespace's scoped token is a `bot` whose role in its namespace follows
/// its actions, bounded by an ``AccessRestriction`` the ``Authorizer`` intersects with these rules.
public enum SubjectKind: String, Sendable, Hashable, CaseIterable {
    /// No credentials.
    case anonymous
    /// A logged-in, non-admin person.
    case user
    case admin
    /// A technical account: like a user, but without a personal namespace.
    case bot
    /// The service account (`portus` by default): pulls everything and reads the catalogue, never writes.
    case service
}

/// Which non-admins may push.
public enum PushPolicy: String, Sendable, Hashable, CaseIterable {
    /// Owners and contributors of the namespace's team (a user owns their personal namespace).
    case allowTeams = "allow-teams"
    /// Only into one's own personal namespace.
    case allowPersonal = "allow-personal"
    /// Nobody but admins.
    case adminOnly = "admin-only"
}

/// The facts about one namespace that decide access, from the caller's point of view.
public struct NamespaceFacts: Hashable, Sendable, CustomStringConvertible {
    public var kind: NamespaceKind
    public var visibility: Visibility
    /// The caller's role in the owning team; nil when not a member. A user owns their personal namespace.
    public var role: TeamRole?

    public init(kind: NamespaceKind, visibility: Visibility, role: TeamRole?) {
        self.kind = kind
        self.visibility = visibility
        self.role = role
    }

    public var description: String { "\(kind)/\(visibility)/\(role?.rawValue ?? "none")" }
}

/// The configurable parts of the rules, with the defaults of issue 4.
public struct PermissionPolicy: Hashable, Sendable {
    public var push: PushPolicy
    /// Whether anything may be deleted at all (admins included).
    public var deleteEnabled: Bool
    /// Whether team contributors may delete (owners and admins always may when deletes are enabled).
    public var contributorsMayDelete: Bool
    /// Whether callers without credentials may pull from public namespaces.
    public var anonymousPull: Bool
    /// Whether a push into a namespace that does not exist creates it (owned by a new team of the same name with
    /// the pusher as owner); when off, such a push is denied.
    public var createNamespaceOnPush: Bool

    public init(
        push: PushPolicy = .allowTeams,
        deleteEnabled: Bool = true,
        contributorsMayDelete: Bool = false,
        anonymousPull: Bool = true,
        createNamespaceOnPush: Bool = true
    ) {
        self.push = push
        self.deleteEnabled = deleteEnabled
        self.contributorsMayDelete = contributorsMayDelete
        self.anonymousPull = anonymousPull
        self.createNamespaceOnPush = createNamespaceOnPush
    }
}

/// What a request is about: the catalogue, a repository in a namespace, a repository in a namespace that does
/// not exist yet, or one in a namespace that has content in storage but no owner.
public enum PermissionTarget: Hashable, Sendable {
    case catalog
    case namespace(NamespaceFacts)
    /// The first push would create the namespace, making the pusher its owner.
    case missingNamespace
    /// Storage holds repositories under this namespace but the database has no row for it: its user or namespace
    /// was deleted, or the content was written before Wharf (a distribution folder). Only admins (and the
    /// service account, reading) touch it until an admin adopts it; nobody creates it by pushing.
    case unownedNamespace
}

/// The one table of who may do what (subject × team role × namespace kind × visibility × action), kept
/// compatible with Portus:
/// - pull: the service account and admins always; anonymous callers from public namespaces when anonymous pull is
///   enabled; logged-in users and bots from public, protected and global namespaces and from any namespace whose
///   team they belong to.
/// - push: admins always; nobody into the global namespace otherwise; then the push policy: `allow-teams` owners
///   and contributors, `allow-personal` the owner of a personal namespace, `admin-only` nobody.
/// - delete: only when deletes are enabled; admins, owners, and contributors when contributors may delete; never
///   in the global namespace for non-admins.
/// - catalog: every logged-in caller, and anonymous callers when anonymous pull is enabled; the registry then lists
///   only the repositories the caller may pull (admins and the service account see all).
/// - a namespace that does not exist: admins and the service account pull (there is nothing to see); whoever may
///   create it by pushing (when creation on push is on: admins always, users and bots under `allow-teams`) gets
///   pull and push as its future owner; delete is nobody's (there is nothing to delete).
/// - a namespace whose content has no owner (no database row, repositories in storage): admins and the service
///   account pull, admins push (without creating the namespace: it stays unowned until adopted) and delete when
///   deletes are enabled; nobody else does anything, and the catalogue hides it from them.
///
/// Denied actions are dropped, never an error, as the token specification says.
public struct PermissionRules: Hashable, Sendable {
    public var policy: PermissionPolicy

    public init(policy: PermissionPolicy = PermissionPolicy()) {
        self.policy = policy
    }

    /// The subset of `requested` that `subject` may do on `target`.
    public func allowed(_ requested: Set<Action>, for subject: SubjectKind, on target: PermissionTarget) -> Set<Action> {
        requested.filter { isAllowed($0, for: subject, on: target) }
    }

    /// Whether `subject` may do `action` on `target`.
    public func isAllowed(_ action: Action, for subject: SubjectKind, on target: PermissionTarget) -> Bool {
        decide(action, for: subject, on: target).allowed
    }

    /// Whether `subject` may do `action` on `target`, and the row of the table that decides it.
    public func decide(_ action: Action, for subject: SubjectKind, on target: PermissionTarget) -> PermissionDecision {
        let unrestricted = subject == .admin || subject == .service
        switch target {
        case .catalog:
            guard action == .catalog else { return PermissionDecision(false, .notApplicable) }
            if unrestricted { return PermissionDecision(true, .unrestricted) }
            if subject == .anonymous && !policy.anonymousPull { return PermissionDecision(false, .anonymousPullDisabled) }
            return PermissionDecision(true, .catalogForEveryone)
        case .missingNamespace:
            switch action {
            case .pull where unrestricted:
                return PermissionDecision(true, .unrestricted)
            case .pull, .push:
                if mayCreateNamespace(subject) { return PermissionDecision(true, .futureOwner) }
                return PermissionDecision(false, policy.createNamespaceOnPush ? .missingNamespace : .namespacesNotCreatedOnPush)
            case .delete: return PermissionDecision(false, .missingNamespace)
            case .catalog: return PermissionDecision(false, .notApplicable)
            }
        case .unownedNamespace:
            switch action {
            case .pull: return PermissionDecision(unrestricted, unrestricted ? .unrestricted : .unownedContent)
            case .push: return PermissionDecision(subject == .admin, subject == .admin ? .unrestricted : .unownedContent)
            case .delete:
                guard policy.deleteEnabled else { return PermissionDecision(false, .deletesDisabled) }
                return PermissionDecision(subject == .admin, subject == .admin ? .unrestricted : .unownedContent)
            case .catalog: return PermissionDecision(false, .notApplicable)
            }
        case .namespace(let facts):
            switch action {
            case .pull: return pullDecision(subject, facts)
            case .push: return pushDecision(subject, facts)
            case .delete: return deleteDecision(subject, facts)
            case .catalog: return PermissionDecision(false, .notApplicable)
            }
        }
    }

    /// Whether a push by `subject` may create a missing namespace.
    public func mayCreateNamespace(_ subject: SubjectKind) -> Bool {
        guard policy.createNamespaceOnPush else { return false }
        switch subject {
        case .admin: return true
        case .anonymous, .service: return false
        case .user, .bot: return policy.push == .allowTeams
        }
    }

    /// Whether `subject` may change a namespace's settings (visibility, team, description), delete it, and manage
    /// its scoped tokens: admins, and owners (of the owning team, or the user of a personal namespace). Never the
    /// global namespace, which has no row.
    public func mayManage(_ subject: SubjectKind, _ facts: NamespaceFacts) -> Bool {
        if subject == .admin { return true }
        guard subject == .user || subject == .bot, facts.kind != .global else { return false }
        return facts.role == .owner
    }

    /// Whether `subject`, with `role` in a team (nil: not a member), may rename, describe or delete it and change
    /// its members: admins and the team's owners.
    public func mayManageTeam(_ subject: SubjectKind, role: TeamRole?) -> Bool {
        subject == .admin || ((subject == .user || subject == .bot) && role == .owner)
    }

    private func pullDecision(_ subject: SubjectKind, _ facts: NamespaceFacts) -> PermissionDecision {
        switch subject {
        case .service, .admin:
            return PermissionDecision(true, .unrestricted)
        case .anonymous:
            guard facts.visibility == .public else { return PermissionDecision(false, .notVisible) }
            return PermissionDecision(policy.anonymousPull, policy.anonymousPull ? .visible : .anonymousPullDisabled)
        case .user, .bot:
            if facts.kind == .global { return PermissionDecision(true, .globalNamespace) }
            if facts.role != nil { return PermissionDecision(true, .member) }
            return PermissionDecision(facts.visibility != .private, facts.visibility != .private ? .visible : .notVisible)
        }
    }

    private func pushDecision(_ subject: SubjectKind, _ facts: NamespaceFacts) -> PermissionDecision {
        switch subject {
        case .admin: return PermissionDecision(true, .unrestricted)
        case .anonymous, .service: return PermissionDecision(false, .readOnly)
        case .user, .bot:
            guard facts.kind != .global else { return PermissionDecision(false, .globalNamespace) }
            switch policy.push {
            case .allowTeams:
                let allowed = facts.role == .owner || facts.role == .contributor
                return PermissionDecision(allowed, allowed ? .member : .roleTooLow)
            case .allowPersonal:
                let allowed = facts.kind == .personal && facts.role == .owner
                return PermissionDecision(allowed, allowed ? .member : .pushPolicy)
            case .adminOnly:
                return PermissionDecision(false, .pushPolicy)
            }
        }
    }

    private func deleteDecision(_ subject: SubjectKind, _ facts: NamespaceFacts) -> PermissionDecision {
        guard policy.deleteEnabled else { return PermissionDecision(false, .deletesDisabled) }
        switch subject {
        case .admin: return PermissionDecision(true, .unrestricted)
        case .anonymous, .service: return PermissionDecision(false, .readOnly)
        case .user, .bot:
            guard facts.kind != .global else { return PermissionDecision(false, .globalNamespace) }
            let allowed = facts.role == .owner || (facts.role == .contributor && policy.contributorsMayDelete)
            return PermissionDecision(allowed, allowed ? .member : .roleTooLow)
        }
    }
}
