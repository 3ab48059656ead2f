import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import WharfAuth
import WharfDatabase

@testable import WharfServer

/// Sign-in, sign-up, sign-out, sessions and CSRF, through the application `wharf serve` builds.
@Suite struct PortalSessionTests {
    @Test func theFirstPersonToSignUpBecomesAdministratorAndTheSecondDoesNot() async throws {
        try await withEmptyPortal { browser, pool in
            let signin = try await browser.get("/signin")
            #expect(signin.text.contains("becomes the administrator"))
            try await browser.get("/signup")
            let first = try await browser.post(
                "/signup",
                [("name", "alice"), ("email", "alice@example.com"), ("password", "alice-password"), ("password_confirmation", "alice-password")]
            )
            #expect(first.status == .seeOther)
            let dashboard = try await browser.get("/")
            #expect(dashboard.status == .ok)
            #expect(dashboard.text.contains("you are this server&#39;s administrator"))
            let alice = try #require(try await pool.read { try $0.users.find(name: "alice") })
            #expect(alice.isAdmin)
            #expect(alice.email == "alice@example.com")
            try await browser.post("/signout")
            try await browser.get("/signup")
            let second = try await browser.post(
                "/signup",
                [("name", "bob"), ("password", "bob-password"), ("password_confirmation", "bob-password")]
            )
            #expect(second.status == .seeOther)
            let bob = try #require(try await pool.read { try $0.users.find(name: "bob") })
            #expect(!bob.isAdmin)
        }
    }

    @Test func signUpIsClosedWhenTurnedOffOnceAUserExists() async throws {
        let closed: (inout ServerConfiguration) -> Void = { $0.portal.signup = false }
        try await withEmptyPortal(configure: closed) { browser, pool in
            // Offered anyway for the first account.
            #expect(try await browser.get("/signup").status == .ok)
            try await browser.post(
                "/signup",
                [("name", "root"), ("password", "root-password"), ("password_confirmation", "root-password")]
            )
            try await browser.get("/")
            try await browser.post("/signout")
            let closed = try await browser.get("/signup")
            #expect(closed.status == .notFound)
            #expect(closed.text.contains("ask an administrator"))
            let posted = try await browser.post(
                "/signup",
                [("name", "mallory"), ("password", "mallory-pass"), ("password_confirmation", "mallory-pass")]
            )
            #expect(posted.status == .forbidden)
            #expect(try await pool.read { try $0.users.find(name: "mallory") } == nil)
        }
    }

    @Test func wrongPasswordAndUnknownUserReadTheSameAndCountTowardLockout() async throws {
        let lockout: (inout ServerConfiguration) -> Void = { $0.lockoutAttempts = 3 }
        try await withAuthServer(configure: lockout) { fixture in
            let browser = PortalBrowser(client: fixture.client)
            try await browser.get("/signin")
            let wrong = try await browser.post("/signin", [("name", "alice"), ("password", "not-her-password")])
            let unknown = try await browser.post("/signin", [("name", "nobody"), ("password", "not-her-password")])
            #expect(wrong.status == .unauthorized)
            #expect(unknown.status == .unauthorized)
            #expect(wrong.text.contains("Wrong user name or password."))
            #expect(unknown.text.contains("Wrong user name or password."))
            // Shared with docker login: two more failures lock alice, and then her right password fails too.
            // (Distinct passwords: a client repeating the same wrong one counts once.)
            try await browser.post("/signin", [("name", "alice"), ("password", "second-guess")])
            try await browser.post("/signin", [("name", "alice"), ("password", "third-guess")])
            let locked = try await browser.post("/signin", [("name", "alice"), ("password", "alice-password")])
            #expect(locked.status == .unauthorized)
            #expect(try await fixture.pool.read { try $0.users.find(name: "alice") }?.isLocked() == true)
        }
    }

