import Foundation
import Testing
import WharfCore
import WharfDatabase

@testable import WharfSync

@Suite struct WebhookServiceTests {
    func service(_ pool: DatabasePool, allowed: [IPAddressRange]? = nil) -> WebhookService {
        WebhookService(pool: pool, targets: WebhookTargetGuard(allowedNetworks: allowed), source: .init(addr: "test"))
    }

    func actions(_ pool: DatabasePool) async throws -> [String] {
        try await pool.read { try $0.activities.recent(limit: 100) }.reversed().map { "\($0.action) \($0.targetName) \($0.details)" }
    }

    @Test func webhooksAreManagedByNameAndEveryChangeIsAnActivity() async throws {
        try await withTestDatabase { pool in
            let service = service(pool)
            _ = try await pool.write { try $0.namespaces.create(name: "team", kind: .team, visibility: .public) }
            let (hook, secret) = try await service.create(
                namespace: "team",
                name: "ci",
                settings: .init(url: "http://127.0.0.1:9/", events: "push", username: "bot", password: "pw")
            )
            #expect(secret.count == 64 && hook.secret == secret && hook.events == "push" && hook.username == "bot")
            _ = try await service.create(namespace: nil, name: "ci", settings: .init(url: "http://127.0.0.1:9/", secret: "a-secret-of-16-bytes"))
            await #expect(throws: WebhookError.self) {
                _ = try await service.create(namespace: nil, name: "ci", settings: .init(url: "http://127.0.0.1:9/"))
            }
            await #expect(throws: WebhookError.self) {
                _ = try await service.create(namespace: "nobody", name: "x", settings: .init(url: "http://127.0.0.1:9/"))
            }
            await #expect(throws: WebhookError.self) {
                _ = try await service.create(namespace: nil, name: "bad name", settings: .init(url: "http://127.0.0.1:9/"))
            }
            await #expect(throws: WebhookError.self) {
                _ = try await service.create(namespace: nil, name: "short", settings: .init(url: "http://127.0.0.1:9/", secret: "short"))
            }

            let (cleared, noSecret) = try await service.update(namespace: "team", name: "ci", changes: .init(username: ""))
            #expect(cleared.username == nil && cleared.password == nil && noSecret == nil)
            _ = try await service.update(namespace: "team", name: "ci", changes: .init(events: "push"))  // no change: no activity
            let (rotated, newSecret) = try await service.update(namespace: "team", name: "ci", changes: .init(rotateSecret: true))
            #expect(newSecret != nil && rotated.secret == newSecret && newSecret != secret)
            try await service.setEnabled(namespace: "team", name: "ci", false)
            try await service.setEnabled(namespace: "team", name: "ci", false)  // already: no activity
            #expect(try await service.list(namespace: "team").map(\.webhook.enabled) == [false])
            #expect(try await service.list(namespace: nil, all: true).map(\.namespace) == [nil, "team"])
            try await service.delete(namespace: "team", name: "ci")
            await #expect(throws: WebhookError.self) { try await service.delete(namespace: "team", name: "ci") }

            #expect(
                try await actions(pool) == [
                    #"webhook.create team/ci {"events":"push","url":"http://127.0.0.1:9"}"#,
                    #"webhook.create ci {"events":"all","url":"http://127.0.0.1:9"}"#,
                    #"webhook.update team/ci {"changed":"credentials"}"#,
                    #"webhook.update team/ci {"changed":"secret"}"#,
                    #"webhook.disable team/ci {}"#,
                    #"webhook.delete team/ci {"url":"http://127.0.0.1:9"}"#,
                ]
            )
        }
    }

    @Test func targetsOutsideTheAllowedNetworksAreRefusedAtCreateAndUpdate() async throws {
        try await withTestDatabase { pool in
            let service = service(pool, allowed: [IPAddressRange("127.0.0.0/8")!])
            do {
                _ = try await service.create(namespace: nil, name: "x", settings: .init(url: "http://192.0.2.1/hook"))
                Issue.record("a target outside the allowed networks was accepted")
            } catch let error as WebhookError {
                #expect(error.code == .targetNotAllowed && error.message.contains("192.0.2.1"))
            }
            _ = try await service.create(namespace: nil, name: "x", settings: .init(url: "http://127.0.0.1:8080/hook"))
            await #expect(throws: WebhookError.self) {
                _ = try await service.update(namespace: nil, name: "x", changes: .init(url: "http://192.0.2.1/"))
            }
            #expect(try await service.list(namespace: nil).map(\.webhook.url) == ["http://127.0.0.1:8080/hook"])
        }
    }

    @Test func aTestToADeadEndpointFailsAndIsLoggedAndAResendCopiesTheBody() async throws {
        try await withTestDatabase { pool in
            let service = WebhookService(
                pool: pool,
                targets: WebhookTargetGuard(allowedNetworks: nil),
                timeout: .seconds(2),
                source: .init(addr: "t")
            )
            _ = try await service.create(namespace: nil, name: "dead", settings: .init(url: "http://127.0.0.1:1/"))
            do {
                try await service.test(namespace: nil, name: "dead")
                Issue.record("a test to a closed port succeeded")
            } catch let error as WebhookError {
                #expect(error.code == .deliveryFailed && error.message.hasPrefix("test delivery to http://127.0.0.1:1/ failed: "))
            }
            let log = try await service.deliveries(namespace: nil, name: "dead")
            try #require(log.count == 1)
            #expect(log[0].0.state == .failed && log[0].0.event == "ping" && log[0].1.count == 1)
            let copy = try await service.resend(delivery: log[0].0.uuid)
            #expect(copy.requestBody == log[0].0.requestBody && copy.state == .pending)
            #expect(try await service.resend(delivery: "\(copy.id)").id != copy.id)
            await #expect(throws: WebhookError.self) { _ = try await service.resend(delivery: "nope") }
        }
    }
}
