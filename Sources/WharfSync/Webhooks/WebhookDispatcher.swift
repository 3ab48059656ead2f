import AsyncHTTPClient
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import WharfDatabase

/// Sends webhooks. Reads push, delete and pull events from the bus and queues one delivery per matching webhook
/// in the database (the event's namespace's webhooks and the global ones); then sends what is due from that
/// queue, so deliveries queued before a restart, re-sent from the command line or left by another process are
/// sent too.
///
/// A push never waits for any of this (it only publishes to the bus). A slow or dead endpoint holds at most
/// ``perWebhookLimit`` requests of its own, each bounded by the timeout, and the queue is read per webhook, so
/// other webhooks' deliveries go on. A failed attempt is tried again as ``WebhookRetryPolicy`` says; every
/// attempt is logged in `webhook_attempts`.
public actor WebhookDispatcher: Service {
    let pool: DatabasePool
    let events: AsyncStream<RegistryEvent>?
    let targets: WebhookTargetGuard
    let timeout: Duration
    let policy: WebhookRetryPolicy
    let source: WebhookEnvelope.Source
    let logger: Logger
    /// Requests in flight to one webhook at most.
    let perWebhookLimit: Int
    /// Requests in flight in all at most.
    let totalLimit: Int
    /// How long a claim lasts: a process that dies mid-request leaves the delivery due again after this.
    let lease: Duration
    /// The queue is looked at this often even without news (deliveries queued by another process).
    let pollInterval: Duration

    private var inFlight: [Int64: Int] = [:]
    private var inFlightTotal = 0
    /// The queue could not be read last time: logged once until it can again (the database may be down for long).
    private var queueUnreadable = false
    /// Set when there is news for the sender (an event queued, a request done): its wait ends early. A flag the
    /// wait looks at, not a stream: a stream whose reader is cancelled is finished for good, and every wait after
    /// the first would then return at once.
    private var woken = false
    /// The actions some enabled webhook wants, and when that was read.
    private var wanted: (actions: Set<RegistryEvent.Action>, read: ContinuousClock.Instant)?
    /// Whether some enabled webhook wants pulls, as the bus's filter reads it (true until first known).
    let pullsWanted: PullsWanted
    /// How many times the sender has waited for work (an idle dispatcher waits once per poll interval).
    private(set) var waits = 0

    /// Subscribes to `bus` at once, so events published before ``run()`` starts are queued too.
    public init(
        pool: DatabasePool,
        bus: EventBus?,
        targets: WebhookTargetGuard,
        timeout: Duration = .seconds(10),
        policy: WebhookRetryPolicy = WebhookRetryPolicy(),
        source: WebhookEnvelope.Source,
        perWebhookLimit: Int = 2,
        totalLimit: Int = 32,
        pollInterval: Duration = .seconds(2),
        logger: Logger = Logger(label: "wharf.webhooks")
    ) {
        self.pool = pool
        let pullsWanted = PullsWanted()
        self.pullsWanted = pullsWanted
        // Pulls no webhook wants never reach this actor: the bus drops them in the pulling request.
        self.events = bus?.subscribe("webhooks", accepts: { $0.action != .pull || pullsWanted.value })
        self.targets = targets
        self.timeout = timeout
        self.policy = policy
        self.source = source
        self.perWebhookLimit = max(1, perWebhookLimit)
        self.totalLimit = max(1, totalLimit)
        self.lease = timeout * 2 + .seconds(5)
        self.pollInterval = pollInterval
        self.logger = logger
    }

    public func run() async throws {
        // The client is made here, not in init, so a dispatcher that never runs leaves nothing to shut down.
        let client = WebhookSender.makeClient(timeout: timeout)
        let sender = WebhookSender(client: client, targets: targets, timeout: timeout)
        await withDiscardingTaskGroup { group in
            group.addTask { await self.consume() }
            group.addTask { await self.deliver(with: sender) }
            try? await gracefulShutdown()
            group.cancelAll()
        }
        try? await client.shutdown()
    }

    // MARK: Queueing

    private func consume() async {
        guard let events else { return }
        for await event in events {
            await enqueue(event)
            if Task.isCancelled { break }
        }
    }

    /// Queues `event` for every enabled webhook that wants it; returns how many deliveries were queued.
    @discardableResult
    public func enqueue(_ event: RegistryEvent) async -> Int {
        guard WebhookEventFilter.actions.contains(event.action) else { return 0 }
        if event.webhooksQueued {
            // The push or delete queued its deliveries in its own transaction: only send them.
            woken = true
            return 0
        }
        // Pulls come by the thousand and rarely concern a webhook: an answer from memory, refreshed every few
        // seconds, spares each one a query and an envelope.
        guard await isWanted(event.action) else { return 0 }
        let source = self.source
        do {
            // Most events concern no webhook: a read finds that out without taking the database's write lock.
            guard try await !pool.read({ try Self.wanting(event, in: $0) }).isEmpty else { return 0 }
            let count = try await pool.write { try Self.queueDeliveries(for: event, source: source, in: $0) }
            if count > 0 { woken = true }
            return count
        } catch {
            logger.error(
                "webhook deliveries not queued",
                metadata: ["event": "\(event.id)", "repository": "\(event.target.repository)", "error": "\(error)"]
            )
            return 0
        }
    }

    /// The enabled webhooks that want `event`: its namespace's and the global ones whose filter matches.
    static func wanting(_ event: RegistryEvent, in transaction: Transaction) throws -> [Webhook] {
        let namespaceID = event.namespace.isEmpty ? nil : try transaction.namespaces.find(name: event.namespace)?.id
        return try transaction.webhooks.listEnabled(namespaceID: namespaceID).filter {
            (try? WebhookEventFilter($0.events))?.matches(event.action) ?? false
        }
    }

    /// Queues one delivery of `event` per webhook that wants it, in `transaction` (the catalogue's, for a push or
    /// a delete: the deliveries are stored with the change, so a restart or a crash right after loses none).
    public static func queueDeliveries(for event: RegistryEvent, source: WebhookEnvelope.Source, in transaction: Transaction) throws -> Int {
        guard WebhookEventFilter.actions.contains(event.action) else { return 0 }
        let hooks = try wanting(event, in: transaction)
        guard !hooks.isEmpty else { return 0 }
        let body = WebhookEnvelope(event, source: source).body()
        for hook in hooks { try transaction.webhooks.enqueue(webhookID: hook.id, event: event.action.rawValue, body: body) }
        return hooks.count
    }

    /// Whether any enabled webhook wants `action`, from a list read at most every ``wantedLifetime``.
    private func isWanted(_ action: RegistryEvent.Action) async -> Bool {
        if let wanted, ContinuousClock.now - wanted.read < Self.wantedLifetime { return wanted.actions.contains(action) }
        do {
            let filters = try await pool.read { try $0.webhooks.enabledEventFilters() }
            var actions = Set<RegistryEvent.Action>()
            for filter in filters {
                for candidate in WebhookEventFilter.actions where (try? WebhookEventFilter(filter))?.matches(candidate) ?? false {
                    actions.insert(candidate)
                }
            }
            wanted = (actions, ContinuousClock.now)
            pullsWanted.value = actions.contains(.pull)
            return actions.contains(action)
        } catch {
            // Unknown: ask the database for this one (its error is logged there).
            return true
        }
    }

    /// Webhooks changed by another process are seen within this much time.
    static let wantedLifetime: Duration = .seconds(2)

    // MARK: Sending

    private func deliver(with sender: WebhookSender) async {
        await withDiscardingTaskGroup { sends in
            while !Task.isCancelled {
                let started = await claimDue()
                for (hook, delivery) in started {
                    sends.addTask { await self.attempt(delivery, to: hook, with: sender) }
                }
                await waitForWork()
            }
        }
    }

    /// Claims what is due and may start now, counting it in flight.
    private func claimDue() async -> [(Webhook, WebhookDelivery)] {
        let free = totalLimit - inFlightTotal
        guard free > 0 else { return [] }
        let busy = Set(inFlight.filter { $0.value >= perWebhookLimit }.keys)
        let running = inFlight
        let limit = perWebhookLimit
        let lease = lease
        do {
            let claimed = try await pool.write { transaction in
                let now = Date()
                let until = now.addingTimeInterval(Self.seconds(lease))
                var claimed: [(Webhook, WebhookDelivery)] = []
                var taken: [Int64: Int] = [:]
                for (hook, delivery) in try transaction.webhooks.due(now: now, perWebhook: limit, excluding: busy, limit: free) {
                    guard running[hook.id, default: 0] + taken[hook.id, default: 0] < limit else { continue }
                    guard try transaction.webhooks.claim(id: delivery.id, now: now, until: until) else { continue }
                    taken[hook.id, default: 0] += 1
                    claimed.append((hook, delivery))
                }
                return claimed
            }
            for (hook, _) in claimed {
                inFlight[hook.id, default: 0] += 1
                inFlightTotal += 1
            }
            if queueUnreadable {
                queueUnreadable = false
                logger.info("webhook queue readable again")
            }
            return claimed
        } catch {
            if !queueUnreadable { logger.error("webhook queue not read; trying again", metadata: ["error": "\(error)"]) }
            queueUnreadable = true
            return []
        }
    }

    /// Sleeps until the next delivery falls due, news arrives (an event queued, a request done), or the poll
    /// interval ends.
    private func waitForWork() async {
        waits += 1
        // Keeps the bus's pull filter fresh (a webhook wanting pulls may have been created meanwhile).
        _ = await isWanted(.pull)
        var wait = pollInterval
        let busy = Set(inFlight.filter { $0.value >= perWebhookLimit }.keys)
        if inFlightTotal < totalLimit, let next = try? await pool.read({ try $0.webhooks.nextDueDate(excluding: busy) }) {
            // Something due that could not be claimed just now waits a little rather than being asked for again at once.
            let milliseconds = max(10, Int64((next.timeIntervalSinceNow * 1000).rounded(.up)))
            wait = min(wait, .milliseconds(milliseconds))
        }
        let deadline = ContinuousClock.now + wait
        while !woken, !Task.isCancelled, ContinuousClock.now < deadline {
            try? await Task.sleep(for: min(.milliseconds(50), deadline - ContinuousClock.now))
        }
        woken = false
    }

    private nonisolated func attempt(_ delivery: WebhookDelivery, to hook: Webhook, with sender: WebhookSender) async {
        let outcome = await sender.send(delivery, to: hook)
        if Task.isCancelled {
            // Shutting down: the answer may be missing only because the request was cancelled; give the delivery
            // back rather than count an attempt the endpoint may never have seen.
            try? await pool.write { try $0.webhooks.release(id: delivery.id) }
        } else {
            await record(outcome, of: delivery, to: hook)
        }
        await finished(hook.id)
    }

    /// Logs the attempt and decides: delivered, tried again later, or failed.
    func record(_ outcome: WebhookSender.Outcome, of delivery: WebhookDelivery, to hook: Webhook) async {
        let policy = policy
        do {
            let (number, retryAt) = try await pool.write { transaction -> (Int, Date?) in
                let number = try transaction.webhooks.recordAttempt(deliveryID: delivery.id, outcome.attempt)
                if outcome.delivered {
                    try transaction.webhooks.markDelivered(id: delivery.id)
                    return (number, nil)
                }
                guard let delay = policy.delay(afterAttempt: number) else {
                    try transaction.webhooks.markFailed(id: delivery.id)
                    return (number, nil)
                }
                let at = Date().addingTimeInterval(Self.seconds(delay))
                try transaction.webhooks.scheduleRetry(id: delivery.id, at: at)
                return (number, at)
            }
            if !outcome.delivered {
                let metadata: Logger.Metadata = [
                    "webhook": "\(hook.name)", "delivery": "\(delivery.uuid)", "attempt": "\(number)",
                    "error": "\(outcome.attempt.error ?? "")", "retry_at": "\(retryAt.map { $0.formatted(.iso8601) } ?? "never")",
                ]
                if retryAt == nil {
                    logger.warning("webhook delivery failed for good", metadata: metadata)
                } else {
                    logger.info("webhook delivery attempt failed", metadata: metadata)
                }
            }
        } catch {
            logger.error("webhook attempt not recorded", metadata: ["delivery": "\(delivery.uuid)", "error": "\(error)"])
        }
    }

    private func finished(_ webhookID: Int64) {
        inFlight[webhookID, default: 1] -= 1
        if inFlight[webhookID] == 0 { inFlight[webhookID] = nil }
        inFlightTotal -= 1
        woken = true
    }

    static func seconds(_ duration: Duration) -> TimeInterval {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// A flag read by the bus in every pulling request and written by the dispatcher.
final class PullsWanted: Sendable {
    private let state = Mutex(true)

    var value: Bool {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue } }
    }
}