    @Test func aFormWithoutItsCSRFTokenIsRefused() async throws {
        try await withAuthServer { fixture in
            let browser = PortalBrowser(client: fixture.client)
            try await browser.signIn("alice")
            let none = try await browser.post("/signout", csrf: .none)
            #expect(none.status == .forbidden)
            let forged = try await browser.post("/signout", csrf: "forged-token-forged-token-forged-token-abc")
            #expect(forged.status == .forbidden)
            #expect(forged.text.contains("security token"))
            // Still signed in: neither post did anything.
            #expect(try await browser.get("/").text.contains("Dashboard"))
            // The header works as well as the field (the pages' scripts use it).
            let header = try await browser.send(.post, "/signout", headers: [.csrfToken: browser.csrf], body: nil)
            #expect(header.status == .seeOther)
            #expect(try await browser.get("/").headers[.location] == "/explore")
            // A sign-in form posted without the visitor's token is refused too (login CSRF).
            let fresh = PortalBrowser(client: fixture.client)
            let login = try await fresh.post("/signin", [("name", "alice"), ("password", "alice-password")], csrf: .none)
            #expect(login.status == .forbidden)
        }
    }

    @Test func signInRotatesTheSessionAndSignOutEndsIt() async throws {
        try await withAuthServer { fixture in
            let browser = PortalBrowser(client: fixture.client)
            try await browser.signIn("alice")
            let first = try #require(browser.cookies[Portal.sessionCookie])
            try await browser.signIn("alice")
            let second = try #require(browser.cookies[Portal.sessionCookie])
            #expect(first != second)
            // The first session ended when the second began.
            let stale = PortalBrowser(client: fixture.client)
            stale.set(cookie: Portal.sessionCookie, first)
            #expect(try await stale.get("/").status == .seeOther)
            try await browser.post("/signout")
            #expect(browser.cookies[Portal.sessionCookie] == nil)
            let replay = PortalBrowser(client: fixture.client)
            replay.set(cookie: Portal.sessionCookie, second)
            let after = try await replay.get("/")
            #expect(after.status == .seeOther)
            #expect(try await fixture.pool.read { try $0.sessions.find(id: SessionService.id(of: second)) } == nil)
        }
    }

    @Test func sessionsEndWhenThePasswordChangesOrTheUserIsDisabled() async throws {
        try await withAuthServer { fixture in
            let alice = PortalBrowser(client: fixture.client)
            try await alice.signIn("alice")
            try await fixture.accounts.setPassword(name: "alice", password: "a-new-password")
            #expect(try await alice.get("/").status == .seeOther)
            let bob = PortalBrowser(client: fixture.client)
            try await bob.signIn("bob")
            #expect(try await bob.get("/").status == .ok)
            try await fixture.accounts.setEnabled(name: "bob", false)
            #expect(try await bob.get("/").status == .seeOther)
        }
    }

    @Test func theStoredIdIsAHashAndTheCookieIsHttpOnlyAndLax() async throws {
        try await withAuthServer { fixture in
            let browser = PortalBrowser(client: fixture.client)
            try await browser.get("/signin")
            let response = try await browser.post("/signin", [("name", "alice"), ("password", "alice-password")])
            let line = try #require(response.headers[values: .setCookie].first { $0.hasPrefix(Portal.sessionCookie + "=") })
            #expect(line.contains("HttpOnly"))
            #expect(line.contains("SameSite=Lax"))
            let secret = try #require(browser.cookies[Portal.sessionCookie])
            #expect(secret.count == 43)
            let rows = try await fixture.pool.read { transaction in try transaction.query("SELECT id FROM sessions") }
            let ids = try rows.map { try $0.decode("id") as String }
            #expect(ids == [SessionService.id(of: secret)])
            #expect(!ids.contains(secret))
        }
    }

    @Test func pagesCarryTheSecurityHeaders() async throws {
        try await withAuthServer { fixture in
            let page = try await PortalBrowser(client: fixture.client).get("/signin")
            let csp = page.headers[.contentSecurityPolicy] ?? ""
            #expect(csp.contains("script-src 'self'"))
            #expect(!csp.contains("unsafe-inline"))
            #expect(csp.contains("frame-ancestors 'none'"))
            #expect(page.headers[.xFrameOptions] == "DENY")
            #expect(page.headers[.referrerPolicy] == "same-origin")
            #expect(page.headers[.xContentTypeOptions] == "nosniff")
        }
    }

