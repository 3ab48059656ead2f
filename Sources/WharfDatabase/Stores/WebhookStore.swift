import Foundation

/// A URL called when something happens in a namespace.
public struct Webhook: Sendable, Equatable, RowDecodable {
    public var id: Int64
    public var namespaceID: Int64
    public var url: String
    public var username: String?
    public var password: String?
    public var contentType: String
    /// The events it wants, comma-separated (`push,delete`); empty for all.
    public var events: String
    public var enabled: Bool
    public var createdAt: Date

    init(row: SQLRow) throws {
        id = try row.decode("id")
        namespaceID = try row.decode("namespace_id")
        url = try row.decode("url")
        username = try row.decode("username")
        password = try row.decode("password")
        contentType = try row.decode("content_type")
        events = try row.decode("events")
        enabled = try row.decode("enabled")
        createdAt = try row.decode("created_at")
    }
}

/// One attempt (or series of attempts) to deliver an event to a webhook.
public struct WebhookDelivery: Sendable, Equatable, RowDecodable {
    public var id: Int64
    public var webhookID: Int64
    public var uuid: String
    public var event: String
    public var requestBody: String
    public var responseStatus: Int?
    public var responseBody: String?
    public var attempts: Int
    public var createdAt: Date
    public var deliveredAt: Date?

    init(row: SQLRow) throws {
        id = try row.decode("id")
        webhookID = try row.decode("webhook_id")
        uuid = try row.decode("uuid")
        event = try row.decode("event")
        requestBody = try row.decode("request_body")
        responseStatus = try row.decode("response_status")
        responseBody = try row.decode("response_body")
        attempts = try row.decode("attempts")
        createdAt = try row.decode("created_at")
        deliveredAt = try row.decode("delivered_at")
    }
}

public struct WebhookStore: Store {
    let transaction: Transaction
    init(_ transaction: Transaction) { self.transaction = transaction }

    static let columns = "id, namespace_id, url, username, password, content_type, events, enabled, created_at"
    static let deliveryColumns = "id, webhook_id, uuid, event, request_body, response_status, response_body, attempts, created_at, delivered_at"

    @discardableResult
    public func create(
        namespaceID: Int64,
        url: String,
        username: String? = nil,
        password: String? = nil,
        contentType: String = "application/json",
        events: String = ""
    ) throws -> Webhook {
        let id = try transaction.insert(
            "INSERT INTO webhooks (namespace_id, url, username, password, content_type, events, enabled, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                namespaceID, try Validation.text(url, "webhook URL"), try Validation.name(username, "webhook user name"),
                try Validation.name(password, "webhook password"), try Validation.name(contentType, "content type"),
                try Validation.text(events, "webhook events"), true, now(),
            ]
        )
        return try find(id: id)!
    }

    public func find(id: Int64) throws -> Webhook? {
        try transaction.fetchOne("SELECT \(Self.columns) FROM webhooks WHERE id = ?", [id])
    }

    public func list(namespaceID: Int64) throws -> [Webhook] {
        try transaction.fetch("SELECT \(Self.columns) FROM webhooks WHERE namespace_id = ? ORDER BY id", [namespaceID])
    }

    public func setEnabled(id: Int64, _ enabled: Bool) throws {
        try transaction.execute("UPDATE webhooks SET enabled = ? WHERE id = ?", [enabled, id])
    }

    @discardableResult
    public func delete(id: Int64) throws -> Bool {
        try changed("DELETE FROM webhooks WHERE id = ?", [id])
    }

    @discardableResult
    public func addDelivery(webhookID: Int64, uuid: String, event: String, requestBody: String) throws -> WebhookDelivery {
        let binds: [any SQLValueConvertible] = [
            webhookID, try Validation.name(uuid, "delivery id"), try Validation.name(event, "event"),
            try Validation.text(requestBody, "request body"),
            now(),
        ]
        let id = try unique("a delivery with id \(uuid)") {
            try transaction.insert(
                "INSERT INTO webhook_deliveries (webhook_id, uuid, event, request_body, attempts, created_at) VALUES (?, ?, ?, ?, 0, ?)",
                binds
            )
        }
        return try transaction.fetchOne("SELECT \(Self.deliveryColumns) FROM webhook_deliveries WHERE id = ?", [id])!
    }

    /// Records the outcome of one delivery attempt.
    public func recordAttempt(deliveryID: Int64, status: Int?, responseBody: String?, delivered: Bool, at time: Date = Date()) throws {
        try transaction.execute(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, response_status = ?, response_body = ?, delivered_at = ? WHERE id = ?",
            [status, try Validation.text(responseBody, "response body"), delivered ? time : nil, deliveryID]
        )
    }

    /// The newest deliveries of a webhook first.
    public func deliveries(webhookID: Int64, limit: Int = 50) throws -> [WebhookDelivery] {
        try transaction.fetch(
            "SELECT \(Self.deliveryColumns) FROM webhook_deliveries WHERE webhook_id = ? ORDER BY created_at DESC, id DESC LIMIT ?",
            [webhookID, pageSize(limit)]
        )
    }
}
