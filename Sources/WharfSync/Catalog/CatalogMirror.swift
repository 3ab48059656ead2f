import Foundation
import Logging
import WharfCore
import WharfDatabase
import WharfStorage

/// Writes the catalogue mirror as the registry changes: a push or a delete records its rows (and its activity) in
/// the request that made it, after storage has the change, when the database answers within
/// ``writeTimeout``. When it does not, the request goes on (storage is the source of truth) and the mirror is
/// marked stale until the SyncScheduler's next pass repairs it.
public struct CatalogMirror: Sendable {
    public let pool: DatabasePool
    public let driver: any StorageDriver
    public let state: CatalogState
    let logger: Logger
    /// How long a request waits for its catalogue row before leaving it to the next sync pass.
    let writeTimeout: Duration

    public init(
        pool: DatabasePool,
        driver: any StorageDriver,
        state: CatalogState = CatalogState(),
        writeTimeout: Duration = .seconds(2),
        logger: Logger = Logger(label: "wharf.catalog")
    ) {
        self.pool = pool
        self.driver = driver
        self.state = state
        self.writeTimeout = writeTimeout
        self.logger = logger
    }

    // MARK: Recording the registry's changes

    /// A manifest was stored: its tag row (or its referrer row, for a signature or an attestation), the
    /// repository's summary and a `repository.push` activity.
    public func recordPush(_ event: RegistryEvent, manifest bytes: [UInt8]) async {
        guard let digestText = event.target.digest, let digest = try? OCIDigest(parsing: digestText) else { return }
        await write(event) {
            let inspector = ImageInspector(driver: driver)
            guard let facts = try await inspector.facts(of: digest, bytes: bytes) else { return nil }
            var modified: Int64 = 0
            if let tag = event.target.tag, let name = try? RepositoryName(event.target.repository), let parsed = try? Tag(tag) {
                modified = Self.nanoseconds(try await driver.stat(RegistryPaths.tagCurrentLink(name, parsed))?.modified)
            }
            let linkModified = modified
            return { transaction in
                let repository = try transaction.repositories.findOrCreate(name: event.target.repository)
                Self.recordReferrers(of: facts, digest: digestText, tag: event.target.tag, repositoryID: repository.id, in: transaction)
                if let tag = event.target.tag {
                    if let subject = ImageInspector.cosignSubject(ofTag: tag) {
                        try transaction.referrers.delete(repositoryID: repository.id, tag: tag)
                        try transaction.referrers.add(
                            repositoryID: repository.id,
                            ReferrerRecord(
                                subject: subject,
                                digest: digestText,
                                mediaType: facts.mediaType,
                                artifactType: ImageInspector.cosignArtifactType(ofTag: tag),
                                size: facts.size,
                                tag: tag
                            )
                        )
                    } else {
                        try transaction.tags.write(
                            repositoryID: repository.id,
                            facts.tagRecord(
                                name: tag,
                                digest: digestText,
                                pusher: (event.actor.userID, event.actor.name.isEmpty ? nil : event.actor.name),
                                pushedAt: event.timestamp,
                                linkModified: linkModified
                            )
                        )
                    }
                    try transaction.repositories.summarize(id: repository.id)
                }
                try Self.recordActivity(event, action: .repositoryPush, repositoryID: repository.id, in: transaction)
            }
        }
    }

    /// A manifest or a tag was deleted: their rows go, and a `repository.delete` or `tag.delete` activity is kept.
    public func recordDelete(_ event: RegistryEvent) async {
        await write(event) {
            { transaction in
                guard let repository = try transaction.repositories.find(name: event.target.repository) else {
                    try Self.recordActivity(
                        event,
                        action: event.target.tag == nil ? .repositoryDelete : .tagDelete,
                        repositoryID: nil,
                        in: transaction
                    )
                    return
                }
                if let tag = event.target.tag {
                    try transaction.tags.delete(repositoryID: repository.id, name: tag)
                    try transaction.referrers.delete(repositoryID: repository.id, tag: tag)
                } else if let digest = event.target.digest {
                    try transaction.tags.delete(repositoryID: repository.id, digest: digest)
                    try transaction.referrers.delete(repositoryID: repository.id, digest: digest)
                    // What an index carried (its attestations) goes with it.
                    try transaction.referrers.delete(repositoryID: repository.id, tag: digest)
                }
                try transaction.repositories.summarize(id: repository.id)
                try Self.recordActivity(
                    event,
                    action: event.target.tag == nil ? .repositoryDelete : .tagDelete,
                    repositoryID: repository.id,
                    in: transaction
                )
            }
        }
    }

