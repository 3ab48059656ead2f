import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import WharfAuth
import WharfCore
import WharfDatabase

@testable import WharfServer

/// `/teams` and `/teams/TEAM`: who sees a team and who changes its members, namespaces and existence, decided
/// as `/api/v1/teams` decides.
@Suite struct TeamPagesTests {
    static func role(_ user: String, in team: String, _ pool: DatabasePool) async throws -> TeamRole? {
        try await pool.read { transaction in
            guard let team = try transaction.teams.find(name: team), let user = try transaction.users.find(name: user) else { return nil }
            return try transaction.teams.role(teamID: team.id, userID: user.id)
        }
    }

    static func organizations(_ fixture: AuthFixture) -> OrganizationService {
        OrganizationService(pool: fixture.pool, storage: fixture.services.driver)
    }

    @Test func aPersonCreatesATeamAndOwnsIt() async throws {
        try await withAuthServer { fixture in
            let alice = PortalBrowser(client: fixture.client)
            try await alice.signIn("alice")
            let empty = try await alice.get("/teams")
            #expect(empty.status == .ok)
            #expect(empty.text.contains("No teams yet"))
            let created = try await alice.post("/teams", [("name", "crew"), ("description", "The crew")])
            #expect(created.status == .seeOther)
            #expect(created.headers[.location] == "/teams/crew")
            #expect(try await Self.role("alice", in: "crew", fixture.pool) == .owner)
            let list = try await alice.get("/teams")
            #expect(list.text.contains("href=\"/teams/crew\""))
            #expect(list.text.contains(">owner</span>"))
            let taken = try await alice.post("/teams", [("name", "crew"), ("description", "again")])
            #expect(taken.status == .conflict)
            #expect(taken.text.contains("Team crew already exists."))
            let invalid = try await alice.post("/teams", [("name", "Not A Name!"), ("description", "")])
            #expect(invalid.status == .unprocessableContent || invalid.status == .badRequest)
            #expect(invalid.text.contains("value=\"Not A Name!\""))
        }
    }

    @Test func onlyOwnersAndAdministratorsChangeMembers() async throws {
        try await withAuthServer { fixture in
            try await Self.organizations(fixture).createTeam(name: "crew", owner: "alice")
            let bob = PortalBrowser(client: fixture.client)
            try await bob.signIn("bob")
            // Not a member: the team does not exist for bob.
            #expect(try await bob.get("/teams/crew").status == .notFound)
            #expect(try await bob.post("/teams/crew/members", [("user", "bob"), ("role", "owner")]).status == .notFound)
            #expect(try await Self.role("bob", in: "crew", fixture.pool) == nil)

            let alice = PortalBrowser(client: fixture.client)
            try await alice.signIn("alice")
            let page = try await alice.get("/teams/crew")
            #expect(page.text.contains("Add member"))
            #expect(try await alice.post("/teams/crew/members", [("user", "bob"), ("role", "viewer")]).status == .seeOther)
            #expect(try await Self.role("bob", in: "crew", fixture.pool) == .viewer)
            let unknown = try await alice.post("/teams/crew/members", [("user", "nobody"), ("role", "viewer")])
            #expect(unknown.status == .notFound)
            #expect(unknown.text.contains("Unknown user nobody."))

            // A viewer sees the team but changes nothing.
            let asViewer = try await bob.get("/teams/crew")
            #expect(asViewer.status == .ok)
            #expect(!asViewer.text.contains("Add member"))
            #expect(try await bob.post("/teams/crew/members", [("user", "admin"), ("role", "viewer")]).status == .forbidden)
            #expect(try await bob.post("/teams/crew/members/bob/role", [("role", "owner")]).status == .forbidden)
            #expect(try await Self.role("bob", in: "crew", fixture.pool) == .viewer)

            // A contributor neither.
            #expect(try await alice.post("/teams/crew/members/bob/role", [("role", "contributor")]).status == .seeOther)
            #expect(try await Self.role("bob", in: "crew", fixture.pool) == .contributor)
            try await bob.get("/teams/crew")
            #expect(try await bob.post("/teams/crew/members/alice/remove").status == .forbidden)
            #expect(try await Self.role("alice", in: "crew", fixture.pool) == .owner)

            // The last owner stays.
            let lastOwner = try await alice.post("/teams/crew/members/alice/remove")
            #expect(lastOwner.status == .conflict)
            #expect(lastOwner.text.contains("would have no owner left"))
            #expect(try await alice.post("/teams/crew/members/alice/role", [("role", "viewer")]).status == .conflict)

            // An administrator who is not a member manages it anyway.
            let admin = PortalBrowser(client: fixture.client)
            try await admin.signIn("admin")
            let list = try await admin.get("/teams")
            #expect(list.text.contains("not a member"))
            try await admin.get("/teams/crew")
            #expect(try await admin.post("/teams/crew/members/bob/role", [("role", "owner")]).status == .seeOther)
            #expect(try await Self.role("bob", in: "crew", fixture.pool) == .owner)
            #expect(try await admin.post("/teams/crew/members/alice/remove").status == .seeOther)
            #expect(try await Self.role("alice", in: "crew", fixture.pool) == nil)

            // A member may leave.
            try await Self.organizations(fixture).setMember(team: "crew", user: "alice", role: .viewer)
            try await alice.get("/teams/crew")
            let left = try await alice.post("/teams/crew/members/alice/remove")
            #expect(left.status == .seeOther)
            #expect(left.headers[.location] == "/teams")
            #expect(try await Self.role("alice", in: "crew", fixture.pool) == nil)
        }
    }

