import Foundation

// The delivery queue: deliveries are rows, claimed with a lease while they are sent, so the queue survives a
// restart and two processes on one database never send the same delivery at once.
extension WebhookStore {
    static let deliveryColumns =
        "id, webhook_id, uuid, event, request_body, state, attempts, next_attempt_at, response_status, created_at, delivered_at"
    static let attemptColumns =
        "id, delivery_id, number, started_at, duration_ms, status, error, request_headers, response_headers, response_body"

    /// Queues `body` for a webhook, due at `dueAt` (now by default). `claimedUntil` queues it already claimed by
    /// the caller, which sends it at once (a test from the command line) without a running server taking it too.
    @discardableResult
    public func enqueue(
        webhookID: Int64,
        uuid: String = UUID().uuidString.lowercased(),
        event: String,
        body: String,
        dueAt: Date? = nil,
        claimedUntil: Date? = nil
    ) throws -> WebhookDelivery {
        let time = now()
        let state: WebhookDelivery.State = claimedUntil == nil ? .pending : .sending
        let next = Self.stored(claimedUntil ?? dueAt ?? time)
        let id = try unique("a webhook delivery \(uuid)") {
            try transaction.insert(
                "INSERT INTO webhook_deliveries (webhook_id, uuid, event, request_body, state, attempts, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
                [
                    webhookID, try Validation.name(uuid, "delivery id"), try Validation.name(event, "webhook event"),
                    try Validation.text(body, "webhook body"), state.rawValue, next, time,
                ]
            )
        }
        return try delivery(id: id)!
    }

    public func delivery(id: Int64) throws -> WebhookDelivery? {
        try transaction.fetchOne("SELECT \(Self.deliveryColumns) FROM webhook_deliveries WHERE id = ?", [id])
    }

    public func delivery(uuid: String) throws -> WebhookDelivery? {
        try transaction.fetchOne("SELECT \(Self.deliveryColumns) FROM webhook_deliveries WHERE uuid = ?", [uuid])
    }

    /// A webhook's deliveries, newest first, older than `beforeID` (for paging).
    public func deliveries(webhookID: Int64, beforeID: Int64? = nil, limit: Int = 50) throws -> [WebhookDelivery] {
        try transaction.fetch(
            "SELECT \(Self.deliveryColumns) FROM webhook_deliveries WHERE webhook_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
            [webhookID, beforeID ?? Int64.max, pageSize(limit)]
        )
    }

    /// How many deliveries of a webhook are in each state.
    public func deliveryCounts(webhookID: Int64) throws -> [WebhookDelivery.State: Int] {
        var counts: [WebhookDelivery.State: Int] = [:]
        for row in try transaction.query("SELECT state, COUNT(*) AS n FROM webhook_deliveries WHERE webhook_id = ? GROUP BY state", [webhookID]) {
            if let state = WebhookDelivery.State(rawValue: try row.decode("state")) { counts[state] = try row.decode("n") }
        }
        return counts
    }

    /// Deliveries due at `now` (pending ones whose time has come, claims whose lease ended) of enabled webhooks,
    /// at most `perWebhook` of each webhook (oldest due first) and none of `excluding`, so that a webhook with a
    /// long backlog never hides the others' deliveries. Returned with their webhook.
    public func due(now: Date, perWebhook: Int, excluding: Set<Int64> = [], limit: Int = 100) throws -> [(Webhook, WebhookDelivery)] {
        let stillDue = "d.state IN (?, ?) AND d.next_attempt_at <= ?"
        let dueBinds: [any SQLValueConvertible] = [WebhookDelivery.State.pending.rawValue, WebhookDelivery.State.sending.rawValue, Self.stored(now)]
        let hooks: [Webhook] = try transaction.fetch(
            "SELECT \(Self.columns) FROM webhooks WHERE enabled = ? AND id IN (SELECT d.webhook_id FROM webhook_deliveries d WHERE \(stillDue)) ORDER BY id",
            [true] + dueBinds
        )
        var result: [(Webhook, WebhookDelivery)] = []
        for hook in hooks where !excluding.contains(hook.id) && result.count < limit {
            let rows: [WebhookDelivery] = try transaction.fetch(
                "SELECT \(Self.deliveryColumns) FROM webhook_deliveries d WHERE d.webhook_id = ? AND \(stillDue) ORDER BY d.next_attempt_at, d.id LIMIT ?",
                [hook.id] + dueBinds + [min(pageSize(perWebhook), limit - result.count)]
            )
            result += rows.map { (hook, $0) }
        }
        return result
    }

