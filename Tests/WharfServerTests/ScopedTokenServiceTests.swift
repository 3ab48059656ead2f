import Foundation
import Testing
import WharfCore
import WharfDatabase

@testable import WharfAuth
@testable import WharfServer

/// Who may create, list and revoke a namespace's scoped tokens (admins, the team's owners, a personal
/// namespace's user, the command line), what they must give (a name, a pattern, pull or pull,push, an expiry
/// within a year), and what is recorded.
@Suite struct ScopedTokenServiceTests {
    @Test(arguments: AccountBackend.available)
    func adminsAndOwnersManageTokensOthersAreRefused(_ backend: AccountBackend) async throws {
        try await ScopedTokenFixture.with(backend) { fixture in
            let scoped = fixture.scoped
            let (admin, alice, bob, carol) = (
                try await fixture.subject("admin"), try await fixture.subject("alice"), try await fixture.subject("bob"),
                try await fixture.subject("carol")
            )
            func create(_ namespace: String, _ name: String, by caller: TokenSubject) async throws -> ScopedToken {
                try await scoped.create(
                    namespace: namespace,
                    name: name,
                    repositories: "app-*",
                    actions: [.pull],
                    expiresAt: ScopedTokenFixture.inAMonth,
                    by: caller,
                    address: "192.0.2.9"
                ).token
            }
            let byAdmin = try await create("qa", "from-admin", by: admin)
            #expect(byAdmin.createdBy == admin.userID && byAdmin.createdByName == "admin")
            let byOwner = try await create("qa", "from-owner", by: alice)
            #expect(byOwner.createdBy == alice.userID && byOwner.namespace == "qa")
            // A user owns their personal namespace; the command line acts as an admin.
            #expect(try await create("bob", "own", by: bob).createdByName == "bob")
            let byCLI = try await create("ops", "from-cli", by: .commandLine)
            #expect(byCLI.createdBy == nil && byCLI.createdByName == "cli")

            // A contributor, and an outsider of a protected namespace, see it but may not manage it.
            await expectAccountRefusal(.denied) { _ = try await create("qa", "x", by: bob) }
            await expectAccountRefusal(.denied) { _ = try await create("open", "x", by: carol) }
            await expectAccountRefusal(.denied) { _ = try await scoped.list(namespace: "qa", by: bob) }
            await expectAccountRefusal(.denied) { try await scoped.revoke(namespace: "qa", id: byOwner.id, by: bob) }
            // A namespace one may not see is not told to exist; nor is one that does not.
            await expectAccountRefusal(.unknownNamespace) { _ = try await create("qa", "x", by: carol) }
            await expectAccountRefusal(.unknownNamespace) { _ = try await create("alice", "x", by: bob) }
            await expectAccountRefusal(.unknownNamespace) { _ = try await scoped.list(namespace: "ops", by: alice) }
            await expectAccountRefusal(.unknownNamespace) { _ = try await create("nope", "x", by: admin) }
            await expectAccountRefusal(.unknownNamespace) { _ = try await create("qa", "x", by: .anonymous) }
            // A scoped token manages nothing, not even in its own namespace.
            let robot = try await fixture.login("bob", "robot", actions: [.pull, .push]).caller.subject
            await expectAccountRefusal(.denied) { _ = try await create("bob", "x", by: robot) }
            await expectAccountRefusal(.denied) { _ = try await scoped.list(namespace: "bob", by: robot) }

            #expect(try await scoped.list(namespace: "qa", by: alice).map(\.name) == ["from-admin", "from-owner"])
            #expect(try await scoped.list(namespace: "qa", by: admin).map(\.id) == [byAdmin.id, byOwner.id])
            #expect(try await scoped.token(namespace: "qa", id: byOwner.id, by: alice) == byOwner)
            // A token is reached only through its own namespace.
            await expectAccountRefusal(.unknownToken) { _ = try await scoped.token(namespace: "qa", id: byCLI.id, by: admin) }
            await expectAccountRefusal(.unknownToken) { try await scoped.revoke(namespace: "qa", id: byCLI.id, by: admin) }
            #expect(try await fixture.pool.read { try $0.scopedTokens.find(id: byCLI.id) } != nil)

            let revoked = try await scoped.revoke(namespace: "qa", id: byAdmin.id, by: alice, address: "192.0.2.9")
            #expect(revoked.id == byAdmin.id)
            #expect(try await scoped.list(namespace: "qa", by: alice).map(\.name) == ["from-owner"])
            await expectAccountRefusal(.unknownToken) { try await scoped.revoke(namespace: "qa", id: byAdmin.id, by: alice) }

            // Each change is one activity in the namespace's history, never with the secret.
            let qa = try #require(try await fixture.pool.read { try $0.namespaces.find(name: "qa") })
            let activities = try await fixture.pool.read { try $0.activities.list(ActivityFilter(namespaceID: qa.id), limit: 100) }
                .filter { $0.action.hasPrefix("token.scoped.") }.reversed().map { $0 }
            #expect(activities.map(\.action) == ["token.scoped.create", "token.scoped.create", "token.scoped.revoke"])
            #expect(activities.map(\.actorName) == ["admin", "alice", "alice"])
            #expect(activities.map(\.targetName) == ["robot$qa+from-admin", "robot$qa+from-owner", "robot$qa+from-admin"])
            #expect(activities.allSatisfy { $0.targetKind == "token" && $0.details.contains(#""addr":"192.0.2.9""#) })
            #expect(activities[0].details.contains(#""actions":"pull""#) && activities[0].details.contains(#""repositories":"app-*""#))
            #expect(activities[0].targetID == byAdmin.id)
        }
    }