    @Test func postsWithoutTheFormsTokenChangeNothing() async throws {
        try await withAuthServer { fixture in
            try await Self.organizations(fixture).createTeam(name: "crew", owner: "alice")
            let alice = PortalBrowser(client: fixture.client)
            try await alice.signIn("alice")
            try await alice.get("/teams/crew")
            #expect(try await alice.post("/teams/crew/members", [("user", "bob"), ("role", "owner")], csrf: .none).status == .forbidden)
            #expect(try await alice.post("/teams", [("name", "other")], csrf: .some("forged")).status == .forbidden)
            #expect(try await alice.post("/teams/crew/delete", [("confirm", "crew")], csrf: .none).status == .forbidden)
            #expect(try await Self.role("bob", in: "crew", fixture.pool) == nil)
            #expect(try await fixture.pool.read { try $0.teams.find(name: "other") } == nil)
            #expect(try await fixture.pool.read { try $0.teams.find(name: "crew") } != nil)
        }
    }

    @Test func markupInADescriptionStaysText() async throws {
        try await withAuthServer { fixture in
            let payload = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)> [x](javascript:alert(3))"
            try await Self.organizations(fixture).createTeam(name: "crew", owner: "alice", description: payload)
            try await fixture.accounts.updateProfile(name: "alice", email: nil, displayName: "<b onmouseover=alert(4)>Al</b>")
            let alice = PortalBrowser(client: fixture.client)
            try await alice.signIn("alice")
            for path in ["/teams", "/teams/crew"] {
                let page = try await alice.get(path)
                #expect(page.status == .ok)
                #expect(!page.text.contains("<script>alert"))
                #expect(!page.text.contains("<img src=x"))
                #expect(!page.text.contains("<b onmouseover"))
                #expect(!page.text.contains("href=\"javascript:"))
                #expect(page.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
            }
            try await alice.get("/teams/crew")
            #expect(try await alice.post("/teams/crew/description", [("description", "<i>new</i>")]).status == .seeOther)
            let changed = try await alice.get("/teams/crew")
            #expect(changed.text.contains("&lt;i&gt;new&lt;/i&gt;"))
        }
    }

    @Test func ownersGiveTheTeamNamespacesAndDeleteItAsTheDomainAllows() async throws {
        try await withAuthServer { fixture in
            try await Self.organizations(fixture).createTeam(name: "crew", owner: "alice")
            try await Self.organizations(fixture).createTeam(name: "other", owner: "alice")
            try await Self.organizations(fixture).setMember(team: "crew", user: "bob", role: .contributor)
            let bob = PortalBrowser(client: fixture.client)
            try await bob.signIn("bob")
            try await bob.get("/teams/crew")
            #expect(try await bob.post("/teams/crew/namespaces", [("namespace", "crewstuff"), ("visibility", "private")]).status == .forbidden)
            #expect(try await bob.get("/teams/crew/delete").status == .forbidden)
            #expect(try await bob.post("/teams/crew/delete", [("confirm", "crew"), ("namespaces", "delete")]).status == .forbidden)

            let alice = PortalBrowser(client: fixture.client)
            try await alice.signIn("alice")
            try await alice.get("/teams/crew")
            let created = try await alice.post("/teams/crew/namespaces", [("namespace", "crewstuff"), ("visibility", "public")])
            #expect(created.status == .seeOther)
            let page = try await alice.get("/teams/crew")
            #expect(page.text.contains("href=\"/n/crewstuff\""))
            let confirm = try await alice.get("/teams/crew/delete")
            #expect(confirm.status == .ok)
            #expect(confirm.text.contains("crewstuff"))
            #expect(confirm.text.contains("<option value=\"other\">"))
            let unconfirmed = try await alice.post("/teams/crew/delete", [("namespaces", "transfer"), ("target", "other"), ("confirm", "nope")])
            #expect(unconfirmed.status == .unprocessableContent)
            #expect(try await fixture.pool.read { try $0.teams.find(name: "crew") } != nil)
            let refused = try await alice.post("/teams/crew/delete", [("namespaces", "refuse"), ("confirm", "crew")])
            #expect(refused.status == .conflict)
            #expect(refused.text.contains("owns namespaces (crewstuff)"))
            let deleted = try await alice.post("/teams/crew/delete", [("namespaces", "transfer"), ("target", "other"), ("confirm", "crew")])
            #expect(deleted.status == .seeOther)
            #expect(deleted.headers[.location] == "/teams")
            let (team, namespace) = try await fixture.pool.read { transaction in
                (try transaction.teams.find(name: "crew"), try transaction.namespaces.find(name: "crewstuff"))
            }
            #expect(team == nil)
            let other = try #require(try await fixture.pool.read { try $0.teams.find(name: "other") })
            #expect(namespace?.teamID == other.id)
        }
    }
}
