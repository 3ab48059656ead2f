import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import WharfAuth
import WharfCore
import WharfDatabase

@testable import WharfServer

/// The Explore, search and namespace pages in-process: who sees which namespace (the API's rules), who may change
/// or delete one, CSRF on every form, descriptions rendered inert, and keyset paging.
@Suite("Portal namespace pages")
struct NamespacePagesTests {
    /// alice owns team `devs` with namespaces `pub` (public), `prot` (protected) and `priv` (private, with a
    /// description); bob is in no team. Anonymous pull and browsing are on.
    static func arrange(_ fixture: AuthFixture) async throws -> OrganizationService {
        let organizations = OrganizationService(pool: fixture.pool, storage: fixture.services.driver)
        try await organizations.createTeam(name: "devs", owner: "alice")
        try await organizations.createTeam(name: "ops", owner: "admin")
        try await organizations.createNamespace(name: "pub", team: "devs", visibility: .public, description: "Public images")
        try await organizations.createNamespace(name: "prot", team: "devs", visibility: .protected)
        try await organizations.createNamespace(name: "priv", team: "devs", visibility: .private, description: "Secret *stuff*")
        try await fixture.pool.write { transaction in
            for name in ["pub/web", "prot/api", "priv/db"] { _ = try transaction.repositories.findOrCreate(name: name) }
        }
        return organizations
    }

    @Sendable static func open(_ configuration: inout ServerConfiguration) {
        configuration.permissions.anonymousPull = true
        configuration.portal.anonymousBrowsing = true
    }

    @Test("Who sees which namespace: anonymous public only, members their private ones, admins all; others get a 404")
    func visibility() async throws {
        try await withAuthServer(configure: Self.open) { fixture in
            _ = try await Self.arrange(fixture)
            // name: (pub, prot, priv) visible?
            let expected: [String?: (Bool, Bool, Bool)] = [
                nil: (true, false, false), "alice": (true, true, true), "bob": (true, true, false), "admin": (true, true, true),
            ]
            for (user, sees) in expected {
                let browser = PortalBrowser(client: fixture.client)
                if let user { try await browser.signIn(user) }
                for (namespace, visible) in [("pub", sees.0), ("prot", sees.1), ("priv", sees.2)] {
                    let page = try await browser.get("/n/\(namespace)")
                    #expect(page.status == (visible ? .ok : .notFound), "\(user ?? "anonymous") on \(namespace)")
                    if visible {
                        #expect(page.text.contains("<h1 class=\"page-head__title\">\(namespace) "))
                        #expect(page.text.contains("/r/\(namespace)/"))
                    } else {
                        #expect(!page.text.contains("/r/\(namespace)/"))
                    }
                }
                let explore = try await browser.get("/explore")
                #expect(explore.status == .ok)
                #expect(explore.text.contains("/n/pub\"") && explore.text.contains("pub/web"))
                #expect(explore.text.contains("prot/api") == sees.1, "\(user ?? "anonymous") explore prot")
                #expect(explore.text.contains("priv/db") == sees.2, "\(user ?? "anonymous") explore priv")
                let search = try await browser.get("/search?q=p")
                #expect(search.status == .ok)
                #expect(search.text.contains("pub/web"))
                #expect(search.text.contains("priv/db") == sees.2, "\(user ?? "anonymous") search priv")
                #expect(search.text.contains("/n/priv\"") == sees.2)
            }
        }
    }

    @Test("Without anonymous browsing a visitor goes to sign in from every page")
    func anonymousBrowsingOff() async throws {
        let closed: (inout ServerConfiguration) -> Void = { $0.portal.anonymousBrowsing = false }
        try await withAuthServer(configure: closed) { fixture in
            _ = try await Self.arrange(fixture)
            let browser = PortalBrowser(client: fixture.client)
            for path in ["/explore", "/search?q=pub", "/n/pub"] {
                let page = try await browser.get(path)
                #expect(page.status == .seeOther, "\(path)")
                #expect(page.headers[.location]?.hasPrefix("/signin?next=") == true, "\(path)")
            }
        }
    }

