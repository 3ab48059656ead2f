import Foundation
import Logging
import Testing
import WharfCore
import WharfDatabase
import WharfStorage

@testable import WharfSync

/// The runner over a real sweep (MemoryDriver) and SQLite: a run holds the lease, is recorded, and what it
/// unlinks becomes catalogue deletes with activities and webhook deliveries; a run while another replica holds
/// the lease is refused and recorded as such; the service runs in the background.
@Suite struct GCRunnerTests {
    static func runner(_ fixture: SyncFixture) -> GCRunner {
        var logger = Logger(label: "gc-runner-tests")
        logger.logLevel = .critical
        let mirror = CatalogMirror(
            pool: fixture.pool,
            driver: fixture.driver,
            webhookSource: WebhookEnvelope.Source(addr: "test"),
            logger: logger
        )
        return GCRunner(catalog: mirror, events: EventBus(logger: logger), host: "node-a", logger: logger)
    }

    static func request(dryRun: Bool, trigger: GCRun.Trigger = .cli) -> GCRunRequest {
        GCRunRequest(trigger: trigger, requestedBy: "alice", dryRun: dryRun, untagged: true, minAge: 0)
    }

    @Test func aRealRunRecordsItselfAndAnnouncesWhatItUnlinked() async throws {
        try await SyncFixture.with { fixture in
            let (old, _) = try await fixture.image("team/app", "v1", layer: "old layer")
            // The same config: only the old manifest and its layer are left unused.
            let (new, _) = try await fixture.image("team/app", "v1", layer: "new layer")
            _ = try await fixture.pass()
            let hook = try await fixture.pool.write {
                try $0.webhooks.create(NewWebhook(namespaceID: nil, name: "all", url: "http://127.0.0.1:9/hook", secret: "s"))
            }
            let runner = Self.runner(fixture)

            let dry = try await runner.run(Self.request(dryRun: true))
            #expect(dry.run.status == .ok && dry.run.dryRun && dry.run.trigger == .cli && dry.run.requestedBy == "alice")
            #expect(dry.run.host == "node-a" && dry.run.finishedAt != nil)
            #expect(dry.run.figures.eligibleBlobs == 2 && dry.run.figures.reclaimedBlobs == 0 && dry.run.figures.untaggedManifests == 1)
            #expect(GCRunDetails(json: dry.run.details).eligibleManifests.map(\.digest) == [old])

            let real = try await runner.run(Self.request(dryRun: false))
            #expect(real.run.status == .ok && !real.run.dryRun)
            #expect(real.run.figures.reclaimedBlobs == 2 && real.run.figures.removedManifests == 1)
            #expect(real.report?.removedManifests.map(\.digest) == [old])
            #expect(GCRunDetails(json: real.run.details).removedManifests.map(\.digest) == [old])

            let (activities, deliveries, lease) = try await fixture.pool.read { transaction in
                (
                    try transaction.activities.recent(limit: 10), try transaction.webhooks.deliveries(webhookID: hook.id),
                    try transaction.gcLeases.find()
                )
            }
            let byCollector = activities.filter { $0.actorName == GCRunner.actorName }
            #expect(byCollector.map(\.action) == ["gc.run", "repository.delete"])
            #expect(byCollector.last?.targetName == "team/app@\(old)")
            #expect(byCollector.first?.targetID == real.run.id && byCollector.first?.details.contains(#""reclaimed_blobs":2"#) == true)
            #expect(deliveries.map(\.event) == ["delete"])
            #expect(deliveries.first?.requestBody.contains(old.description) == true)
            #expect(deliveries.first?.requestBody.contains(#""name":"garbage-collector""#) == true)
            // Released: free for anyone.
            #expect(lease?.holder == "")
            // The tagged image is untouched.
            #expect(try await fixture.tags("team/app")["v1"]?.digest == new.description)
        }
    }

    @Test func aRunWhileAnotherReplicaHoldsTheLeaseIsRefusedAndRecorded() async throws {
        try await SyncFixture.with { fixture in
            try await fixture.image("team/app", "v1")
            let runner = Self.runner(fixture)
            try await fixture.pool.write { try $0.gcLeases.seed() }
            #expect(try await fixture.pool.write { try $0.gcLeases.acquire(holder: "other", host: "node-b", for: 120) })
            let error = await #expect(throws: GCRunError.self) { try await runner.run(Self.request(dryRun: false, trigger: .schedule)) }
            #expect(error?.code == .busy)
            #expect(error?.message.hasPrefix("garbage collection is already running: on node-b, since ") == true)
            let refused = try #require(try await fixture.pool.read { try $0.gcRuns.find(id: error?.runID ?? 0) })
            #expect(refused.status == .busy && refused.trigger == .schedule && refused.error == error?.message && refused.finishedAt != nil)
            #expect(try await fixture.pool.read { try $0.gcLeases.holder()?.holder } == "other")

            // The other replica is done: the next run goes ahead.
            #expect(try await fixture.pool.write { try $0.gcLeases.release(holder: "other") })
            #expect(try await runner.run(Self.request(dryRun: true)).run.status == .ok)
        }
    }

    @Test func theServiceCollectsInTheBackgroundAndRefusesASecondRunMeanwhile() async throws {
        try await SyncFixture.with { fixture in
            try await fixture.image("team/app", "v1")
            let service = GCService(runner: Self.runner(fixture), schedule: nil, untagged: false, minAge: 0)
            let started = try await service.start(Self.request(dryRun: true, trigger: .api))
            #expect(started.status == .running && started.finishedAt == nil)
            // While it holds the lease (or just after, when it has already finished: then the second one runs).
            let second: GCRun.Status
            do {
                let other = try await service.start(Self.request(dryRun: true, trigger: .portal))
                second = await service.wait(for: other)?.run.status ?? .ok
            } catch let error as GCRunError {
                #expect(error.code == .busy && error.message.contains("run \(started.id) on node-a"))
                second = .busy
            }
            #expect([GCRun.Status.ok, .busy].contains(second))
            let done = await service.wait(for: started)
            let recorded = try #require(try await fixture.pool.read { try $0.gcRuns.find(id: started.id) })
            #expect(recorded.status == .ok && (done == nil || done?.run.status == .ok))
            #expect(try await fixture.pool.read { try $0.gcLeases.holder() } == nil)
        }
    }
}
