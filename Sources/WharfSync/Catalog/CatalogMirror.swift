import Foundation
import Logging
import Synchronization
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
    /// Catalogue writes still running (some past their request's timeout).
    let pending = PendingWrites()
    /// With it, a push or delete queues its webhook deliveries in its own transaction.
    let webhookSource: WebhookEnvelope.Source?

    public init(
        pool: DatabasePool,
        driver: any StorageDriver,
        state: CatalogState = CatalogState(),
        writeTimeout: Duration = .seconds(2),
        webhookSource: WebhookEnvelope.Source? = nil,
        logger: Logger = Logger(label: "wharf.catalog")
    ) {
        self.webhookSource = webhookSource
        self.pool = pool
        self.driver = driver
        self.state = state
        self.writeTimeout = writeTimeout
        self.logger = logger
    }

    // MARK: Recording the registry's changes

    /// A manifest was stored: its tag row (or its referrer row, for a signature or an attestation), the
    /// repository's summary, a `repository.push` activity and its webhook deliveries. Returns whether they were
    /// written.
    @discardableResult
    public func recordPush(_ event: RegistryEvent, manifest bytes: [UInt8]) async -> Bool {
        guard let digestText = event.target.digest, let digest = try? OCIDigest(parsing: digestText) else { return false }
        let webhookSource = self.webhookSource
        return await write(event) {
            let inspector = ImageInspector(driver: driver)
            // Nil only for bytes that are not a manifest (validated before they were stored): then the push is
            // still an activity and an event, without rows.
            let facts = try await inspector.facts(of: digest, bytes: bytes)
            var modified: Int64 = 0
            if let tag = event.target.tag, let name = try? RepositoryName(event.target.repository), let parsed = try? Tag(tag) {
                modified = Self.nanoseconds(try await driver.stat(RegistryPaths.tagCurrentLink(name, parsed))?.modified)
            }
            let linkModified = modified
            return { transaction in
                let repository = try transaction.repositories.findOrCreate(name: event.target.repository)
                if let tag = event.target.tag, ImageInspector.cosignSubject(ofTag: tag) != nil {
                    // The tag now carries this signature only.
                    try transaction.referrers.delete(repositoryID: repository.id, tag: tag)
                }
                for referrer in facts?.referrers(digest: digestText, tag: event.target.tag) ?? [] {
                    try transaction.referrers.add(repositoryID: repository.id, referrer)
                }
                if let facts, let tag = event.target.tag, ImageInspector.cosignSubject(ofTag: tag) == nil {
                    let previous = try transaction.tags.find(repositoryID: repository.id, name: tag)
                    let digestWasTagged = try transaction.repositories.isTagged(id: repository.id, digest: digestText)
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
                    // Counted from this one tag: a push never reads every tag of its repository.
                    try transaction.repositories.tagWritten(
                        id: repository.id,
                        digest: digestText,
                        size: facts.size,
                        pushedAt: event.timestamp,
                        previous: previous,
                        digestWasTagged: digestWasTagged
                    )
                }
                try Self.recordActivity(event, action: .repositoryPush, repositoryID: repository.id, in: transaction)
                if let webhookSource { _ = try WebhookDispatcher.queueDeliveries(for: event, source: webhookSource, in: transaction) }
            }
        }
    }

    /// A manifest or a tag was deleted: their rows go, a `repository.delete` or `tag.delete` activity is kept and
    /// its webhook deliveries are queued. Returns whether they were written.
    @discardableResult
    public func recordDelete(_ event: RegistryEvent) async -> Bool {
        let webhookSource = self.webhookSource
        return await write(event) {
            { transaction in
                if let webhookSource { _ = try WebhookDispatcher.queueDeliveries(for: event, source: webhookSource, in: transaction) }
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

    /// Prepares (outside the database) and writes (in one transaction) a change, waiting at most ``writeTimeout``.
    ///
    /// The write runs in a task of its own that the request does not wait for past the timeout (a database call
    /// cannot be interrupted: waiting for it to notice a cancellation would be waiting for the database). At most
    /// ``maxPendingWrites`` such writes are left running; beyond that a change is left to the next sync pass.
    private func write(
        _ event: RegistryEvent,
        prepare: @escaping @Sendable () async throws -> (@Sendable (Transaction) throws -> Void)?
    ) async -> Bool {
        guard pool.health.isReady, pending.enter(limit: Self.maxPendingWrites) else {
            state.writeFailed()
            return false
        }
        let pool = self.pool
        let pending = self.pending
        let outcome = await Self.race(timeout: writeTimeout) {
            defer { pending.leave() }
            guard let change = try await prepare() else { return }
            try await pool.write(change)
        }
        guard case .failure(let error) = outcome else { return true }
        state.writeFailed()
        logger.warning(
            "catalogue not updated; the next sync pass repairs it",
            metadata: ["repository": "\(event.target.repository)", "action": "\(event.action.rawValue)", "error": "\(error)"]
        )
        return false
    }

    /// Writes started and not finished, at most this many.
    static let maxPendingWrites = 64

    /// `work`'s outcome, or a timeout error after `timeout` while `work` goes on in its own task.
    static func race(timeout: Duration, _ work: @escaping @Sendable () async throws -> Void) async -> Result<Void, any Error> {
        let once = Once()
        return await withCheckedContinuation { (continuation: CheckedContinuation<Result<Void, any Error>, Never>) in
            let timer = Task {
                try? await Task.sleep(for: timeout)
                // Cancelled: the work is done and resumes the waiter itself.
                guard !Task.isCancelled else { return }
                if once.first() { continuation.resume(returning: .failure(CatalogWriteTimeout())) }
            }
            Task {
                let result: Result<Void, any Error>
                do {
                    try await work()
                    result = .success(())
                } catch {
                    result = .failure(error)
                }
                // The usual case: done in time, and the timer is not left sleeping.
                timer.cancel()
                if once.first() { continuation.resume(returning: result) }
            }
        }
    }

    struct CatalogWriteTimeout: Error, CustomStringConvertible {
        var description: String { "the database did not answer in time" }
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

/// A count of writes in flight with a ceiling.
final class PendingWrites: Sendable {
    private let count = Mutex(0)

    /// Counts one more unless `limit` are running; false then.
    func enter(limit: Int) -> Bool {
        count.withLock { count in
            guard count < limit else { return false }
            count += 1
            return true
        }
    }

    func leave() {
        count.withLock { $0 -= 1 }
    }

    var current: Int { count.withLock { $0 } }
}

/// True the first time only: whichever of two racing tasks ends first resumes the waiter.
final class Once: Sendable {
    private let done = Mutex(false)

    func first() -> Bool {
        done.withLock { done in
            defer { done = true }
            return !done
        }
    }
}
