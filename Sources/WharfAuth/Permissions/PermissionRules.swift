/// Who is asking, as far as the permission rules care.
///
/// An application token acts as the user it belongs to; a disabled or deleted account never reaches the rules
/// (authentication refuses it first).
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

/// The caller's role in the team that owns a namespace (`none` when not a member). A user is the owner of their
/// personal namespace.
public enum TeamRole: String, Sendable, Hashable, CaseIterable {
    case none
    case viewer
    case contributor
    case owner
}

/// Which kind of namespace a repository lives in.
public enum NamespaceKind: String, Sendable, Hashable, CaseIterable {
    /// A user's own namespace (named after the user).
    case personal
    /// Repository names without a slash: admins push, every logged-in user pulls.
    case global
    /// A namespace owned by a team.
    case team
}

/// Who may pull from a namespace besides its members.
public enum Visibility: String, Sendable, Hashable, CaseIterable {
    /// Members only.
    case `private`
    /// Any logged-in user.
    case protected
    /// Anyone, anonymous callers too when anonymous pull is enabled.
    case `public`
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
    /// The caller's role in the owning team.
    public var role: TeamRole

    public init(kind: NamespaceKind, visibility: Visibility, role: TeamRole) {
        self.kind = kind
        self.visibility = visibility
        self.role = role
    }

    public var description: String { "\(kind)/\(visibility)/\(role)" }
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
        switch target {
        case .catalog:
            return action == .catalog && (subject != .anonymous || policy.anonymousPull)
        case .missingNamespace:
            switch action {
            case .pull: return subject == .admin || subject == .service || mayCreateNamespace(subject)
            case .push: return mayCreateNamespace(subject)
            case .delete, .catalog: return false
            }
        case .unownedNamespace:
            switch action {
            case .pull: return subject == .admin || subject == .service
            case .push: return subject == .admin
            case .delete: return subject == .admin && policy.deleteEnabled
            case .catalog: return false
            }
        case .namespace(let facts):
            switch action {
            case .pull: return mayPull(subject, facts)
            case .push: return mayPush(subject, facts)
            case .delete: return mayDelete(subject, facts)
            case .catalog: return false
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

    private func mayPull(_ subject: SubjectKind, _ facts: NamespaceFacts) -> Bool {
        switch subject {
        case .service, .admin: true
        case .anonymous: facts.visibility == .public && policy.anonymousPull
        case .user, .bot: facts.role != .none || facts.visibility != .private || facts.kind == .global
        }
    }

    private func mayPush(_ subject: SubjectKind, _ facts: NamespaceFacts) -> Bool {
        switch subject {
        case .admin: return true
        case .anonymous, .service: return false
        case .user, .bot:
            guard facts.kind != .global else { return false }
            switch policy.push {
            case .allowTeams: return facts.role == .owner || facts.role == .contributor
            case .allowPersonal: return facts.kind == .personal && facts.role == .owner
            case .adminOnly: return false
            }
        }
    }

    private func mayDelete(_ subject: SubjectKind, _ facts: NamespaceFacts) -> Bool {
        guard policy.deleteEnabled else { return false }
        switch subject {
        case .admin: return true
        case .anonymous, .service: return false
        case .user, .bot:
            guard facts.kind != .global else { return false }
            return facts.role == .owner || (facts.role == .contributor && policy.contributorsMayDelete)
        }
    }
}
