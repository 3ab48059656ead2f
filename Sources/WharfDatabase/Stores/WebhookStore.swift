import Foundation

/// A URL called when something happens in a namespace, or anywhere for a global webhook (no namespace).
public struct Webhook: Sendable, Equatable, RowDecodable {
    public var id: Int64
    /// nil for a global webhook.
    public var namespaceID: Int64?
    public var name: String
    public var url: String
    public var username: String?
    public var password: String?
    /// The key of the body's HMAC-SHA256 in `X-Wharf-Signature`.
    public var secret: String
    /// Extra request headers, as a JSON object of strings.
    public var headers: String
    /// The events it wants, comma-separated (`push,delete`); empty for all.
    public var events: String
    public var enabled: Bool
    public var createdAt: Date
    public var updatedAt: Date

    init(row: SQLRow) throws {
        id = try row.decode("id")
        namespaceID = try row.decode("namespace_id")
        name = try row.decode("name")
        url = try row.decode("url")
        username = try row.decode("username")
        password = try row.decode("password")
        secret = try row.decode("secret")
        headers = try row.decode("headers")
        events = try row.decode("events")
        enabled = try row.decode("enabled")
        createdAt = try row.decode("created_at")
        updatedAt = try row.decode("updated_at")
    }
}

/// What creating a webhook needs.
public struct NewWebhook: Sendable {
    public var namespaceID: Int64?
    public var name: String
    public var url: String
    public var username: String?
    public var password: String?
    public var secret: String
    public var headers: String
    public var events: String

    public init(
        namespaceID: Int64?,
        name: String,
        url: String,
        username: String? = nil,
        password: String? = nil,
        secret: String,
        headers: String = "{}",
        events: String = ""
    ) {
        self.namespaceID = namespaceID
        self.name = name
        self.url = url
        self.username = username
        self.password = password
        self.secret = secret
        self.headers = headers
        self.events = events
    }
}

public struct WebhookStore: Store {
    let transaction: Transaction
    init(_ transaction: Transaction) { self.transaction = transaction }

    static let columns = "id, namespace_id, name, url, username, password, secret, headers, events, enabled, created_at, updated_at"

    @discardableResult
    public func create(_ hook: NewWebhook) throws -> Webhook {
        let time = now()
        let binds: [any SQLValueConvertible] = [
            hook.namespaceID, try Validation.name(hook.name, "webhook name"), try Validation.text(hook.url, "webhook URL"),
            try Validation.name(hook.username, "webhook user name"), try Validation.name(hook.password, "webhook password"),
            try Validation.name(hook.secret, "webhook secret"), try Validation.text(hook.headers, "webhook headers"),
            try Validation.text(hook.events, "webhook events"), true, time, time,
        ]
        let id = try unique("a webhook named \(hook.name)") {
            try transaction.insert(
                "INSERT INTO webhooks (namespace_id, name, url, username, password, secret, headers, events, enabled, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                binds
            )
        }
        return try find(id: id)!
    }

    public func find(id: Int64) throws -> Webhook? {
        try transaction.fetchOne("SELECT \(Self.columns) FROM webhooks WHERE id = ?", [id])
    }

    /// The webhook named `name` in a namespace, or among the global ones (nil).
    public func find(namespaceID: Int64?, name: String) throws -> Webhook? {
        if let namespaceID {
            return try transaction.fetchOne("SELECT \(Self.columns) FROM webhooks WHERE namespace_id = ? AND name = ?", [namespaceID, name])
        }
        return try transaction.fetchOne("SELECT \(Self.columns) FROM webhooks WHERE namespace_id IS NULL AND name = ?", [name])
    }

    /// Every webhook, the global ones first, then by namespace and name.
    public func listAll() throws -> [Webhook] {
        try transaction.fetch("SELECT \(Self.columns) FROM webhooks ORDER BY namespace_id IS NOT NULL, namespace_id, name", [])
    }

    /// Writes a webhook's settings (everything but its id, namespace and times); `updated_at` becomes now.
    public func update(_ hook: Webhook) throws {
        let binds: [any SQLValueConvertible] = [
            try Validation.name(hook.name, "webhook name"), try Validation.text(hook.url, "webhook URL"),
            try Validation.name(hook.username, "webhook user name"), try Validation.name(hook.password, "webhook password"),
            try Validation.name(hook.secret, "webhook secret"), try Validation.text(hook.headers, "webhook headers"),
            try Validation.text(hook.events, "webhook events"), hook.enabled, now(), hook.id,
        ]
        _ = try unique("a webhook named \(hook.name)") {
            try transaction.execute(
                "UPDATE webhooks SET name = ?, url = ?, username = ?, password = ?, secret = ?, headers = ?, events = ?, enabled = ?, updated_at = ? WHERE id = ?",
                binds
            )
        }
    }

    /// The webhooks of a namespace; nil lists the global ones.
    public func list(namespaceID: Int64?) throws -> [Webhook] {
        if let namespaceID {
            return try transaction.fetch("SELECT \(Self.columns) FROM webhooks WHERE namespace_id = ? ORDER BY id", [namespaceID])
        }
        return try transaction.fetch("SELECT \(Self.columns) FROM webhooks WHERE namespace_id IS NULL ORDER BY id", [])
    }

    /// The enabled webhooks an event in `namespaceID` goes to: the namespace's and the global ones.
    public func listEnabled(namespaceID: Int64?) throws -> [Webhook] {
        try transaction.fetch(
            "SELECT \(Self.columns) FROM webhooks WHERE enabled = ? AND (namespace_id IS NULL OR namespace_id = ?) ORDER BY id",
            [true, namespaceID]
        )
    }

    /// The event filters of every enabled webhook (what a pull is checked against before anything else).
    public func enabledEventFilters() throws -> [String] {
        try transaction.query("SELECT events FROM webhooks WHERE enabled = ?", [true]).map { try $0.decode("events") }
    }

    public func setEnabled(id: Int64, _ enabled: Bool) throws {
        try transaction.execute("UPDATE webhooks SET enabled = ?, updated_at = ? WHERE id = ?", [enabled, now(), id])
    }

    @discardableResult
    public func delete(id: Int64) throws -> Bool {
        try changed("DELETE FROM webhooks WHERE id = ?", [id])
    }
}
