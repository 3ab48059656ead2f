import Foundation
import Logging
import WharfCore
import WharfDatabase

/// What a caller may do, and why not: the permission table (``PermissionRules``) over the namespace facts from
/// the database and, for a namespace without a row, from storage. The token endpoint, the `/v2` door, and later
/// the API and the portal ask it; the reasons a refusal gives live here (and in ``AccessDenial``) only.
///
/// A repository name without a slash is in the global namespace (not a database row: logged-in users pull, admins
/// push). A namespace without a database row is ``PermissionTarget/unownedNamespace`` when storage holds
/// repositories under it (its owner was deleted, or the content predates Wharf), else
/// ``PermissionTarget/missingNamespace``. Creating a namespace on a first push is decided here too.
///
/// A subject with an ``AccessRestriction`` (a scoped token) gets what the rules allow it intersected with its
/// restriction, everywhere: the restriction only narrows, and never creates a namespace.
public struct Authorizer: Sendable {
    let pool: DatabasePool
    public let rules: PermissionRules
    /// Storage, asked whether a namespace without a row holds content (which makes it unowned, not missing); nil
    /// only where no storage exists (then such a namespace counts as missing).
    let content: (any NamespaceStorage)?
    let logger: Logger
    /// Namespaces a subject was cleared to push into, by `subject|namespace`, shared by copies.
    private let namespaces = ExpiringCache<String, Bool>(lifetime: .seconds(5))

    public init(pool: DatabasePool, rules: PermissionRules, content: (any NamespaceStorage)?, logger: Logger = Logger(label: "wharf.auth")) {
        self.pool = pool
        self.rules = rules
        self.content = content
        self.logger = logger
    }

    /// What `subject` may do of `scope`, and the reason for what it may not, in one reading of the database.
    public func decide(_ scope: AccessScope, for subject: TokenSubject) async throws -> AccessDecision {
        switch scope.resource {
        case .catalog:
            let granted = allowed(scope.actions, for: subject, on: scope.resource, target: .catalog)
            if granted.isSuperset(of: scope.actions) { return AccessDecision(granted: granted, reason: nil) }
            return AccessDecision(
                granted: granted,
                reason: "the catalogue is not available to \(subject.name.isEmpty ? "anonymous callers" : subject.name)"
            )
        case .repository(let name):
            let target = try await target(for: name, subject: subject)
            let granted = allowed(scope.actions, for: subject, on: scope.resource, target: target)
            if granted.isSuperset(of: scope.actions) { return AccessDecision(granted: granted, reason: nil) }
            return AccessDecision(
                granted: granted,
                reason: AccessDenial.reason(subject: subject, actions: scope.actions, name: name, target: target, rules: rules)
            )
        }
    }

    /// The requested scopes narrowed to what `subject` may do; scopes left without actions are dropped.
    public func grant(_ requested: [AccessScope], to subject: TokenSubject) async throws -> [AccessScope] {
        // A restricted subject's scopes outside its restriction are dropped before anything is looked up.
        let requested =
            subject.restriction.map { restriction in
                requested.compactMap { scope -> AccessScope? in
                    let actions = restriction.allowed(scope.actions, on: scope.resource)
                    return actions.isEmpty ? nil : AccessScope(scope.resource, actions: actions)
                }
            } ?? requested
        // nil: the namespace has no row; storage then tells unowned content from a namespace yet to be made.
        let known = try await pool.read { transaction in
            try requested.map { scope -> PermissionTarget? in
                switch scope.resource {
                case .catalog: .catalog
                case .repository(let name): try Self.facts(for: name, subject: subject, in: transaction).map { .namespace($0) }
                }
            }
        }
        var granted: [AccessScope] = []
        for (scope, target) in zip(requested, known) {
            let resolved: PermissionTarget
            if let target {
                resolved = target
            } else if case .repository(let name) = scope.resource {
                resolved = await missingTarget(for: name)
            } else {
                resolved = .catalog
            }
            let actions = allowed(scope.actions, for: subject, on: scope.resource, target: resolved)
            if !actions.isEmpty { granted.append(AccessScope(scope.resource, actions: actions)) }
        }
        return granted
    }

