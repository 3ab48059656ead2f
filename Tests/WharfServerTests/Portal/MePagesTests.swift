import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import WharfAuth
import WharfCore
import WharfDatabase

@testable import WharfServer

/// `/me`: profile, password, application and refresh tokens, through the application `wharf serve` builds.
@Suite struct MePagesTests {
    static func basic(_ user: String, _ password: String) -> HTTPFields {
        [.authorization: "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()]
    }

    /// The secret in the token-created page (`<code id="token-secret">…</code>`).
    static func secret(in html: String) -> String? {
        guard let start = html.range(of: "<code id=\"token-secret\">") else { return nil }
        let rest = html[start.upperBound...]
        return rest.range(of: "</code>").map { String(rest[..<$0.lowerBound]) }
    }

    @Test func aNewTokenIsShownOnceWorksForDockerLoginAndIsRefusedOnceRevoked() async throws {
        try await withAuthServer { fixture in
            let browser = PortalBrowser(client: fixture.client)
            try await browser.signIn("alice")
            let me = try await browser.get("/me")
            #expect(me.status == .ok)
            #expect(me.text.contains("No application tokens yet"))
            let created = try await browser.post("/me/tokens", [("label", "ci"), ("expires", "30")])
            #expect(created.status == .created)
            #expect(created.text.contains("This is the only time Wharf shows it"))
            #expect(created.headers[.cacheControl] == "no-store")
            let secret = try #require(Self.secret(in: created.text))
            #expect(secret.count > 20)
            // Shown once: the account page lists the token, never its secret.
            let listed = try await browser.get("/me")
            #expect(listed.text.contains(">ci</strong>"))
            #expect(!listed.text.contains(secret))
            let v2 = try await fixture.client.execute(uri: "/v2/", method: .get, headers: Self.basic("alice", secret))
            #expect(v2.status == .ok)
            let api = try await fixture.client.execute(uri: "/api/v1/me", method: .get, headers: Self.basic("alice", secret))
            #expect(api.status == .ok)
            let token = try #require(
                try await fixture.pool.read { transaction in
                    try transaction.tokens.list(userID: try transaction.users.find(name: "alice")!.id).first
                }
            )
            #expect(token.expiresAt != nil)
            try await browser.get("/me")
            let revoked = try await browser.post("/me/tokens/\(token.id)/revoke")
            #expect(revoked.status == .seeOther)
            #expect(try await browser.get("/me").text.contains("The token ci is revoked."))
            let refused = try await fixture.client.execute(uri: "/v2/", method: .get, headers: Self.basic("alice", secret))
            #expect(refused.status == .unauthorized)
        }
    }

    @Test func nobodyRevokesAnotherPersonsToken() async throws {
        try await withAuthServer { fixture in
            let (token, _) = try await fixture.accounts.createToken(user: "alice", label: "laptop")
            let bob = PortalBrowser(client: fixture.client)
            try await bob.signIn("bob")
            let response = try await bob.post("/me/tokens/\(token.id)/revoke")
            #expect(response.status == .notFound)
            #expect(try await fixture.pool.read { try $0.tokens.find(id: token.id) } != nil)
        }
    }

    @Test func aTokenNameInUseIsRefusedWithWhatWasTyped() async throws {
        try await withAuthServer { fixture in
            _ = try await fixture.accounts.createToken(user: "alice", label: "ci")
            let browser = PortalBrowser(client: fixture.client)
            try await browser.signIn("alice")
            let again = try await browser.post("/me/tokens", [("label", "ci"), ("expires", "never")])
            #expect(again.status == .conflict)
            #expect(again.text.contains("already has a token named ci"))
            #expect(again.text.contains("value=\"ci\""))
            #expect(Self.secret(in: again.text) == nil)
        }
    }

