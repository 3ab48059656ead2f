import Foundation
import Testing

@testable import WharfDatabase

/// The same assertions on every backend (SQLite and a real MariaDB server), like distribution's storage driver
/// suite: a behaviour that differs between the engines is a bug.
@Suite struct StoreConformanceTests {
    @Test(arguments: TestBackend.allCases)
    func migrationsAreIdempotent(_ backend: TestBackend) async throws {
        try await withDatabase(backend) { pool in
            let again = try await pool.prepare()
            #expect(again.from == pool.latestSchemaVersion && again.to == pool.latestSchemaVersion)
            let report = try await pool.check()
            #expect(report.schemaVersion == pool.latestSchemaVersion)
            #expect(report.backend == (backend == .sqlite ? .sqlite : .mysql))
            #expect(!report.serverVersion.isEmpty)
            let rows = try await pool.read { try $0.query("SELECT version FROM schema_migrations") }
            #expect(rows.count == Migration.all.count)
        }
    }

    @Test(arguments: TestBackend.allCases)
    func usersAreCreatedFoundUpdatedAndDeleted(_ backend: TestBackend) async throws {
        try await withDatabase(backend) { pool in
            let alice = try await pool.write { try $0.users.create(NewUser(name: "alice", email: "alice@example.com", passwordHash: "$2b$12$x")) }
            #expect(alice.enabled && !alice.isAdmin && alice.lastLoginAt == nil)
            let byName = try await pool.read { try $0.users.find(name: "alice") }
            #expect(byName == alice)
            #expect(try await pool.read { try $0.users.find(email: "alice@example.com") } == alice)
            #expect(try await pool.read { try $0.users.find(name: "Alice") } == nil)

            var changed = alice
            changed.isAdmin = true
            changed.displayName = "Alice A."
            changed.lastLoginAt = Date(millisecondsSince1970: 1_700_000_000_123)
            try await pool.write { [changed] in try $0.users.update(changed) }
            let reread = try #require(try await pool.read { try $0.users.find(id: alice.id) })
            #expect(reread.isAdmin && reread.displayName == "Alice A." && reread.lastLoginAt == changed.lastLoginAt)

            try await pool.write { _ = try $0.users.create(NewUser(name: "bob")) }
            #expect(try await pool.read { try $0.users.list().map(\.name) } == ["alice", "bob"])
            #expect(try await pool.read { try $0.users.list(after: "alice").map(\.name) } == ["bob"])
            #expect(try await pool.read { try $0.users.count() } == 2)

            let duplicate = await expectDatabaseError(.conflict) { try await pool.write { _ = try $0.users.create(NewUser(name: "alice")) } }
            #expect(duplicate?.message == "a user named alice or with email - already exists")
            await expectDatabaseError(.conflict) {
                try await pool.write { _ = try $0.users.create(NewUser(name: "carol", email: "alice@example.com")) }
            }
            #expect(try await pool.write { try $0.users.delete(id: alice.id) })
            #expect(try await pool.read { try $0.users.find(name: "alice") } == nil)
            #expect(try await pool.write { try $0.users.delete(id: alice.id) } == false)
        }
    }

    @Test(arguments: TestBackend.allCases)
    func teamsHaveMembersWithRoles(_ backend: TestBackend) async throws {
        try await withDatabase(backend) { pool in
            let (team, alice, bob) = try await pool.write { tx in
                (
                    try tx.teams.create(name: "devs", description: "Developers"), try tx.users.create(NewUser(name: "alice")),
                    try tx.users.create(NewUser(name: "bob"))
                )
            }
            try await pool.write { tx in
                try tx.teams.setMember(teamID: team.id, userID: alice.id, role: .owner)
                try tx.teams.setMember(teamID: team.id, userID: bob.id, role: .viewer)
                try tx.teams.setMember(teamID: team.id, userID: bob.id, role: .contributor)
            }
            let members = try await pool.read { try $0.teams.members(teamID: team.id) }
            #expect(members.map(\.userName) == ["alice", "bob"])
            #expect(members.map(\.role) == [.owner, .contributor])
            #expect(try await pool.read { try $0.teams.role(teamID: team.id, userID: bob.id) } == .contributor)
            let memberships = try await pool.read { try $0.teams.memberships(userID: alice.id) }
            #expect(memberships.map(\.team.name) == ["devs"] && memberships.map(\.role) == [.owner])

            try await pool.write { _ = try $0.teams.create(name: "alice", isHidden: true) }
            #expect(try await pool.read { try $0.teams.list().map(\.name) } == ["devs"])
            #expect(try await pool.read { try $0.teams.list(includeHidden: true).map(\.name) } == ["alice", "devs"])
            await expectDatabaseError(.conflict) { try await pool.write { _ = try $0.teams.create(name: "devs") } }
            try await pool.write { try $0.teams.update(id: team.id, name: "developers", description: "") }
            #expect(try await pool.read { try $0.teams.find(name: "developers")?.id } == team.id)

            #expect(try await pool.write { try $0.teams.removeMember(teamID: team.id, userID: bob.id) })
            try await pool.write { _ = try $0.users.delete(id: alice.id) }
            #expect(try await pool.read { try $0.teams.members(teamID: team.id) }.isEmpty)
            #expect(try await pool.write { try $0.teams.delete(id: team.id) })
        }
    }

