import Foundation
import Logging
import Testing
import WharfCore
import WharfDatabase
import WharfStorage

@testable import WharfSync

/// The retention service over storage and a SQLite catalogue: two replicas running at once remove each thing once
/// between them and neither fails; immutable tags refuse a move and a delete, and a policy change applies as soon as
/// the cache is invalidated.
@Suite struct RetentionServiceTests {
    static func service(_ fixture: SyncFixture, immutability: TagImmutability? = nil) -> RetentionService {
        var logger = Logger(label: "retention-tests")
        logger.logLevel = .critical
        let manifests = ManifestIndex(driver: fixture.driver)
        return RetentionService(
            pool: fixture.pool,
            driver: fixture.driver,
            manifests: manifests,
            catalog: CatalogMirror(pool: fixture.pool, driver: fixture.driver, logger: logger),
            events: EventBus(logger: logger),
            immutability: immutability,
            logger: logger
        )
    }

    @Test func twoReplicasRunningAtOnceRemoveEachThingOnce() async throws {
        try await SyncFixture.with { fixture in
            var doomed: Set<String> = []
            for index in 0..<6 {
                let (digest, _) = try await fixture.image("team/app", "pr-\(index)", layer: "layer \(index)")
                doomed.insert(digest.description)
            }
            let (kept, _) = try await fixture.image("team/app", "main", layer: "main")
            _ = try await fixture.pass()
            try await fixture.pool.write { tx in
                let team = try tx.teams.create(name: "team")
                let namespace = try tx.namespaces.create(name: "team", kind: .team, visibility: .private, teamID: team.id)
                _ = try tx.retentionPolicies.set(namespaceID: namespace.id, RetentionPolicy(olderThanDays: 30, tagMatch: "^pr-"), updatedBy: "test")
            }
            let later = Date().addingTimeInterval(40 * 86_400)
            let first = Self.service(fixture)
            let second = Self.service(fixture)
            let dry = try await first.run(dryRun: true, now: later)
            #expect(dry.removals.count == 12 && Set(dry.removals.filter { $0.kind == .manifest }.map(\.digest)) == doomed)

            async let one = first.run(dryRun: false, now: later)
            async let two = second.run(dryRun: false, now: later)
            let reports = try await [one, two]
            // Between them everything is removed and neither fails: what one found already gone is counted, not
            // an error, and one that read the repository after the other's removals planned fewer. (Two deletes
            // of the same path at the very same moment may both report it: deleting is idempotent.)
            let made = reports.flatMap(\.removals).map { $0.tag ?? $0.digest }
            #expect(Set(made).count == 12)
            #expect(reports.allSatisfy { $0.skipped.isEmpty })
            #expect(try await ManifestIndex(driver: fixture.driver).tags(in: RepositoryName("team/app")) == ["main"])
            #expect(try await ManifestIndex(driver: fixture.driver).revisions(in: RepositoryName("team/app")) == [kept])
            #expect(try await fixture.tags("team/app").keys.sorted() == ["main"])
            // Each removal is an activity by the policy.
            let activities = try await fixture.pool.read { try $0.activities.list(limit: 100) }
            #expect(activities.filter { $0.actorName == "retention:team" }.count >= 12)
        }
    }

    @Test func immutableTagsRefuseAMoveAndADeleteUntilThePolicyChanges() async throws {
        try await SyncFixture.with { fixture in
            let (release, _) = try await fixture.image("team/app", "v1.0.0", layer: "release")
            let (other, _) = try await fixture.image("team/app", "dev", layer: "dev")
            let namespaceID = try await fixture.pool.write { tx in
                let team = try tx.teams.create(name: "team")
                return try tx.namespaces.create(name: "team", kind: .team, visibility: .private, teamID: team.id).id
            }
            let immutability = TagImmutability(pool: fixture.pool, manifests: ManifestIndex(driver: fixture.driver))
            let service = Self.service(fixture, immutability: immutability)
            try await service.set(namespace: "team", RetentionPolicy(immutable: "^v[0-9]"), by: "test")
            let name = try RepositoryName("team/app")
            let tag = try Tag("v1.0.0")

            let moved = await #expect(throws: RetentionError.self) { try await immutability.checkPush(tag: tag, digest: other, in: name) }
            #expect(moved?.code == .immutableTag)
            #expect(moved?.message.contains("v1.0.0") == true && moved?.message.contains("namespace team") == true)
            try await immutability.checkPush(tag: tag, digest: release, in: name)
            try await immutability.checkPush(tag: Tag("dev"), digest: release, in: name)
            try await immutability.checkPush(tag: Tag("v2.0.0"), digest: other, in: name)
            await #expect(throws: RetentionError.self) { try await immutability.checkDelete(.tag(tag), in: name) }
            await #expect(throws: RetentionError.self) { try await immutability.checkDelete(.digest(release), in: name) }
            await #expect(throws: RetentionError.self) { try await immutability.checkDeleteRepository(name) }
            try await immutability.checkDelete(.digest(other), in: name)

            // The policy's own change invalidates this process's cache at once.
            try await service.set(namespace: "team", RetentionPolicy(), by: "test")
            try await immutability.checkPush(tag: tag, digest: other, in: name)
            try await immutability.checkDelete(.tag(tag), in: name)
            #expect(try await fixture.pool.read { try $0.retentionPolicies.find(namespaceID: namespaceID) }?.policy.immutable == nil)
        }
    }
}