    @Test func changingThePasswordKeepsThisBrowserSignedInAndSignsOutTheOthers() async throws {
        try await withAuthServer { fixture in
            let here = PortalBrowser(client: fixture.client)
            let there = PortalBrowser(client: fixture.client)
            try await here.signIn("alice")
            try await there.signIn("alice")
            try await here.get("/me")
            let oldCookie = here.cookies[Portal.sessionCookie]
            let wrong = try await here.post(
                "/me/password",
                [("current_password", "not-it"), ("new_password", "new-alice-password"), ("new_password_confirmation", "new-alice-password")]
            )
            #expect(wrong.status == .forbidden)
            #expect(wrong.text.contains("The current password is wrong."))
            let differ = try await here.post(
                "/me/password",
                [("current_password", "alice-password"), ("new_password", "new-alice-password"), ("new_password_confirmation", "other")]
            )
            #expect(differ.status == .unprocessableContent)
            let changed = try await here.post(
                "/me/password",
                [("current_password", "alice-password"), ("new_password", "new-alice-password"), ("new_password_confirmation", "new-alice-password")]
            )
            #expect(changed.status == .seeOther)
            #expect(changed.headers[.location] == "/me")
            #expect(here.cookies[Portal.sessionCookie] != nil && here.cookies[Portal.sessionCookie] != oldCookie)
            let stillIn = try await here.get("/me")
            #expect(stillIn.status == .ok)
            #expect(stillIn.text.contains("Your password is changed."))
            let signedOut = try await there.get("/me")
            #expect(signedOut.status == .seeOther)
            #expect(signedOut.headers[.location]?.hasPrefix("/signin") == true)
            let login = try await fixture.client.execute(uri: "/v2/", method: .get, headers: Self.basic("alice", "new-alice-password"))
            #expect(login.status == .ok)
        }
    }

    @Test func theProfileSavesAndADisplayNameWithMarkupStaysText() async throws {
        try await withAuthServer { fixture in
            let browser = PortalBrowser(client: fixture.client)
            try await browser.signIn("alice")
            try await browser.get("/me")
            let payload = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>"
            let saved = try await browser.post("/me/profile", [("display_name", payload), ("email", "alice@example.com")])
            #expect(saved.status == .seeOther)
            let page = try await browser.get("/me")
            #expect(!page.text.contains("<script>alert"))
            #expect(!page.text.contains("<img src=x"))
            #expect(page.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
            let alice = try #require(try await fixture.pool.read { try $0.users.find(name: "alice") })
            #expect(alice.displayName == payload)
            #expect(alice.email == "alice@example.com")
            let bad = try await browser.post("/me/profile", [("display_name", "Alice"), ("email", "not-an-address")])
            #expect(bad.status == .unprocessableContent)
            #expect(bad.text.contains("value=\"not-an-address\""))
        }
    }

    @Test func postsWithoutTheFormsTokenChangeNothing() async throws {
        try await withAuthServer { fixture in
            let browser = PortalBrowser(client: fixture.client)
            try await browser.signIn("alice")
            let token = try await browser.post("/me/tokens", [("label", "sneaky"), ("expires", "7")], csrf: .none)
            #expect(token.status == .forbidden)
            let password = try await browser.post(
                "/me/password",
                [("current_password", "alice-password"), ("new_password", "x-password-1"), ("new_password_confirmation", "x-password-1")],
                csrf: .some("forged")
            )
            #expect(password.status == .forbidden)
            let profile = try await browser.post("/me/profile", [("display_name", "Mallory")], csrf: .none)
            #expect(profile.status == .forbidden)
            let alice = try #require(try await fixture.pool.read { try $0.users.find(name: "alice") })
            #expect(alice.displayName == nil)
            #expect(try await fixture.accounts.listTokens(user: "alice").isEmpty)
            let login = try await fixture.client.execute(uri: "/v2/", method: .get, headers: Self.basic("alice", "alice-password"))
            #expect(login.status == .ok)
        }
    }

    @Test func refreshTokensAreListedAndRevoked() async throws {
        try await withAuthServer { fixture in
            let refresh = try await fixture.pool.write { transaction in
                try transaction.refreshTokens.create(
                    userID: try transaction.users.find(name: "alice")!.id,
                    clientID: "docker-cli",
                    tokenHash: "hash-of-a-refresh-token"
                )
            }
            let bob = PortalBrowser(client: fixture.client)
            try await bob.signIn("bob")
            #expect(try await bob.post("/me/refresh-tokens/\(refresh.id)/revoke").status == .notFound)
            let browser = PortalBrowser(client: fixture.client)
            try await browser.signIn("alice")
            let page = try await browser.get("/me")
            #expect(page.text.contains("docker-cli"))
            #expect(try await browser.post("/me/refresh-tokens/\(refresh.id)/revoke").status == .seeOther)
            #expect(try await fixture.accounts.listRefreshTokens(user: "alice").isEmpty)
            #expect(try await browser.get("/me").text.contains("No client keeps a login"))
        }
    }

    @Test func aVisitorIsSentToSignIn() async throws {
        try await withAuthServer { fixture in
            let browser = PortalBrowser(client: fixture.client)
            let response = try await browser.get("/me")
            #expect(response.status == .seeOther)
            #expect(response.headers[.location] == "/signin?next=/me")
        }
    }
}