    @Test(arguments: TestBackend.allCases)
    func namespaceAccessGivesTheTeamRoleInOneLookup(_ backend: TestBackend) async throws {
        try await withDatabase(backend) { pool in
            let (team, alice, bob, namespace) = try await pool.write { tx in
                let team = try tx.teams.create(name: "qa")
                let alice = try tx.users.create(NewUser(name: "alice"))
                let bob = try tx.users.create(NewUser(name: "bob"))
                try tx.teams.setMember(teamID: team.id, userID: alice.id, role: .contributor)
                let namespace = try tx.namespaces.create(name: "qa", kind: .team, visibility: .protected, teamID: team.id, description: "QA")
                _ = try tx.namespaces.create(name: "alice", kind: .personal, visibility: .private, ownerID: alice.id)
                _ = try tx.namespaces.create(name: "library", kind: .global, visibility: .public)
                return (team, alice, bob, namespace)
            }
            let access = try #require(try await pool.read { try $0.namespaces.access(name: "qa", userID: alice.id) })
            #expect(access.namespace == namespace && access.role == .contributor)
            #expect(try await pool.read { try $0.namespaces.access(name: "qa", userID: bob.id) }?.role == nil)
            #expect(try await pool.read { try $0.namespaces.access(name: "qa", userID: nil) }?.namespace.visibility == .protected)
            #expect(try await pool.read { try $0.namespaces.access(name: "nope", userID: alice.id) } == nil)
            #expect(try await pool.read { try $0.namespaces.list().map(\.name) } == ["alice", "library", "qa"])
            #expect(try await pool.read { try $0.namespaces.list(teamID: team.id).map(\.id) } == [namespace.id])
            #expect(try await pool.read { try $0.namespaces.find(name: "alice")?.kind } == .personal)

            try await pool.write { try $0.namespaces.update(id: namespace.id, visibility: .public, description: "open") }
            #expect(try await pool.read { try $0.namespaces.find(id: namespace.id)?.visibility } == .public)
            await expectDatabaseError(.conflict) {
                try await pool.write { _ = try $0.namespaces.create(name: "qa", kind: .global, visibility: .public) }
            }
            // A team that owns a namespace cannot go (the namespace would lose its owner).
            await expectDatabaseError(.invalidValue) { try await pool.write { _ = try $0.teams.delete(id: team.id) } }
            #expect(try await pool.read { try $0.teams.find(id: team.id) } != nil)
        }
    }

    @Test(arguments: TestBackend.allCases)
    func tagsMirrorTheCatalogue(_ backend: TestBackend) async throws {
        try await withDatabase(backend) { pool in
            let (repository, alice) = try await pool.write { tx in
                // No namespace row is needed: the mirror lists whatever storage holds.
                let repository = try tx.repositories.findOrCreate(name: "team/app")
                #expect(try tx.repositories.findOrCreate(name: "team/app") == repository)
                return (repository, try tx.users.create(NewUser(name: "alice")))
            }
            #expect(repository.namespace == "team" && repository.tagCount == 0)
            let pushed = Date(millisecondsSince1970: 1_750_000_000_000)
            let amd64 = CatalogPlatform(os: "linux", architecture: "amd64", digest: "sha256:" + String(repeating: "d", count: 64), size: 10)
            let record = TagRecord(
                name: "v1",
                digest: "sha256:" + String(repeating: "a", count: 64),
                mediaType: "application/vnd.oci.image.manifest.v1+json",
                size: 1234,
                configDigest: "sha256:" + String(repeating: "c", count: 64),
                created: pushed,
                os: "linux",
                architecture: "amd64",
                pushedBy: alice.id,
                pushedByName: "alice",
                pushedAt: pushed,
                linkModified: 42
            )
            let tag = try await pool.write { try $0.tags.upsert(repositoryID: repository.id, record) }
            #expect(tag.name == "v1" && tag.size == 1234 && tag.pushedBy == alice.id && tag.pushedAt == pushed && tag.pulledAt == nil)
            #expect(tag.created == pushed && tag.os == "linux" && tag.linkModified == 42 && tag.platforms.isEmpty)

            var moved = record
            moved.digest = "sha256:" + String(repeating: "b", count: 64)
            moved.mediaType = "application/vnd.oci.image.index.v1+json"
            moved.platforms = [amd64, CatalogPlatform(os: "linux", architecture: "arm64", variant: "v8", digest: amd64.digest, size: 20)]
            let retagged = try await pool.write { [moved] in try $0.tags.upsert(repositoryID: repository.id, moved) }
            #expect(retagged.id == tag.id && retagged.digest == moved.digest && retagged.platforms == moved.platforms)
            #expect(retagged.platforms.map(\.name) == ["linux/amd64", "linux/arm64/v8"])

            try await pool.write { tx in
                for name in ["latest", "v2", "v0"] {
                    var other = record
                    other.name = name
                    _ = try tx.tags.upsert(repositoryID: repository.id, other)
                }
                try tx.tags.recordPull(repositoryID: repository.id, name: "v2")
                try tx.repositories.summarize(id: repository.id)
            }
            #expect(try await pool.read { try $0.tags.list(repositoryID: repository.id).map(\.name) } == ["latest", "v0", "v1", "v2"])
            #expect(try await pool.read { try $0.tags.list(repositoryID: repository.id, after: "latest", limit: 2).map(\.name) } == ["v0", "v1"])
            #expect(try await pool.read { try $0.tags.list(digest: record.digest).map(\.name) } == ["latest", "v0", "v2"])
            #expect(try await pool.read { try $0.tags.find(repositoryID: repository.id, name: "v2")?.pulledAt } != nil)
            // Four tags on two digests: each digest's size counts once.
            let summarized = try #require(try await pool.read { try $0.repositories.find(id: repository.id) })
            #expect(summarized.tagCount == 4 && summarized.size == 1234 + 1234 && summarized.pushedAt == pushed)
            let stamps = try await pool.read { try $0.tags.stamps() }
            #expect(stamps[repository.id]?["v1"] == TagStamp(digest: moved.digest, linkModified: 42))
            #expect(try await pool.write { try $0.tags.delete(repositoryID: repository.id, digest: record.digest) } == 3)
            #expect(try await pool.read { try $0.tags.count(repositoryID: repository.id) } == 1)

            // Removing the pusher keeps the tag and the pusher's name; removing the repository removes its tags.
            try await pool.write { _ = try $0.users.delete(id: alice.id) }
            let orphan = try await pool.read { try $0.tags.find(repositoryID: repository.id, name: "v1") }
            #expect(orphan?.pushedBy == nil && orphan?.pushedByName == "alice")
            try await pool.write { try $0.repositories.update(id: repository.id, description: "the app") }
            #expect(try await pool.read { try $0.repositories.find(name: "team/app")?.description } == "the app")
            #expect(try await pool.read { try $0.repositories.list(namespace: "team").map(\.name) } == ["team/app"])
            #expect(try await pool.write { try $0.repositories.delete(id: repository.id) })
            let movedDigest = moved.digest
            #expect(try await pool.read { try $0.tags.list(digest: movedDigest) }.isEmpty)
        }
    }

