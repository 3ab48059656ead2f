import Foundation
import Testing
import WharfDatabase

@testable import WharfSync

@Suite struct WebhookDispatcherTests {
    static let source = WebhookEnvelope.Source(addr: "wharf.test:5000", instanceID: "i")

    func dispatcher(_ pool: DatabasePool, bus: EventBus? = nil, policy: WebhookRetryPolicy = WebhookRetryPolicy()) -> WebhookDispatcher {
        WebhookDispatcher(
            pool: pool,
            bus: bus,
            targets: WebhookTargetGuard(allowedNetworks: nil),
            timeout: .seconds(5),
            policy: policy,
            source: Self.source,
            pollInterval: .milliseconds(200)
        )
    }

    /// Runs the dispatcher while `body` runs, then cancels it.
    func running(_ dispatcher: WebhookDispatcher, _ body: () async throws -> Void) async throws {
        let task = Task { try await dispatcher.run() }
        do {
            try await body()
            task.cancel()
            _ = try? await task.value
        } catch {
            task.cancel()
            _ = try? await task.value
            throw error
        }
    }

    func hook(
        _ pool: DatabasePool,
        _ name: String,
        namespaceID: Int64? = nil,
        url: String = "http://127.0.0.1:9/",
        events: String = ""
    )
        async throws -> Webhook
    {
        try await pool.write {
            try $0.webhooks.create(NewWebhook(namespaceID: namespaceID, name: name, url: url, secret: "secret-\(name)", events: events))
        }
    }

    /// With nothing to send, the sender waits a poll interval (200 ms here) between looks at the queue. A wait that
    /// returned at once (a wake-up stream finished by the first cancelled wait did) spun on the database.
    @Test func anIdleDispatcherWaitsBetweenLooksAtTheQueue() async throws {
        try await withTestDatabase { pool in
            _ = try await hook(pool, "idle")
            let idle = dispatcher(pool)
            try await running(idle) {
                // Once it runs (a loaded machine may take a while to start it), count its looks for 1.5 s: about
                // 8 at 200 ms each, fewer when slow, never hundreds.
                let deadline = ContinuousClock.now + .seconds(30)
                while await idle.waits == 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
                let before = await idle.waits
                try await Task.sleep(for: .seconds(1.5))
                let looks = await idle.waits - before
                #expect(before > 0, "the dispatcher never looked at the queue")
                #expect(looks <= 20, "\(looks) looks at the queue in 1.5 s")
            }
        }
    }

    @Test func anEventIsQueuedForItsNamespacesWebhooksAndTheGlobalOnesThatWantIt() async throws {
        try await withTestDatabase { pool in
            let (team, other) = try await pool.write {
                (
                    try $0.namespaces.create(name: "team", kind: .team, visibility: .public),
                    try $0.namespaces.create(name: "other", kind: .team, visibility: .public)
                )
            }
            let pushes = try await hook(pool, "pushes", namespaceID: team.id, events: "push")
            _ = try await hook(pool, "deletes", namespaceID: team.id, events: "delete")
            _ = try await hook(pool, "elsewhere", namespaceID: other.id)
            let global = try await hook(pool, "global")
            let off = try await hook(pool, "off")
            try await pool.write { try $0.webhooks.setEnabled(id: off.id, false) }
            let dispatcher = dispatcher(pool)

            #expect(await dispatcher.enqueue(RegistryEvent(action: .push, target: .init(repository: "team/app", tag: "v1"))) == 2)
            #expect(await dispatcher.enqueue(RegistryEvent(action: .pull, target: .init(repository: "alpine", tag: "3"))) == 1)
            #expect(await dispatcher.enqueue(RegistryEvent(action: .push, target: .init(repository: "nobody/app"))) == 1)
            #expect(await dispatcher.enqueue(RegistryEvent(action: .mount, target: .init(repository: "team/app", digest: "sha256:x"))) == 0)
            let queued = try await pool.read { transaction in
                (try transaction.webhooks.deliveries(webhookID: pushes.id), try transaction.webhooks.deliveries(webhookID: global.id))
            }
            #expect(queued.0.map(\.event) == ["push"])
            #expect(queued.1.map(\.event) == ["push", "pull", "push"])
            let body = try #require(queued.0.first?.requestBody)
            #expect(body.contains(#""repository":"team/app""#) && body.contains(#""instanceID":"i""#))
        }
    }