    /// What the rules allow `subject` of `actions` on `resource` (whose target is `target`), narrowed by the
    /// subject's restriction when it has one.
    func allowed(_ actions: Set<Action>, for subject: TokenSubject, on resource: AccessScope.Resource, target: PermissionTarget) -> Set<Action> {
        let allowed = rules.allowed(actions, for: subject.kind, on: target)
        guard let restriction = subject.restriction else { return allowed }
        return allowed.intersection(restriction.allowed(actions, on: resource))
    }

    /// The rules' target for `name` as `subject` sees it now.
    public func target(for name: RepositoryName, subject: TokenSubject) async throws -> PermissionTarget {
        let facts = try await pool.read { transaction in try Self.facts(for: name, subject: subject, in: transaction) }
        if let facts { return .namespace(facts) }
        return await missingTarget(for: name)
    }

    /// The target of a repository whose namespace has no row: unowned when storage holds anything under the
    /// namespace (one listing of its folder), missing otherwise. A folder that cannot be read counts as content:
    /// the rules then fail closed (admins only).
    public func missingTarget(for name: RepositoryName) async -> PermissionTarget {
        guard let namespace = name.namespace, let content else { return .missingNamespace }
        do {
            return try await content.holdsContent(namespace) ? .unownedNamespace : .missingNamespace
        } catch {
            logger.warning(
                "could not list a namespace's folder; treating it as unowned",
                metadata: ["namespace": "\(namespace)", "error": "\(error)"]
            )
            return .unownedNamespace
        }
    }

    /// Which of `names` `subject` may pull, deciding each namespace once (the filtered `_catalog`).
    public func pullable(_ names: [RepositoryName], by subject: TokenSubject) async throws -> [RepositoryName] {
        if subject.restriction == nil && (subject.kind == .admin || subject.kind == .service) { return names }
        let rules = self.rules
        let names = names.filter { subject.restriction?.allowed([.pull], on: .repository($0)).isEmpty != true }
        return try await pool.read { transaction in
            var decided: [String: Bool] = [:]
            return try names.filter { name in
                let namespace = name.namespace ?? ""
                if let known = decided[namespace] { return known }
                // A listed repository is in storage, so a namespace without a row holds content without an owner.
                let target: PermissionTarget =
                    try Self.facts(for: name, subject: subject, in: transaction).map { .namespace($0) } ?? .unownedNamespace
                let allowed = rules.isAllowed(.pull, for: subject.kind, on: target)
                decided[namespace] = allowed
                return allowed
            }
        }
    }

