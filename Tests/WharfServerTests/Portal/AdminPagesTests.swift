import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import WharfAuth
import WharfDatabase

@testable import WharfServer

/// The administration pages through the application `wharf serve` builds.
@Suite struct AdminPagesTests {
    @Test func onlyAdministratorsSeeThem() async throws {
        try await withAuthServer { fixture in
            let alice = PortalBrowser(client: fixture.client)
            try await alice.signIn("alice")
            for path in ["/admin", "/admin/users", "/admin/users/bob", "/admin/namespaces", "/admin/settings"] {
                #expect(try await alice.get(path).status == .forbidden, "\(path)")
            }
            #expect(try await alice.post("/admin/users/bob/enabled", [("enabled", "false")]).status == .forbidden)
            #expect(try await fixture.pool.read { try $0.users.find(name: "bob") }?.enabled == true)
            let visitor = try await PortalBrowser(client: fixture.client).get("/admin")
            #expect(visitor.status == .seeOther)
            let admin = PortalBrowser(client: fixture.client)
            try await admin.signIn("admin")
            let status = try await admin.get("/admin")
            #expect(status.status == .ok)
            #expect(status.text.contains("SQLite (embedded)"))
            #expect(status.text.contains("<dt>Users</dt><dd>3</dd>"))
        }
    }

    @Test func anAdministratorManagesAUsersWholeLife() async throws {
        try await withAuthServer { fixture in
            let admin = PortalBrowser(client: fixture.client)
            try await admin.signIn("admin")
            try await admin.get("/admin/users")
            let weak = try await admin.post("/admin/users", [("name", "carol"), ("password", "short")])
            #expect(weak.status == .unprocessableContent)
            let created = try await admin.post("/admin/users", [("name", "carol"), ("email", "carol@example.com"), ("password", "carol-password")])
            #expect(created.status == .seeOther)
            #expect(created.headers[.location] == "/admin/users/carol")
            let carol = PortalBrowser(client: fixture.client)
            try await carol.signIn("carol")
            try await admin.post("/admin/users/carol/admin", [("admin", "true")])
            #expect(try await fixture.pool.read { try $0.users.find(name: "carol") }?.isAdmin == true)
            // Disabling signs carol out at once.
            try await admin.post("/admin/users/carol/enabled", [("enabled", "false")])
            #expect(try await carol.get("/").status == .seeOther)
            try await admin.post("/admin/users/carol/enabled", [("enabled", "true")])
            let reset = try await admin.post(
                "/admin/users/carol/password",
                [("password", "brand-new-pass"), ("password_confirmation", "brand-new-pass")]
            )
            #expect(reset.status == .seeOther)
            try await carol.signIn("carol", password: "brand-new-pass")
            // The administrator cannot demote, disable or delete themselves.
            let demote = try await admin.post("/admin/users/admin/admin", [("admin", "false")])
            #expect(demote.status == .conflict)
            #expect(try await admin.post("/admin/users/admin/delete").status == .conflict)
            #expect(try await fixture.pool.read { try $0.users.find(name: "admin") }?.isAdmin == true)
            let deleted = try await admin.post("/admin/users/carol/delete", [("repositories", "refuse")])
            #expect(deleted.status == .seeOther)
            #expect(try await fixture.pool.read { try $0.users.find(name: "carol") } == nil)
        }
    }

    @Test func settingsInTheDatabaseTurnSignUpAndBrowsingOff() async throws {
        try await withAuthServer { fixture in
            #expect(try await PortalBrowser(client: fixture.client).get("/signup").status == .ok)
            let admin = PortalBrowser(client: fixture.client)
            try await admin.signIn("admin")
            try await admin.get("/admin/settings")
            let saved = try await admin.post("/admin/settings", [("signup", "off"), ("anonymous_browsing", "off")])
            #expect(saved.status == .seeOther)
            #expect(try await fixture.pool.read { try $0.settings.value("portal.signup") } == "off")
            let visitor = PortalBrowser(client: fixture.client)
            #expect(try await visitor.get("/signup").status == .notFound)
            #expect(try await visitor.get("/").headers[.location] == "/signin")
            // Back to the configuration's values.
            try await admin.post("/admin/settings", [("signup", "default"), ("anonymous_browsing", "default")])
            #expect(try await fixture.pool.read { try $0.settings.value("portal.signup") } == nil)
            #expect(try await visitor.get("/signup").status == .ok)
        }
    }
}