    @Test func aPublishedEventIsDeliveredSignedWithItsHeaders() async throws {
        let receiver = try await TestReceiver()
        defer { Task { await receiver.close() } }
        try await withTestDatabase { pool in
            let url = "http://127.0.0.1:\(receiver.port)/hook"
            let hook = try await pool.write {
                try $0.webhooks.create(
                    NewWebhook(
                        namespaceID: nil,
                        name: "ci",
                        url: url,
                        username: "bot",
                        password: "pw",
                        secret: "s3cret",
                        headers: #"{"X-Team":"blue"}"#
                    )
                )
            }
            let bus = EventBus()
            let dispatcher = dispatcher(pool, bus: bus)
            try await running(dispatcher) {
                bus.publish(RegistryEvent(action: .push, target: .init(repository: "team/app", digest: "sha256:abc", tag: "v1")))
                let reached1 = try await eventually {
                    try await pool.read { try $0.webhooks.deliveries(webhookID: hook.id).first?.state } == .delivered
                }
                #expect(reached1)
            }
            let delivery = try #require(try await pool.read { try $0.webhooks.deliveries(webhookID: hook.id).first })
            let request = try #require(receiver.requests.first)
            #expect(receiver.requests.count == 1)
            #expect(request.head.method == .POST && request.head.uri == "/hook")
            #expect(request.body == delivery.requestBody)
            let headers = request.head.headers
            #expect(headers["Content-Type"] == [WebhookEnvelope.mediaType])
            #expect(headers[WebhookSignature.headerName] == [WebhookSignature.sign(body: request.body, secret: "s3cret")])
            #expect(headers["X-Wharf-Delivery"] == [delivery.uuid] && headers["X-Wharf-Event"] == ["push"])
            #expect(headers["Authorization"] == ["Basic " + Data("bot:pw".utf8).base64EncodedString()])
            #expect(headers["X-Team"] == ["blue"])
            let attempts = try await pool.read { try $0.webhooks.attempts(deliveryID: delivery.id) }
            #expect(attempts.map(\.status) == [200])
            #expect(attempts[0].requestHeaders.contains("Authorization: (hidden)") && !attempts[0].requestHeaders.contains("cHc"))
            #expect(attempts[0].responseHeaders.contains("X-Test: yes") && attempts[0].responseBody == "ok")
        }
    }

    @Test func aFailingEndpointIsTriedAgainUntilTheTriesAreUsedUp() async throws {
        let receiver = try await TestReceiver(statuses: [500, 502, 503, 200])
        defer { Task { await receiver.close() } }
        try await withTestDatabase { pool in
            let hook = try await hook(pool, "flaky", url: "http://127.0.0.1:\(receiver.port)/")
            let policy = WebhookRetryPolicy(initialDelay: .milliseconds(50), maximumAttempts: 3)
            let dispatcher = dispatcher(pool, policy: policy)
            #expect(await dispatcher.enqueue(RegistryEvent(action: .delete, target: .init(repository: "a/b", tag: "x"))) == 1)
            let started = ContinuousClock.now
            try await running(dispatcher) {
                let reached2 = try await eventually { try await pool.read { try $0.webhooks.deliveries(webhookID: hook.id).first?.state } == .failed }
                #expect(reached2)
            }
            // 50 ms, then 100 ms between the tries.
            #expect(ContinuousClock.now - started >= .milliseconds(150))
            let delivery = try #require(try await pool.read { try $0.webhooks.deliveries(webhookID: hook.id).first })
            #expect(delivery.attempts == 3 && delivery.responseStatus == 503 && delivery.nextAttemptAt == nil)
            let attempts = try await pool.read { try $0.webhooks.attempts(deliveryID: delivery.id) }
            #expect(attempts.map(\.status) == [500, 502, 503])
            #expect(attempts.allSatisfy { $0.error?.contains("answered") == true })
            #expect(receiver.requests.count == 3, "a failed delivery is not tried a fourth time")
        }
    }

    @Test func deliveriesQueuedBeforeTheStartAreSentAndARefusedConnectionIsAnAttempt() async throws {
        let receiver = try await TestReceiver()
        defer { Task { await receiver.close() } }
        try await withTestDatabase { pool in
            let up = try await hook(pool, "up", url: "http://127.0.0.1:\(receiver.port)/")
            let down = try await hook(pool, "down", url: "http://127.0.0.1:1/")
            try await pool.write { transaction in
                for hook in [up, down] { try transaction.webhooks.enqueue(webhookID: hook.id, event: "push", body: #"{"events":[]}"#) }
            }
            let dispatcher = dispatcher(pool, policy: WebhookRetryPolicy(initialDelay: .seconds(60)))
            try await running(dispatcher) {
                let reached3 = try await eventually {
                    try await pool.read { try $0.webhooks.deliveries(webhookID: up.id).first?.state } == .delivered
                }
                #expect(reached3)
                let reached4 = try await eventually { try await pool.read { try $0.webhooks.deliveries(webhookID: down.id).first?.attempts } == 1 }
                #expect(reached4)
            }
            let refused = try #require(try await pool.read { try $0.webhooks.deliveries(webhookID: down.id).first })
            #expect(refused.state == .pending && refused.responseStatus == nil)
            #expect(try #require(refused.nextAttemptAt) > Date().addingTimeInterval(30))
            let attempt = try #require(try await pool.read { try $0.webhooks.attempts(deliveryID: refused.id) }.first)
            #expect(attempt.status == nil && attempt.error?.isEmpty == false)
        }
    }
}
