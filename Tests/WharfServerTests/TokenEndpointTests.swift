import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing
import WharfAuth
import WharfDatabase

@testable import WharfServer

/// `GET` and `POST /v2/token` in-process: accounts made with `AccountService`, tokens checked with `TokenIssuer`.
@Suite struct TokenEndpointTests {
    typealias Fixture = AuthFixture

    func withTokenServer(_ test: @Sendable (AuthFixture) async throws -> Void) async throws {
        try await withAuthServer(test)
    }

    struct Answer: Decodable {
        let token: String
        let accessToken: String
        let expiresIn: Int
        let issuedAt: String
        let scope: String?

        static func decode(_ response: TestResponse) throws -> Answer {
            let decoder = JSONDecoder()
            decoder.keyDecodingStrategy = .convertFromSnakeCase
            return try decoder.decode(Answer.self, from: Data(response.body.readableBytesView))
        }
    }

    static func basic(_ user: String, _ password: String) -> HTTPFields {
        [.authorization: "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()]
    }

    /// Requests a token and returns the answer with its verified claims.
    static func token(_ fixture: Fixture, _ query: String, headers: HTTPFields = [:]) async throws -> (Answer, TokenClaims) {
        let response = try await fixture.client.execute(uri: "/v2/token?\(query)", method: .get, headers: headers)
        #expect(response.status == .ok, "\(String(buffer: response.body))")
        let answer = try Answer.decode(response)
        #expect(answer.token == answer.accessToken)
        return (answer, try await fixture.tokens.issuer.verify(answer.token, audience: "registry.test"))
    }

    static func errorBody(_ response: TestResponse) -> [String: Any]? {
        try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
    }

    @Test func anonymousGetsPublicPullsOnly() async throws {
        try await withTokenServer { fixture in
            try await fixture.pool.write { transaction in
                let team = try transaction.teams.create(name: "oss")
                try transaction.namespaces.create(name: "oss", kind: .team, visibility: .public, teamID: team.id)
            }
            let (answer, claims) = try await Self.token(
                fixture,
                "service=registry.test&scope=repository:oss/app:pull,push&scope=repository:alice/app:pull&scope=registry:catalog:*"
            )
            #expect(claims.sub == "")
            // The catalogue is granted (anonymous pull is on); the registry lists only what the caller may pull.
            #expect(
                claims.access == [
                    AccessEntry(type: "registry", name: "catalog", actions: ["*"]),
                    AccessEntry(type: "repository", name: "oss/app", actions: ["pull"]),
                ]
            )
            #expect(answer.expiresIn == 900)
            #expect(claims.exp - claims.iat == 900)
        }
    }

