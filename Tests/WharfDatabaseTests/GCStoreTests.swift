import Foundation
import Testing

@testable import WharfDatabase

/// Garbage collection's lease and runs on every backend: one holder at a time, renewal, takeover after expiry,
/// release; runs recorded as they start and end, listed newest first, abandoned ones marked failed.
@Suite struct GCStoreTests {
    static let t0 = Date(millisecondsSince1970: 1_800_000_000_000)

    @Test(arguments: TestBackend.allCases)
    func oneHolderAtATimeUntilReleased(_ backend: TestBackend) async throws {
        try await withDatabase(backend) { pool in
            #expect(try await pool.read { try $0.gcLeases.holder(at: Self.t0) } == nil)
            // No row yet: nothing to take until it is seeded (twice is harmless).
            #expect(try await pool.write { try $0.gcLeases.acquire(holder: "a", host: "node-a", for: 120, at: Self.t0) } == false)
            try await pool.write { try $0.gcLeases.seed() }
            try await pool.write { try $0.gcLeases.seed() }
            #expect(try await pool.read { try $0.gcLeases.find()?.isHeld(at: Self.t0) } == false)
            #expect(try await pool.write { try $0.gcLeases.acquire(holder: "a", host: "node-a", for: 120, at: Self.t0) })
            // The second holder is refused while the first holds it, and sees who holds it since when.
            #expect(
                try await pool.write { try $0.gcLeases.acquire(holder: "b", host: "node-b", for: 120, at: Self.t0.addingTimeInterval(60)) } == false
            )
            let held = try #require(try await pool.read { try $0.gcLeases.holder(at: Self.t0.addingTimeInterval(60)) })
            #expect(held.holder == "a" && held.host == "node-a" && held.acquiredAt == Self.t0 && held.expiresAt == Self.t0.addingTimeInterval(120))
            #expect(try await pool.write { try $0.gcLeases.attach(holder: "a", runID: 42) })
            #expect(try await pool.read { try $0.gcLeases.find()?.runID } == 42)
            // b cannot release or renew a's lease.
            #expect(try await pool.write { try $0.gcLeases.release(holder: "b") } == false)
            #expect(try await pool.write { try $0.gcLeases.renew(holder: "b", for: 120, at: Self.t0) } == false)
            #expect(try await pool.write { try $0.gcLeases.release(holder: "a") })
            #expect(try await pool.read { try $0.gcLeases.holder(at: Self.t0.addingTimeInterval(61)) } == nil)
            #expect(try await pool.write { try $0.gcLeases.release(holder: "a") } == false)
            #expect(try await pool.write { try $0.gcLeases.acquire(holder: "b", host: "node-b", for: 120, at: Self.t0.addingTimeInterval(61)) })
            #expect(try await pool.read { try $0.gcLeases.holder(at: Self.t0.addingTimeInterval(62))?.holder } == "b")
        }
    }

    @Test(arguments: TestBackend.allCases)
    func renewalKeepsTheLeaseAndExpiryHandsItOver(_ backend: TestBackend) async throws {
        try await withDatabase(backend) { pool in
            try await pool.write { try $0.gcLeases.seed() }
            #expect(try await pool.write { try $0.gcLeases.acquire(holder: "a", host: "node-a", for: 120, at: Self.t0) })
            // Renewed at +100 s: still a's at +200 s, past the first expiry.
            #expect(try await pool.write { try $0.gcLeases.renew(holder: "a", for: 120, at: Self.t0.addingTimeInterval(100)) })
            let renewed = try #require(try await pool.read { try $0.gcLeases.find() })
            #expect(renewed.renewedAt == Self.t0.addingTimeInterval(100) && renewed.expiresAt == Self.t0.addingTimeInterval(220))
            #expect(
                try await pool.write { try $0.gcLeases.acquire(holder: "b", host: "node-b", for: 120, at: Self.t0.addingTimeInterval(200)) } == false
            )
            // a stops renewing (it crashed): at its expiry b takes over, and a's late renewal fails.
            #expect(try await pool.read { try $0.gcLeases.holder(at: Self.t0.addingTimeInterval(220)) } == nil)
            #expect(try await pool.write { try $0.gcLeases.acquire(holder: "b", host: "node-b", for: 120, at: Self.t0.addingTimeInterval(220)) })
            #expect(try await pool.write { try $0.gcLeases.renew(holder: "a", for: 120, at: Self.t0.addingTimeInterval(221)) } == false)
            #expect(try await pool.write { try $0.gcLeases.release(holder: "a") } == false)
            #expect(try await pool.read { try $0.gcLeases.holder(at: Self.t0.addingTimeInterval(221))?.host } == "node-b")
        }
    }

    @Test(arguments: TestBackend.allCases)
    func racingHoldersGetOneLease(_ backend: TestBackend) async throws {
        try await withDatabase(backend, poolSize: 8) { pool in
            // Eight replicas race for the first lease ever (each seeds the row first, as the runner does), then
            // eight for an expired one.
            for round in 0..<2 {
                let time = Self.t0.addingTimeInterval(Double(round) * 1000)
                let winners = try await withThrowingTaskGroup(of: Bool.self) { group in
                    for index in 0..<8 {
                        group.addTask {
                            try await pool.write { try $0.gcLeases.seed() }
                            return try await pool.write { try $0.gcLeases.acquire(holder: "h\(round)-\(index)", host: "n", for: 120, at: time) }
                        }
                    }
                    return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
                }
                #expect(winners == 1, "round \(round)")
            }
        }
    }

    @Test(arguments: TestBackend.allCases)
    func runsAreRecordedAsTheyStartAndEnd(_ backend: TestBackend) async throws {
        try await withDatabase(backend) { pool in
            let new = NewGCRun(
                trigger: .api,
                requestedBy: "alice",
                dryRun: false,
                untagged: true,
                minAgeSeconds: 3600,
                host: "node-a",
                startedAt: Self.t0
            )
            let first = try await pool.write { try $0.gcRuns.start(new) }
            #expect(first.status == .running && first.finishedAt == nil && first.trigger == .api && first.requestedBy == "alice")
            #expect(first.dryRun == false && first.untagged && first.minAgeSeconds == 3600 && first.host == "node-a" && first.startedAt == Self.t0)
            #expect(first.figures == GCRunFigures() && first.details == "{}" && first.error == nil && first.duration == nil)

            var counted = GCRunFigures()
            counted.blobs = 10
            counted.bytes = 5_000_000_000
            counted.eligibleBlobs = 3
            counted.eligibleBytes = 3_000
            counted.keptBlobs = 7
            counted.keptBytes = 4_999_997_000
            counted.kept = #"[{"reason":"tagged","blobs":7,"bytes":4999997000}]"#
            counted.reclaimedBlobs = 2
            counted.reclaimedBytes = 2_000
            counted.removedManifests = 1
            counted.rescuedBlobs = 1
            counted.durationMilliseconds = 1234
            let figures = counted
            let end = Self.t0.addingTimeInterval(2)
            #expect(try await pool.write { try $0.gcRuns.finish(id: first.id, status: .ok, figures: figures, details: #"{"a":1}"#, at: end) })
            // Finished once: a second finish changes nothing.
            #expect(try await pool.write { try $0.gcRuns.finish(id: first.id, status: .failed, figures: GCRunFigures(), at: end) } == false)
            let done = try #require(try await pool.read { try $0.gcRuns.find(id: first.id) })
            #expect(done.status == .ok && done.figures == figures && done.details == #"{"a":1}"# && done.finishedAt == end && done.duration == 2)

            // A refusal is recorded finished, with who held the lease.
            var schedule = new
            schedule.trigger = .schedule
            schedule.startedAt = end
            let refused = schedule
            let busy = try await pool.write { try $0.gcRuns.start(refused, status: .busy, error: "held by node-b since 10:00") }
            #expect(busy.status == .busy && busy.finishedAt == end && busy.error == "held by node-b since 10:00")

            // A run left running by a replica that died is marked failed by the next lease holder.
            let stale = try await pool.write { try $0.gcRuns.start(new) }
            #expect(try await pool.write { try $0.gcRuns.abandonRunning(reason: "abandoned", at: end) } == 1)
            let abandoned = try #require(try await pool.read { try $0.gcRuns.find(id: stale.id) })
            #expect(abandoned.status == .failed && abandoned.error == "abandoned" && abandoned.finishedAt == end)

            #expect(try await pool.read { try $0.gcRuns.list().map(\.id) } == [stale.id, busy.id, first.id])
            #expect(try await pool.read { try $0.gcRuns.list(limit: 1, before: stale.id).map(\.id) } == [busy.id])
            #expect(try await pool.read { try $0.gcRuns.latestCompleted()?.id } == stale.id)
            #expect(try await pool.read { try $0.gcRuns.find(id: 999_999) } == nil)
        }
    }
}