    /// Prepares (outside the database) and writes (in one transaction) a change, within ``writeTimeout``.
    private func write(
        _ event: RegistryEvent,
        prepare: @escaping @Sendable () async throws -> (@Sendable (Transaction) throws -> Void)?
    ) async {
        guard pool.health.isReady else {
            state.writeFailed()
            return
        }
        let pool = self.pool
        let timeout = writeTimeout
        do {
            try await withThrowingTaskGroup(of: Bool.self) { group in
                group.addTask {
                    guard let change = try await prepare() else { return true }
                    try await pool.write(change)
                    return true
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return false
                }
                let finished = try await group.next() ?? false
                group.cancelAll()
                if !finished { throw CatalogWriteTimeout() }
            }
        } catch {
            state.writeFailed()
            logger.warning(
                "catalogue not updated; the next sync pass repairs it",
                metadata: ["repository": "\(event.target.repository)", "action": "\(event.action.rawValue)", "error": "\(error)"]
            )
        }
    }

    struct CatalogWriteTimeout: Error, CustomStringConvertible {
        var description: String { "the database did not answer in time" }
    }

    /// Referrers a manifest makes: itself when it has a `subject`, and an index's attestations.
    static func recordReferrers(of facts: ImageFacts, digest: String, tag: String?, repositoryID: Int64, in transaction: Transaction) {
        if let subject = facts.subject {
            try? transaction.referrers.add(
                repositoryID: repositoryID,
                ReferrerRecord(
                    subject: subject,
                    digest: digest,
                    mediaType: facts.mediaType,
                    artifactType: facts.artifactType,
                    size: facts.parts[digest] ?? facts.size
                )
            )
        }
        for attestation in facts.attestations { try? transaction.referrers.add(repositoryID: repositoryID, attestation) }
    }

    static func recordActivity(_ event: RegistryEvent, action: ActivityAction, repositoryID: Int64?, in transaction: Transaction) throws {
        var details: [String: String] = [:]
        if let digest = event.target.digest { details["digest"] = digest }
        if let tag = event.target.tag { details["tag"] = tag }
        if let mediaType = event.target.mediaType { details["media_type"] = mediaType }
        if let size = event.target.size { details["size"] = String(size) }
        if !event.request.addr.isEmpty { details["addr"] = event.request.addr }
        let data = (try? JSONSerialization.data(withJSONObject: details, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        let namespace = event.namespace.isEmpty ? nil : try transaction.namespaces.find(name: event.namespace)
        let reference = event.target.tag.map { ":\($0)" } ?? event.target.digest.map { "@\($0)" } ?? ""
        try transaction.activities.record(
            NewActivity(
                actorID: event.actor.userID,
                actorName: event.actor.name.isEmpty ? "anonymous" : event.actor.name,
                action: action.rawValue,
                targetKind: "repository",
                targetID: repositoryID,
                targetName: event.target.repository + reference,
                namespaceID: namespace?.id,
                details: String(decoding: data, as: UTF8.self),
                createdAt: event.timestamp
            )
        )
    }

    // MARK: Reading

    /// A page of `/v2/_catalog` from the mirror, in tree order after `last`; nil when the mirror is not current
    /// (storage must be walked).
    public func repositoryNames(after last: String?, limit: Int) async throws -> [String]? {
        guard state.isCurrent else { return nil }
        return try await pool.read { try $0.repositories.names(after: last, limit: limit) }
    }

    /// A link's modification time as stored in `link_modified`.
    static func nanoseconds(_ seconds: Double?) -> Int64 {
        guard let seconds else { return 0 }
        return Int64((seconds * 1_000_000_000).rounded())
    }
}
