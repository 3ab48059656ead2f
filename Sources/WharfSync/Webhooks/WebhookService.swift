import Foundation
import WharfAuth
import WharfCore
import WharfDatabase

/// Webhooks as the CLI (and later the portal and the API) manage them: create, change, enable, disable and
/// delete them (each recorded as an activity), read their delivery log, re-send a delivery, and send a test.
///
/// A webhook belongs to a namespace, or is global (no namespace) and gets the events of every namespace. It is
/// named by its name within its namespace. Works on the database alone, so it gives the same result whether or not
/// a server runs: a running server sends what this queues within its poll interval.
public struct WebhookService: Sendable {
    let pool: DatabasePool
    let targets: WebhookTargetGuard
    let timeout: Duration
    let source: WebhookEnvelope.Source

    public init(pool: DatabasePool, targets: WebhookTargetGuard, timeout: Duration = .seconds(10), source: WebhookEnvelope.Source) {
        self.pool = pool
        self.targets = targets
        self.timeout = timeout
        self.source = source
    }

    /// A webhook's settings when it is created; `secret` nil generates one.
    public struct Settings: Sendable {
        public var url: String
        public var events: String
        public var username: String?
        public var password: String?
        /// `Name: value` items.
        public var headers: [String]
        public var secret: String?
        public var enabled: Bool

        public init(
            url: String,
            events: String = "",
            username: String? = nil,
            password: String? = nil,
            headers: [String] = [],
            secret: String? = nil,
            enabled: Bool = true
        ) {
            self.url = url
            self.events = events
            self.username = username
            self.password = password
            self.headers = headers
            self.secret = secret
            self.enabled = enabled
        }
    }

    /// What an update changes; nil leaves a setting as it is, an empty user name removes the credentials.
    public struct Changes: Sendable {
        public var url: String?
        public var events: String?
        public var username: String?
        public var password: String?
        /// Replaces every custom header (empty: none).
        public var headers: [String]?
        /// Generates a new secret.
        public var rotateSecret: Bool
        public var secret: String?

        public init(
            url: String? = nil,
            events: String? = nil,
            username: String? = nil,
            password: String? = nil,
            headers: [String]? = nil,
            rotateSecret: Bool = false,
            secret: String? = nil
        ) {
            self.url = url
            self.events = events
            self.username = username
            self.password = password
            self.headers = headers
            self.rotateSecret = rotateSecret
            self.secret = secret
        }
    }

    /// A webhook as listed: with its namespace's name and how many of its deliveries are in each state.
    public struct Listing: Sendable {
        public var webhook: Webhook
        public var namespace: String?
        public var deliveries: [WebhookDelivery.State: Int]
    }

    /// Creates a webhook and returns it with its secret (shown once by the CLI; a receiver needs it to check
    /// signatures). The URL is checked against `webhooks.allowed_networks` first.
    public func create(
        namespace: String?,
        name: String,
        settings: Settings,
        actor: ActivityActor = .commandLine
    ) async throws -> (
        webhook: Webhook, secret: String
    ) {
        try Self.validateName(name)
        let events = try WebhookEventFilter(settings.events).description
        let headers = try WebhookHeaders.encode(settings.headers)
        _ = try await targets.check(settings.url)
        let secret = try Self.validateSecret(settings.secret) ?? WebhookSignature.generateSecret()
        let credentials = try Self.credentials(username: settings.username, password: settings.password)
        let hook = try await pool.write { transaction in
            let namespaceID = try Self.namespaceID(namespace, in: transaction)
            if try transaction.webhooks.find(namespaceID: namespaceID, name: name) != nil {
                throw WebhookError(.webhookExists, "webhook \(Self.label(namespace, name)) already exists")
            }
            var hook = try transaction.webhooks.create(
                NewWebhook(
                    namespaceID: namespaceID,
                    name: name,
                    url: settings.url,
                    username: credentials.username,
                    password: credentials.password,
                    secret: secret,
                    headers: headers,
                    events: events
                )
            )
            if !settings.enabled {
                try transaction.webhooks.setEnabled(id: hook.id, false)
                hook.enabled = false
            }
            try transaction.activities.record(
                Self.activity(
                    actor,
                    ActivityAction.webhookCreate.rawValue,
                    hook,
                    namespace: namespace,
                    details: ["url": Self.origin(settings.url), "events": Self.eventsText(events)]
                )
            )
            return hook
        }
        return (hook, secret)
    }