    /// A sync pass writes over a row only when it saw a newer link than the one the row was written from.
    @Test(arguments: TestBackend.allCases)
    func aSyncWriteNeverReplacesANewerRow(_ backend: TestBackend) async throws {
        try await withDatabase(backend) { pool in
            let pushed = TagRecord(
                name: "v1",
                digest: "sha256:" + String(repeating: "a", count: 64),
                mediaType: "application/vnd.oci.image.manifest.v1+json",
                size: 10,
                pushedByName: "alice",
                linkModified: 200
            )
            var older = pushed
            older.digest = "sha256:" + String(repeating: "b", count: 64)
            older.pushedByName = nil
            older.linkModified = 100
            var newer = older
            newer.linkModified = 300
            let id = try await pool.write { [older] tx in
                let repository = try tx.repositories.findOrCreate(name: "team/app")
                try tx.tags.write(repositoryID: repository.id, pushed)
                try tx.tags.write(repositoryID: repository.id, older, onlyIfNewer: true)
                return repository.id
            }
            let kept = try #require(try await pool.read { try $0.tags.find(repositoryID: id, name: "v1") })
            #expect(kept.digest == pushed.digest && kept.pushedByName == "alice" && kept.linkModified == 200)
            try await pool.write { [newer] tx in
                try tx.tags.setLinkModified(repositoryID: id, name: "v1", 150)
                try tx.tags.write(repositoryID: id, newer, onlyIfNewer: true)
            }
            let moved = try #require(try await pool.read { try $0.tags.find(repositoryID: id, name: "v1") })
            #expect(moved.digest == newer.digest && moved.pushedByName == nil && moved.linkModified == 300)
        }
    }

    /// A push updates the repository's summary from its one tag; the result is what a full recount gives.
    @Test(arguments: TestBackend.allCases)
    func aPushCountsItsTagAsARecountWould(_ backend: TestBackend) async throws {
        try await withDatabase(backend) { pool in
            let d1 = "sha256:" + String(repeating: "1", count: 64)
            let d2 = "sha256:" + String(repeating: "2", count: 64)
            let steps: [(tag: String, digest: String, size: Int64, count: Int, total: Int64)] = [
                ("a", d1, 10, 1, 10), ("b", d1, 10, 2, 10), ("a", d2, 20, 2, 30), ("b", d2, 20, 2, 20), ("b", d2, 20, 2, 20),
            ]
            let id = try await pool.write { try $0.repositories.findOrCreate(name: "team/app").id }
            for step in steps {
                let summary = try await pool.write { tx in
                    let previous = try tx.tags.find(repositoryID: id, name: step.tag)
                    let tagged = try tx.repositories.isTagged(id: id, digest: step.digest)
                    let record = TagRecord(
                        name: step.tag,
                        digest: step.digest,
                        mediaType: "application/vnd.oci.image.manifest.v1+json",
                        size: step.size
                    )
                    try tx.tags.write(repositoryID: id, record)
                    try tx.repositories.tagWritten(
                        id: id,
                        digest: step.digest,
                        size: step.size,
                        pushedAt: Date(),
                        previous: previous,
                        digestWasTagged: tagged
                    )
                    return try tx.repositories.find(id: id)!
                }
                #expect(summary.tagCount == step.count && summary.size == step.total, "after \(step.tag) -> \(step.digest.suffix(1))")
                let recounted = try await pool.write { tx in
                    try tx.repositories.summarize(id: id)
                    return try tx.repositories.find(id: id)!
                }
                #expect(recounted.tagCount == summary.tagCount && recounted.size == summary.size)
            }
        }
    }

    @Test(arguments: TestBackend.allCases)
    func repositoriesListInTreeOrder(_ backend: TestBackend) async throws {
        try await withDatabase(backend) { pool in
            try await pool.write { tx in
                for name in ["a-c", "a/b", "b", "a", "a/b/c", "a.d"] { try tx.repositories.findOrCreate(name: name) }
            }
            // The order of a walk of the folders (and of distribution's catalogue): a folder's content comes
            // right after it.
            #expect(try await pool.read { try $0.repositories.names() } == ["a", "a/b", "a/b/c", "a-c", "a.d", "b"])
            #expect(try await pool.read { try $0.repositories.names(after: "a/b", limit: 2) } == ["a/b/c", "a-c"])
            #expect(try await pool.read { try $0.repositories.list(namespace: "").map(\.name) } == ["a", "a-c", "a.d", "b"])
            #expect(try await pool.read { try $0.repositories.allIDs().count } == 6)
        }
    }

    @Test(arguments: TestBackend.allCases)
    func referrersBelongToTheirSubject(_ backend: TestBackend) async throws {
        try await withDatabase(backend) { pool in
            let subject = "sha256:" + String(repeating: "a", count: 64)
            let signature = ReferrerRecord(
                subject: subject,
                digest: "sha256:" + String(repeating: "5", count: 64),
                mediaType: "application/vnd.oci.image.manifest.v1+json",
                artifactType: "application/vnd.dev.cosign.simplesigning.v1+json",
                size: 300,
                tag: "sha256-" + String(repeating: "a", count: 64) + ".sig"
            )
            let sbom = ReferrerRecord(
                subject: subject,
                digest: "sha256:" + String(repeating: "6", count: 64),
                mediaType: "application/vnd.oci.image.manifest.v1+json",
                artifactType: "application/spdx+json",
                size: 400
            )
            let repository = try await pool.write { tx in
                let repository = try tx.repositories.findOrCreate(name: "team/app")
                try tx.referrers.add(repositoryID: repository.id, signature)
                try tx.referrers.add(repositoryID: repository.id, sbom)
                try tx.referrers.add(repositoryID: repository.id, sbom)
                return repository
            }
            #expect(try await pool.read { try $0.referrers.list(repositoryID: repository.id, subjects: [subject]).count } == 2)
            #expect(try await pool.write { try $0.referrers.delete(repositoryID: repository.id, tag: signature.tag!) } == 1)
            try await pool.write { try $0.referrers.replace(repositoryID: repository.id, with: [signature]) }
            #expect(try await pool.read { try $0.referrers.list(repositoryID: repository.id).map(\.digest) } == [signature.digest])
            try await pool.write { _ = try $0.repositories.delete(id: repository.id) }
            #expect(try await pool.read { try $0.referrers.list(repositoryID: repository.id) }.isEmpty)
        }
    }