    @Test func whatATokenIsMadeOfIsChecked() async throws {
        try await ScopedTokenFixture.with { fixture in
            func create(
                _ name: String = "ci",
                repositories: String = "*",
                actions: Set<Action> = [.pull],
                expiresAt: Date = ScopedTokenFixture.inAMonth
            ) async throws {
                _ = try await fixture.scoped.create(
                    namespace: "qa",
                    name: name,
                    repositories: repositories,
                    actions: actions,
                    expiresAt: expiresAt,
                    by: .commandLine
                )
            }
            for name in ["", "CI", "c i", "a/b", "robot$x", "x+y", String(repeating: "a", count: 256)] {
                await expectAccountRefusal(.nameInvalid) { try await create(name) }
            }
            for pattern in ["", "App-*", "/x", "x/", "a//b", "-x", "app?", "app[12]", "tools/../x", "ä*", String(repeating: "a", count: 256)] {
                await expectAccountRefusal(.patternInvalid) { try await create(repositories: pattern) }
            }
            for actions: Set<Action> in [[], [.push], [.pull, .delete], [.pull, .push, .delete], [.catalog], [.pull, .catalog]] {
                await expectAccountRefusal(.actionsInvalid) { try await create(actions: actions) }
            }
            await expectAccountRefusal(.expiryInvalid) { try await create(expiresAt: Date().addingTimeInterval(-1)) }
            await expectAccountRefusal(.expiryInvalid) { try await create(expiresAt: Date().addingTimeInterval(366 * 86400)) }
            #expect(try await fixture.pool.read { try $0.scopedTokens.list(namespaceID: 1) }.isEmpty)

            for (index, pattern) in ["*", "app-*", "tools/cli", "tools/*", "*-cache", String(repeating: "a", count: 255)].enumerated() {
                try await create("ok\(index)", repositories: pattern, expiresAt: Date().addingTimeInterval(364 * 86400))
            }
            try await create("pusher", actions: [.pull, .push])
            await expectAccountRefusal(.tokenExists) { try await create("pusher") }
            let listed = try await fixture.scoped.list(namespace: "qa", by: .commandLine)
            #expect(listed.count == 7)
            #expect(listed.first { $0.name == "pusher" }?.allowedActions == [.pull, .push])
            #expect(listed.first { $0.name == "ok1" }?.restriction?.description == "pull on qa/app-*")
        }
    }

    @Test func actionsAreParsedAsTheCommandLineAndTheAPIGiveThem() throws {
        #expect(try ScopedTokenService.actions(parsing: "pull") == [.pull])
        #expect(try ScopedTokenService.actions(parsing: "pull,push") == [.pull, .push])
        #expect(try ScopedTokenService.actions(parsing: "push,pull") == [.pull, .push])
        for text in ["", "push", "pull,delete", "*", "pull,", "PULL", "pull,push,delete"] {
            #expect(throws: AccountError.self) { try ScopedTokenService.actions(parsing: text) }
        }
        #expect(ScopedTokenService.text([.push, .pull]) == "pull,push")
    }

    @Test func patternsMatchPathsBelowTheirNamespace() throws {
        func matches(_ pattern: String, _ name: String) throws -> Bool {
            try RepositoryPattern(pattern).matches(RepositoryName(name), in: "qa")
        }
        #expect(try matches("*", "qa/app") && matches("*", "qa/tools/cli"))
        #expect(try !matches("*", "qa") && !matches("*", "ops/app") && !matches("*", "qaz/app"))
        #expect(try matches("app-*", "qa/app-web") && RepositoryPattern("app-*").matches("app-"))
        #expect(try !matches("app-*", "qa/app") && !matches("app-*", "qa/web-app-x"))
        #expect(try matches("tools/cli", "qa/tools/cli") && !matches("tools/cli", "qa/tools/cli2") && !matches("tools/cli", "qa/tools"))
        #expect(try matches("tools/*", "qa/tools/a/b") && !matches("tools/*", "qa/tools"))
        #expect(try matches("*-cache", "qa/x-cache") && matches("a*b*c", "qa/a-b-b-c") && !matches("a*b*c", "qa/a-c-b"))
        #expect(try matches("**", "qa/x"))
        #expect(ScopedTokenUsername("robot$qa+ci") == ScopedTokenUsername(namespace: "qa", name: "ci"))
        #expect(ScopedTokenUsername(namespace: "qa", name: "ci").description == "robot$qa+ci")
        for username in ["robot$qa", "robot$+ci", "robot$qa+", "robot$qa+ci+x", "robotqa+ci", "alice", ""] {
            #expect(ScopedTokenUsername(username) == nil, "\(username)")
        }
    }
}