    @Test("Search shows what the API's search gives the same caller")
    func searchMatchesAPI() async throws {
        try await withAuthServer(configure: Self.open) { fixture in
            _ = try await Self.arrange(fixture)
            let browser = PortalBrowser(client: fixture.client)
            try await browser.signIn("bob")
            let api = try await browser.get("/api/v1/search?q=api")
            #expect(api.status == .ok)
            #expect(api.text.contains("prot/api"))
            let page = try await browser.get("/search?q=api")
            #expect(page.text.contains("prot/api"))
            #expect(page.text.contains("1 result for “api”"))
            let none = try await browser.get("/search?q=zzz-nothing")
            #expect(none.text.contains("Nothing found"))
            let blank = try await browser.get("/search?q=")
            #expect(blank.status == .ok)
            #expect(blank.text.contains("Search the registry"))
        }
    }

    @Test("Owners and admins change visibility, team and description; members and others are refused")
    func editing() async throws {
        try await withAuthServer(configure: Self.open) { fixture in
            _ = try await Self.arrange(fixture)
            let alice = PortalBrowser(client: fixture.client)
            try await alice.signIn("alice")
            let page = try await alice.get("/n/pub")
            #expect(page.text.contains("id=\"namespace-visibility\""))
            let saved = try await alice.post("/n/pub", [("visibility", "protected"), ("team", "devs"), ("description", "New **words**")])
            #expect(saved.status == .seeOther)
            #expect(saved.headers[.location] == "/n/pub")
            let stored = try await fixture.pool.read { try $0.namespaces.find(name: "pub") }
            #expect(stored?.visibility == .protected)
            #expect(stored?.description == "New **words**")
            let shown = try await alice.get("/n/pub")
            #expect(shown.text.contains("<strong>words</strong>"))
            #expect(shown.text.contains("Namespace pub saved."))
            // Giving it to a team she does not own is refused, and the form comes back with what she typed.
            let refused = try await alice.post("/n/pub", [("visibility", "public"), ("team", "ops"), ("description", "typed text")])
            #expect(refused.status == .forbidden)
            #expect(refused.text.contains("typed text"))
            #expect(try await fixture.pool.read { try $0.namespaces.find(name: "pub") }?.visibility == .protected)
            // bob sees the page (protected) but no settings, and his post is refused.
            let bob = PortalBrowser(client: fixture.client)
            try await bob.signIn("bob")
            let bobPage = try await bob.get("/n/pub")
            #expect(bobPage.status == .ok)
            #expect(!bobPage.text.contains("id=\"namespace-visibility\""))
            let bobPost = try await bob.post("/n/pub", [("visibility", "public")])
            #expect(bobPost.status == .forbidden)
            #expect(try await bob.post("/n/priv", [("visibility", "public")]).status == .notFound)
            #expect(try await bob.post("/n/pub/delete", []).status == .forbidden)
            #expect(try await fixture.pool.read { try $0.namespaces.find(name: "pub") }?.visibility == .protected)
            // The admin moves it to ops.
            let admin = PortalBrowser(client: fixture.client)
            try await admin.signIn("admin")
            #expect(try await admin.get("/n/priv").text.contains("id=\"namespace-team\""))
            let moved = try await admin.post("/n/priv", [("visibility", "private"), ("team", "ops"), ("description", "")])
            #expect(moved.status == .seeOther)
            let priv = try await fixture.pool.read { transaction in
                try transaction.namespaces.find(name: "priv").flatMap { try $0.teamID.flatMap { try transaction.teams.find(id: $0) } }
            }
            #expect(priv?.name == "ops")
            // An anonymous post is a sign-in redirect, not a change.
            let visitor = PortalBrowser(client: fixture.client)
            try await visitor.get("/n/pub")
            let anonymous = try await visitor.post("/n/pub", [("visibility", "public")])
            #expect(anonymous.status == .seeOther)
            #expect(anonymous.headers[.location]?.hasPrefix("/signin") == true)
        }
    }

