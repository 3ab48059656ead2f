import Foundation
import WharfAuth
import WharfDatabase
import WharfSync

/// `/webhooks`: outgoing webhooks, global (administrators) or of a namespace (those who manage it), with their
/// delivery log. Secrets and passwords are never shown again after they are set; header values neither.
struct WebhooksAPI {
    let api: APIServices

    var handlers: [String: APIHandler] {
        [
            "listWebhooks": list, "createWebhook": create, "getWebhook": get, "updateWebhook": update, "deleteWebhook": delete,
            "testWebhook": test, "listWebhookDeliveries": deliveries, "resendWebhookDelivery": resend,
        ]
    }

    struct WebhookBody: Encodable {
        var id: Int64
        var name: String
        var namespace: String?
        var url: String
        var events: [String]
        var headers: [String]
        var username: String?
        var enabled: Bool
        var createdAt: Date
        var updatedAt: Date
        var deliveries: [String: Int]
        /// Only when it was just generated or set.
        var secret: String?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(name, forKey: .name)
            try container.encode(namespace, forKey: .namespace)
            try container.encode(url, forKey: .url)
            try container.encode(events, forKey: .events)
            try container.encode(headers, forKey: .headers)
            try container.encode(username, forKey: .username)
            try container.encode(enabled, forKey: .enabled)
            try container.encode(createdAt, forKey: .createdAt)
            try container.encode(updatedAt, forKey: .updatedAt)
            try container.encode(deliveries, forKey: .deliveries)
            try container.encodeIfPresent(secret, forKey: .secret)
        }

