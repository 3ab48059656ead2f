import Foundation
import WharfCore
import WharfDatabase
import WharfStorage

/// Refuses what an immutable tag forbids: moving it to other content, deleting it, deleting the manifest it points
/// at. Asked on every manifest push by tag, so the policy of each namespace is cached for ``ttl`` (other replicas'
/// changes show within it; this process's own changes invalidate the cache at once).
public actor TagImmutability {
    /// Short enough that a policy changed on another replica applies within seconds; long enough that a push of a
    /// multi-platform image (a dozen manifest PUTs) reads the policy once.
    public static let ttl: Duration = .seconds(5)

    let pool: DatabasePool
    let manifests: ManifestIndex
    let ttl: Duration
    private var cached: [String: (policy: StoredRetentionPolicy?, read: ContinuousClock.Instant)] = [:]

    public init(pool: DatabasePool, manifests: ManifestIndex, ttl: Duration = TagImmutability.ttl) {
        self.pool = pool
        self.manifests = manifests
        self.ttl = ttl
    }

    /// Forgets every cached policy (a policy changed: the global one applies to many namespaces).
    public func invalidate() {
        cached.removeAll()
    }

    /// The policy that applies to the repository's namespace, from the cache when fresh.
    public func policy(for repository: RepositoryName) async throws -> StoredRetentionPolicy? {
        let key = repository.namespace ?? ""
        if let entry = cached[key], entry.read.duration(to: .now) < ttl { return entry.policy }
        let namespace = repository.namespace
        let policy = try await pool.read { transaction -> StoredRetentionPolicy? in
            guard let namespace else { return try transaction.retentionPolicies.find(namespaceID: nil) }
            guard let row = try transaction.namespaces.find(name: namespace) else { return try transaction.retentionPolicies.find(namespaceID: nil) }
            return try transaction.retentionPolicies.effective(namespaceID: row.id)
        }
        cached[key] = (policy, .now)
        return policy
    }

    /// Throws ``RetentionError`` `immutableTag` when pushing `digest` as `tag` would move an immutable tag to other
    /// content. Pushing the same content again is allowed (a retried push, a CI job run twice).
    public nonisolated func checkPush(tag: Tag, digest: OCIDigest, in repository: RepositoryName) async throws {
        guard let stored = try await policy(for: repository), stored.policy.isImmutable(tag.value) else { return }
        guard let current = try await manifests.resolve(.tag(tag), in: repository), current != digest else { return }
        throw Self.refusal(
            "tag \(tag.value) of \(repository.value) is immutable (\(stored.label) retention policy, pattern /\(stored.policy.immutable ?? "")/): "
                + "it points at \(current) and cannot be moved to \(digest); change the policy first",
            stored
        )
    }

    /// Throws ``RetentionError`` `immutableTag` when deleting `reference` would remove an immutable tag: the tag
    /// itself, or a manifest that one points at.
    public nonisolated func checkDelete(_ reference: Reference, in repository: RepositoryName) async throws {
        guard let stored = try await policy(for: repository), stored.policy.immutable != nil else { return }
        switch reference {
        case .tag(let tag):
            guard stored.policy.isImmutable(tag.value) else { return }
            throw Self.refusal(
                "tag \(tag.value) of \(repository.value) is immutable (\(stored.label) retention policy): it cannot be deleted; change the policy first",
                stored
            )
        case .digest(let digest):
            for name in try await manifests.tags(in: repository) ?? [] where stored.policy.isImmutable(name) {
                guard let tag = try? Tag(name), try await manifests.resolve(.tag(tag), in: repository) == digest else {
                    continue
                }
                throw Self.refusal(
                    "manifest \(digest) of \(repository.value) is tagged \(name), an immutable tag (\(stored.label) retention policy): "
                        + "it cannot be deleted; change the policy first",
                    stored
                )
            }
        }
    }

    /// Throws when the repository holds any immutable tag (a whole repository is being deleted).
    public nonisolated func checkDeleteRepository(_ repository: RepositoryName) async throws {
        guard let stored = try await policy(for: repository), stored.policy.immutable != nil else { return }
        for name in try await manifests.tags(in: repository) ?? [] where stored.policy.isImmutable(name) {
            throw Self.refusal(
                "\(repository.value) holds the immutable tag \(name) (\(stored.label) retention policy): it cannot be deleted; change the policy first",
                stored
            )
        }
    }

    /// Throws when any repository of `namespace` holds an immutable tag (the namespace is being deleted with its
    /// repositories). Reads storage only when the namespace's policy has an immutable pattern.
    public nonisolated func checkDeleteNamespace(_ namespace: String) async throws {
        let probe = try RepositoryName("\(namespace)/probe")
        guard let stored = try await policy(for: probe), stored.policy.immutable != nil else { return }
        for repository in try await RepositoryWalker(driver: manifests.driver).repositories(in: RepositoryName(namespace)) {
            try await checkDeleteRepository(repository)
        }
    }

    static func refusal(_ message: String, _ stored: StoredRetentionPolicy) -> RetentionError {
        RetentionError(.immutableTag, message, field: "immutable")
    }
}
