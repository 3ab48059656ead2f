import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import WharfCore
import WharfDatabase

@testable import WharfAuth
@testable import WharfServer

/// What a login with a scoped token (`robot$NAMESPACE+NAME`) gets: pull, or pull and push, on the matching
/// repositories of its namespace, and nothing else, whatever the permission rules would give a bot: no delete,
/// no catalogue, no other namespace, no namespace created by a push; revoked and expired tokens refused.
@Suite struct ScopedTokenAccessTests {
    static func scopes(_ texts: String...) throws -> [AccessScope] { try AccessScope.parseAll(texts) }

    @Test(arguments: AccountBackend.available)
    func aScopedLoginIsARestrictedBot(_ backend: AccountBackend) async throws {
        try await ScopedTokenFixture.with(backend) { fixture in
            let (token, secret, caller) = try await fixture.login("qa", "ci", repositories: "app-*")
            #expect(caller.subject.name == "robot$qa+ci" && caller.subject.kind == .bot && caller.subject.userID == nil)
            #expect(caller.credential == "scoped:\(token.id)")
            #expect(caller.subject.restriction == token.restriction && token.restriction != nil)

            // The secret works only with its own name; a user's password or application token never as a robot.
            let authenticator = fixture.tokens.authenticator
            for (username, password) in [
                ("robot$qa+cd", secret), ("robot$ops+ci", secret), ("robot$qa+ci", "wharf_" + String(repeating: "A", count: 43)),
                ("robot$qa+ci", "alice-password"), ("qa", secret), ("alice", secret),
            ] {
                await #expect(throws: AuthError.self, "\(username)") {
                    _ = try await authenticator.authenticate(username: username, password: password, client: "192.0.2.2")
                }
            }
            let (_, appSecret) = try await fixture.accounts.createToken(user: "alice", label: "laptop")
            await #expect(throws: AuthError.self) {
                _ = try await authenticator.authenticate(username: "robot$qa+ci", password: appSecret, client: "192.0.2.2")
            }

