import Foundation
import Logging
import WharfAuth
import WharfCore
import WharfDatabase
import WharfStorage

/// Retention policies and their runs: the one domain service behind `wharf retention`, `/api/v1` and the portal.
///
/// A run reads each repository from storage (the source of truth: it holds untagged manifests the catalogue does
/// not mirror, and a folder written by another replica or registry is judged before the next sync), decides with
/// ``RetentionEvaluator`` and removes through ``ContentDeleter`` (storage, then catalogue, activity and webhook
/// rows, then the event). Push times are the modification times of the tag's `current/link` (rewritten by every
/// push of the tag, also of the same content) and of a manifest's revision link.
public struct RetentionService: Sendable {
    let pool: DatabasePool
    let driver: any StorageDriver
    let manifests: ManifestIndex
    let deleter: ContentDeleter
    let immutability: TagImmutability?
    let logger: Logger

    public init(
        pool: DatabasePool,
        driver: any StorageDriver,
        manifests: ManifestIndex,
        catalog: CatalogMirror,
        events: EventBus,
        immutability: TagImmutability? = nil,
        logger: Logger = Logger(label: "wharf.retention")
    ) {
        self.pool = pool
        self.driver = driver
        self.manifests = manifests
        self.deleter = ContentDeleter(manifests: manifests, catalog: catalog, events: events)
        self.immutability = immutability
        self.logger = logger
    }

    // MARK: Policies

    /// A namespace's own policy and the one that applies to it (its own, else the global default); with
    /// `namespace` nil, the global default for both.
    public func show(namespace: String?) async throws -> (own: StoredRetentionPolicy?, effective: StoredRetentionPolicy?) {
        try await pool.read { transaction in
            guard let namespace else {
                let global = try transaction.retentionPolicies.find(namespaceID: nil)
                return (global, global)
            }
            let id = try Self.namespaceID(namespace, in: transaction)
            return (try transaction.retentionPolicies.find(namespaceID: id), try transaction.retentionPolicies.effective(namespaceID: id))
        }
    }

    /// Every stored policy, the global one first.
    public func list() async throws -> [StoredRetentionPolicy] {
        try await pool.read { try $0.retentionPolicies.list() }
    }

    /// Stores a namespace's policy (or the global one); throws ``RetentionError`` `invalidPolicy` naming the field.
    @discardableResult
    public func set(namespace: String?, _ policy: RetentionPolicy, by actor: String) async throws -> StoredRetentionPolicy {
        let valid = try policy.validated()
        let stored = try await pool.write { transaction in
            let id = try namespace.map { try Self.namespaceID($0, in: transaction) }
            return try transaction.retentionPolicies.set(namespaceID: id, valid, updatedBy: actor)
        }
        await immutability?.invalidate()
        return stored
    }

    /// Removes a namespace's own policy (the global default then applies) or the global one; false when none.
    @discardableResult
    public func clear(namespace: String?) async throws -> Bool {
        let removed = try await pool.write { transaction in
            let id = try namespace.map { try Self.namespaceID($0, in: transaction) }
            return try transaction.retentionPolicies.delete(namespaceID: id)
        }
        await immutability?.invalidate()
        return removed
    }

    /// Throws unless `caller` may `need` the policy of `namespace` (nil: the global one); see ``RetentionAccess``.
    public func authorize(_ need: RetentionAccess.Need, namespace: String?, caller: TokenSubject, rules: PermissionRules) async throws {
        let access = RetentionAccess(rules: rules)
        try await pool.read { try access.check(need, namespace: namespace, caller: caller, in: $0) }
    }

    static func namespaceID(_ name: String, in transaction: Transaction) throws -> Int64 {
        guard let row = try transaction.namespaces.find(name: name) else {
            throw RetentionError(.namespaceUnknown, "no namespace named \(name)")
        }
        return row.id
    }

    // MARK: Runs

    /// Applies every enabled policy (only `namespace`'s with a namespace; `""` is the global namespace of names
    /// without a slash) as of `now`. A dry run decides the same way and removes nothing.
    ///
    /// Safe to run on several replicas at once: a removal that finds its tag or manifest gone counts as
    /// ``RetentionReport/alreadyGone``. A tag moved or a manifest tagged since the repository was read is skipped.
    public func run(namespace: String? = nil, dryRun: Bool, now: Date = Date()) async throws -> RetentionReport {
        try await run(namespace: namespace, dryRun: dryRun, now: now, trying: nil)
    }

    /// What `policy` would remove if it were `namespace`'s (nil: the global default, for the namespaces without
    /// one of their own), before it is saved: the preview of a form. Removes nothing.
    public func preview(_ policy: RetentionPolicy, namespace: String?, now: Date = Date()) async throws -> RetentionReport {
        try await run(namespace: namespace, dryRun: true, now: now, trying: try policy.validated())
    }

