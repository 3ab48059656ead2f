import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import WharfAuth
import WharfDatabase

@testable import WharfServer

/// A namespace's webhook pages through the application `wharf serve` builds.
@Suite struct WebhookPagesTests {
    @Test func theOwnerCreatesEditsTestsAndDeletesAWebhookOthersSeeNothing() async throws {
        let quick: (inout ServerConfiguration) -> Void = { $0.webhookTimeout = .seconds(2) }
        try await withAuthServer(configure: quick) { fixture in
            let alice = PortalBrowser(client: fixture.client)
            try await alice.signIn("alice")
            #expect(try await alice.get("/n/alice/webhooks").status == .ok)
            let created = try await alice.post(
                "/n/alice/webhooks",
                [
                    ("name", "ci"), ("url", "http://127.0.0.1:9/hook"), ("events", "push"), ("events", "delete"),
                    ("headers", "X-Team: <b>blue</b>\nAuthorization: Bearer s3cret"),
                ]
            )
            #expect(created.status == .ok)
            let hook = try #require(try await fixture.pool.read { try $0.webhooks.listAll() }.first { $0.name == "ci" })
            #expect(created.text.contains(hook.secret))
            #expect(hook.events == "push,delete")
            let page = try await alice.get("/n/alice/webhooks/ci")
            #expect(page.status == .ok)
            #expect(page.text.contains("Now: Authorization, X-Team."))
            #expect(!page.text.contains("s3cret"))
            #expect(!page.text.contains(hook.secret))
            // bob manages nothing here: the namespace is not found for him, its webhooks neither.
            let bob = PortalBrowser(client: fixture.client)
            try await bob.signIn("bob")
            #expect(try await bob.get("/n/alice/webhooks").status == .notFound)
            #expect(try await bob.get("/n/alice/webhooks/ci").status == .notFound)
            // Edit: a bad URL is refused on the page; a good one is kept, the headers stay when left empty.
            let bad = try await alice.post("/n/alice/webhooks/ci", [("url", "ftp://example.com/"), ("events", "push")])
            #expect(bad.status == .unprocessableContent)
            let saved = try await alice.post("/n/alice/webhooks/ci", [("url", "http://127.0.0.1:9/other"), ("events", "push")])
            #expect(saved.status == .seeOther)
            let edited = try #require(try await fixture.pool.read { try $0.webhooks.find(id: hook.id) })
            #expect(edited.url == "http://127.0.0.1:9/other")
            #expect(edited.headers == hook.headers)
            // A test ping to a closed port fails and says so; the delivery can be sent again.
            let ping = try await alice.post("/n/alice/webhooks/ci/test")
            #expect(ping.status == .seeOther)
            let afterPing = try await alice.get("/n/alice/webhooks/ci")
            #expect(afterPing.text.contains("The test ping failed"))
            let delivery = try #require(try await fixture.pool.read { try $0.webhooks.deliveries(webhookID: hook.id, limit: 5) }.first)
            let resent = try await alice.post("/n/alice/webhooks/ci/deliveries/\(delivery.id)/resend")
            #expect(resent.status == .seeOther)
            #expect(try await fixture.pool.read { try $0.webhooks.deliveries(webhookID: hook.id, limit: 5) }.count == 2)
            // Off, then deleted.
            try await alice.post("/n/alice/webhooks/ci/enabled", [("enabled", "false")])
            #expect(try await fixture.pool.read { try $0.webhooks.find(id: hook.id) }?.enabled == false)
            try await alice.get("/n/alice/webhooks/ci")
            let deleted = try await alice.post("/n/alice/webhooks/ci/delete")
            #expect(deleted.status == .seeOther)
            #expect(try await fixture.pool.read { try $0.webhooks.find(id: hook.id) } == nil)
        }
    }

    @Test func aCSRFLessPostChangesNothing() async throws {
        try await withAuthServer { fixture in
            let alice = PortalBrowser(client: fixture.client)
            try await alice.signIn("alice")
            let response = try await alice.post("/n/alice/webhooks", [("name", "ci"), ("url", "http://127.0.0.1:9/")], csrf: .none)
            #expect(response.status == .forbidden)
            #expect(try await fixture.pool.read { try $0.webhooks.listAll() }.isEmpty)
        }
    }
}