            // A token issued from the login stays good while the scoped token does.
            #expect(try await authenticator.activeSubject(name: "robot$qa+ci", credential: caller.credential) == caller.subject)
            #expect(try await authenticator.activeSubject(name: "robot$qa+cd", credential: caller.credential) == nil)
            #expect(try await authenticator.activeSubject(name: "robot$qa+ci", credential: nil) == nil)
        }
    }

    /// The rules would give a bot pull on protected and public namespaces, the catalogue, and a namespace of its
    /// own by pushing; the restriction leaves only its scope.
    @Test(arguments: AccountBackend.available)
    func theAuthorizerGrantsNothingBeyondTheScope(_ backend: AccountBackend) async throws {
        try await ScopedTokenFixture.with(backend) { fixture in
            let authorizer = fixture.tokens.authorizer
            let puller = try await fixture.login("qa", "puller", repositories: "app-*").caller.subject
            let pusher = try await fixture.login("qa", "pusher", repositories: "app-*", actions: [.pull, .push]).caller.subject
            let everything = try Self.scopes(
                "repository:qa/app-web:pull,push,delete",
                "repository:qa/other:pull,push",
                "repository:qa/tools/app-x:pull",
                "repository:open/app-web:pull",
                "repository:ops/app-web:pull",
                "repository:alice/app-web:pull",
                "repository:app-web:pull",
                "repository:newspace/app-web:pull,push",
                "registry:catalog:*"
            )
            #expect(try await authorizer.grant(everything, to: puller) == Self.scopes("repository:qa/app-web:pull"))
            #expect(try await authorizer.grant(everything, to: pusher) == Self.scopes("repository:qa/app-web:pull,push"))

            // Decisions say why, naming only the token's own scope.
            let delete = try await authorizer.decide(try AccessScope(parsing: "repository:qa/app-web:delete"), for: pusher)
            #expect(
                delete.granted.isEmpty && delete.reason == "robot$qa+pusher may not delete qa/app-web: the token allows only pull,push on qa/app-*"
            )
            let push = try await authorizer.decide(try AccessScope(parsing: "repository:qa/app-web:push"), for: puller)
            #expect(push.granted.isEmpty && push.reason?.contains("the token allows only pull on qa/app-*") == true)
            let other = try await authorizer.decide(try AccessScope(parsing: "repository:open/app-web:pull"), for: pusher)
            #expect(other.granted.isEmpty && other.reason != nil)
            let catalog = try await authorizer.decide(AccessScope(.catalog, actions: [.catalog]), for: pusher)
            #expect(catalog.granted.isEmpty && catalog.reason != nil)
            #expect(try await authorizer.decide(try AccessScope(parsing: "repository:qa/app-web:pull,push"), for: pusher).isAllowed)

            // The catalogue it could list holds only what it may pull.
            let names = try ["qa/app-web", "qa/other", "open/app-web", "ops/app-web", "app-web", "qa/app-x/y"].map { try RepositoryName($0) }
            #expect(try await authorizer.pullable(names, by: puller).map(\.value) == ["qa/app-web", "qa/app-x/y"])

            // A push never creates a namespace, nor reaches outside the pattern.
            for name in ["newspace/app-web", "qa/other", "open/app-web", "app-web"] {
                await #expect(throws: AuthError.self, "\(name)") {
                    try await authorizer.ensureNamespace(for: try RepositoryName(name), subject: pusher)
                }
            }
            #expect(try await fixture.pool.read { try $0.namespaces.find(name: "newspace") } == nil)
            #expect(try await fixture.pool.read { try $0.teams.find(name: "newspace") } == nil)
            try await authorizer.ensureNamespace(for: try RepositoryName("qa/app-new"), subject: pusher)
            await #expect(throws: AuthError.self) { try await authorizer.ensureNamespace(for: try RepositoryName("qa/app-new"), subject: puller) }
        }
    }

    /// In a personal namespace a pushing token pushes as its owner would, under `allow-personal` too; deletes
    /// stay out of reach although the owner may delete.
    @Test func aPersonalNamespacesTokenPushesAsItsOwnerWould() async throws {
        try await ScopedTokenFixture.with { fixture in
            let pusher = try await fixture.login("alice", "ci", actions: [.pull, .push]).caller.subject
            var strict = fixture.tokens.authorizer.rules
            strict.policy.push = .allowPersonal
            let authorizer = Authorizer(pool: fixture.pool, rules: strict, content: nil)
            #expect(
                try await authorizer.grant(Self.scopes("repository:alice/app:pull,push,delete", "repository:qa/app:pull"), to: pusher)
                    == Self.scopes("repository:alice/app:pull,push")
            )
            strict.policy.push = .adminOnly
            let adminOnly = Authorizer(pool: fixture.pool, rules: strict, content: nil)
            // The rules still decide: where nobody but admins pushes, neither does a token.
            #expect(try await adminOnly.grant(Self.scopes("repository:alice/app:pull,push"), to: pusher) == Self.scopes("repository:alice/app:pull"))
        }
    }

    /// Revoking or expiring the token ends the login and what was issued from it; the answer is remembered for
    /// at most a second, so these credentials are asked about only after the change.
    @Test(arguments: AccountBackend.available)
    func revokedAndExpiredTokensAreRefused(_ backend: AccountBackend) async throws {
        try await ScopedTokenFixture.with(backend) { fixture in
            let authenticator = fixture.tokens.authenticator
            let (revoked, revokedSecret, revokedCaller) = try await fixture.login("qa", "revoked")
            try await fixture.scoped.revoke(namespace: "qa", id: revoked.id, by: .commandLine)
            #expect(try await authenticator.activeSubject(name: "robot$qa+revoked", credential: revokedCaller.credential) == nil)
            await #expect(throws: AuthError.self) {
                _ = try await authenticator.authenticate(username: "robot$qa+revoked", password: revokedSecret, client: "192.0.2.3")
            }

            let (expired, expiredSecret, expiredCaller) = try await fixture.login("qa", "expired")
            _ = try await fixture.pool.write {
                try $0.execute("UPDATE scoped_tokens SET expires_at = ? WHERE id = ?", [Date().addingTimeInterval(-1), expired.id])
            }
            #expect(try await authenticator.activeSubject(name: "robot$qa+expired", credential: expiredCaller.credential) == nil)
            await #expect(throws: AuthError.self) {
                _ = try await authenticator.authenticate(username: "robot$qa+expired", password: expiredSecret, client: "192.0.2.3")
            }

            // Deleting the namespace takes its tokens.
            let (_, opsSecret, opsCaller) = try await fixture.login("ops", "ci")
            try await fixture.organizations.deleteNamespace(name: "ops")
            #expect(try await authenticator.activeSubject(name: "robot$ops+ci", credential: opsCaller.credential) == nil)
            await #expect(throws: AuthError.self) {
                _ = try await authenticator.authenticate(username: "robot$ops+ci", password: opsSecret, client: "192.0.2.3")
            }
        }
    }

    /// Wrong scoped-token secrets count against the address like wrong passwords.
    @Test func failedScopedLoginsCountAgainstTheAddress() async throws {
        try await ScopedTokenFixture.with(failuresPerAddress: 3) { fixture in
            let (_, secret, _) = try await fixture.login("qa", "ci")
            let authenticator = fixture.tokens.authenticator
            for guess in 0..<3 {
                await #expect(throws: AuthError.self) {
                    _ = try await authenticator.authenticate(
                        username: "robot$qa+ci",
                        password: ApplicationTokenHasher.generate() + (guess == 0 ? "" : "\(guess)"),
                        client: "198.51.100.7"
                    )
                }
            }
            do {
                _ = try await authenticator.authenticate(username: "robot$qa+ci", password: secret, client: "198.51.100.7")
                Issue.record("a fourth login from a guessing address was checked")
            } catch let error as AuthError {
                #expect(error.code == .passwordChecksThrottled)
            }
            #expect(
                try await authenticator.authenticate(username: "robot$qa+ci", password: secret, client: "198.51.100.8").subject.name == "robot$qa+ci"
            )
        }
    }

    /// Through the application: Basic on `/v2` and tokens from `/v2/token` carry the scope and no more.
    @Test func theRegistryAndTheTokenEndpointKeepToTheScope() async throws {
        try await withAuthServer { fixture in
            let organizations = OrganizationService(pool: fixture.pool, storage: fixture.services.driver)
            try await organizations.createTeam(name: "qa", owner: "alice")
            try await organizations.createNamespace(name: "qa", team: "qa")
            let admin = RegistryAuthorizationTests.basic("admin", "admin-password")
            try await RegistryAuthorizationTests.pushImage(fixture, "qa/app-web", "v1", admin)
            try await RegistryAuthorizationTests.pushImage(fixture, "qa/other", "v1", admin)
            let secrets = try ServerSecrets.load(dataDirectory: fixture.services.configuration.dataDirectory)
            let scoped = ScopedTokenService(pool: fixture.pool, secrets: secrets)
            let (_, secret) = try await scoped.create(
                namespace: "qa",
                name: "ci",
                repositories: "app-*",
                actions: [.pull],
                expiresAt: ScopedTokenFixture.inAMonth,
                by: .commandLine
            )
            let robot = RegistryAuthorizationTests.basic("robot$qa+ci", secret)
            let client = fixture.client
            #expect(try await client.execute(uri: "/v2/qa/app-web/manifests/v1", method: .get, headers: robot).status == .ok)
            #expect(try await client.execute(uri: "/v2/qa/other/manifests/v1", method: .get, headers: robot).status == .forbidden)
            #expect(try await client.execute(uri: "/v2/qa/app-web/manifests/v1", method: .delete, headers: robot).status == .forbidden)
            #expect(try await RegistryAuthorizationTests.pushBlob(fixture, "qa/app-web", bytes("new"), robot).status == .forbidden)
            #expect(try await client.execute(uri: "/v2/_catalog", method: .get, headers: robot).status == .forbidden)

            // `$` and `+` in the username, and `account` encoded as clients send it.
            let query =
                "service=wharf&account=robot%24qa%2Bci&scope=repository:qa/app-web:pull,push,delete&scope=repository:qa/other:pull"
                + "&scope=registry:catalog:*&offline_token=true"
            let response = try await client.execute(uri: "/v2/token?\(query)", method: .get, headers: robot)
            #expect(response.status == .ok)
            let body = try json(response)
            #expect(body["refresh_token"] == nil)
            let token = try #require(body["token"] as? String)
            let claims = try await fixture.tokens.issuer.verify(token, audience: "wharf")
            #expect(claims.sub == "robot$qa+ci" && claims.access == [AccessEntry(type: "repository", name: "qa/app-web", actions: ["pull"])])
            #expect(claims.credential?.hasPrefix("scoped:") == true)
            let bearer = RegistryAuthorizationTests.bearer(token)
            #expect(try await client.execute(uri: "/v2/qa/app-web/manifests/v1", method: .get, headers: bearer).status == .ok)
            // Asking again would not help: 403 with the reason.
            #expect(try await client.execute(uri: "/v2/qa/other/manifests/v1", method: .get, headers: bearer).status == .forbidden)

            let form = "grant_type=password&client_id=test&username=robot%24qa%2Bci&password=\(secret)&scope=repository:qa/app-web:pull,push"
            let posted = try await client.execute(
                uri: "/v2/token",
                method: .post,
                headers: [.contentType: "application/x-www-form-urlencoded"],
                body: buffer(bytes(form))
            )
            #expect(posted.status == .ok)
            #expect(try json(posted)["scope"] as? String == "repository:qa/app-web:pull")
        }
    }
}
