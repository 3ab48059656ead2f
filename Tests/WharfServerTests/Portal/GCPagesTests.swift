import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import WharfDatabase

@testable import WharfServer

/// The Garbage collection page through the application `wharf serve` builds: administrators only, CSRF-checked
/// buttons, a run started in the background and shown in words, a refusal while another replica holds the lease.
@Suite struct GCPagesTests {
    @Test func anAdministratorStartsADryRunAndReadsIt() async throws {
        let everySixHours: (inout ServerConfiguration) -> Void = { $0.gcSchedule = .seconds(6 * 3600) }
        try await withAuthServer(configure: everySixHours) { fixture in
            let alice = PortalBrowser(client: fixture.client)
            try await alice.signIn("alice")
            #expect(try await alice.get("/admin/gc").status == .forbidden)
            #expect(try await alice.post("/admin/gc/runs", [("mode", "dry")]).status == .forbidden)

            let admin = PortalBrowser(client: fixture.client)
            try await admin.signIn("admin")
            let overview = try await admin.get("/admin/gc")
            #expect(overview.status == .ok)
            #expect(overview.text.contains("Every 6 h") && overview.text.contains("No run yet"))
            #expect(overview.text.contains(#"href="/admin/gc" aria-current="page">Garbage collection</a>"#))
            // A form posted without the session's token starts nothing.
            #expect(try await admin.post("/admin/gc/runs", [("mode", "collect")], csrf: "forged").status == .forbidden)
            #expect(try await fixture.pool.read { try $0.gcRuns.list() }.isEmpty)

            let started = try await admin.post("/admin/gc/runs", [("mode", "dry")])
            #expect(started.status == .seeOther)
            let location = try #require(started.headers[.location])
            #expect(location.hasPrefix("/admin/gc/runs/"))
            let id = try #require(Int64(location.dropFirst("/admin/gc/runs/".count)))
            _ = await fixture.services.gc.wait(for: try #require(try await fixture.pool.read { try $0.gcRuns.find(id: id) }))
            let run = try #require(try await fixture.pool.read { try $0.gcRuns.find(id: id) })
            #expect(run.status == .ok && run.dryRun && run.trigger == .portal && run.requestedBy == "admin")
            let page = try await admin.get(location)
            #expect(page.status == .ok)
            #expect(page.text.contains("Dry run #\(id)") && page.text.contains("nothing (dry run)") && page.text.contains(">done<"))
            #expect(try await admin.get("/admin/gc/runs/999999").status == .notFound)
        }
    }

    @Test func aRunWhileAnotherReplicaCollectsIsRefusedInWords() async throws {
        try await withAuthServer { fixture in
            try await fixture.pool.write { try $0.gcLeases.seed() }
            #expect(try await fixture.pool.write { try $0.gcLeases.acquire(holder: "other", host: "node-b", for: 120) })
            let admin = PortalBrowser(client: fixture.client)
            try await admin.signIn("admin")
            #expect(try await admin.get("/admin/gc").text.contains("on node-b since"))
            let refused = try await admin.post("/admin/gc/runs", [("mode", "collect"), ("untagged", "on")])
            #expect(refused.status == .conflict)
            #expect(refused.text.contains("Garbage collection is already running: on node-b, since "))
            let runs = try await fixture.pool.read { try $0.gcRuns.list() }
            #expect(runs.map(\.status) == [.busy] && runs.first?.untagged == true && runs.first?.dryRun == false)
        }
    }
}