    /// Webhooks of `namespace`, the global ones (`namespace` nil), or all of them (`all`).
    public func list(namespace: String?, all: Bool = false) async throws -> [Listing] {
        try await pool.read { transaction in
            let hooks: [Webhook]
            if all {
                hooks = try transaction.webhooks.listAll()
            } else {
                hooks = try transaction.webhooks.list(namespaceID: try Self.namespaceID(namespace, in: transaction))
            }
            var names: [Int64: String] = [:]
            return try hooks.map { hook in
                var namespaceName: String?
                if let id = hook.namespaceID {
                    if names[id] == nil { names[id] = try transaction.namespaces.find(id: id)?.name }
                    namespaceName = names[id]
                }
                return Listing(webhook: hook, namespace: namespaceName, deliveries: try transaction.webhooks.deliveryCounts(webhookID: hook.id))
            }
        }
    }

    /// Changes a webhook's settings; returns it, with the new secret when one was generated or given.
    public func update(
        namespace: String?,
        name: String,
        changes: Changes,
        actor: ActivityActor = .commandLine
    ) async throws -> (
        webhook: Webhook, secret: String?
    ) {
        if let url = changes.url { _ = try await targets.check(url) }
        let events = try changes.events.map { try WebhookEventFilter($0).description }
        let headers = try changes.headers.map { try WebhookHeaders.encode($0) }
        let given = try Self.validateSecret(changes.secret)
        let secret = given ?? (changes.rotateSecret ? WebhookSignature.generateSecret() : nil)
        return try await pool.write { transaction in
            var hook = try Self.webhook(namespace, name, in: transaction)
            var changed: [String] = []
            if let url = changes.url, url != hook.url {
                hook.url = url
                changed.append("url")
            }
            if let events, events != hook.events {
                hook.events = events
                changed.append("events")
            }
            if let headers, headers != hook.headers {
                hook.headers = headers
                changed.append("headers")
            }
            if changes.username == "" {
                if hook.username != nil { changed.append("credentials") }
                (hook.username, hook.password) = (nil, nil)
            } else if changes.username != nil || changes.password != nil {
                (hook.username, hook.password) = try Self.credentials(
                    username: changes.username ?? hook.username,
                    password: changes.password ?? hook.password
                )
                changed.append("credentials")
            }
            if let secret {
                hook.secret = secret
                changed.append("secret")
            }
            guard !changed.isEmpty else { return (hook, nil) }
            try transaction.webhooks.update(hook)
            try transaction.activities.record(
                Self.activity(
                    actor,
                    ActivityAction.webhookUpdate.rawValue,
                    hook,
                    namespace: namespace,
                    details: ["changed": changed.joined(separator: ",")]
                )
            )
            return (try transaction.webhooks.find(id: hook.id) ?? hook, secret)
        }
    }

    /// Deletes a webhook with its queue and delivery log.
    public func delete(namespace: String?, name: String, actor: ActivityActor = .commandLine) async throws {
        try await pool.write { transaction in
            let hook = try Self.webhook(namespace, name, in: transaction)
            try transaction.webhooks.delete(id: hook.id)
            try transaction.activities.record(
                Self.activity(actor, ActivityAction.webhookDelete.rawValue, hook, namespace: namespace, details: ["url": Self.origin(hook.url)])
            )
        }
    }

    /// Enables or disables a webhook. A disabled webhook gets no new deliveries, and its queued ones wait until
    /// it is enabled again.
    public func setEnabled(namespace: String?, name: String, _ enabled: Bool, actor: ActivityActor = .commandLine) async throws {
        try await pool.write { transaction in
            let hook = try Self.webhook(namespace, name, in: transaction)
            guard hook.enabled != enabled else { return }
            try transaction.webhooks.setEnabled(id: hook.id, enabled)
            try transaction.activities.record(
                Self.activity(actor, (enabled ? ActivityAction.webhookEnable : .webhookDisable).rawValue, hook, namespace: namespace, details: [:])
            )
        }
    }

    /// A webhook's deliveries, newest first, each with its attempts.
    public func deliveries(namespace: String?, name: String, limit: Int = 20) async throws -> [(WebhookDelivery, [WebhookAttempt])] {
        try await pool.read { transaction in
            let hook = try Self.webhook(namespace, name, in: transaction)
            return try transaction.webhooks.deliveries(webhookID: hook.id, limit: limit).map {
                ($0, try transaction.webhooks.attempts(deliveryID: $0.id))
            }
        }
    }

    /// Queues delivery `id`'s body again as a new delivery, due at once (its webhook's log keeps the old one).
    /// `id` is the number `deliveries` lists, or the delivery's uuid.
    public func resend(delivery id: String) async throws -> WebhookDelivery {
        try await pool.write { transaction in
            let original = try Int64(id).flatMap { try transaction.webhooks.delivery(id: $0) } ?? transaction.webhooks.delivery(uuid: id)
            guard let original, let copy = try transaction.webhooks.resend(id: original.id) else {
                throw WebhookError(.unknownDelivery, "unknown webhook delivery \(id)")
            }
            return copy
        }
    }

