import Foundation
import WharfCore
import WharfDatabase

/// Scoped tokens for machines (Harbor's robot accounts, what a Kubernetes pull secret holds): a secret that logs
/// in as `robot$NAMESPACE+NAME` and may pull, or pull and push, the repositories of one namespace that match a
/// pattern, until it expires; the token server and the registry grant it nothing else (``AccessRestriction``).
///
/// Admins and the owners of the namespace's team (for a personal namespace, its user) create, list and revoke
/// them; anyone else gets ``AccountError/Code/denied``, or ``AccountError/Code/unknownNamespace`` when they may not
/// even see the namespace (its existence is not told). The command line acts as an admin
/// (``TokenSubject/commandLine``). Each change is one transaction with its activity (`token.scoped.create`,
/// `token.scoped.revoke`); the secret is returned once and only its keyed hash is stored, as for application
/// tokens. A revoked or expired token stops working within a second (``Authenticator/activeSubject(name:credential:)``).
public struct ScopedTokenService: Sendable {
    /// The furthest ahead a scoped token may expire: a year. A machine's credential is renewed, never forgotten.
    public static let maximumLifetime: TimeInterval = 365 * 24 * 3600

    let pool: DatabasePool
    let hasher: ApplicationTokenHasher
    /// Decides who may manage a namespace and who may see it (``PermissionRules/mayManage(_:_:)``).
    let rules: PermissionRules

    public init(pool: DatabasePool, tokens: ApplicationTokenHasher, rules: PermissionRules = PermissionRules()) {
        self.pool = pool
        self.hasher = tokens
        self.rules = rules
    }

    /// Creates a token called `name` (unique in the namespace, namespace grammar) in `namespace`, for
    /// `repositories` (a ``RepositoryPattern``) and `actions` (`[.pull]` or `[.pull, .push]`), expiring at
    /// `expiresAt` (in the future, at most ``maximumLifetime`` ahead). Returns the stored token and the secret,
    /// which is shown this once; the login name is `token.username`.
    ///
    /// - Parameters:
    ///   - caller: who asks (an admin, or an owner of the namespace's team); recorded as the creator.
    ///   - address: the client's address, recorded in the activity (`addr`); nil on the command line.
    /// - Throws: ``AccountError`` with `nameInvalid`, `patternInvalid`, `actionsInvalid`, `expiryInvalid`,
    ///   `unknownNamespace`, `denied` or `tokenExists`.
    public func create(
        namespace: String,
        name: String,
        repositories: String,
        actions: Set<Action>,
        expiresAt: Date,
        by caller: TokenSubject,
        address: String? = nil
    ) async throws -> (token: ScopedToken, secret: String) {
        try AccountService.validateName(name, what: "token")
        let pattern = try RepositoryPattern(repositories)
        let actions = try Self.validate(actions)
        try Self.validate(expiresAt: expiresAt)
        let secret = ApplicationTokenHasher.generate()
        let hash = hasher.hash(secret)
        let rules = self.rules
        let token = try await pool.write { transaction in
            let owner = try Self.managedNamespace(namespace, by: caller, rules: rules, in: transaction)
            if try transaction.scopedTokens.list(namespaceID: owner.id).contains(where: { $0.name == name }) {
                throw AccountError(.tokenExists, "namespace \(namespace) already has a token named \(name)")
            }
            let token: ScopedToken
            do {
                token = try transaction.scopedTokens.create(
                    NewScopedToken(
                        namespaceID: owner.id,
                        name: name,
                        repositories: pattern.value,
                        actions: Self.text(actions),
                        tokenHash: hash,
                        expiresAt: expiresAt,
                        createdBy: caller.userID,
                        createdByName: caller.name
                    )
                )
            } catch let error as DatabaseError where error.code == .conflict {
                // The same name created by a request racing this one.
                throw AccountError(.tokenExists, "namespace \(namespace) already has a token named \(name)")
            }
            try transaction.activities.record(
                .tokenScopedCreate,
                by: Self.actor(caller, address),
                on: .scopedToken(token),
                details: ["repositories": token.repositories, "actions": token.actions, "expires": token.expiresAt.formatted(.iso8601)]
            )
            return token
        }
        return (token, secret)
    }

    /// The namespace's tokens by name, expired ones included (they stay until revoked), without their secrets.
    ///
    /// - Throws: ``AccountError`` with `unknownNamespace` or `denied`.
    public func list(namespace: String, by caller: TokenSubject) async throws -> [ScopedToken] {
        let rules = self.rules
        return try await pool.read { transaction in
            let owner = try Self.managedNamespace(namespace, by: caller, rules: rules, in: transaction)
            return try transaction.scopedTokens.list(namespaceID: owner.id)
        }
    }