    /// The earliest time a delivery of an enabled webhook outside `excluding` falls due (a claim's lease end
    /// counts), nil when none is waiting.
    public func nextDueDate(excluding: Set<Int64> = []) throws -> Date? {
        var sql =
            "SELECT MIN(d.next_attempt_at) AS due_at FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE d.state IN (?, ?) AND w.enabled = ?"
        var binds: [any SQLValueConvertible] = [WebhookDelivery.State.pending.rawValue, WebhookDelivery.State.sending.rawValue, true]
        if !excluding.isEmpty {
            sql += " AND d.webhook_id NOT IN (\(excluding.map { _ in "?" }.joined(separator: ", ")))"
            binds += excluding.sorted().map { $0 as any SQLValueConvertible }
        }
        return try transaction.query(sql, binds).first?.decode("due_at")
    }

    /// Claims a due delivery for sending until `until`; false when it is no longer due (another process claimed
    /// it, or it was delivered).
    public func claim(id: Int64, now: Date, until: Date) throws -> Bool {
        try changed(
            "UPDATE webhook_deliveries SET state = ?, next_attempt_at = ? WHERE id = ? AND state IN (?, ?) AND next_attempt_at <= ?",
            [
                WebhookDelivery.State.sending.rawValue, Self.stored(until), id, WebhookDelivery.State.pending.rawValue,
                WebhookDelivery.State.sending.rawValue, Self.stored(now),
            ]
        )
    }

    /// Gives a claimed delivery back, due at once (the sender stopped before an answer: shutdown).
    public func release(id: Int64) throws {
        try transaction.execute(
            "UPDATE webhook_deliveries SET state = ?, next_attempt_at = ? WHERE id = ? AND state = ?",
            [WebhookDelivery.State.pending.rawValue, now(), id, WebhookDelivery.State.sending.rawValue]
        )
    }

    /// Logs an attempt (numbered after the delivery's previous ones) and counts it; returns its number.
    @discardableResult
    public func recordAttempt(deliveryID: Int64, _ attempt: NewWebhookAttempt) throws -> Int {
        guard let delivery = try delivery(id: deliveryID) else { throw DatabaseError(.invalidValue, "no webhook delivery \(deliveryID)") }
        let number = delivery.attempts + 1
        let milliseconds = attempt.duration.components.seconds * 1000 + attempt.duration.components.attoseconds / 1_000_000_000_000_000
        _ = try transaction.insert(
            "INSERT INTO webhook_attempts (delivery_id, number, started_at, duration_ms, status, error, request_headers, response_headers, response_body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                deliveryID, number, Self.stored(attempt.startedAt), milliseconds, attempt.status,
                attempt.error.map(WebhookAttempt.truncated), WebhookAttempt.truncated(attempt.requestHeaders),
                WebhookAttempt.truncated(attempt.responseHeaders), WebhookAttempt.truncated(attempt.responseBody),
            ]
        )
        try transaction.execute(
            "UPDATE webhook_deliveries SET attempts = ?, response_status = COALESCE(?, response_status) WHERE id = ?",
            [number, attempt.status, deliveryID]
        )
        return number
    }

    public func markDelivered(id: Int64) throws {
        try transaction.execute(
            "UPDATE webhook_deliveries SET state = ?, next_attempt_at = NULL, delivered_at = ? WHERE id = ?",
            [WebhookDelivery.State.delivered.rawValue, now(), id]
        )
    }

    /// Gives up on a delivery (its tries are used up); a re-send queues it again.
    public func markFailed(id: Int64) throws {
        try transaction.execute(
            "UPDATE webhook_deliveries SET state = ?, next_attempt_at = NULL WHERE id = ?",
            [WebhookDelivery.State.failed.rawValue, id]
        )
    }

    /// Makes a delivery pending again, due at `at`.
    public func scheduleRetry(id: Int64, at date: Date) throws {
        try transaction.execute(
            "UPDATE webhook_deliveries SET state = ?, next_attempt_at = ? WHERE id = ?",
            [WebhookDelivery.State.pending.rawValue, Self.stored(date), id]
        )
    }

    /// A delivery's attempts, first to last.
    public func attempts(deliveryID: Int64) throws -> [WebhookAttempt] {
        try transaction.fetch("SELECT \(Self.attemptColumns) FROM webhook_attempts WHERE delivery_id = ? ORDER BY number", [deliveryID])
    }

    /// Queues the body of delivery `id` again as a new delivery (new id and uuid, no attempts), due now; the old
    /// one keeps its log. Returns the new delivery, nil when `id` does not exist.
    public func resend(id: Int64) throws -> WebhookDelivery? {
        guard let original = try delivery(id: id) else { return nil }
        return try enqueue(webhookID: original.webhookID, event: original.event, body: original.requestBody)
    }

    /// A time as stored (milliseconds), so what is compared is what was written.
    static func stored(_ date: Date) -> Date { Date(millisecondsSince1970: date.millisecondsSince1970) }
}
