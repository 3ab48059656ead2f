import Foundation
import Testing
import WharfAuth
import WharfCore
import WharfDatabase

@testable import WharfSync

/// ``StarService`` and ``CommentService``: idempotent stars, comments paged and deleted by whom the rules say, and
/// one activity per change.
@Suite struct StarsAndCommentsTests {
    static func activities(_ fixture: QueryFixture, _ action: ActivityAction) async throws -> [Activity] {
        try await fixture.pool.read { try $0.activities.list(ActivityFilter(action: action.rawValue), limit: 100) }
    }

    @Test(arguments: QueryBackend.available)
    func starringTwiceStarsOnceAndOnlyVisibleRepositoriesCanBeStarred(_ backend: QueryBackend) async throws {
        try await QueryFixture.with(backend) { fixture in
            let alice = try await fixture.user("alice")
            let bob = try await fixture.user("bob")
            try await fixture.namespace("open", .public)
            try await fixture.namespace("closed", .private, members: [(bob, .viewer)])
            try await fixture.repository("open/app")
            try await fixture.repository("open/lib")
            try await fixture.repository("closed/app")

            #expect(try await fixture.stars.star("open/app", by: alice))
            #expect(try await !fixture.stars.star("open/app", by: alice))
            #expect(try await fixture.stars.star("open/lib", by: alice))
            #expect(try await fixture.stars.star("open/app", by: bob))
            #expect(try await fixture.stars.isStarred("open/app", by: alice))
            #expect(try await !fixture.stars.isStarred("open/app", by: .anonymous))
            #expect(try await fixture.reader.repository("open/app", for: alice).starCount == 2)
            let starred = try await fixture.reader.starredRepositories(for: alice, limit: 1)
            #expect(starred.items.map(\.name) == ["open/app"] && starred.next == "open/app")
            #expect(try await fixture.reader.starredRepositories(for: alice, after: starred.next).items.map(\.name) == ["open/lib"])

            #expect(try await fixture.stars.unstar("open/app", by: alice))
            #expect(try await !fixture.stars.unstar("open/app", by: alice))
            #expect(try await fixture.reader.repository("open/app", for: alice).starCount == 1)
            #expect(try await Self.activities(fixture, .repositoryStar).count == 3)
            let unstars = try await Self.activities(fixture, .repositoryUnstar)
            #expect(unstars.count == 1 && unstars[0].actorName == "alice" && unstars[0].targetName == "open/app")

            await #expect(throws: CatalogQueryError(.notFound, "repository closed/app not found")) {
                try await fixture.stars.star("closed/app", by: alice)
            }
            #expect(try await fixture.stars.star("closed/app", by: bob))
            await #expect(throws: CatalogQueryError.self) { try await fixture.stars.star("open/app", by: .anonymous) }
            await #expect(throws: CatalogQueryError.self) {
                try await fixture.stars.star("open/app", by: TokenSubject(name: "portus", kind: .service, userID: nil))
            }
            // A star on a repository the user may no longer see is not listed.
            _ = try await fixture.pool.write { transaction in
                let namespace = try transaction.namespaces.find(name: "open")!
                try transaction.namespaces.update(id: namespace.id, visibility: .private, description: "")
            }
            #expect(try await fixture.reader.starredRepositories(for: alice).items.isEmpty)
        }
    }

    @Test(arguments: QueryBackend.available)
    func commentsArePagedAndDeletedByTheirAuthorAnOwnerOrAnAdmin(_ backend: QueryBackend) async throws {
        try await QueryFixture.with(backend) { fixture in
            let admin = try await fixture.user("root", admin: true)
            let alice = try await fixture.user("alice")
            let owner = try await fixture.user("owen")
            let viewer = try await fixture.user("vera")
            try await fixture.namespace("team", .protected, members: [(owner, .owner), (viewer, .viewer)])
            try await fixture.repository("team/app")

            var added: [RepositoryComment] = []
            for index in 0..<5 {
                added.append(try await fixture.comments.add("comment **\(index)**", to: "team/app", by: index % 2 == 0 ? alice : viewer))
            }
            #expect(added[0].authorName == "alice" && added[0].body == "comment **0**")
            let first = try await fixture.comments.comments(of: "team/app", for: viewer, limit: 2)
            #expect(first.items.map(\.id) == [added[0].id, added[1].id])
            // One added between pages comes last; one deleted is not shown.
            let late = try await fixture.comments.add("late", to: "team/app", by: viewer)
            try await fixture.comments.delete(added[2].id, of: "team/app", by: alice)
            var ids = first.items.map(\.id)
            var after = first.next
            while let cursor = after {
                let page = try await fixture.comments.comments(of: "team/app", for: viewer, after: cursor, limit: 2)
                ids += page.items.map(\.id)
                after = page.next
            }
            #expect(ids == [added[0].id, added[1].id, added[3].id, added[4].id, late.id])

            // Who may delete: the author, the namespace's owner, an admin; not another member.
            await #expect(throws: CatalogQueryError(.denied, "only its author, an owner of the namespace or an admin may delete this comment")) {
                try await fixture.comments.delete(added[0].id, of: "team/app", by: viewer)
            }
            try await fixture.comments.delete(added[0].id, of: "team/app", by: owner)
            try await fixture.comments.delete(added[1].id, of: "team/app", by: admin)
            await #expect(throws: CatalogQueryError.self) { try await fixture.comments.delete(added[1].id, of: "team/app", by: admin) }
            #expect(try await fixture.comments.comments(of: "team/app", for: admin).items.map(\.id) == [added[3].id, added[4].id, late.id])

            // Bodies: stored as written, up to 64 KiB; empty ones and anonymous authors refused.
            let largest = String(repeating: "é", count: CommentService.maxBodyBytes / 2)
            #expect(try await fixture.comments.add(largest, to: "team/app", by: alice).body == largest)
            await #expect(throws: CatalogQueryError.self) { try await fixture.comments.add(largest + "x", to: "team/app", by: alice) }
            await #expect(throws: CatalogQueryError.self) { try await fixture.comments.add(" \n ", to: "team/app", by: alice) }
            await #expect(throws: CatalogQueryError.self) { try await fixture.comments.add("hi", to: "team/app", by: .anonymous) }
            // Anonymous callers do not see a protected namespace's comments.
            await #expect(throws: CatalogQueryError.self) { try await fixture.comments.comments(of: "team/app", for: .anonymous) }

            #expect(try await Self.activities(fixture, .commentCreate).count == 7)
            let deletes = try await Self.activities(fixture, .commentDelete)
            #expect(deletes.count == 3 && Set(deletes.map(\.actorName)) == ["alice", "owen", "root"])
        }
    }
}
