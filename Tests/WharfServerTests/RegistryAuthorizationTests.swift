import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing
import WharfAuth
import WharfCore
import WharfDatabase

@testable import WharfServer

/// The registry's door in-process: challenges, Bearer and Basic callers, denials with reasons, namespaces created
/// on push, the filtered catalogue, mounts, uploads outliving their token, revoked credentials.
@Suite struct RegistryAuthorizationTests {
    static func basic(_ user: String, _ password: String) -> HTTPFields {
        [.authorization: "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()]
    }

    static func bearer(_ token: String) -> HTTPFields { [.authorization: "Bearer \(token)"] }

    /// A token from `/v2/token` for `scopes`, with Basic credentials when `user` is given.
    static func token(_ fixture: AuthFixture, _ user: String?, _ scopes: String...) async throws -> String {
        let query = (["service=wharf"] + scopes.map { "scope=\($0)" }).joined(separator: "&")
        let headers = user.map { basic($0, "\($0)-password") } ?? [:]
        let response = try await fixture.client.execute(uri: "/v2/token?\(query)", method: .get, headers: headers)
        #expect(response.status == .ok, "\(String(buffer: response.body))")
        return try #require(try json(response)["token"] as? String)
    }

    static func pushBlob(_ fixture: AuthFixture, _ name: String, _ content: [UInt8], _ headers: HTTPFields) async throws -> TestResponse {
        try await fixture.client.execute(
            uri: "/v2/\(name)/blobs/uploads/?digest=\(digest(content))",
            method: .post,
            headers: headers,
            body: buffer(content)
        )
    }

    /// Pushes a one-layer image as `tag`, asserting every step succeeds.
    static func pushImage(_ fixture: AuthFixture, _ name: String, _ tag: String, _ headers: HTTPFields) async throws {
        let config = bytes(#"{"architecture":"amd64","os":"linux"}"#)
        let layer = bytes("layer of \(name)")
        for blob in [config, layer] { #expect(try await pushBlob(fixture, name, blob, headers).status == .created) }
        let manifest = bytes(
            """
            {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",\
            "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\(digest(config))","size":\(config.count)},\
            "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"\(digest(layer))","size":\(layer.count)}]}
            """
        )
        var manifestHeaders = headers
        manifestHeaders[.contentType] = "application/vnd.oci.image.manifest.v1+json"
        let response = try await fixture.client.execute(
            uri: "/v2/\(name)/manifests/\(tag)",
            method: .put,
            headers: manifestHeaders,
            body: buffer(manifest)
        )
        #expect(response.status == .created, "\(String(buffer: response.body))")
    }

    @Test func requestsWithoutCredentialsAreChallengedWithTheScopeTheyNeed() async throws {
        try await withAuthServer { fixture in
            let cases: [(String, HTTPRequest.Method, String?)] = [
                ("/v2/", .get, nil),
                ("/v2/alice/app/tags/list", .get, "repository:alice/app:pull"),
                ("/v2/alice/app/manifests/v1", .head, "repository:alice/app:pull"),
                ("/v2/alice/app/blobs/uploads/", .post, "repository:alice/app:pull,push"),
                ("/v2/alice/app/manifests/v1", .delete, "repository:alice/app:delete"),
                ("/v2/_catalog", .get, "registry:catalog:*"),
            ]
            for (uri, method, scope) in cases {
                let response = try await fixture.client.execute(uri: uri, method: method)
                #expect(response.status == .unauthorized, "\(method) \(uri)")
                let challenge = try #require(response.headers[.wwwAuthenticate])
                #expect(challenge.hasPrefix(#"Bearer realm="https://"#) && challenge.contains(#"/v2/token",service="wharf""#), "\(challenge)")
                #expect(challenge.contains("scope=") == (scope != nil))
                if let scope { #expect(challenge.hasSuffix(#"scope="\#(scope)""#), "\(challenge)") }
                #expect(response.headers[.dockerDistributionAPIVersion] == "registry/2.0")
                if method != .head { #expect(errorCode(response) == "UNAUTHORIZED") }
            }
            // A mount names its source too, so a client following the challenge asks to pull it.
            let mount = try await fixture.client.execute(
                uri: "/v2/bob/app/blobs/uploads/?mount=\(digest(bytes("x")))&from=alice/app",
                method: .post
            )
            #expect(mount.headers[.wwwAuthenticate]?.hasSuffix(#"scope="repository:bob/app:pull,push repository:alice/app:pull""#) == true)
            // Garbage credentials are challenged the same way.
            for header in ["Bearer not.a.token", "Basic !!!", "Negotiate abc"] {
                let response = try await fixture.client.execute(uri: "/v2/", method: .get, headers: [.authorization: header])
                #expect(response.status == .unauthorized && response.headers[.wwwAuthenticate] != nil, "\(header)")
            }
        }
    }

    @Test func aTokenFromTheEndpointPushesAndPullsItsRepositoryOnly() async throws {
        try await withAuthServer { fixture in
            let token = try await Self.token(fixture, "alice", "repository:alice/app:pull,push")
            try await Self.pushImage(fixture, "alice/app", "v1", Self.bearer(token))
            let tags = try await fixture.client.execute(uri: "/v2/alice/app/tags/list", method: .get, headers: Self.bearer(token))
            #expect(tags.status == .ok)
            // The same token on bob's private repository: alice may not, so asking again would not help.
            let other = try await fixture.client.execute(uri: "/v2/bob/app/tags/list", method: .get, headers: Self.bearer(token))
            #expect(other.status == .forbidden && errorCode(other) == "DENIED")
            // On another repository of hers: a new token would carry it.
            let mine = try await fixture.client.execute(uri: "/v2/alice/other/tags/list", method: .get, headers: Self.bearer(token))
            #expect(mine.status == .unauthorized)
            #expect(mine.headers[.wwwAuthenticate]?.contains(#"error="insufficient_scope""#) == true)
            // A pull-only token cannot push.
            let pullOnly = try await Self.token(fixture, "alice", "repository:alice/app:pull")
            let push = try await Self.pushBlob(fixture, "alice/app", bytes("x"), Self.bearer(pullOnly))
            #expect(push.status == .unauthorized)
            // Anonymous tokens reach /v2/ but nothing private.
            let anonymous = try await Self.token(fixture, nil, "repository:alice/app:pull")
            #expect(try await fixture.client.execute(uri: "/v2/", method: .get, headers: Self.bearer(anonymous)).status == .ok)
            #expect(
                try await fixture.client.execute(uri: "/v2/alice/app/tags/list", method: .get, headers: Self.bearer(anonymous)).status
                    == .unauthorized
            )
        }
    }

    @Test func basicCredentialsWorkDirectlyAndWrongOnesAreChallenged() async throws {
        try await withAuthServer { fixture in
            try await Self.pushImage(fixture, "alice/app", "v1", Self.basic("alice", "alice-password"))
            let wrong = try await fixture.client.execute(uri: "/v2/alice/app/tags/list", method: .get, headers: Self.basic("alice", "wrong-password"))
            #expect(wrong.status == .unauthorized)
            let bob = try await fixture.client.execute(uri: "/v2/alice/app/tags/list", method: .get, headers: Self.basic("bob", "bob-password"))
            #expect(bob.status == .forbidden)
            #expect(try json(bob)["errors"].debugDescription.contains("bob may not pull alice/app"))
            let (token, secret) = try await fixture.accounts.createToken(user: "alice", label: "ci")
            _ = token
            let withToken = try await fixture.client.execute(uri: "/v2/alice/app/tags/list", method: .get, headers: Self.basic("alice", secret))
            #expect(withToken.status == .ok)
        }
    }

    @Test func aPushIntoAMissingNamespaceCreatesItForThePusher() async throws {
        try await withAuthServer { fixture in
            let token = try await Self.token(fixture, "alice", "repository:newteam/app:pull,push")
            try await Self.pushImage(fixture, "newteam/app", "v1", Self.bearer(token))
            let (namespace, role) = try await fixture.pool.read { transaction -> (Namespace?, TeamRole?) in
                let alice = try transaction.users.find(name: "alice")!
                let access = try transaction.namespaces.access(name: "newteam", userID: alice.id)
                return (access?.namespace, access?.role)
            }
            #expect(namespace?.kind == .team && namespace?.visibility == .private)
            #expect(role == .owner)
            let bob = try await fixture.client.execute(uri: "/v2/newteam/app/tags/list", method: .get, headers: Self.basic("bob", "bob-password"))
            #expect(bob.status == .forbidden)
            // Users may not push into the global namespace.
            let global = try await Self.pushBlob(fixture, "toplevel", bytes("x"), Self.basic("alice", "alice-password"))
            #expect(global.status == .forbidden && errorCode(global) == "DENIED")
        }
    }

    @Test func withoutCreationOnPushTheDenialNamesTheNamespace() async throws {
        let configure: (inout ServerConfiguration) -> Void = { $0.permissions.createNamespaceOnPush = false }
        try await withAuthServer(configure: configure) { fixture in
            let token = try await Self.token(fixture, "alice", "repository:ghost/app:pull,push")
            let response = try await Self.pushBlob(fixture, "ghost/app", bytes("x"), Self.bearer(token))
            #expect(response.status == .forbidden && errorCode(response) == "DENIED")
            // alice may not create namespaces here, so she is not told whether ghost exists; an admin is.
            #expect(Self.body(response).contains("alice may not push ghost/app: no namespace ghost that alice may push to"))
            let admin = try await Self.pushBlob(fixture, "ghost/app", bytes("x"), Self.basic("admin", "admin-password"))
            #expect(admin.status == .forbidden && Self.body(admin).contains("namespace ghost does not exist"))
            // The reason is the message too (clients print code: message), and the 403's status line.
            #expect(Self.body(admin).hasPrefix("DENIED|namespace ghost does not exist and pushing does not create namespaces here"))
            #expect(admin.head.status.reasonPhrase.hasPrefix("Forbidden: namespace ghost does not exist"))
            #expect(try await fixture.pool.read { try $0.namespaces.find(name: "ghost") } == nil)
            let repositories = fixture.services.configuration.registryDirectory + "/docker/registry/v2/repositories/ghost"
            #expect(!FileManager.default.fileExists(atPath: repositories))
        }
    }

    @Test func theCatalogueListsWhatTheCallerMayPull() async throws {
        try await withAuthServer { fixture in
            try await Self.pushImage(fixture, "alice/app", "v1", Self.basic("alice", "alice-password"))
            try await Self.pushImage(fixture, "bob/app", "v1", Self.basic("bob", "bob-password"))
            func catalog(_ user: String) async throws -> [String] {
                let response = try await fixture.client.execute(uri: "/v2/_catalog", method: .get, headers: Self.basic(user, "\(user)-password"))
                #expect(response.status == .ok)
                return try json(response)["repositories"] as? [String] ?? []
            }
            #expect(try await catalog("alice") == ["alice/app"])
            #expect(try await catalog("bob") == ["bob/app"])
            #expect(try await catalog("admin") == ["alice/app", "bob/app"])
        }
    }

    /// A page holds `n` repositories the caller may pull even when many it may not come first: the catalogue
    /// reads storage in batches until the page is full, and the Link header leads to the rest.
    @Test func catalogPagesSkipWhatTheCallerMayNotPull() async throws {
        try await withAuthServer { fixture in
            let alice = Self.basic("alice", "alice-password")
            try await Self.pushImage(fixture, "alice/app", "v1", alice)
            try await Self.pushImage(fixture, "alice/tool", "v1", alice)
            // 150 repositories of a namespace without an owner, before alice's in tree order: only admins see them.
            let root = fixture.services.configuration.registryDirectory + "/docker/registry/v2/repositories/aaa"
            for index in 0..<150 {
                try FileManager.default.createDirectory(atPath: root + "/r\(index)/_manifests", withIntermediateDirectories: true)
            }
            // Written behind Wharf's back: the catalogue lists them from the next sync pass on.
            try await fixture.services.sync.syncNow()
            var names: [String] = []
            var uri: String? = "/v2/_catalog?n=1"
            var pages = 0
            while let next = uri, pages < 10 {
                let response = try await fixture.client.execute(uri: next, method: .get, headers: alice)
                #expect(response.status == .ok)
                names += try json(response)["repositories"] as? [String] ?? []
                uri = response.headers[.link].flatMap { $0.split(separator: ">").first.map { String($0.dropFirst()) } }
                pages += 1
            }
            #expect(names == ["alice/app", "alice/tool"])
            #expect(pages == 2)
            let admin = try await fixture.client.execute(uri: "/v2/_catalog?n=151", method: .get, headers: Self.basic("admin", "admin-password"))
            let all = try json(admin)["repositories"] as? [String] ?? []
            #expect(all.count == 151 && all.first == "aaa/r0" && all.last == "alice/app")
            #expect(admin.headers[.link] == "</v2/_catalog?n=151&last=alice/app>; rel=\"next\"")
        }
    }

    /// `/v2/_catalog` reads the catalogue mirror when it is current (no walk of storage), and walks storage while
    /// the mirror may be behind (a request could not write its row): never a stale page.
    @Test func theCatalogueReadsTheMirrorOnlyWhenItIsCurrent() async throws {
        try await withAuthServer { fixture in
            let admin = Self.basic("admin", "admin-password")
            try await Self.pushImage(fixture, "alice/app", "v1", Self.basic("alice", "alice-password"))
            try await fixture.services.sync.syncNow()
            // The server's own start-up pass too, so that no pass runs behind the test's back (the next one is
            // sync.interval away).
            let deadline = ContinuousClock.now + .seconds(30)
            while await fixture.services.sync.completedPasses < 2, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(fixture.services.catalog.state.isCurrent)
            let root = fixture.services.configuration.registryDirectory + "/docker/registry/v2/repositories"
            try FileManager.default.createDirectory(atPath: root + "/zed/behind/_manifests", withIntermediateDirectories: true)
            // Read from the mirror, which has not seen the folder yet.
            #expect(try await Self.catalogNames(fixture, admin) == ["alice/app"])
            fixture.services.catalog.state.writeFailed()
            #expect(try await Self.catalogNames(fixture, admin) == ["alice/app", "zed/behind"])
            try await fixture.services.sync.syncNow()
            #expect(fixture.services.catalog.state.isCurrent)
            #expect(try await Self.catalogNames(fixture, admin) == ["alice/app", "zed/behind"])
        }
    }

    static func catalogNames(_ fixture: AuthFixture, _ headers: HTTPFields) async throws -> [String] {
        let response = try await fixture.client.execute(uri: "/v2/_catalog", method: .get, headers: headers)
        return try json(response)["repositories"] as? [String] ?? []
    }

    @Test func mountsReadOnlyFromRepositoriesTheCallerMayPull() async throws {
        try await withAuthServer { fixture in
            // The layer of an image in alice's private repository.
            let secret = bytes("layer of alice/app")
            try await Self.pushImage(fixture, "alice/app", "v1", Self.basic("alice", "alice-password"))
            let bob = Self.basic("bob", "bob-password")
            for query in ["mount=\(digest(secret))&from=alice/app", "mount=\(digest(secret))"] {
                let response = try await fixture.client.execute(uri: "/v2/bob/app/blobs/uploads/?\(query)", method: .post, headers: bob)
                #expect(response.status == .accepted, "\(query)")
            }
            #expect(try await fixture.client.execute(uri: "/v2/bob/app/blobs/\(digest(secret))", method: .head, headers: bob).status == .notFound)
            let alice = Self.basic("alice", "alice-password")
            let own = try await fixture.client.execute(uri: "/v2/alice/copy/blobs/uploads/?mount=\(digest(secret))", method: .post, headers: alice)
            #expect(own.status == .created)
        }
    }

    /// A repository holding only pushed layers (its manifest not pushed yet) is a mount source too: a client
    /// that pushes the layers of two images before either manifest mounts the shared one.
    @Test func aMountWithoutFromFindsARepositoryWithOnlyLayers() async throws {
        try await withAuthServer { fixture in
            let alice = Self.basic("alice", "alice-password")
            let layer = bytes("a layer pushed before any manifest")
            #expect(try await Self.pushBlob(fixture, "alice/first", layer, alice).status == .created)
            let mounted = try await fixture.client.execute(
                uri: "/v2/alice/second/blobs/uploads/?mount=\(digest(layer))",
                method: .post,
                headers: alice
            )
            #expect(mounted.status == .created)
            #expect(mounted.headers[.location] == "/v2/alice/second/blobs/\(digest(layer))")
            // bob may not pull alice/first: the same mount is an upload for him.
            let bob = Self.basic("bob", "bob-password")
            let refused = try await fixture.client.execute(uri: "/v2/bob/app/blobs/uploads/?mount=\(digest(layer))", method: .post, headers: bob)
            #expect(refused.status == .accepted)
        }
    }

    @Test func anUploadOutlivesItsTokenButANewOneDoesNot() async throws {
        try await withAuthServer { fixture in
            let name = try RepositoryName("alice/app")
            let anHourAgo = Date().addingTimeInterval(-3600)
            let access = [AccessScope(.repository(name), actions: [.pull, .push])]
            let expired = try fixture.tokens.issuer.issue(subject: "alice", audience: "wharf", access: access, now: anHourAgo).token
            // A session that began while the token was valid continues with it.
            let session = try await fixture.services.blobs.startUpload(in: name, now: anHourAgo.addingTimeInterval(60))
            let content = bytes("a long push")
            let finish = try await fixture.client.execute(
                uri: "/v2/alice/app/blobs/uploads/\(session.id)?digest=\(digest(content))",
                method: .put,
                headers: Self.bearer(expired),
                body: buffer(content)
            )
            #expect(finish.status == .created, "\(String(buffer: finish.body))")
            // A session started now did not begin under that token; nor does a new upload.
            let fresh = try await fixture.services.blobs.startUpload(in: name)
            let late = try await fixture.client.execute(uri: "/v2/alice/app/blobs/uploads/\(fresh.id)", method: .get, headers: Self.bearer(expired))
            #expect(late.status == .unauthorized)
            let start = try await fixture.client.execute(uri: "/v2/alice/app/blobs/uploads/", method: .post, headers: Self.bearer(expired))
            #expect(start.status == .unauthorized)
            // An expired token of someone who may not push there continues nothing.
            let bobs = try fixture.tokens.issuer.issue(subject: "bob", audience: "wharf", access: [], now: anHourAgo).token
            let session2 = try await fixture.services.blobs.startUpload(in: name, now: anHourAgo.addingTimeInterval(60))
            let stolen = try await fixture.client.execute(uri: "/v2/alice/app/blobs/uploads/\(session2.id)", method: .get, headers: Self.bearer(bobs))
            #expect(stolen.status == .unauthorized)
        }
    }

    @Test func disabledUsersAndRevokedCredentialsStopAtOnce() async throws {
        try await withAuthServer { fixture in
            let token = try await Self.token(fixture, "alice", "repository:alice/app:pull")
            let tags = "/v2/alice/app/tags/list"
            #expect(try await fixture.client.execute(uri: tags, method: .get, headers: Self.bearer(token)).status == .notFound)
            try await fixture.accounts.setEnabled(name: "alice", false)
            try await Task.sleep(for: .milliseconds(1100))
            #expect(try await fixture.client.execute(uri: tags, method: .get, headers: Self.bearer(token)).status == .unauthorized)
            try await fixture.accounts.setEnabled(name: "alice", true)

            // A refresh token, exchanged for an access token, then revoked.
            let offline = try await fixture.client.execute(
                uri: "/v2/token?service=wharf&offline_token=true&client_id=docker",
                method: .get,
                headers: Self.basic("alice", "alice-password")
            )
            let refresh = try #require(try json(offline)["refresh_token"] as? String)
            let exchanged = try await fixture.client.execute(
                uri: "/v2/token",
                method: .post,
                headers: [.contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(
                    string: "grant_type=refresh_token&client_id=docker&service=wharf&scope=repository:alice/app:pull&refresh_token=\(refresh)"
                )
            )
            #expect(exchanged.status == .ok)
            let fromRefresh = try #require(try json(exchanged)["access_token"] as? String)
            let claims = try await fixture.tokens.issuer.verify(fromRefresh, audience: "wharf")
            #expect(claims.credential?.hasPrefix("refresh:") == true)
            #expect(try await fixture.client.execute(uri: tags, method: .get, headers: Self.bearer(fromRefresh)).status == .notFound)
            try await fixture.accounts.revokeToken(user: "alice", label: try #require(claims.credential))
            try await Task.sleep(for: .milliseconds(1100))
            #expect(try await fixture.client.execute(uri: tags, method: .get, headers: Self.bearer(fromRefresh)).status == .unauthorized)
        }
    }

    @Test func locationsAndRealmFollowTheExternalURL() async throws {
        let configure: (inout ServerConfiguration) -> Void = { $0.externalURL = "https://registry.example.test" }
        try await withAuthServer(configure: configure) { fixture in
            let challenge = try await fixture.client.execute(uri: "/v2/", method: .get)
            #expect(challenge.headers[.wwwAuthenticate]?.hasPrefix(#"Bearer realm="https://registry.example.test/v2/token""#) == true)
            let start = try await fixture.client.execute(
                uri: "/v2/alice/app/blobs/uploads/",
                method: .post,
                headers: Self.basic("alice", "alice-password")
            )
            #expect(start.status == .accepted)
            #expect(start.headers[.location]?.hasPrefix("https://registry.example.test/v2/alice/app/blobs/uploads/") == true)
        }
    }

    @Test func theServiceAccountPullsEverythingAndWritesNothing() async throws {
        let configure: (inout ServerConfiguration) -> Void = { $0.servicePassword = "service-password" }
        try await withAuthServer(configure: configure) { fixture in
            try await Self.pushImage(fixture, "alice/app", "v1", Self.basic("alice", "alice-password"))
            let portus = Self.basic("portus", "service-password")
            #expect(try await fixture.client.execute(uri: "/v2/alice/app/tags/list", method: .get, headers: portus).status == .ok)
            let catalog = try await fixture.client.execute(uri: "/v2/_catalog", method: .get, headers: portus)
            #expect(try json(catalog)["repositories"] as? [String] == ["alice/app"])
            #expect(try await Self.pushBlob(fixture, "alice/app", bytes("x"), portus).status == .forbidden)
            #expect(
                try await fixture.client.execute(uri: "/v2/", method: .get, headers: Self.basic("portus", "wrong-password")).status == .unauthorized
            )
        }
    }

    @Test func aTokenNeverPassesToALaterAccountOfTheSameName() async throws {
        try await withAuthServer { fixture in
            try await fixture.pool.write { transaction in
                let team = try transaction.teams.create(name: "shared")
                try transaction.namespaces.create(name: "shared", kind: .team, visibility: .protected, teamID: team.id)
            }
            try await fixture.accounts.createUser(name: "carol", password: "carol-password")
            let token = try await Self.token(fixture, "carol", "repository:shared/app:pull")
            let tags = "/v2/shared/app/tags/list"
            #expect(try await fixture.client.execute(uri: tags, method: .get, headers: Self.bearer(token)).status == .notFound)
            try await fixture.accounts.deleteUser(name: "carol")
            try await fixture.accounts.createUser(name: "carol", password: "another-password")
            try await Task.sleep(for: .milliseconds(1100))
            #expect(try await fixture.client.execute(uri: tags, method: .get, headers: Self.bearer(token)).status == .unauthorized)
        }
    }

    @Test func aWriteIsCheckedAgainstTodaysRulesNotTheTokens() async throws {
        try await withAuthServer { fixture in
            // Bob may push into zeta while it does not exist (he would create it)...
            let token = try await Self.token(fixture, "bob", "repository:zeta/app:pull,push")
            // ...but an admin creates it as a private namespace of a team bob is not in.
            try await fixture.pool.write { transaction in
                let team = try transaction.teams.create(name: "zeta")
                try transaction.namespaces.create(name: "zeta", kind: .team, visibility: .private, teamID: team.id)
            }
            let push = try await fixture.client.execute(uri: "/v2/zeta/app/blobs/uploads/", method: .post, headers: Self.bearer(token))
            #expect(push.status == .forbidden && errorCode(push) == "DENIED")
            // A role taken away stops the next push too.
            try await fixture.pool.write { transaction in
                let team = try transaction.teams.find(name: "zeta")!
                let bob = try transaction.users.find(name: "bob")!
                try transaction.teams.setMember(teamID: team.id, userID: bob.id, role: .contributor)
            }
            // Answers are remembered for a second.
            try await Task.sleep(for: .milliseconds(1100))
            let member = try await Self.token(fixture, "bob", "repository:zeta/app:pull,push")
            #expect(
                try await fixture.client.execute(uri: "/v2/zeta/app/blobs/uploads/", method: .post, headers: Self.bearer(member)).status == .accepted
            )
            try await fixture.pool.write { transaction in
                let team = try transaction.teams.find(name: "zeta")!
                let bob = try transaction.users.find(name: "bob")!
                try transaction.teams.removeMember(teamID: team.id, userID: bob.id)
            }
            try await Task.sleep(for: .milliseconds(1100))
            #expect(
                try await fixture.client.execute(uri: "/v2/zeta/app/blobs/uploads/", method: .post, headers: Self.bearer(member)).status == .forbidden
            )
        }
    }

    @Test func aRefreshTokenWorksOnlyForItsClient() async throws {
        try await withAuthServer { fixture in
            let offline = try await fixture.client.execute(
                uri: "/v2/token?service=wharf&offline_token=true&client_id=docker",
                method: .get,
                headers: Self.basic("alice", "alice-password")
            )
            let refresh = try #require(try json(offline)["refresh_token"] as? String)
            func exchange(_ client: String) async throws -> HTTPResponse.Status {
                try await fixture.client.execute(
                    uri: "/v2/token",
                    method: .post,
                    headers: [.contentType: "application/x-www-form-urlencoded"],
                    body: ByteBuffer(string: "grant_type=refresh_token&client_id=\(client)&refresh_token=\(refresh)")
                ).status
            }
            #expect(try await exchange("other-tool") == .badRequest)
            #expect(try await exchange("docker") == .ok)
            // A hostile client_id is a 400 with a reason, never a database error.
            for hostile in ["%01%02", String(repeating: "%F0%9F%98%80", count: 30)] {
                #expect(try await exchange(hostile) == .badRequest)
                let get = try await fixture.client.execute(
                    uri: "/v2/token?service=wharf&offline_token=true&client_id=\(hostile)",
                    method: .get,
                    headers: Self.basic("alice", "alice-password")
                )
                #expect(get.status == .badRequest)
                #expect(String(buffer: get.body).contains("client_id must be at most"))
            }
        }
    }

    /// The first error's code, message and detail, with `from` replaced by `to`, to compare two refusals but for
    /// the names.
    static func body(_ response: TestResponse, replacing from: String = "", with to: String = "") -> String {
        struct Body: Decodable {
            struct Entry: Decodable {
                let code: String
                let message: String
                let detail: String?
            }
            let errors: [Entry]
        }
        guard let entry = (try? JSONDecoder().decode(Body.self, from: Data(response.body.readableBytesView)))?.errors.first else { return "" }
        let text = "\(entry.code)|\(entry.message)|\(entry.detail ?? "")"
        return from.isEmpty ? text : text.replacingOccurrences(of: from, with: to)
    }

    /// dave pushed dave/secret, then his rows went (as `wharf user delete` did before): the content stays in
    /// storage without an owner. Nobody but admins (and the service account, reading) gets at it, and no push
    /// makes it someone's namespace, until an admin adopts it.
    @Test func contentWithoutAnOwnerIsAdminsOnlyUntilAdopted() async throws {
        let configure: (inout ServerConfiguration) -> Void = { $0.servicePassword = "service-password-long" }
        try await withAuthServer(configure: configure) { fixture in
            try await fixture.accounts.createUser(name: "dave", password: "dave-password")
            try await Self.pushImage(fixture, "dave/secret", "v1", Self.basic("dave", "dave-password"))
            try await fixture.pool.write { transaction in
                let dave = try transaction.users.find(name: "dave")!
                try transaction.namespaces.delete(id: try transaction.namespaces.find(name: "dave")!.id)
                try transaction.users.delete(id: dave.id)
            }
            // alice may create namespaces (the default policy), yet gets nothing here, neither by token...
            let token = try await Self.token(fixture, "alice", "repository:dave/secret:pull,push")
            let claims = try await fixture.tokens.issuer.verify(token, audience: "wharf")
            let secret = try RepositoryName("dave/secret")
            #expect(!claims.allows(.pull, on: secret) && !claims.allows(.push, on: secret))
            let pulled = try await fixture.client.execute(uri: "/v2/dave/secret/manifests/v1", method: .get, headers: Self.bearer(token))
            #expect(pulled.status == .forbidden && errorCode(pulled) == "DENIED")
            // ...nor with Basic credentials; a push is refused with what an admin must do, and creates nothing.
            let alice = Self.basic("alice", "alice-password")
            let tags = try await fixture.client.execute(uri: "/v2/dave/secret/tags/list", method: .get, headers: alice)
            #expect(tags.status == .forbidden && errorCode(tags) == "DENIED")
            let push = try await Self.pushBlob(fixture, "dave/new", bytes("claim"), alice)
            #expect(push.status == .forbidden && errorCode(push) == "DENIED")
            #expect(
                Self.body(push).contains(
                    "alice may not push dave/new: namespace dave holds content without an owner; an admin must adopt it (wharf namespace adopt dave --team TEAM)"
                )
            )
            #expect(try await fixture.pool.read { try $0.namespaces.find(name: "dave") } == nil)
            let catalog = try await fixture.client.execute(uri: "/v2/_catalog", method: .get, headers: alice)
            #expect(try json(catalog)["repositories"] as? [String] == [])

            // Admins read and write it, without making it a namespace; the service account reads it.
            let admin = Self.basic("admin", "admin-password")
            #expect(try await fixture.client.execute(uri: "/v2/dave/secret/manifests/v1", method: .get, headers: admin).status == .ok)
            try await Self.pushImage(fixture, "dave/secret", "v2", admin)
            #expect(try await fixture.pool.read { try $0.namespaces.find(name: "dave") } == nil)
            let adminCatalog = try await fixture.client.execute(uri: "/v2/_catalog", method: .get, headers: admin)
            #expect(try json(adminCatalog)["repositories"] as? [String] == ["dave/secret"])
            let portus = Self.basic("portus", "service-password-long")
            #expect(try await fixture.client.execute(uri: "/v2/dave/secret/manifests/v1", method: .get, headers: portus).status == .ok)
            #expect(try await Self.pushBlob(fixture, "dave/secret", bytes("x"), portus).status == .forbidden)

            // Adopted for a team alice is in, it is theirs.
            let organization = OrganizationService(pool: fixture.pool, storage: fixture.services.driver)
            try await organization.createTeam(name: "ops", owner: "alice")
            #expect(try await organization.adoptNamespace(name: "dave", team: "ops").map(\.value) == ["dave/secret"])
            let adopted = try await Self.token(fixture, "alice", "repository:dave/secret:pull")
            #expect(try await fixture.client.execute(uri: "/v2/dave/secret/manifests/v1", method: .get, headers: Self.bearer(adopted)).status == .ok)
        }
    }

    /// A caller who may not create namespaces learns nothing about one they may not see: a namespace that does
    /// not exist, a private one of someone else's and content without an owner get the same answer, names
    /// aside, to a push, a pull and a delete, by token and by Basic credentials alike.
    @Test func missingAndInvisibleNamespacesAreRefusedAlike() async throws {
        let configure: (inout ServerConfiguration) -> Void = { $0.permissions.createNamespaceOnPush = false }
        try await withAuthServer(configure: configure) { fixture in
            try await Self.pushImage(fixture, "bob/app", "v1", Self.basic("bob", "bob-password"))
            try await fixture.pool.write { transaction in
                let team = try transaction.teams.create(name: "prot")
                try transaction.namespaces.create(name: "prot", kind: .team, visibility: .protected, teamID: team.id)
                try transaction.namespaces.create(name: "orphan", kind: .team, visibility: .protected, teamID: team.id)
            }
            // Content whose namespace row goes away afterwards.
            try await Self.pushImage(fixture, "orphan/app", "v1", Self.basic("admin", "admin-password"))
            try await fixture.pool.write { transaction in
                _ = try transaction.namespaces.delete(id: try transaction.namespaces.find(name: "orphan")!.id)
            }
            let alice = Self.basic("alice", "alice-password")
            let requests: [(String, HTTPRequest.Method, String)] = [
                ("/v2/NS/app/blobs/uploads/", .post, "push"),
                ("/v2/NS/app/tags/list", .get, "pull"),
                ("/v2/NS/app/manifests/\(digest(bytes("x")))", .delete, "delete"),
            ]
            for (path, method, action) in requests {
                let scope = "repository:NS/app:\(action)"
                var answers: [String: (HTTPResponse.Status, String?, String)] = [:]
                for namespace in ["nosuch", "bob", "orphan"] {
                    let uri = path.replacingOccurrences(of: "NS", with: namespace)
                    let basic = try await fixture.client.execute(uri: uri, method: method, headers: alice)
                    let token = try await Self.token(fixture, "alice", scope.replacingOccurrences(of: "NS", with: namespace))
                    #expect(try await fixture.tokens.issuer.verify(token, audience: "wharf").access.isEmpty, "\(namespace) \(action)")
                    let bearer = try await fixture.client.execute(uri: uri, method: method, headers: Self.bearer(token))
                    #expect(
                        bearer.status == basic.status
                            && Self.body(bearer, replacing: namespace, with: "NS") == Self.body(basic, replacing: namespace, with: "NS")
                    )
                    answers[namespace] = (basic.status, errorCode(basic), Self.body(basic, replacing: namespace, with: "NS"))
                }
                let missing = try #require(answers["nosuch"])
                #expect(missing.0 == .forbidden && missing.1 == "DENIED", "\(action)")
                let verb = ["push": "push to", "pull": "pull from", "delete": "delete from"][action]!
                #expect(missing.2.contains("alice may not \(action) NS/app: no namespace NS that alice may \(verb)"), "\(missing.2)")
                for namespace in ["bob", "orphan"] {
                    let other = try #require(answers[namespace])
                    #expect(
                        other.0 == missing.0 && other.1 == missing.1 && other.2 == missing.2,
                        "\(action) \(namespace): \(other.2) vs \(missing.2)"
                    )
                }
            }
            // A namespace alice may see keeps its specific refusal.
            let visible = try await Self.pushBlob(fixture, "prot/app", bytes("x"), alice)
            #expect(visible.status == .forbidden && Self.body(visible).hasSuffix("|alice may not push prot/app"))
        }
    }