    @Test(arguments: TestBackend.allCases)
    func activitiesAreListedNewestFirst(_ backend: TestBackend) async throws {
        try await withDatabase(backend) { pool in
            let alice = try await pool.write { try $0.users.create(NewUser(name: "alice")) }
            let base = Date(millisecondsSince1970: 1_760_000_000_000)
            let ids = try await pool.write { tx in
                try (0..<5).map { index in
                    try tx.activities.record(
                        NewActivity(
                            actorID: index.isMultiple(of: 2) ? alice.id : nil,
                            actorName: index.isMultiple(of: 2) ? "alice" : "anonymous",
                            action: "repository.push",
                            targetKind: "tag",
                            targetName: "team/app:v\(index)",
                            namespaceID: index < 3 ? 7 : 8,
                            details: #"{"size":\#(index)}"#,
                            createdAt: base.addingTimeInterval(Double(index))
                        )
                    )
                }
            }
            let recent = try await pool.read { try $0.activities.recent() }
            #expect(recent.map(\.id) == ids.reversed())
            #expect(recent.first?.createdAt == base.addingTimeInterval(4) && recent.first?.details == #"{"size":4}"#)
            #expect(
                try await pool.read { try $0.activities.recent(namespaceID: 7).map(\.targetName) } == ["team/app:v2", "team/app:v1", "team/app:v0"]
            )
            #expect(try await pool.read { try $0.activities.recent(actorID: alice.id).count } == 3)
            #expect(try await pool.read { try $0.activities.recent(beforeID: ids[2], limit: 1).map(\.id) } == [ids[1]])
            try await pool.write { _ = try $0.users.delete(id: alice.id) }
            #expect(try await pool.read { try $0.activities.recent().first?.actorName } == "alice")
            #expect(try await pool.write { try $0.activities.prune(before: base.addingTimeInterval(2)) } == 2)
        }
    }

    /// The filters of `wharf activity list`, alone and together, and paging through them: a page starts after the
    /// last activity of the previous one, even one recorded later by a server whose clock is behind.
    @Test(arguments: TestBackend.allCases)
    func activitiesAreFilteredByTimeActionNamespaceAndActor(_ backend: TestBackend) async throws {
        try await withDatabase(backend) { pool in
            let alice = try await pool.write { try $0.users.create(NewUser(name: "alice")) }
            let base = Date(millisecondsSince1970: 1_760_000_000_000)
            // Seconds after `base`, by alice (else cli), action, namespace; in the order they are recorded.
            let rows: [(Double, Bool, String, Int64?)] = [
                (0, true, "team.create", nil), (1, false, "team.member.add", nil), (2, true, "namespace.create", 7),
                (3, false, "teams.other", nil),  // not of the family `team`
                (4, true, "team", nil),  // the family's own name
                (5, false, "namespace.visibility.change", 7),
                (4.5, true, "namespace.delete", 7),  // a later id with an earlier time
                (6, false, "TEAM.create", nil),  // case counts on both engines
            ]
            _ = try await pool.write { tx in
                try rows.map { seconds, byAlice, action, namespaceID in
                    try tx.activities.record(
                        NewActivity(
                            actorID: byAlice ? alice.id : nil,
                            actorName: byAlice ? "alice" : "cli",
                            action: action,
                            targetKind: "test",
                            targetName: action,
                            namespaceID: namespaceID,
                            createdAt: base.addingTimeInterval(seconds)
                        )
                    )
                }
            }
            func actions(_ filter: ActivityFilter) async throws -> [String] {
                try await pool.read { try $0.activities.list(filter) }.map(\.action)
            }
            let newestFirst = [
                "TEAM.create", "namespace.visibility.change", "namespace.delete", "team", "teams.other", "namespace.create", "team.member.add",
                "team.create",
            ]
            #expect(try await actions(ActivityFilter()) == newestFirst)
            #expect(try await actions(ActivityFilter(since: base.addingTimeInterval(4.5))) == Array(newestFirst[0..<3]))
            #expect(try await actions(ActivityFilter(until: base.addingTimeInterval(2))) == ["team.member.add", "team.create"])
            #expect(
                try await actions(ActivityFilter(since: base.addingTimeInterval(2), until: base.addingTimeInterval(5)))
                    == ["namespace.delete", "team", "teams.other", "namespace.create"]
            )
            #expect(try await actions(ActivityFilter(action: "team")) == ["team", "team.member.add", "team.create"])
            #expect(try await actions(ActivityFilter(action: "team.")) == ["team", "team.member.add", "team.create"])
            #expect(try await actions(ActivityFilter(action: "team.member")) == ["team.member.add"])
            #expect(try await actions(ActivityFilter(action: "team.mem")).isEmpty)
            #expect(
                try await actions(ActivityFilter(action: "namespace")) == ["namespace.visibility.change", "namespace.delete", "namespace.create"]
            )
            #expect(
                try await actions(ActivityFilter(since: base.addingTimeInterval(3), namespaceID: 7)) == [
                    "namespace.visibility.change", "namespace.delete",
                ]
            )
            #expect(try await actions(ActivityFilter(actorID: alice.id)) == ["namespace.delete", "team", "namespace.create", "team.create"])
            #expect(try await actions(ActivityFilter(action: "namespace", actorID: alice.id)) == ["namespace.delete", "namespace.create"])
            #expect(
                try await actions(ActivityFilter(actorName: "cli")) == [
                    "TEAM.create", "namespace.visibility.change", "teams.other", "team.member.add",
                ]
            )
            #expect(try await actions(ActivityFilter(namespaceID: 8)).isEmpty)

            // Pages of every size give the whole listing once, in order, the late-recorded activity included.
            for size in 1...4 {
                for filter in [
                    ActivityFilter(), ActivityFilter(namespaceID: 7), ActivityFilter(since: base.addingTimeInterval(1), action: "namespace"),
                ] {
                    let whole = try await pool.read { try $0.activities.list(filter) }
                    var paged: [Activity] = []
                    while true {
                        let last = paged.last?.id
                        let page = try await pool.read { try $0.activities.list(filter, beforeID: last, limit: size) }
                        paged += page
                        if page.count < size { break }
                    }
                    #expect(paged.map(\.id) == whole.map(\.id), "pages of \(size), \(filter)")
                }
            }
        }
    }

    /// A listing reads an index in the order it prints and stops at its limit, whatever the filters: no sort of the
    /// matching rows (SQLite's planner does not depend on the table's contents, so its plan is asserted here).
    @Test func activityListingsReadAnIndexInOrder() async throws {
        try await withDatabase(.sqlite) { pool in
            let time = Date(millisecondsSince1970: 1_760_000_000_000)
            let filters = [
                ActivityFilter(), ActivityFilter(since: time, until: time.addingTimeInterval(60)), ActivityFilter(action: "team"),
                ActivityFilter(since: time, namespaceID: 7), ActivityFilter(actorID: 1), ActivityFilter(action: "user", actorName: "cli"),
                ActivityFilter(until: time, namespaceID: 7, actorID: 1),
            ]
            for filter in filters {
                for page in [nil, ActivityStore.Page.after(time: time, id: 9), .belowID(9)] {
                    let query = ActivityStore.listQuery(filter, page: page, limit: 10)
                    let plan = try await pool.read { tx in
                        try tx.query("EXPLAIN QUERY PLAN " + query.sql, query.binds).map { row -> String in try row.decode("detail") }
                    }
                    #expect(!plan.contains { $0.contains("TEMP B-TREE") }, "\(filter) \(String(describing: page)): \(plan)")
                    #expect(plan.contains { $0.contains("INDEX activities_") }, "\(filter) \(String(describing: page)): \(plan)")
                }
            }
        }
    }

    @Test(arguments: TestBackend.allCases)
    func applicationTokensAreFoundByHash(_ backend: TestBackend) async throws {
        try await withDatabase(backend) { pool in
            let alice = try await pool.write { try $0.users.create(NewUser(name: "alice")) }
            let token = try await pool.write { try $0.tokens.create(userID: alice.id, application: "ci", tokenHash: "hash-1") }
            let found = try #require(try await pool.read { try $0.tokens.find(hash: "hash-1") })
            #expect(found.token == token && found.user == alice)
            #expect(try await pool.read { try $0.tokens.find(hash: "hash-2") } == nil)
            await expectDatabaseError(.conflict) {
                try await pool.write { _ = try $0.tokens.create(userID: alice.id, application: "ci", tokenHash: "hash-2") }
            }
            await expectDatabaseError(.conflict) {
                try await pool.write { _ = try $0.tokens.create(userID: alice.id, application: "cd", tokenHash: "hash-1") }
            }
            try await pool.write { try $0.tokens.recordUse(id: token.id) }
            #expect(try await pool.read { try $0.tokens.list(userID: alice.id).first?.lastUsedAt } != nil)
            try await pool.write { _ = try $0.users.delete(id: alice.id) }
            #expect(try await pool.read { try $0.tokens.find(hash: "hash-1") } == nil)
        }
    }

    @Test(arguments: TestBackend.allCases)
    func webhooksBelongToANamespaceOrToAll(_ backend: TestBackend) async throws {
        try await withDatabase(backend) { pool in
            let namespace = try await pool.write { try $0.namespaces.create(name: "team", kind: .team, visibility: .public) }
            let hook = try await pool.write {
                try $0.webhooks.create(
                    NewWebhook(
                        namespaceID: namespace.id,
                        name: "ci",
                        url: "https://hooks.example.com/x?a=1&b=2",
                        username: "u",
                        password: "p",
                        secret: "s",
                        events: "push"
                    )
                )
            }
            let global = try await pool.write {
                try $0.webhooks.create(NewWebhook(namespaceID: nil, name: "audit", url: "http://127.0.0.1:9/", secret: "t"))
            }
            #expect(hook.enabled && hook.events == "push" && global.namespaceID == nil)
            await expectDatabaseError(.conflict) {
                try await pool.write { _ = try $0.webhooks.create(NewWebhook(namespaceID: namespace.id, name: "ci", url: "http://x/", secret: "s")) }
            }
            #expect(try await pool.read { try $0.webhooks.listEnabled(namespaceID: namespace.id).map(\.name) } == ["ci", "audit"])
            #expect(try await pool.read { try $0.webhooks.listEnabled(namespaceID: nil).map(\.name) } == ["audit"])
            try await pool.write { try $0.webhooks.setEnabled(id: hook.id, false) }
            #expect(try await pool.read { try $0.webhooks.list(namespaceID: namespace.id).map(\.enabled) } == [false])
            #expect(try await pool.read { try $0.webhooks.list(namespaceID: nil).map(\.name) } == ["audit"])
            try await pool.write { _ = try $0.namespaces.delete(id: namespace.id) }
            #expect(try await pool.read { try $0.webhooks.find(id: hook.id) } == nil)
        }
    }

    @Test(arguments: TestBackend.allCases)
    func webhookDeliveriesAreAQueueWithClaimsAndALog(_ backend: TestBackend) async throws {
        try await withDatabase(backend) { pool in
            let (busy, quiet) = try await pool.write { tx in
                (
                    try tx.webhooks.create(NewWebhook(namespaceID: nil, name: "busy", url: "http://127.0.0.1:9/", secret: "s")),
                    try tx.webhooks.create(NewWebhook(namespaceID: nil, name: "quiet", url: "http://127.0.0.1:9/", secret: "s"))
                )
            }
            let start = Date()
            // Five deliveries of one webhook, then one of another: the other is still among the due ones.
            for n in 0..<5 { _ = try await pool.write { try $0.webhooks.enqueue(webhookID: busy.id, event: "push", body: "{\"n\":\(n)}") } }
            let other = try await pool.write { try $0.webhooks.enqueue(webhookID: quiet.id, event: "delete", body: "{}") }
            let later = try await pool.write {
                try $0.webhooks.enqueue(webhookID: quiet.id, event: "push", body: "{}", dueAt: start.addingTimeInterval(3600))
            }
            #expect(other.state == .pending && other.attempts == 0 && other.deliveredAt == nil)
            // After every enqueue (each is due when written), however slow the machine.
            let now = Date().addingTimeInterval(1)
            let due = try await pool.read { try $0.webhooks.due(now: now, perWebhook: 2) }
            #expect(due.map(\.0.name) == ["busy", "busy", "quiet"])
            #expect(due.map(\.1.requestBody).prefix(2) == [#"{"n":0}"#, #"{"n":1}"#])
            #expect(try await pool.read { try $0.webhooks.due(now: now, perWebhook: 2, excluding: [busy.id]).map(\.1.id) } == [other.id])
            #expect(try await pool.read { try $0.webhooks.due(now: now, perWebhook: 10, limit: 3).count } == 3)

            // A claim takes a delivery out of the due ones until its lease ends; a second claim fails.
            let first = due[0].1
            #expect(try await pool.write { try $0.webhooks.claim(id: first.id, now: now, until: now.addingTimeInterval(30)) })
            #expect(try await pool.write { try $0.webhooks.claim(id: first.id, now: now, until: now.addingTimeInterval(30)) } == false)
            #expect(try await pool.read { try $0.webhooks.due(now: now, perWebhook: 10).map(\.1.id) }.contains(first.id) == false)
            #expect(try await pool.read { try $0.webhooks.due(now: now.addingTimeInterval(31), perWebhook: 10).map(\.1.id) }.contains(first.id))
            #expect(try await pool.read { try $0.webhooks.delivery(id: first.id)?.state } == .sending)

            // Attempts are numbered and counted; the last status is kept; long texts are cut at 64 KiB.
            let long = String(repeating: "é", count: WebhookAttempt.maximumLoggedBytes)
            let attempt = NewWebhookAttempt(startedAt: now, duration: .milliseconds(1500), status: 500, requestHeaders: "A: b", responseBody: long)
            #expect(try await pool.write { try $0.webhooks.recordAttempt(deliveryID: first.id, attempt) } == 1)
            try await pool.write { try $0.webhooks.scheduleRetry(id: first.id, at: now.addingTimeInterval(2)) }
            let failed = NewWebhookAttempt(startedAt: now, duration: .zero, status: nil, error: "connection refused")
            #expect(try await pool.write { try $0.webhooks.recordAttempt(deliveryID: first.id, failed) } == 2)
            let retried = try #require(try await pool.read { try $0.webhooks.delivery(id: first.id) })
            #expect(retried.state == .pending && retried.attempts == 2 && retried.responseStatus == 500)
            #expect(retried.nextAttemptAt == Date(millisecondsSince1970: now.addingTimeInterval(2).millisecondsSince1970))
            let log = try await pool.read { try $0.webhooks.attempts(deliveryID: first.id) }
            #expect(log.map(\.number) == [1, 2] && log.map(\.status) == [500, nil] && log.map(\.error) == [nil, "connection refused"])
            #expect(log[0].durationMilliseconds == 1500 && log[0].requestHeaders == "A: b")
            #expect(log[0].responseBody.utf8.count == WebhookAttempt.maximumLoggedBytes && log[0].responseBody.allSatisfy { $0 == "é" })

            try await pool.write { try $0.webhooks.markDelivered(id: first.id) }
            try await pool.write { try $0.webhooks.markFailed(id: other.id) }
            let delivered = try #require(try await pool.read { try $0.webhooks.delivery(id: first.id) })
            #expect(delivered.state == .delivered && delivered.deliveredAt != nil && delivered.nextAttemptAt == nil)
            #expect(try await pool.read { try $0.webhooks.deliveryCounts(webhookID: busy.id) } == [.delivered: 1, .pending: 4])
            #expect(try await pool.read { try $0.webhooks.deliveryCounts(webhookID: quiet.id) } == [.failed: 1, .pending: 1])

            // The next due time skips excluded webhooks; a disabled webhook's deliveries wait.
            let next = try await pool.read { try $0.webhooks.nextDueDate(excluding: [busy.id]) }
            #expect(next == later.nextAttemptAt)
            try await pool.write { try $0.webhooks.setEnabled(id: busy.id, false) }
            #expect(try await pool.read { try $0.webhooks.due(now: now, perWebhook: 10) }.isEmpty)
            try await pool.write { try $0.webhooks.setEnabled(id: busy.id, true) }

            // A re-send is a new pending delivery with the same body; the original keeps its log.
            let copy = try #require(try await pool.write { try $0.webhooks.resend(id: first.id) })
            #expect(copy.id != first.id && copy.uuid != first.uuid && copy.requestBody == first.requestBody && copy.state == .pending)
            #expect(try await pool.read { try $0.webhooks.delivery(uuid: copy.uuid)?.id } == copy.id)
            #expect(try await pool.write { try $0.webhooks.resend(id: 999_999) } == nil)
            #expect(try await pool.read { try $0.webhooks.deliveries(webhookID: busy.id, limit: 2).map(\.id) }.first == copy.id)

            // A claim from the start (a test sent by the command line) is not due until its lease ends; a released
            // claim is due at once.
            let claimed = try await pool.write {
                try $0.webhooks.enqueue(webhookID: quiet.id, event: "ping", body: "{}", claimedUntil: Date().addingTimeInterval(60))
            }
            #expect(claimed.state == .sending)
            #expect(try await pool.read { try $0.webhooks.due(now: Date(), perWebhook: 10).map(\.1.id) }.contains(claimed.id) == false)
            try await pool.write { try $0.webhooks.release(id: claimed.id) }
            #expect(try await pool.read { try $0.webhooks.due(now: Date().addingTimeInterval(1), perWebhook: 10).map(\.1.id) }.contains(claimed.id))

            // Deleting a webhook deletes its queue and log.
            try await pool.write { _ = try $0.webhooks.delete(id: busy.id) }
            #expect(try await pool.read { try $0.webhooks.delivery(id: first.id) } == nil)
            #expect(try await pool.read { try $0.webhooks.attempts(deliveryID: first.id) }.isEmpty)
        }
    }

    @Test(arguments: TestBackend.allCases)
    func webhooksAreUpdatedAndFoundByName(_ backend: TestBackend) async throws {
        try await withDatabase(backend) { pool in
            let namespace = try await pool.write { try $0.namespaces.create(name: "team", kind: .team, visibility: .public) }
            var hook = try await pool.write {
                try $0.webhooks.create(NewWebhook(namespaceID: namespace.id, name: "ci", url: "http://a/", secret: "s"))
            }
            _ = try await pool.write { try $0.webhooks.create(NewWebhook(namespaceID: nil, name: "ci", url: "http://b/", secret: "t")) }
            #expect(try await pool.read { try $0.webhooks.find(namespaceID: namespace.id, name: "ci")?.url } == "http://a/")
            #expect(try await pool.read { try $0.webhooks.find(namespaceID: nil, name: "ci")?.url } == "http://b/")
            #expect(try await pool.read { try $0.webhooks.find(namespaceID: nil, name: "cd") } == nil)
            #expect(try await pool.read { try $0.webhooks.listAll().map(\.url) } == ["http://b/", "http://a/"])
            hook.url = "http://c/"
            hook.username = "u"
            hook.password = "p"
            hook.events = "push"
            hook.headers = #"{"X-A":"1"}"#
            hook.secret = "new"
            let changed = hook
            try await pool.write { try $0.webhooks.update(changed) }
            let read = try #require(try await pool.read { try $0.webhooks.find(id: changed.id) })
            #expect(read.url == "http://c/" && read.username == "u" && read.password == "p" && read.events == "push")
            #expect(read.headers == #"{"X-A":"1"}"# && read.secret == "new" && read.updatedAt >= hook.updatedAt)
            _ = try await pool.write { try $0.webhooks.create(NewWebhook(namespaceID: namespace.id, name: "cd", url: "http://d/", secret: "s")) }
            hook.name = "cd"
            let clash = hook
            await expectDatabaseError(.conflict) { try await pool.write { try $0.webhooks.update(clash) } }
        }
    }

    @Test(arguments: TestBackend.allCases)
    func starsAndComments(_ backend: TestBackend) async throws {
        try await withDatabase(backend) { pool in
            let (alice, repository) = try await pool.write { tx in
                (try tx.users.create(NewUser(name: "alice")), try tx.repositories.findOrCreate(name: "team/app"))
            }
            try await pool.write { try $0.stars.star(userID: alice.id, repositoryID: repository.id) }
            try await pool.write { try $0.stars.star(userID: alice.id, repositoryID: repository.id) }
            #expect(try await pool.read { try $0.stars.count(repositoryID: repository.id) } == 1)
            #expect(try await pool.read { try $0.repositories.find(id: repository.id)?.starCount } == 1)
            #expect(try await pool.read { try $0.stars.isStarred(userID: alice.id, repositoryID: repository.id) })
            #expect(try await pool.read { try $0.stars.repositoryIDs(userID: alice.id) } == [repository.id])
            #expect(try await pool.write { try $0.stars.unstar(userID: alice.id, repositoryID: repository.id) })
            #expect(try await pool.read { try $0.stars.isStarred(userID: alice.id, repositoryID: repository.id) } == false)

            let first = try await pool.write { try $0.comments.add(repositoryID: repository.id, userID: alice.id, body: "first") }
            _ = try await pool.write { try $0.comments.add(repositoryID: repository.id, userID: alice.id, body: "second") }
            try await pool.write { try $0.comments.edit(id: first.id, body: "first, edited") }
            #expect(try await pool.read { try $0.comments.list(repositoryID: repository.id).map(\.body) } == ["first, edited", "second"])
            #expect(try await pool.write { try $0.comments.delete(id: first.id) })
            await expectDatabaseError(.invalidValue) {
                try await pool.write { _ = try $0.comments.add(repositoryID: repository.id + 1000, userID: alice.id, body: "orphan") }
            }
        }
    }

    @Test(arguments: TestBackend.allCases)
    func sessionsExpire(_ backend: TestBackend) async throws {
        try await withDatabase(backend) { pool in
            let alice = try await pool.write { try $0.users.create(NewUser(name: "alice")) }
            let later = Date().addingTimeInterval(3600)
            let session = try await pool.write { try $0.sessions.create(id: "s-1", userID: alice.id, expiresAt: later, data: #"{"csrf":"x"}"#) }
            _ = try await pool.write { try $0.sessions.create(id: "s-2", userID: alice.id, expiresAt: Date().addingTimeInterval(-1)) }
            #expect(try await pool.read { try $0.sessions.find(id: "s-1") } == session)
            #expect(try await pool.read { try $0.sessions.find(id: "s-2") } == nil)
            #expect(try await pool.write { try $0.sessions.deleteExpired() } == 1)
            try await pool.write { try $0.sessions.touch(id: "s-1", expiresAt: later.addingTimeInterval(60)) }
            #expect(
                try await pool.read { try $0.sessions.find(id: "s-1")?.expiresAt }
                    == Date(millisecondsSince1970: later.addingTimeInterval(60).millisecondsSince1970)
            )
            await expectDatabaseError(.conflict) {
                try await pool.write { _ = try $0.sessions.create(id: "s-1", userID: alice.id, expiresAt: later) }
            }
            #expect(try await pool.write { try $0.sessions.deleteAll(userID: alice.id) } == 1)
        }
    }

    @Test(arguments: TestBackend.allCases)
    func settingsAreUpserted(_ backend: TestBackend) async throws {
        try await withDatabase(backend) { pool in
            #expect(try await pool.read { try $0.settings.value("anonymous_browsing") } == nil)
            try await pool.write { try $0.settings.set("anonymous_browsing", to: "on") }
            try await pool.write { try $0.settings.set("anonymous_browsing", to: "off") }
            try await pool.write { try $0.settings.set("motd", to: "") }
            #expect(try await pool.read { try $0.settings.all() } == ["anonymous_browsing": "off", "motd": ""])
            #expect(try await pool.write { try $0.settings.remove("motd") })
            #expect(try await pool.read { try $0.settings.value("motd") } == nil)
        }
    }

    @Test(arguments: TestBackend.allCases)
    func aTransactionCommitsOrRollsBackAsAWhole(_ backend: TestBackend) async throws {
        struct Abort: Error {}
        try await withDatabase(backend) { pool in
            await #expect(throws: Abort.self) {
                try await pool.write { tx in
                    _ = try tx.users.create(NewUser(name: "ghost"))
                    _ = try tx.teams.create(name: "ghosts")
                    throw Abort()
                }
            }
            #expect(try await pool.read { try $0.users.find(name: "ghost") } == nil)
            #expect(try await pool.read { try $0.teams.find(name: "ghosts") } == nil)

            // A failing statement inside the closure rolls back the statements before it too.
            try await pool.write { _ = try $0.users.create(NewUser(name: "alice")) }
            await expectDatabaseError(.conflict) {
                try await pool.write { tx in
                    _ = try tx.teams.create(name: "half")
                    _ = try tx.users.create(NewUser(name: "alice"))
                }
            }
            #expect(try await pool.read { try $0.teams.find(name: "half") } == nil)
            // The connection is usable afterwards.
            #expect(try await pool.read { try $0.users.count() } == 1)
        }
    }

    /// Values an attacker or a careless client may send: stored and read back byte for byte, or refused with a
    /// validation error that names the field. Never SQL.
    @Test(arguments: TestBackend.allCases)
    func hostileInputIsStoredExactlyOrRefused(_ backend: TestBackend) async throws {
        let accepted = [
            #"o'brien"#, #"say "hi""#, #"back\slash\\"#, "x'); DROP TABLE users; --", "🐳 whale 🚢 ship", "%_ wildcards", "`ticks`",
            "日本語", "Ünïcödé", String(repeating: "é", count: 127),
        ]
        try await withDatabase(backend) { pool in
            for name in accepted {
                let user = try await pool.write { try $0.users.create(NewUser(name: name, displayName: name)) }
                #expect(user.name == name)
                #expect(try await pool.read { try $0.users.find(name: name) }?.id == user.id, "lookup of \(name)")
            }
            #expect(try await pool.read { try $0.users.count() } == accepted.count)

            let texts = [
                "nul\u{0}inside", "\u{0}", String(repeating: "x", count: 64 * 1024), String(repeating: "🐳", count: 16 * 1024),
                String(repeating: "'\\\"", count: 20_000), "",
            ]
            let namespace = try await pool.write { try $0.namespaces.create(name: "ns", kind: .global, visibility: .public) }
            for text in texts {
                try await pool.write { try $0.namespaces.update(id: namespace.id, visibility: .public, description: text) }
                let stored = try await pool.read { try $0.namespaces.find(id: namespace.id)?.description }
                #expect(stored == text, "text of \(text.utf8.count) bytes")
            }

            let refused: [(String, String)] = [
                ("nul\u{0}name", "control characters"), ("tab\tname", "control characters"), ("", "must not be empty"),
                (" padded", "white space"), ("padded ", "white space"), (String(repeating: "a", count: 256), "at most 255"),
                (String(repeating: "🐳", count: 64), "at most 255"),
            ]
            for (name, reason) in refused {
                let error = await expectDatabaseError(.invalidValue) { try await pool.write { _ = try $0.users.create(NewUser(name: name)) } }
                #expect(error?.message.hasPrefix("user name") == true && error?.message.contains(reason) == true, "\(error?.message ?? "")")
            }
            await expectDatabaseError(.invalidValue) {
                try await pool.write {
                    try $0.namespaces.update(id: namespace.id, visibility: .public, description: String(repeating: "x", count: (1 << 20) + 1))
                }
            }
            #expect(try await pool.read { try $0.users.count() } == accepted.count)
        }
    }

    /// Sixteen tasks create the same user at once: exactly one wins, the others get a clear conflict.
    @Test(arguments: TestBackend.allCases)
    func racingUniqueInsertsHaveOneWinner(_ backend: TestBackend) async throws {
        try await withDatabase(backend, poolSize: 8) { pool in
            let outcomes = await withTaskGroup(of: Result<User, any Error>.self) { group in
                for _ in 0..<16 {
                    group.addTask { await Result { try await pool.write { try $0.users.create(NewUser(name: "racer")) } } }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            let winners = outcomes.compactMap { try? $0.get() }
            #expect(winners.count == 1)
            for case .failure(let error) in outcomes {
                let error = try #require(error as? DatabaseError)
                #expect(error.code == .conflict && error.message.contains("racer"), "\(error)")
            }
            #expect(try await pool.read { try $0.users.count() } == 1)
        }
    }

    @Test(arguments: TestBackend.allCases)
    func thePoolStaysWithinItsBound(_ backend: TestBackend) async throws {
        try await withDatabase(backend, poolSize: 2) { pool in
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<20 { group.addTask { try await pool.read { try $0.users.count() } } }
                for try await count in group { #expect(count == 0) }
            }
            let status = await pool.status()
            #expect(status.maxConnections == 2 && status.open <= 2 && status.waiting == 0)
        }
    }
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