    @Test func userPullsAndPushesTheirOwnNamespaceButNotAnotherPrivateOne() async throws {
        try await withTokenServer { fixture in
            let (_, claims) = try await Self.token(
                fixture,
                "service=registry.test&scope=repository:alice/app:pull,push&scope=repository:bob/app:pull&scope=registry:catalog:*",
                headers: Self.basic("alice", "alice-password")
            )
            #expect(claims.sub == "alice")
            #expect(claims.aud == "registry.test")
            #expect(claims.iss == "wharf")
            #expect(
                claims.access == [
                    AccessEntry(type: "registry", name: "catalog", actions: ["*"]),
                    AccessEntry(type: "repository", name: "alice/app", actions: ["pull", "push"]),
                ]
            )
        }
    }

    @Test func teamRolesDecide() async throws {
        try await withTokenServer { fixture in
            try await fixture.pool.write { transaction in
                let team = try transaction.teams.create(name: "dev")
                try transaction.namespaces.create(name: "dev", kind: .team, visibility: .private, teamID: team.id)
                let bob = try transaction.users.find(name: "bob")!
                try transaction.teams.setMember(teamID: team.id, userID: bob.id, role: .viewer)
            }
            let (_, claims) = try await Self.token(
                fixture,
                "service=registry.test&scope=repository:dev/app:pull,push,delete",
                headers: Self.basic("bob", "bob-password")
            )
            #expect(claims.access == [AccessEntry(type: "repository", name: "dev/app", actions: ["pull"])])
            let (_, aliceClaims) = try await Self.token(
                fixture,
                "service=registry.test&scope=repository:dev/app:pull",
                headers: Self.basic("alice", "alice-password")
            )
            #expect(aliceClaims.access.isEmpty)
        }
    }

    @Test func adminGetsEverythingAndTheGlobalNamespaceIsForLoggedInUsers() async throws {
        try await withTokenServer { fixture in
            let (_, claims) = try await Self.token(
                fixture,
                "service=registry.test&scope=repository:bob/app:*&scope=registry:catalog:*&scope=repository:busybox:push",
                headers: Self.basic("admin", "admin-password")
            )
            #expect(
                claims.access == [
                    AccessEntry(type: "registry", name: "catalog", actions: ["*"]),
                    AccessEntry(type: "repository", name: "bob/app", actions: ["pull", "push", "delete"]),
                    AccessEntry(type: "repository", name: "busybox", actions: ["push"]),
                ]
            )
            let (_, user) = try await Self.token(
                fixture,
                "service=registry.test&scope=repository:busybox:pull,push",
                headers: Self.basic("alice", "alice-password")
            )
            #expect(user.access == [AccessEntry(type: "repository", name: "busybox", actions: ["pull"])])
        }
    }

    @Test func anApplicationTokenWorksAsThePasswordOfItsUserOnly() async throws {
        try await withTokenServer { fixture in
            let (_, secret) = try await fixture.accounts.createToken(user: "alice", label: "ci")
            let (_, claims) = try await Self.token(
                fixture,
                "service=registry.test&scope=repository:alice/app:push",
                headers: Self.basic("alice", secret)
            )
            #expect(claims.sub == "alice")
            #expect(claims.allows(.push, on: try .init("alice/app")))
            let other = try await fixture.client.execute(uri: "/v2/token?service=registry.test", method: .get, headers: Self.basic("bob", secret))
            #expect(other.status == .unauthorized)
        }
    }

    @Test func wrongPasswordsUnknownUsersAndDisabledUsersAre401() async throws {
        try await withTokenServer { fixture in
            try await fixture.accounts.setEnabled(name: "bob", false)
            for headers in [
                Self.basic("alice", "wrong-password"), Self.basic("nobody", "alice-password"), Self.basic("bob", "bob-password"),
                [.authorization: "Basic !!!"], [.authorization: "Bearer x"],
            ] as [HTTPFields] {
                let response = try await fixture.client.execute(uri: "/v2/token?service=registry.test", method: .get, headers: headers)
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate] == #"Basic realm="wharf""#)
                let errors = Self.errorBody(response)?["errors"] as? [[String: Any]]
                #expect(errors?.first?["code"] as? String == "UNAUTHORIZED")
            }
            let mismatch = try await fixture.client.execute(
                uri: "/v2/token?service=registry.test&account=bob",
                method: .get,
                headers: Self.basic("alice", "alice-password")
            )
            #expect(mismatch.status == .unauthorized)
        }
    }

    @Test func aMalformedScopeIs400WithAReason() async throws {
        try await withTokenServer { fixture in
            for scope in ["repository:alice/app", "repository:Alice/app:pull", "repository:alice/app:steal", "registry:catalog:pull", "repo:x:pull"] {
                let response = try await fixture.client.execute(uri: "/v2/token?service=registry.test&scope=\(scope)", method: .get)
                #expect(response.status == .badRequest, "\(scope)")
                let errors = Self.errorBody(response)?["errors"] as? [[String: Any]]
                #expect(errors?.first?["code"] as? String == "SCOPE_INVALID")
                let message = errors?.first?["message"] as? String ?? ""
                #expect(!message.isEmpty && !message.contains("\n"))
            }
        }
    }

    @Test func repeatedScopesAreMerged() async throws {
        try await withTokenServer { fixture in
            let (_, claims) = try await Self.token(
                fixture,
                "service=registry.test&scope=repository:alice/app:pull&scope=repository:alice/app:push&scope=repository:alice/app:pull",
                headers: Self.basic("alice", "alice-password")
            )
            #expect(claims.access == [AccessEntry(type: "repository", name: "alice/app", actions: ["pull", "push"])])
        }
    }

    @Test func theTokenIsAnRS256JWTWithTheServerKeyID() async throws {
        try await withTokenServer { fixture in
            let (answer, claims) = try await Self.token(fixture, "service=registry.test", headers: Self.basic("alice", "alice-password"))
            let header = try #require(answer.token.split(separator: ".").first)
            var base64 = header.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            while base64.count % 4 != 0 { base64 += "=" }
            let data = try #require(Data(base64Encoded: base64))
            let fields = try #require(try JSONSerialization.jsonObject(with: data) as? [String: String])
            #expect(fields["alg"] == "RS256")
            #expect(fields["kid"] == fixture.tokens.issuer.keyID)
            #expect(claims.nbf == claims.iat - TokenIssuer.notBeforeSkew)
            #expect(!claims.jti.isEmpty)
            await #expect(throws: AuthError.self) { try await fixture.tokens.issuer.verify(answer.token, audience: "elsewhere") }
        }
    }

    @Test func postPasswordGrant() async throws {
        try await withTokenServer { fixture in
            func post(_ form: String) async throws -> TestResponse {
                try await fixture.client.execute(
                    uri: "/v2/token",
                    method: .post,
                    headers: [.contentType: "application/x-www-form-urlencoded"],
                    body: ByteBuffer(string: form)
                )
            }
            let ok = try await post(
                "grant_type=password&client_id=test&username=alice&password=alice-password&service=registry.test"
                    + "&scope=repository%3Aalice%2Fapp%3Apull%2Cpush+repository%3Abob%2Fapp%3Apull&access_type=offline"
            )
            #expect(ok.status == .ok)
            let answer = try Answer.decode(ok)
            #expect(answer.scope == "repository:alice/app:pull,push")
            let claims = try await fixture.tokens.issuer.verify(answer.accessToken, audience: "registry.test")
            #expect(claims.sub == "alice")
            #expect(claims.access == [AccessEntry(type: "repository", name: "alice/app", actions: ["pull", "push"])])

            let wrong = try await post("grant_type=password&client_id=test&username=alice&password=nope-nope-nope&service=registry.test")
            // OAuth2's answer to a refused grant is 400 invalid_grant (RFC 6749 §5.2).
            #expect(wrong.status == .badRequest)
            #expect(Self.errorBody(wrong)?["error"] as? String == "invalid_grant")
            let noClient = try await post("grant_type=password&username=alice&password=alice-password")
            #expect(noClient.status == .badRequest)
            #expect(Self.errorBody(noClient)?["error"] as? String == "invalid_request")
            let refresh = try await post("grant_type=refresh_token&client_id=test&refresh_token=x")
            #expect(refresh.status == .badRequest)
            #expect(Self.errorBody(refresh)?["error"] as? String == "invalid_grant")
            let unknownGrant = try await post("grant_type=client_credentials&client_id=test")
            #expect(unknownGrant.status == .badRequest)
            #expect(Self.errorBody(unknownGrant)?["error"] as? String == "unsupported_grant_type")
        }
    }

    @Test func theTokenEndpointIsNotARepository() async throws {
        try await withTokenServer { fixture in
            let base = try await fixture.client.execute(uri: "/v2/", method: .get)
            #expect(base.status == .unauthorized)
            #expect(base.headers[.dockerDistributionAPIVersion] == "registry/2.0")
            let token = try await fixture.client.execute(uri: "/v2/token", method: .get)
            #expect(token.status == .ok)
            #expect(token.headers[.dockerDistributionAPIVersion] == nil)
            // A repository called token/… is an ordinary repository behind the door.
            let tags = try await fixture.client.execute(uri: "/v2/token/tags/list", method: .get, headers: Self.basic("admin", "admin-password"))
            #expect(tags.status == .notFound)
            #expect(tags.headers[.dockerDistributionAPIVersion] == "registry/2.0")
        }
    }
}
