import Foundation
import Logging
import ServiceLifecycle
import WharfDatabase

/// Keeps `pulled_at` of tags and repositories, coalesced: a tag pulled a thousand times a minute costs one write a
/// minute at most, never one per pull. Pulls arrive on the event bus; pending ones are written every
/// ``flushInterval`` in one transaction.
public actor PullRecorder: Service {
    /// A pull by tag, or by digest (what containerd and Kubernetes do after resolving the tag with a HEAD): a
    /// digest's pull is the pull of every tag pointing at it.
    struct Key: Hashable {
        var repository: String
        var tag: String?
        var digest: String?
    }

    let pool: DatabasePool
    let events: AsyncStream<RegistryEvent>
    let logger: Logger
    /// At most one write per tag per this much time.
    let coalescing: Duration
    let flushInterval: Duration
    private var pending: [Key: Date] = [:]
    private var written: [Key: ContinuousClock.Instant] = [:]

    public init(
        pool: DatabasePool,
        bus: EventBus,
        coalescing: Duration = .seconds(60),
        flushInterval: Duration = .seconds(5),
        logger: Logger = Logger(label: "wharf.catalog")
    ) {
        self.pool = pool
        self.events = bus.subscribe("pulls")
        self.coalescing = coalescing
        self.flushInterval = flushInterval
        self.logger = logger
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.consume() }
            group.addTask {
                while !Task.isCancelled && !Task.isShuttingDownGracefully {
                    try? await Task.sleep(for: self.flushInterval)
                    await self.flush()
                }
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }
        await flush()
    }

    private func consume() async {
        for await event in events where event.action == .pull {
            note(event)
            if Task.isCancelled { break }
        }
    }

    func note(_ event: RegistryEvent) {
        let key = Key(
            repository: event.target.repository,
            tag: event.target.tag,
            digest: event.target.tag == nil ? event.target.digest : nil
        )
        let now = ContinuousClock.now
        if let last = written[key], now - last < coalescing { return }
        written[key] = now
        pending[key] = event.timestamp
        if written.count > 100_000 {
            written = written.filter { now - $0.value < coalescing }
            // Still that many pulled within the minute: forget them rather than filter again on every pull (at
            // worst one more write each).
            if written.count > 50_000 { written.removeAll() }
        }
    }

    /// Writes what is pending in one transaction.
    public func flush() async {
        guard !pending.isEmpty else { return }
        let batch = pending
        pending.removeAll()
        do {
            try await pool.write { transaction in
                for (key, time) in batch {
                    guard let repository = try transaction.repositories.find(name: key.repository) else { continue }
                    try transaction.repositories.recordPull(id: repository.id, at: time)
                    if let tag = key.tag { try transaction.tags.recordPull(repositoryID: repository.id, name: tag, at: time) }
                    if let digest = key.digest { try transaction.tags.recordPull(repositoryID: repository.id, digest: digest, at: time) }
                }
            }
        } catch {
            logger.warning("pull times not recorded", metadata: ["pulls": "\(batch.count)", "error": "\(error)"])
        }
    }
}