    func run(namespace: String?, dryRun: Bool, now: Date, trying: RetentionPolicy?) async throws -> RetentionReport {
        var report = RetentionReport(dryRun: dryRun, now: now)
        let policies = try await pool.read { transaction in
            if let namespace, !namespace.isEmpty { _ = try Self.namespaceID(namespace, in: transaction) }
            return try transaction.retentionPolicies.list()
        }
        var global = policies.first { $0.namespaceID == nil }.map { Applying(policy: $0.policy, owner: nil) }
        var own: [String: Applying] = [:]
        for policy in policies { if let name = policy.namespace { own[name] = Applying(policy: policy.policy, owner: name) } }
        if let trying {
            if let namespace { own[namespace] = Applying(policy: trying, owner: namespace) } else { global = Applying(policy: trying, owner: nil) }
        }
        // Nothing to apply: no need to walk storage (a scheduled run on a registry without policies).
        guard global?.policy.enabled == true || own.values.contains(where: \.policy.enabled) else { return report }

        for repository in try await RepositoryWalker(driver: driver).repositories() {
            let space = repository.namespace ?? ""
            if let namespace, namespace != space { continue }
            // Trying the global default previews the namespaces it applies to, not those with their own.
            if trying != nil, namespace == nil, own[space] != nil { continue }
            guard let applying = own[space] ?? global, applying.policy.enabled else { continue }
            report.repositories += 1
            let (tags, revisions) = try await snapshot(repository)
            let removals = try RetentionEvaluator.removals(
                repository: repository.value,
                tags: tags,
                manifests: revisions,
                policy: applying.policy,
                now: now
            )
            if dryRun {
                report.removals += removals
            } else {
                try await apply(removals, in: repository, actor: applying.actor, read: tags, report: &report)
            }
        }
        return report
    }

    /// The policy a repository falls under, and whose it is.
    struct Applying {
        var policy: RetentionPolicy
        /// The namespace whose own policy it is; nil for the global default.
        var owner: String?

        /// Who activities and events say removed something: `retention:NAMESPACE` or `retention:global`.
        var actor: RegistryEvent.Actor { RegistryEvent.Actor(name: "retention:\(owner ?? "global")") }
    }

    /// The repository's tags (with the time their link was last written) and manifests (with subject and children).
    func snapshot(_ repository: RepositoryName) async throws -> ([RetentionTag], [RetentionManifest]) {
        var tags: [RetentionTag] = []
        for name in try await manifests.tags(in: repository) ?? [] {
            guard let tag = try? Tag(name), let digest = try await manifests.resolve(.tag(tag), in: repository),
                let info = try await driver.stat(RegistryPaths.tagCurrentLink(repository, tag))
            else { continue }
            tags.append(RetentionTag(name: name, digest: digest.description, pushedAt: Date(timeIntervalSince1970: info.modified)))
        }
        var revisions: [RetentionManifest] = []
        for digest in try await manifests.revisions(in: repository) {
            guard let info = try await driver.stat(RegistryPaths.revisionLink(repository, digest)) else { continue }
            let stored = try await manifests.get(.digest(digest), in: repository)
            let parsed = stored.flatMap { try? Manifest(parsing: $0.bytes, contentType: nil) }
            revisions.append(
                RetentionManifest(
                    digest: digest.description,
                    storedAt: Date(timeIntervalSince1970: info.modified),
                    subject: parsed?.subject?.description,
                    children: parsed?.manifestReferences.map(\.description) ?? []
                )
            )
        }
        return (tags, revisions)
    }

    /// Removes in the evaluator's order, each through ``ContentDeleter`` with the policy as the actor.
    func apply(
        _ removals: [RetentionRemoval],
        in repository: RepositoryName,
        actor: RegistryEvent.Actor,
        read: [RetentionTag],
        report: inout RetentionReport
    ) async throws {
        let removedTags = Set(removals.compactMap(\.tag))
        let before = report.removals.count
        for removal in removals {
            let request = RegistryEvent.Request(id: UUIDText.make(), method: "DELETE", userAgent: "wharf-retention")
            do {
                switch removal.kind {
                case .tag:
                    guard let name = removal.tag, let tag = try? Tag(name) else { continue }
                    // Pushed again since it was read: the new push is not what the policy judged.
                    let current = try await manifests.resolve(.tag(tag), in: repository)
                    guard let current else {
                        report.alreadyGone += 1
                        continue
                    }
                    guard current.description == removal.digest,
                        let info = try await driver.stat(RegistryPaths.tagCurrentLink(repository, tag)),
                        read.contains(where: { $0.name == name && $0.pushedAt == Date(timeIntervalSince1970: info.modified) })
                    else {
                        report.skipped.append(removal)
                        continue
                    }
                    try await deleter.delete(.tag(tag), in: repository, request: request, actor: actor)
                case .manifest:
                    guard let digest = try? OCIDigest(parsing: removal.digest) else { continue }
                    // Tagged since it was read (a tag the plan does not remove points at it): keep it.
                    var retagged = false
                    for name in try await manifests.tags(in: repository) ?? [] where !removedTags.contains(name) {
                        if let tag = try? Tag(name), try await manifests.resolve(.tag(tag), in: repository) == digest {
                            retagged = true
                            break
                        }
                    }
                    if retagged {
                        report.skipped.append(removal)
                        continue
                    }
                    try await deleter.delete(.digest(digest), in: repository, request: request, actor: actor)
                }
                report.removals.append(removal)
            } catch let error as ContentError where error.code == .manifestUnknown {
                report.alreadyGone += 1
            }
        }
        if !removals.isEmpty {
            logger.info("retention removed \(report.removals.count - before) from \(repository.value)", metadata: ["actor": "\(actor.name)"])
        }
    }
}