    /// Clients print a refusal's `code: message` and drop `detail`, so the reason is the message (and the detail);
    /// a 403's status line says it too (containerd prints nothing else). A `HEAD` on a blob under a token, which
    /// has no body to say it in, is refused as distribution does, 401 `insufficient_scope`, with the reason in the
    /// challenge's `error_description` (skopeo and podman print it).
    @Test func refusalsSayTheirReasonWhereClientsPrintIt() async throws {
        try await withAuthServer { fixture in
            try await Self.pushImage(fixture, "alice/app", "v1", Self.basic("alice", "alice-password"))
            let blob = digest(bytes("layer of alice/app"))
            let reason = "bob may not pull alice/app: no namespace alice that bob may pull from; ask an admin to create it or to give bob access"
            let token = try await Self.token(fixture, "bob", "repository:alice/app:pull,push")

            let get = try await fixture.client.execute(uri: "/v2/alice/app/manifests/v1", method: .get, headers: Self.bearer(token))
            #expect(get.status == .forbidden && Self.body(get) == "DENIED|\(reason)|\(reason)")
            #expect(get.head.status.reasonPhrase == "Forbidden: \(reason)")
            let manifestHead = try await fixture.client.execute(uri: "/v2/alice/app/manifests/v1", method: .head, headers: Self.bearer(token))
            #expect(manifestHead.status == .forbidden && manifestHead.head.status.reasonPhrase == "Forbidden: \(reason)")

            let head = try await fixture.client.execute(uri: "/v2/alice/app/blobs/\(blob)", method: .head, headers: Self.bearer(token))
            #expect(head.status == .unauthorized && head.body.readableBytes == 0)
            let challenge = try #require(head.headers[.wwwAuthenticate])
            #expect(
                challenge.hasSuffix(#"scope="repository:alice/app:pull",error="insufficient_scope",error_description="\#(reason)""#),
                "\(challenge)"
            )
            // The same HEAD with Basic credentials (no token flow to follow) stays a 403.
            let basicHead = try await fixture.client.execute(
                uri: "/v2/alice/app/blobs/\(blob)",
                method: .head,
                headers: Self.basic("bob", "bob-password")
            )
            #expect(basicHead.status == .forbidden && basicHead.headers[.wwwAuthenticate] == nil)

            // A push into the global namespace says its reason the same way.
            let global = try await Self.pushBlob(
                fixture,
                "toplevel",
                bytes("x"),
                Self.bearer(try await Self.token(fixture, "alice", "repository:toplevel:pull,push"))
            )
            #expect(global.status == .forbidden && Self.body(global) == "DENIED|alice may not push toplevel|alice may not push toplevel")
            #expect(global.head.status.reasonPhrase == "Forbidden: alice may not push toplevel")
        }
    }