    @Test func signInOnlyRedirectsToPathsOnThisSite() async throws {
        try await withAuthServer { fixture in
            for (next, expected) in [("/teams", "/teams"), ("//evil.example/x", "/"), ("https://evil.example/", "/"), ("/\\evil.example", "/")] {
                let browser = PortalBrowser(client: fixture.client)
                try await browser.get("/signin")
                let response = try await browser.post("/signin", [("name", "bob"), ("password", "bob-password"), ("next", next)])
                #expect(response.headers[.location] == expected, "next=\(next)")
            }
        }
    }

    @Test func anApplicationTokenDoesNotOpenABrowserSession() async throws {
        try await withAuthServer { fixture in
            let created = try await fixture.accounts.createToken(user: "alice", label: "ci")
            let browser = PortalBrowser(client: fixture.client)
            try await browser.get("/signin")
            let response = try await browser.post("/signin", [("name", "alice"), ("password", created.secret)])
            #expect(response.status == .unauthorized)
            #expect(browser.cookies[Portal.sessionCookie] == nil)
        }
    }

    @Test func whatPeopleTypeComesBackEscaped() async throws {
        try await withEmptyPortal { browser, _ in
            try await browser.get("/signup")
            let payload = "<script>alert(1)</script>\"'"
            let response = try await browser.post(
                "/signup",
                [("name", payload), ("email", "x@example.com"), ("password", "long-enough-1"), ("password_confirmation", "long-enough-1")]
            )
            #expect(response.status == .unprocessableContent)
            #expect(!response.text.contains("<script>alert(1)"))
            #expect(response.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;"))
        }
    }

    @Test func theAPIAcceptsTheSessionWithTheCSRFHeaderOnUnsafeMethods() async throws {
        try await withAuthServer { fixture in
            let browser = PortalBrowser(client: fixture.client)
            try await browser.signIn("alice")
            let me = try await browser.send(.get, "/api/v1/me", body: nil)
            #expect(me.status == .ok)
            #expect(me.text.contains("\"name\":\"alice\""))
            let body = ByteBuffer(string: #"{"label":"from-the-browser"}"#)
            let json: HTTPFields = [.contentType: "application/json"]
            let without = try await browser.send(.post, "/api/v1/me/tokens", headers: json, body: body)
            #expect(without.status == .forbidden)
            #expect(without.text.contains("X-CSRF-Token"))
            var headers = json
            headers[.csrfToken] = browser.csrf
            let with = try await browser.send(.post, "/api/v1/me/tokens", headers: headers, body: body)
            #expect(with.status == .created)
            #expect(try await fixture.accounts.listTokens(user: "alice").map(\.application) == ["from-the-browser"])
            // Signed out, the cookie is nobody's: the API treats the request as anonymous.
            try await browser.post("/signout")
            #expect(try await browser.send(.get, "/api/v1/me", body: nil).status == .unauthorized)
        }
    }

    @Test func anUnknownPageIsThePortals404AndTheRegistryAndAPIKeepTheirs() async throws {
        try await withAuthServer { fixture in
            let browser = PortalBrowser(client: fixture.client)
            try await browser.signIn("alice")
            let page = try await browser.get("/no/such/page")
            #expect(page.status == .notFound)
            #expect(page.headers[.contentType] == "text/html; charset=utf-8")
            #expect(page.text.contains("alice"))
            #expect(page.headers[.contentSecurityPolicy] != nil)
            let registry = try await browser.get("/v2/no/such/thing/here")
            #expect(registry.headers[.contentType]?.hasPrefix("application/json") == true)
            let api = try await browser.get("/api/v1/no/such")
            #expect(api.headers[.contentType]?.hasPrefix("application/json") == true)
        }
    }
}
