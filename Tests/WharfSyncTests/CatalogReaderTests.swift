import Foundation
import Testing
import WharfAuth
import WharfCore
import WharfDatabase
import WharfStorage

@testable import WharfSync

/// Pages, groups, search and statistics of ``CatalogReader`` on each engine.
@Suite struct CatalogReaderTests {
    @Test(arguments: QueryBackend.available)
    func repositoryPagesNeitherRepeatNorSkipAcrossInsertsAndDeletes(_ backend: QueryBackend) async throws {
        try await QueryFixture.with(backend) { fixture in
            let user = try await fixture.user("alice")
            try await fixture.namespace("team", .protected)
            try await fixture.namespace("other", .protected)
            try await fixture.namespace("team-x", .protected)
            let originals = (0..<120).map { "team/r\(String(format: "%03d", $0))" }
            _ = try await fixture.pool.write { transaction in
                for name in originals + ["other/r000", "team-x/r000"] { try transaction.repositories.findOrCreate(name: name) }
            }
            let first = try await fixture.reader.repositories(in: "team", for: user, limit: 50)
            #expect(first.items.map(\.name) == Array(originals.prefix(50)))
            #expect(first.next == "team/r049")
            // Between pages: one added before the cursor (not shown: already passed), one after it, one at the end,
            // and one not yet shown removed.
            _ = try await fixture.pool.write { transaction in
                for name in ["team/r0105", "team/r0495", "team/r999"] { try transaction.repositories.findOrCreate(name: name) }
                try transaction.repositories.delete(id: try transaction.repositories.find(name: "team/r060")!.id)
            }
            var seen = first.items.map(\.name)
            var after = first.next
            var pages = 1
            while let cursor = after {
                let page = try await fixture.reader.repositories(in: "team", for: user, after: cursor, limit: 50)
                seen += page.items.map(\.name)
                after = page.next
                pages += 1
            }
            #expect(pages == 3)
            #expect(seen.count == Set(seen).count)
            let expected = Set(originals).subtracting(["team/r060"]).union(["team/r0495", "team/r999"])
            #expect(Set(seen) == expected)
            // The whole catalogue in tree order: `team/…` before `team-x/…`.
            let all = try await fixture.allRepositories(for: user, pageSize: 500)
            #expect(all.first == "other/r000" && all.last == "team-x/r000")
        }
    }