        enum CodingKeys: String, CodingKey {
            case id, name, namespace, url, events, headers, username, enabled, createdAt, updatedAt, deliveries, secret
        }
    }

    struct Credentials: Decodable {
        var username: String
        var password: String
    }

    struct Header: Decodable {
        var name: String
        var value: String
    }

    func list(_ request: APIRequest) async throws -> APIResponse {
        _ = try request.requireUser()
        let namespace = request.string("namespace")
        if let namespace {
            try await NamespacesAPI(api: api).requireManager(namespace, request: request)
        } else {
            try request.requireAdmin()
        }
        let listings = try await api.webhooks.list(namespace: namespace, all: namespace == nil)
        return try .items(listings.map { Self.body($0.webhook, namespace: $0.namespace, deliveries: $0.deliveries) })
    }

    struct WebhookCreate: Decodable {
        var namespace: String?
        var name: String
        var url: String
        var events: [String]?
        var headers: [Header]?
        var credentials: Credentials?
        var secret: String?
        var enabled: Bool?
    }

    func create(_ request: APIRequest) async throws -> APIResponse {
        _ = try request.requireUser()
        let body = try request.decode(WebhookCreate.self)
        try await requireManager(namespace: body.namespace, request: request)
        let settings = WebhookService.Settings(
            url: body.url,
            events: (body.events ?? []).joined(separator: ","),
            username: body.credentials?.username,
            password: body.credentials?.password,
            headers: (body.headers ?? []).map { "\($0.name): \($0.value)" },
            secret: body.secret,
            enabled: body.enabled ?? true
        )
        let created = try await api.webhooks.create(namespace: body.namespace, name: body.name, settings: settings, actor: request.caller.actor)
        var hook = Self.body(created.webhook, namespace: body.namespace, deliveries: [:])
        hook.secret = created.secret
        return try APIResponse.json(hook, status: .created).located("/api/v1/webhooks/\(created.webhook.id)")
    }

    func get(_ request: APIRequest) async throws -> APIResponse {
        let (hook, namespace) = try await find(request)
        let counts = try await api.pool.read { transaction in try transaction.webhooks.deliveryCounts(webhookID: hook.id) }
        return try .json(Self.body(hook, namespace: namespace, deliveries: counts))
    }

    struct WebhookUpdate: Decodable {
        var url: String?
        var events: [String]?
        var headers: [Header]?
        var credentials: Credentials?
        var removeCredentials: Bool?
        var secret: String?
        var rotateSecret: Bool?
        var enabled: Bool?
    }

    func update(_ request: APIRequest) async throws -> APIResponse {
        let (hook, namespace) = try await find(request)
        let body = try request.decode(WebhookUpdate.self)
        let changes = WebhookService.Changes(
            url: body.url,
            events: body.events?.joined(separator: ","),
            username: body.removeCredentials == true ? "" : body.credentials?.username,
            password: body.removeCredentials == true ? nil : body.credentials?.password,
            headers: body.headers?.map { "\($0.name): \($0.value)" },
            rotateSecret: body.rotateSecret ?? false,
            secret: body.secret
        )
        let updated = try await api.webhooks.update(namespace: namespace, name: hook.name, changes: changes, actor: request.caller.actor)
        if let enabled = body.enabled {
            try await api.webhooks.setEnabled(namespace: namespace, name: hook.name, enabled, actor: request.caller.actor)
        }
        let (stored, counts) = try await api.pool.read { transaction in
            (try transaction.webhooks.find(id: hook.id) ?? updated.webhook, try transaction.webhooks.deliveryCounts(webhookID: hook.id))
        }
        var result = Self.body(stored, namespace: namespace, deliveries: counts)
        result.secret = updated.secret
        return try .json(result)
    }

    func delete(_ request: APIRequest) async throws -> APIResponse {
        let (hook, namespace) = try await find(request)
        try await api.webhooks.delete(namespace: namespace, name: hook.name, actor: request.caller.actor)
        return .noContent
    }

    struct TestResult: Encodable {
        var delivered: Bool
        var status: Int?
        var error: String?
        var durationMilliseconds: Int64?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(delivered, forKey: .delivered)
            try container.encode(status, forKey: .status)
            try container.encode(error, forKey: .error)
            try container.encode(durationMilliseconds, forKey: .durationMilliseconds)
        }

        enum CodingKeys: String, CodingKey { case delivered, status, error, durationMilliseconds }
    }

    /// Sends a `ping` now; whether the endpoint took it is the answer (200 either way), and the attempt is logged.
    func test(_ request: APIRequest) async throws -> APIResponse {
        let (hook, namespace) = try await find(request)
        do {
            let (_, attempt) = try await api.webhooks.test(namespace: namespace, name: hook.name, actor: request.caller.actor)
            return try .json(TestResult(delivered: true, status: attempt.status, error: nil, durationMilliseconds: attempt.durationMilliseconds))
        } catch let error as WebhookError where error.code == .deliveryFailed {
            return try .json(TestResult(delivered: false, status: nil, error: error.message, durationMilliseconds: nil))
        } catch let error as DatabaseError where error.code == .invalidValue {
            // Deleted while the ping was on its way: its delivery log went with it.
            throw APIError(.webhookNotFound, "webhook \(hook.id) was deleted during the test")
        }
    }

    struct DeliveryBody: Encodable {
        struct Attempt: Encodable {
            var number: Int
            var startedAt: Date
            var durationMilliseconds: Int64
            var status: Int?
            var error: String?

            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(number, forKey: .number)
                try container.encode(startedAt, forKey: .startedAt)
                try container.encode(durationMilliseconds, forKey: .durationMilliseconds)
                try container.encode(status, forKey: .status)
                try container.encode(error, forKey: .error)
            }

            enum CodingKeys: String, CodingKey { case number, startedAt, durationMilliseconds, status, error }
        }

        var id: Int64
        var uuid: String
        var event: String
        var state: String
        var createdAt: Date
        var deliveredAt: Date?
        var nextAttemptAt: Date?
        var attempts: [Attempt]

        init(_ delivery: WebhookDelivery, attempts: [WebhookAttempt]) {
            id = delivery.id
            uuid = delivery.uuid
            event = delivery.event
            state = delivery.state.rawValue
            createdAt = delivery.createdAt
            deliveredAt = delivery.deliveredAt
            nextAttemptAt = delivery.nextAttemptAt
            self.attempts = attempts.map {
                Attempt(number: $0.number, startedAt: $0.startedAt, durationMilliseconds: $0.durationMilliseconds, status: $0.status, error: $0.error)
            }
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(uuid, forKey: .uuid)
            try container.encode(event, forKey: .event)
            try container.encode(state, forKey: .state)
            try container.encode(createdAt, forKey: .createdAt)
            try container.encode(deliveredAt, forKey: .deliveredAt)
            try container.encode(nextAttemptAt, forKey: .nextAttemptAt)
            try container.encode(attempts, forKey: .attempts)
        }

        enum CodingKeys: String, CodingKey { case id, uuid, event, state, createdAt, deliveredAt, nextAttemptAt, attempts }
    }

    func deliveries(_ request: APIRequest) async throws -> APIResponse {
        let (hook, namespace) = try await find(request)
        let limit = request.int("page_size") ?? 50
        let found = try await api.webhooks.deliveries(namespace: namespace, name: hook.name, limit: limit)
        return try .items(found.map { DeliveryBody($0.0, attempts: $0.1) })
    }

    func resend(_ request: APIRequest) async throws -> APIResponse {
        let (hook, _) = try await find(request)
        let deliveryID = Int64(request.path("delivery")) ?? 0
        let original = try await api.pool.read { transaction in try transaction.webhooks.delivery(id: deliveryID) }
        guard let original, original.webhookID == hook.id else {
            throw APIError(.deliveryNotFound, "webhook \(hook.id) has no delivery \(deliveryID)")
        }
        let copy = try await api.webhooks.resend(delivery: String(deliveryID))
        return try .json(DeliveryBody(copy, attempts: []), status: .created)
    }

    /// The webhook of the path, when the caller manages it (administrators; a namespace's managers for its
    /// webhooks); 404 otherwise, so webhook ids do not tell what exists.
    private func find(_ request: APIRequest) async throws -> (Webhook, String?) {
        _ = try request.requireUser()
        let id = Int64(request.path("id")) ?? 0
        let found = try await api.pool.read { transaction -> (Webhook, String?)? in
            guard let hook = try transaction.webhooks.find(id: id) else { return nil }
            return (hook, try hook.namespaceID.flatMap { try transaction.namespaces.find(id: $0)?.name })
        }
        guard let (hook, namespace) = found else { throw APIError(.webhookNotFound, "unknown webhook \(id)") }
        if request.caller.isAdmin { return (hook, namespace) }
        guard let namespace, (try? await NamespacesAPI(api: api).requireManager(namespace, request: request)) != nil else {
            throw APIError(.webhookNotFound, "unknown webhook \(id)")
        }
        return (hook, namespace)
    }

    private func requireManager(namespace: String?, request: APIRequest) async throws {
        guard let namespace else {
            guard request.caller.isAdmin else { throw APIError(.forbidden, "only administrators manage global webhooks") }
            return
        }
        try await NamespacesAPI(api: api).requireManager(namespace, request: request)
    }

    static func body(_ hook: Webhook, namespace: String?, deliveries: [WebhookDelivery.State: Int]) -> WebhookBody {
        WebhookBody(
            id: hook.id,
            name: hook.name,
            namespace: namespace,
            url: hook.url,
            events: hook.events.isEmpty ? WebhookEventFilter.actions.map(\.rawValue) : hook.events.split(separator: ",").map(String.init),
            headers: WebhookHeaders.decode(hook.headers).map(\.name),
            username: hook.username,
            enabled: hook.enabled,
            createdAt: hook.createdAt,
            updatedAt: hook.updatedAt,
            deliveries: Dictionary(uniqueKeysWithValues: deliveries.map { ($0.key.rawValue, $0.value) }),
            secret: nil
        )
    }
}