    /// Sends a `ping` envelope to the webhook now, from this process, and logs it as a delivery with one attempt
    /// (not tried again: a test says how the endpoint answers now). Throws ``WebhookError/Code/deliveryFailed``
    /// with the reason when it was not delivered; the attempt is in the log either way.
    @discardableResult
    public func test(namespace: String?, name: String, actor: ActivityActor = .commandLine) async throws -> (WebhookDelivery, WebhookAttempt) {
        let body = WebhookEnvelope.ping(actor: actor.name, source: source).body()
        let lease = Double(timeout.components.seconds) * 2 + 5
        let (hook, delivery) = try await pool.write { transaction in
            let hook = try Self.webhook(namespace, name, in: transaction)
            let claimed = Date().addingTimeInterval(lease)
            return (hook, try transaction.webhooks.enqueue(webhookID: hook.id, event: "ping", body: body, claimedUntil: claimed))
        }
        let outcome = try await WebhookSender.withSender(targets: targets, timeout: timeout) { await $0.send(delivery, to: hook) }
        let attempt = try await pool.write { transaction in
            try transaction.webhooks.recordAttempt(deliveryID: delivery.id, outcome.attempt)
            if outcome.delivered {
                try transaction.webhooks.markDelivered(id: delivery.id)
            } else {
                try transaction.webhooks.markFailed(id: delivery.id)
            }
            return (try transaction.webhooks.delivery(id: delivery.id) ?? delivery, try transaction.webhooks.attempts(deliveryID: delivery.id).last)
        }
        guard outcome.delivered, let last = attempt.1 else {
            throw WebhookError(.deliveryFailed, "test delivery to \(hook.url) failed: \(outcome.attempt.error ?? "no answer")")
        }
        return (attempt.0, last)
    }

    // MARK: Rules

    /// Letters, digits, `.`, `_` and `-`, 1 to 64 characters.
    static func validateName(_ name: String) throws {
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        guard (1...64).contains(name.count), name.unicodeScalars.allSatisfy(allowed.contains) else {
            throw WebhookError(.invalidValue, "invalid webhook name \(name.debugDescription): letters, digits, . _ and -, at most 64")
        }
    }

    static func validateSecret(_ secret: String?) throws -> String? {
        guard let secret else { return nil }
        guard secret.utf8.count >= 16, secret.utf8.count <= 255, !secret.contains(where: { $0.isWhitespace || $0.isNewline }) else {
            throw WebhookError(.invalidValue, "a webhook secret must be 16 to 255 bytes without spaces")
        }
        return secret
    }

    static func credentials(username: String?, password: String?) throws -> (username: String?, password: String?) {
        guard let username, !username.isEmpty else {
            if password != nil && password != "" { throw WebhookError(.invalidValue, "a webhook password needs a user name") }
            return (nil, nil)
        }
        guard !username.contains(":") else { throw WebhookError(.invalidValue, "a Basic user name must not contain a colon") }
        return (username, password)
    }

    static func namespaceID(_ namespace: String?, in transaction: Transaction) throws -> Int64? {
        guard let namespace else { return nil }
        guard let row = try transaction.namespaces.find(name: namespace) else {
            throw WebhookError(.unknownNamespace, "unknown namespace \(namespace)")
        }
        return row.id
    }

    static func webhook(_ namespace: String?, _ name: String, in transaction: Transaction) throws -> Webhook {
        guard let hook = try transaction.webhooks.find(namespaceID: try namespaceID(namespace, in: transaction), name: name) else {
            throw WebhookError(.unknownWebhook, "unknown webhook \(label(namespace, name))")
        }
        return hook
    }

    /// `namespace/name`, or `name (global)`.
    static func label(_ namespace: String?, _ name: String) -> String {
        namespace.map { "\(name) in namespace \($0)" } ?? "\(name) (global)"
    }

    static func eventsText(_ events: String) -> String { events.isEmpty ? "all" : events }

    static func activity(_ actor: ActivityActor, _ action: String, _ hook: Webhook, namespace: String?, details: [String: String]) -> NewActivity {
        let json =
            (try? JSONSerialization.data(withJSONObject: details, options: [.sortedKeys, .withoutEscapingSlashes])).map {
                String(decoding: $0, as: UTF8.self)
            } ?? "{}"
        return NewActivity(
            actorID: actor.id,
            actorName: actor.name,
            action: action,
            targetKind: "webhook",
            targetID: hook.id,
            targetName: namespace.map { "\($0)/\(hook.name)" } ?? hook.name,
            namespaceID: hook.namespaceID,
            details: json
        )
    }

    /// `scheme://host[:port]` of a webhook URL: what the audit log keeps (paths of chat webhooks are their secret).
    static func origin(_ url: String) -> String {
        guard let components = URLComponents(string: url), let scheme = components.scheme, let host = components.host else { return "(invalid URL)" }
        return "\(scheme)://\(host)" + (components.port.map { ":\($0)" } ?? "")
    }
}