    /// One token of the namespace by its id.
    ///
    /// - Throws: ``AccountError`` with `unknownNamespace`, `denied` or `unknownToken` (also for a token of
    ///   another namespace).
    public func token(namespace: String, id: Int64, by caller: TokenSubject) async throws -> ScopedToken {
        let rules = self.rules
        return try await pool.read { transaction in
            let owner = try Self.managedNamespace(namespace, by: caller, rules: rules, in: transaction)
            guard let token = try transaction.scopedTokens.find(id: id), token.namespaceID == owner.id else {
                throw AccountError(.unknownToken, "namespace \(namespace) has no scoped token \(id)")
            }
            return token
        }
    }

    /// Revokes (deletes) the namespace's token `id`; logins with it, and registry tokens issued from it, stop
    /// working within a second. Returns the token as it was.
    ///
    /// - Throws: ``AccountError`` with `unknownNamespace`, `denied` or `unknownToken` (also for a token of
    ///   another namespace).
    @discardableResult
    public func revoke(namespace: String, id: Int64, by caller: TokenSubject, address: String? = nil) async throws -> ScopedToken {
        let rules = self.rules
        return try await pool.write { transaction in
            let owner = try Self.managedNamespace(namespace, by: caller, rules: rules, in: transaction)
            guard let token = try transaction.scopedTokens.find(id: id), token.namespaceID == owner.id,
                try transaction.scopedTokens.delete(id: id, namespaceID: owner.id)
            else {
                throw AccountError(.unknownToken, "namespace \(namespace) has no scoped token \(id)")
            }
            try transaction.activities.record(
                .tokenScopedRevoke,
                by: Self.actor(caller, address),
                on: .scopedToken(token),
                details: ["repositories": token.repositories, "actions": token.actions]
            )
            return token
        }
    }

    /// Parses `pull` or `pull,push` (in any order, as the CLI and the API take them).
    ///
    /// - Throws: ``AccountError/Code/actionsInvalid``.
    public static func actions(parsing text: String) throws(AccountError) -> Set<Action> {
        var actions = Set<Action>()
        for word in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let action = Action(rawValue: word.trimmingCharacters(in: .whitespaces)) else {
                throw AccountError(.actionsInvalid, "invalid actions \(text.debugDescription): pull or pull,push")
            }
            actions.insert(action)
        }
        return try validate(actions)
    }

    /// `pull` or `pull,push`, as stored and shown.
    public static func text(_ actions: Set<Action>) -> String {
        actions.sorted().map(\.rawValue).joined(separator: ",")
    }

    static func validate(_ actions: Set<Action>) throws(AccountError) -> Set<Action> {
        guard actions == [.pull] || actions == [.pull, .push] else {
            throw AccountError(
                .actionsInvalid,
                "a scoped token pulls, or pulls and pushes: pull or pull,push, not \(text(actions).isEmpty ? "nothing" : text(actions))"
            )
        }
        return actions
    }

    static func validate(expiresAt: Date, now: Date = Date()) throws(AccountError) {
        guard expiresAt > now else {
            throw AccountError(.expiryInvalid, "the expiry \(expiresAt.formatted(.iso8601)) is in the past")
        }
        guard expiresAt.timeIntervalSince(now) <= maximumLifetime else {
            throw AccountError(
                .expiryInvalid,
                "the expiry \(expiresAt.formatted(.iso8601)) is more than a year ahead; a scoped token lives at most 365 days"
            )
        }
    }

    /// The namespace called `name` when `caller` may manage its tokens; otherwise `unknownNamespace` for whoever
    /// may not see it (its existence is not told) and `denied` for the rest. A scoped token never manages tokens.
    static func managedNamespace(_ name: String, by caller: TokenSubject, rules: PermissionRules, in transaction: Transaction) throws -> Namespace {
        let unknown = AccountError(.unknownNamespace, "unknown namespace \(name)")
        guard caller.restriction == nil else { throw AccountError(.denied, "a scoped token cannot manage tokens") }
        guard let access = try transaction.namespaces.access(name: name, userID: caller.userID) else { throw unknown }
        let facts = Authorizer.facts(of: access, subject: caller)
        if rules.mayManage(caller.kind, facts) { return access.namespace }
        guard rules.isAllowed(.pull, for: caller.kind, on: .namespace(facts)) else { throw unknown }
        throw AccountError(
            .denied,
            "\(caller.name.isEmpty ? "an anonymous caller" : caller.name) may not manage the scoped tokens of namespace \(name): "
                + "only an admin or an owner of its team may"
        )
    }

    static func actor(_ caller: TokenSubject, _ address: String?) -> ActivityActor {
        ActivityActor(id: caller.userID, name: caller.name, address: address)
    }
}