    /// An anonymous token without the access gets 401 `insufficient_scope`, as from distribution (a client that
    /// fetched a token and is refused again stops), saying what needs logging in; nothing about namespaces. A
    /// request without a token still gets a plain challenge, so clients fetch one.
    @Test func anAnonymousTokenWithoutTheAccessIsAskedToLogIn() async throws {
        try await withAuthServer { fixture in
            try await Self.pushImage(fixture, "alice/app", "v1", Self.basic("alice", "alice-password"))
            let anonymous = try await Self.token(fixture, nil, "repository:alice/app:pull,push")
            let cases: [(String, HTTPRequest.Method, String, String)] = [
                ("/v2/alice/app/blobs/uploads/", .post, "pull,push", "push"),
                ("/v2/alice/app/manifests/v1", .get, "pull", "pull"),
                ("/v2/alice/app/blobs/\(digest(bytes("x")))", .head, "pull", "pull"),
                ("/v2/nosuch/app/tags/list", .get, "pull", "pull"),
            ]
            for (uri, method, scope, action) in cases {
                let response = try await fixture.client.execute(uri: uri, method: method, headers: Self.bearer(anonymous))
                let name = uri.split(separator: "/")[1...2].joined(separator: "/")
                let reason = "authentication required to \(action) \(name)"
                #expect(response.status == .unauthorized, "\(method) \(uri)")
                let challenge = try #require(response.headers[.wwwAuthenticate])
                #expect(
                    challenge.hasSuffix(#"scope="repository:\#(name):\#(scope)",error="insufficient_scope",error_description="\#(reason)""#),
                    "\(challenge)"
                )
                if method != .head { #expect(Self.body(response) == "UNAUTHORIZED|\(reason)|\(reason)") }
            }
            let none = try await fixture.client.execute(uri: "/v2/alice/app/tags/list", method: .get)
            #expect(none.status == .unauthorized && none.headers[.wwwAuthenticate]?.contains("error=") == false)
            #expect(Self.body(none) == "UNAUTHORIZED|authentication required|authentication required")
        }
    }

    /// `podman search` pings `/v2/`, takes a token without a scope and asks for `registry:catalog:*` only when the
    /// catalogue refuses that token with 401 `insufficient_scope` naming the scope; anonymous or logged in, the
    /// token with it lists what the caller may pull. A request without any token gets the plain challenge, no
    /// error code (RFC 6750 3.1), as from distribution.
    @Test func aCatalogueRequestUnderATokenWithoutTheScopeIsAskedForIt() async throws {
        try await withAuthServer { fixture in
            try await fixture.pool.write { transaction in
                let team = try transaction.teams.create(name: "oss")
                try transaction.namespaces.create(name: "oss", kind: .team, visibility: .public, teamID: team.id)
            }
            try await Self.pushImage(fixture, "oss/lib", "v1", Self.basic("admin", "admin-password"))
            try await Self.pushImage(fixture, "alice/app", "v1", Self.basic("alice", "alice-password"))
            try await Self.pushImage(fixture, "bob/app", "v1", Self.basic("bob", "bob-password"))

            let none = try await fixture.client.execute(uri: "/v2/_catalog", method: .get)
            #expect(none.status == .unauthorized)
            #expect(none.headers[.wwwAuthenticate]?.hasSuffix(#"/v2/token",service="wharf",scope="registry:catalog:*""#) == true)

            let reason = "authentication required to list the catalogue"
            let cases: [(user: String?, suffix: String, listed: [String])] = [
                (nil, #"scope="registry:catalog:*",error="insufficient_scope",error_description="\#(reason)""#, ["oss/lib"]),
                ("alice", #"scope="registry:catalog:*",error="insufficient_scope""#, ["alice/app", "oss/lib"]),
            ]
            for (user, suffix, listed) in cases {
                let unscoped = try await Self.token(fixture, user)
                let refused = try await fixture.client.execute(uri: "/v2/_catalog", method: .get, headers: Self.bearer(unscoped))
                #expect(refused.status == .unauthorized, "\(user ?? "anonymous")")
                let challenge = try #require(refused.headers[.wwwAuthenticate])
                #expect(challenge.hasPrefix(#"Bearer realm="https://"#) && challenge.hasSuffix(suffix), "\(challenge)")

                let scoped = try await Self.token(fixture, user, "registry:catalog:*")
                let catalog = try await fixture.client.execute(uri: "/v2/_catalog", method: .get, headers: Self.bearer(scoped))
                #expect(catalog.status == .ok, "\(user ?? "anonymous")")
                #expect(try json(catalog)["repositories"] as? [String] == listed, "\(user ?? "anonymous")")
            }
        }
    }

    @Test func anErrorDescriptionIsPrintableASCIIWithoutQuotes() {
        #expect(RegistryAuthorization<WharfRequestContext>.descriptionParameter(#"a "b" \c\#u{E9}\#n"#) == "a ?b? ?c??")
    }
}