    /// Makes sure the namespace of `name` exists before `subject` writes into it: a missing one is created,
    /// owned by a new team of the same name with `subject` as owner, when the rules allow it; otherwise the
    /// push is denied with a reason that names the namespace. A namespace that exists (made by someone else since
    /// the token was issued, or by a push racing this one) takes the push only under its own rules; a restricted
    /// subject (a scoped token) pushes only where its restriction allows, and never creates a namespace. Content in
    /// storage without a namespace row stays unowned: an admin writes into it without creating the namespace,
    /// anyone else is denied until an admin adopts it. A subject's clearance for a namespace is remembered for
    /// 5 seconds.
    public func ensureNamespace(for name: RepositoryName, subject: TokenSubject) async throws {
        let rules = self.rules
        if let restriction = subject.restriction, restriction.allowed([.push], on: .repository(name)).isEmpty {
            throw AuthError(.denied, AccessDenial.reason(subject: subject, actions: [.push], name: name, target: .missingNamespace, rules: rules))
        }
        guard let namespace = name.namespace else { return }
        let key = subject.name + "|" + namespace
        if namespaces.value(for: key) == true { return }
        if try await pool.read({ transaction in try Self.mayPushIfExists(name, subject: subject, rules: rules, in: transaction) }) {
            namespaces.set(true, for: key)
            return
        }
        if subject.restriction != nil {
            throw AuthError(.denied, AccessDenial.reason(subject: subject, actions: [.push], name: name, target: .missingNamespace, rules: rules))
        }
        if await missingTarget(for: name) == .unownedNamespace {
            guard subject.kind == .admin else {
                throw AuthError(.denied, AccessDenial.reason(subject: subject, actions: [.push], name: name, target: .unownedNamespace, rules: rules))
            }
            namespaces.set(true, for: key)
            return
        }
        guard rules.mayCreateNamespace(subject.kind) else {
            throw AuthError(.denied, AccessDenial.reason(subject: subject, actions: [.push], name: name, target: .missingNamespace, rules: rules))
        }
        do {
            let created = try await pool.write { transaction -> Bool in
                if try Self.mayPushIfExists(name, subject: subject, rules: rules, in: transaction) { return false }
                if try transaction.teams.find(name: namespace) != nil {
                    throw AuthError(.denied, "namespace \(namespace) does not exist and a team of that name does; ask its owner to create it")
                }
                let team = try transaction.teams.create(name: namespace, description: "Created by \(subject.name)'s first push")
                if let userID = subject.userID { try transaction.teams.setMember(teamID: team.id, userID: userID, role: .owner) }
                let actor = ActivityActor(id: subject.userID, name: subject.name)
                try transaction.activities.record(.teamCreate, by: actor, on: .team(team), details: ["owner": subject.name, "reason": "push"])
                let created = try transaction.namespaces.create(name: namespace, kind: .team, visibility: .private, teamID: team.id)
                try transaction.activities.record(
                    NewActivity(
                        actorID: subject.userID,
                        actorName: subject.name,
                        action: "namespace.create",
                        targetKind: "namespace",
                        targetID: created.id,
                        targetName: namespace,
                        namespaceID: created.id,
                        details: #"{"reason":"push"}"#
                    )
                )
                return true
            }
            if created { logger.info("namespace created by a push", metadata: ["namespace": "\(namespace)", "user": "\(subject.name)"]) }
        } catch let error as DatabaseError where error.code == .conflict {
            // A push racing this one created it first (MariaDB does not serialise the two transactions as
            // SQLite does): go ahead under the namespace's rules, as for any existing namespace.
            guard try await pool.read({ transaction in try Self.mayPushIfExists(name, subject: subject, rules: rules, in: transaction) }) else {
                throw error
            }
        }
        namespaces.set(true, for: key)
    }

    /// True when the namespace of `name` exists and `subject` may push into it, false when it does not exist;
    /// throws `DENIED` when it exists and the rules refuse the push.
    static func mayPushIfExists(_ name: RepositoryName, subject: TokenSubject, rules: PermissionRules, in transaction: Transaction) throws -> Bool {
        guard let facts = try facts(for: name, subject: subject, in: transaction) else { return false }
        guard rules.isAllowed(.push, for: subject.kind, on: .namespace(facts)) else {
            throw AuthError(.denied, AccessDenial.reason(subject: subject, actions: [.push], name: name, target: .namespace(facts), rules: rules))
        }
        return true
    }

    /// The namespace facts for `name` from `subject`'s point of view; nil when its namespace does not exist.
    static func facts(for name: RepositoryName, subject: TokenSubject, in transaction: Transaction) throws -> NamespaceFacts? {
        guard let namespaceName = name.namespace else {
            return NamespaceFacts(kind: .global, visibility: .protected, role: .none)
        }
        guard let access = try transaction.namespaces.access(name: namespaceName, userID: subject.userID) else { return nil }
        return facts(of: access.namespace, teamRole: access.role, subject: subject)
    }

    /// The facts of a namespace read with `subject`'s team role (``NamespaceStore/access(name:userID:)``).
    static func facts(of access: NamespaceAccess, subject: TokenSubject) -> NamespaceFacts {
        facts(of: access.namespace, teamRole: access.role, subject: subject)
    }

    /// The facts of `namespace` for `subject`, whose role in its owning team is `teamRole` (nil: not a member).
    public static func facts(of namespace: Namespace, teamRole: TeamRole?, subject: TokenSubject) -> NamespaceFacts {
        let role: TeamRole?
        if let restriction = subject.restriction {
            // A scoped token's role is its own, in its own namespace only.
            role = restriction.namespaceID == namespace.id ? restriction.role(in: namespace.kind) : nil
        } else if namespace.kind == .personal && namespace.ownerID != nil && namespace.ownerID == subject.userID {
            // A user owns their personal namespace; otherwise the role is their team's (nil: not a member).
            role = .owner
        } else {
            role = teamRole
        }
        return NamespaceFacts(kind: namespace.kind, visibility: namespace.visibility, role: role)
    }
}