    @Test(arguments: QueryBackend.available)
    func tagsAreGroupedByDigestNewestPushFirstAndPagesStayStable(_ backend: QueryBackend) async throws {
        try await QueryFixture.with(backend) { fixture in
            let admin = try await fixture.user("root", admin: true)
            let (d1, d2, d3, d4, d5) = (
                QueryFixture.digest("1"), QueryFixture.digest("2"), QueryFixture.digest("3"), QueryFixture.digest("4"), QueryFixture.digest("5")
            )
            try await fixture.repository(
                "team/app",
                tags: [("a", d1, 1_000), ("b", d1, 3_000), ("c", d2, 2_000), ("d", d3, 3_000), ("e", d3, 500), ("f", d4, 100)]
            )
            _ = try await fixture.pool.write { transaction in
                let id = try transaction.repositories.find(name: "team/app")!.id
                try transaction.tags.recordPull(repositoryID: id, name: "a", at: Date(timeIntervalSince1970: 9))
            }
            let first = try await fixture.reader.tagGroups(of: "team/app", for: admin, limit: 2)
            // d1 and d3 share the newest push (3,000): by digest then.
            #expect(first.items.map(\.digest) == [d1, d3])
            #expect(first.items[0].tags == ["b", "a"] && first.items[1].tags == ["d", "e"])
            #expect(first.items[0].pushedAt == Date(timeIntervalSince1970: 3) && first.items[0].pulledAt == Date(timeIntervalSince1970: 9))
            #expect(first.items[0].size == 100 && first.items[0].os == "linux" && first.items[0].pushedByName == "pusher")
            let cursor = try #require(first.next)
            // A new digest pushed between pages goes to the front (the next refresh shows it); a tag added to a
            // group not yet shown, older than the group, keeps the group's place.
            try await fixture.repository("team/app", tags: [("g", d5, 5_000), ("h", d4, 50)])
            let second = try await fixture.reader.tagGroups(of: "team/app", for: admin, after: cursor, limit: 2)
            #expect(second.items.map(\.digest) == [d2, d4])
            #expect(second.items[1].tags == ["f", "h"])
            #expect(second.next == nil)
            let fresh = try await fixture.reader.tagGroups(of: "team/app", for: admin, limit: 10)
            #expect(fresh.items.map(\.digest) == [d5, d1, d3, d2, d4])
            // Tag by tag, by name.
            var names: [String] = []
            var after: String?
            repeat {
                let page = try await fixture.reader.tags(of: "team/app", for: admin, after: after, limit: 3)
                names += page.items.map(\.name)
                after = page.next
            } while after != nil
            #expect(names == ["a", "b", "c", "d", "e", "f", "g", "h"])
            await #expect(throws: CatalogQueryError(.invalid, "not a cursor of this listing")) {
                try await fixture.reader.tagGroups(of: "team/app", for: admin, after: "nonsense")
            }
            await #expect(throws: CatalogQueryError.self) { try await fixture.reader.tagGroups(of: "team/none", for: admin) }
        }
    }

    @Test(arguments: QueryBackend.available)
    func searchRanksPrefixesFirstAndTakesItsTextLiterally(_ backend: QueryBackend) async throws {
        try await QueryFixture.with(backend) { fixture in
            let admin = try await fixture.user("root", admin: true)
            for namespace in ["web", "team", "aweb", "my_app"] { try await fixture.namespace(namespace, .public) }
            try await fixture.namespace("hidden", .private)
            for name in ["web/app", "team/webapp", "aweb/x", "team/web", "my_app/x", "hidden/web"] { try await fixture.repository(name) }
            try await fixture.repository(
                "team/other",
                tags: [("myweb", QueryFixture.digest("1"), 1), ("web-1", QueryFixture.digest("2"), 2), ("WebUI", QueryFixture.digest("3"), 3)]
            )
            let found = try await fixture.reader.search("web", for: .anonymous)
            #expect(found.repositories.map(\.name) == ["web/app", "team/web", "team/webapp", "aweb/x"])
            #expect(found.namespaces.map(\.name) == ["web", "aweb"])
            // Within a rank by name, as bytes (upper case first).
            #expect(found.tags.map(\.tag) == ["WebUI", "web-1", "myweb"])
            #expect(found.tags.allSatisfy { $0.repository == "team/other" })
            // A prefix longer than the spellings looked up by index, in any case; a substring past the fourth letter.
            #expect(try await fixture.reader.search("wEbUi", for: .anonymous).tags.map(\.tag) == ["WebUI"])
            #expect(try await fixture.reader.search("ebui", for: .anonymous).tags.map(\.tag) == ["WebUI"])
            #expect(try await fixture.reader.search("web-", for: .anonymous).tags.map(\.tag) == ["web-1"])
            // Case and surrounding white space do not matter.
            #expect(try await fixture.reader.search("  WEB ", for: .anonymous) == found)
            // The admin also finds what anonymous callers may not see.
            #expect(try await fixture.reader.search("web", for: admin).repositories.map(\.name).contains("hidden/web"))
            #expect(try await fixture.reader.search("web", for: admin, limit: 2).repositories.map(\.name) == ["web/app", "hidden/web"])
            // `_` is an underscore, `%` a percent sign, quotes are quotes.
            let underscore = try await fixture.reader.search("_", for: .anonymous)
            #expect(underscore.repositories.map(\.name) == ["my_app/x"] && underscore.namespaces.map(\.name) == ["my_app"])
            #expect(underscore.tags.isEmpty)
            for hostile in ["%", "%%", "'", "\"", "\\", "' OR '1'='1", "a'; DROP TABLE repositories; --", "w%b", "w_b", "\u{0}", "é"] {
                #expect(try await fixture.reader.search(hostile, for: admin) == .empty, "\(hostile)")
            }
            #expect(try await fixture.reader.search(String(repeating: "a", count: 10_240), for: admin) == .empty)
            #expect(try await fixture.reader.search(String(repeating: "a", count: 255), for: admin) == .empty)
            #expect(try await fixture.reader.search("", for: admin) == .empty)
            #expect(try await fixture.reader.repositories(for: admin).items.count == 7)
        }
    }

    @Test(arguments: QueryBackend.available)
    func statisticsCountEverythingForAdminsAndWhatOthersSee(_ backend: QueryBackend) async throws {
        try await QueryFixture.with(backend) { fixture in
            let admin = try await fixture.user("root", admin: true)
            let alice = try await fixture.user("alice")
            try await fixture.namespace("open", .public)
            try await fixture.namespace("closed", .private)
            try await fixture.repository("open/app", tags: [("a", QueryFixture.digest("1"), 1), ("b", QueryFixture.digest("1"), 2)])
            try await fixture.repository("closed/app", tags: [("c", QueryFixture.digest("2"), 1)])
            try await fixture.blob(Array(repeating: 1, count: 1_000))
            try await fixture.blob(Array(repeating: 2, count: 24))
            let all = try await fixture.reader.statistics(for: admin)
            #expect(all.counts == CatalogCounts(users: 2, teams: 2, namespaces: 2, repositories: 2, tags: 3, webhooks: 0, activities: 0))
            #expect(all.storage?.bytes == 1_024 && all.storage?.blobs == 2)
            // Cached: a new blob shows after a refresh (at most a minute later in a server).
            try await fixture.blob(Array(repeating: 3, count: 1))
            #expect(try await fixture.reader.statistics(for: admin).storage?.bytes == 1_024)
            #expect(try await fixture.reader.usage.refresh().bytes == 1_025)
            let mine = try await fixture.reader.statistics(for: alice)
            #expect(mine.counts == CatalogCounts(users: nil, teams: nil, namespaces: 1, repositories: 1, tags: 2, webhooks: nil, activities: nil))
            #expect(mine.storage == nil)
        }
    }
}