    @Test("Posts without the CSRF token change nothing")
    func csrf() async throws {
        try await withAuthServer(configure: Self.open) { fixture in
            _ = try await Self.arrange(fixture)
            let alice = PortalBrowser(client: fixture.client)
            try await alice.signIn("alice")
            #expect(try await alice.post("/n/pub", [("visibility", "private")], csrf: .none).status == .forbidden)
            #expect(
                try await alice.post("/n/pub", [("visibility", "private")], csrf: "forged-token-forged-token-forged-token-abc").status == .forbidden
            )
            #expect(try await alice.post("/n/prot/delete", [], csrf: .none).status == .forbidden)
            #expect(try await alice.post("/namespaces/new", [("name", "made"), ("team", "devs")], csrf: .none).status == .forbidden)
            let stored = try await fixture.pool.read { transaction in
                (
                    try transaction.namespaces.find(name: "pub"), try transaction.namespaces.find(name: "prot"),
                    try transaction.namespaces.find(name: "made")
                )
            }
            #expect(stored.0?.visibility == .public)
            #expect(stored.1 != nil)
            #expect(stored.2 == nil)
        }
    }

    @Test("Deleting names what goes and asks for the repositories too; a personal namespace cannot be deleted here")
    func deleting() async throws {
        try await withAuthServer(configure: Self.open) { fixture in
            _ = try await Self.arrange(fixture)
            let alice = PortalBrowser(client: fixture.client)
            try await alice.signIn("alice")
            let page = try await alice.get("/n/prot")
            #expect(page.text.contains("Delete namespace prot"))
            #expect(page.text.contains("<li class=\"mono\">prot/api</li>"))
            #expect(page.text.contains("name=\"delete_repositories\""))
            #expect(page.text.contains("action=\"/n/prot/delete\""))
            let deleted = try await alice.post("/n/prot/delete", [("delete_repositories", "1")])
            #expect(deleted.status == .seeOther)
            #expect(deleted.headers[.location] == "/explore")
            #expect(try await fixture.pool.read { try $0.namespaces.find(name: "prot") } == nil)
            #expect(try await alice.get("/explore").text.contains("Namespace prot deleted"))
            #expect(try await alice.get("/n/prot").status == .notFound)
            // Her own namespace: settings, but no delete form.
            let personal = try await alice.get("/n/alice")
            #expect(personal.status == .ok)
            #expect(personal.text.contains("id=\"namespace-visibility\""))
            #expect(!personal.text.contains("/n/alice/delete"))
            #expect(try await alice.post("/n/alice/delete", []).status.code >= 400)
        }
    }

    @Test("New namespace: team owners and admins create one; others are refused")
    func creating() async throws {
        try await withAuthServer(configure: Self.open) { fixture in
            _ = try await Self.arrange(fixture)
            let alice = PortalBrowser(client: fixture.client)
            try await alice.signIn("alice")
            #expect(try await alice.get("/explore").text.contains("href=\"/namespaces/new\""))
            let form = try await alice.get("/namespaces/new")
            #expect(form.status == .ok)
            #expect(form.text.contains("<option value=\"devs\""))
            #expect(!form.text.contains("<option value=\"ops\""))
            let created = try await alice.post(
                "/namespaces/new",
                [("name", "tools"), ("team", "devs"), ("visibility", "public"), ("description", "")]
            )
            #expect(created.status == .seeOther)
            #expect(created.headers[.location] == "/n/tools")
            #expect(try await fixture.pool.read { try $0.namespaces.find(name: "tools") }?.visibility == .public)
            let bad = try await alice.post("/namespaces/new", [("name", "Bad Name"), ("team", "devs"), ("visibility", "public")])
            #expect(bad.status.code == 400 || bad.status.code == 422)
            #expect(bad.text.contains("value=\"Bad Name\""))
            let stolen = try await alice.post("/namespaces/new", [("name", "mine"), ("team", "ops"), ("visibility", "public")])
            #expect(stolen.status == .forbidden)
            let bob = PortalBrowser(client: fixture.client)
            try await bob.signIn("bob")
            #expect(!(try await bob.get("/explore").text.contains("href=\"/namespaces/new\"")))
            #expect(try await bob.get("/namespaces/new").status == .forbidden)
            #expect(try await bob.post("/namespaces/new", [("name", "bobs"), ("team", "devs")]).status == .forbidden)
            #expect(try await fixture.pool.read { try $0.namespaces.find(name: "bobs") } == nil)
        }
    }

    @Test("Descriptions are inert: raw HTML, javascript: links and attribute tricks are text")
    func inertDescriptions() async throws {
        try await withAuthServer(configure: Self.open) { fixture in
            let organizations = try await Self.arrange(fixture)
            let payload = """
                <script>alert(1)</script> <img src=x onerror=alert(2)>
                [click](javascript:alert(3)) [quote](" onmouseover="alert(4)) ![i](x" onerror="alert(5))
                """
            try await organizations.updateNamespace(name: "pub", description: payload)
            let page = try await PortalBrowser(client: fixture.client).get("/n/pub")
            let html = page.text
            #expect(!html.contains("<script>alert"))
            #expect(!html.contains("<img src=x"))
            #expect(!html.lowercased().contains("href=\"javascript:"))
            #expect(!html.contains("onmouseover=\"alert"))
            #expect(!html.contains("onerror=\""))
            // Names and typed values are escaped in forms too.
            let alice = PortalBrowser(client: fixture.client)
            try await alice.signIn("alice")
            let form = try await alice.get("/n/pub")
            #expect(form.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
            let search = try await alice.get("/search?q=%22%3E%3Cscript%3Ealert(1)%3C/script%3E")
            #expect(!search.text.contains("<script>alert(1)"))
        }
    }

    @Test("Explore and namespace pages page through many repositories with next links")
    func paging() async throws {
        try await withAuthServer(configure: Self.open) { fixture in
            _ = try await Self.arrange(fixture)
            try await fixture.pool.write { transaction in
                for index in 0..<120 { _ = try transaction.repositories.findOrCreate(name: "pub/app-\(String(format: "%03d", index))") }
            }
            let browser = PortalBrowser(client: fixture.client)
            var path: String? = "/n/pub"
            var seen: [String] = []
            var pages = 0
            while let current = path, pages < 10 {
                let page = try await browser.get(current)
                #expect(page.status == .ok)
                let html = page.text
                seen += Self.matches(of: "href=\"/r/pub/([a-z0-9-]+)\"", in: html)
                path = Self.matches(of: "href=\"(/n/pub\\?after=[^\"]+)\" rel=\"next\"", in: html).first.map {
                    $0.replacingOccurrences(of: "&amp;", with: "&")
                }
                pages += 1
            }
            #expect(pages == 3)
            #expect(seen.count == 121)
            #expect(Set(seen).count == 121)
            #expect(seen.contains("web") && seen.contains("app-119"))
            let explore = try await browser.get("/explore")
            let next = try #require(Self.matches(of: "href=\"(/explore\\?after=[^\"]+)\" rel=\"next\"", in: explore.text).first)
            let second = try await browser.get(next.replacingOccurrences(of: "&amp;", with: "&"))
            #expect(second.status == .ok)
            #expect(second.text.contains("pub/app-"))
            #expect(second.text.contains("First page"))
        }
    }

    static func matches(of pattern: String, in text: String) -> [String] {
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return [] }
        return regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap { match in
            Range(match.range(at: 1), in: text).map { String(text[$0]) }
        }
    }
}
