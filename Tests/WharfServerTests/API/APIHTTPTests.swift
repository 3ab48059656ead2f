import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import WharfAuth
import WharfDatabase

@testable import WharfServer

/// `/api/v1` over HTTP, in-process, through the application `wharf serve` builds (users alice, bob and admin).
@Suite struct APIHTTPTests {
    static func basic(_ user: String) -> HTTPFields {
        [.authorization: "Basic " + Data("\(user):\(user)-password".utf8).base64EncodedString(), .contentType: "application/json"]
    }

    static func json(_ response: TestResponse) throws -> JSONValue {
        try #require(JSONValue.parse(Data(response.body.readableBytesView)), "not JSON: \(String(buffer: response.body))")
    }

    static func body(_ value: JSONValue) -> ByteBuffer {
        ByteBuffer(bytes: try! JSONEncoder().encode(value))
    }

    static func call(
        _ fixture: AuthFixture,
        _ method: HTTPRequest.Method,
        _ path: String,
        as user: String? = "admin",
        body: JSONValue? = nil,
        headers: HTTPFields = [:]
    ) async throws -> TestResponse {
        var fields = user.map(basic) ?? (body == nil ? [:] : [.contentType: "application/json"])
        for field in headers { fields[field.name] = field.value }
        return try await fixture.client.execute(uri: "/api/v1" + path, method: method, headers: fields, body: body.map(Self.body))
    }

    static func errorCode(_ response: TestResponse) throws -> String? {
        try json(response)["error"]?["code"]?.stringValue
    }

    @Test func unknownPathsAndMethodsAnswerInTheAPIsShape() async throws {
        try await withAuthServer { fixture in
            let missing = try await Self.call(fixture, .get, "/nothing/here")
            #expect(missing.status == .notFound)
            #expect(try Self.errorCode(missing) == "NOT_FOUND")
            let put = try await Self.call(fixture, .put, "/me")
            #expect(put.status == .methodNotAllowed)
            #expect(put.headers[.allow] == "GET, HEAD, OPTIONS")
            #expect(try Self.errorCode(put) == "METHOD_NOT_ALLOWED")
            let query = try await fixture.client.execute(uri: "/api/v1/teams", method: HTTPRequest.Method("QUERY")!, headers: Self.basic("admin"))
            #expect(query.status == .methodNotAllowed)
            #expect(query.headers[.allow] == "GET, POST, HEAD, OPTIONS")
        }
    }

    @Test func credentialsAreRequiredWhereTheDocumentSaysAndWrongOnesAre401() async throws {
        try await withAuthServer { fixture in
            let anonymous = try await Self.call(fixture, .get, "/me", as: nil)
            #expect(anonymous.status == .unauthorized)
            #expect(anonymous.headers[.wwwAuthenticate]?.hasPrefix("Basic") == true)
            let wrong = try await fixture.client.execute(
                uri: "/api/v1/namespaces",
                method: .get,
                headers: [.authorization: "Basic " + Data("alice:nope-nope".utf8).base64EncodedString()]
            )
            #expect(wrong.status == .unauthorized)
            let health = try await Self.call(fixture, .get, "/health", as: nil)
            #expect(health.status == .ok)
            #expect(try Self.json(health)["status"] == "ok")
        }
    }

    @Test func anApplicationTokenWorksAsBearerUntilRevoked() async throws {
        try await withAuthServer { fixture in
            let created = try await Self.call(fixture, .post, "/me/tokens", as: "alice", body: ["label": "ci"])
            #expect(created.status == .created)
            let token = try #require(try Self.json(created)["secret"]?.stringValue)
            let id = try #require(try Self.json(created)["id"]?.integerValue)
            let me = try await fixture.client.execute(uri: "/api/v1/me", method: .get, headers: [.authorization: "Bearer \(token)"])
            #expect(me.status == .ok)
            #expect(try Self.json(me)["user"]?["name"] == "alice")
            let listed = try await Self.call(fixture, .get, "/me/tokens", as: "alice")
            #expect(try Self.json(listed)["items"]?.arrayValue?.count == 1)
            #expect(String(buffer: listed.body).contains(token) == false)
            #expect(try await Self.call(fixture, .delete, "/me/tokens/\(id)", as: "bob").status == .notFound)
            #expect(try await Self.call(fixture, .delete, "/me/tokens/\(id)", as: "alice").status == .noContent)
            let after = try await fixture.client.execute(uri: "/api/v1/me", method: .get, headers: [.authorization: "Bearer \(token)"])
            #expect(after.status == .unauthorized)
        }
    }

    @Test func validationErrorsNameTheField() async throws {
        try await withAuthServer { fixture in
            let bad = try await Self.call(fixture, .post, "/users", body: ["name": "Not Valid", "password": "short", "extra": 1])
            #expect(bad.status == .unprocessableContent)
            let fields = try Self.json(bad)["error"]?["details"]?["fields"]?.arrayValue?.compactMap { $0["field"]?.stringValue } ?? []
            #expect(Set(fields) == ["body.name", "body.password", "body.extra"])
            let page = try await Self.call(fixture, .get, "/users?page_size=501")
            #expect(page.status == .unprocessableContent)
            #expect(try Self.json(page)["error"]?["message"]?.stringValue?.contains("query.page_size") == true)
            let notJSON = try await fixture.client.execute(
                uri: "/api/v1/teams",
                method: .post,
                headers: Self.basic("admin"),
                body: ByteBuffer(string: "{nope")
            )
            #expect(notJSON.status == .badRequest)
            var textHeaders = Self.basic("admin")
            textHeaders[.contentType] = "text/plain"
            let text = try await fixture.client.execute(uri: "/api/v1/teams", method: .post, headers: textHeaders, body: ByteBuffer(string: "{}"))
            #expect(text.status == .unsupportedMediaType)
        }
    }

    @Test func bootstrapIsRefusedOnceUsersExist() async throws {
        try await withAuthServer { fixture in
            let refused = try await Self.call(fixture, .post, "/users/bootstrap", as: nil, body: ["name": "eve", "password": "eve-password"])
            #expect(refused.status == .forbidden)
            #expect(try Self.errorCode(refused) == "BOOTSTRAP_DONE")
            let eve = try await fixture.pool.read { transaction in try transaction.users.find(name: "eve") }
            #expect(eve == nil)
        }
    }

    @Test func listsArePagedWithCursorsAndLinks() async throws {
        try await withAuthServer { fixture in
            for index in 0..<5 { try await fixture.accounts.createUser(name: "user\(index)", password: "password-\(index)") }
            var names: [String] = []
            var next: String? = "/users?page_size=2"
            var pages = 0
            while let path = next {
                let page = try await Self.call(fixture, .get, path)
                #expect(page.status == .ok)
                names += try Self.json(page)["items"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
                pages += 1
                if let link = page.headers[.link] {
                    #expect(link.hasSuffix(#">; rel="next""#))
                    next = String(link.dropFirst("</api/v1".count).prefix { $0 != ">" })
                    #expect(try Self.json(page)["next_cursor"]?.stringValue != nil)
                } else {
                    next = nil
                }
            }
            #expect(names == ["admin", "alice", "bob", "user0", "user1", "user2", "user3", "user4"])
            #expect(pages == 4)
        }
    }

    @Test func adminsCannotDemoteDisableOrDeleteThemselves() async throws {
        try await withAuthServer { fixture in
            #expect(try await Self.call(fixture, .patch, "/users/admin", body: ["admin": false]).status == .conflict)
            #expect(try await Self.call(fixture, .patch, "/users/admin", body: ["enabled": false]).status == .conflict)
            #expect(try await Self.call(fixture, .patch, "/users/admin", body: ["password": "new-password-1"]).status == .conflict)
            #expect(try await Self.call(fixture, .delete, "/users/admin").status == .conflict)
            let promoted = try await Self.call(fixture, .patch, "/users/alice", body: ["admin": true, "display_name": "Alice A."])
            #expect(promoted.status == .ok)
            #expect(try Self.json(promoted)["admin"] == true)
            #expect(try Self.json(promoted)["display_name"] == "Alice A.")
            #expect(try await Self.call(fixture, .get, "/users", as: "bob").status == .forbidden)
            #expect(try await Self.call(fixture, .get, "/users/alice", as: "bob").status == .forbidden)
            #expect(try await Self.call(fixture, .get, "/users/bob", as: "bob").status == .ok)
        }
    }

    @Test func changingOnesPasswordNeedsTheCurrentOne() async throws {
        try await withAuthServer { fixture in
            let wrong = try await Self.call(
                fixture,
                .put,
                "/me/password",
                as: "bob",
                body: ["current_password": "guess", "new_password": "new-bob-password"]
            )
            #expect(wrong.status == .forbidden)
            let right = try await Self.call(
                fixture,
                .put,
                "/me/password",
                as: "bob",
                body: ["current_password": "bob-password", "new_password": "new-bob-password"]
            )
            #expect(right.status == .noContent)
            #expect(try await Self.call(fixture, .get, "/me", as: "bob").status == .unauthorized)
        }
    }

    @Test func teamsAndNamespacesFollowThePermissionTable() async throws {
        try await withAuthServer { fixture in
            let team = try await Self.call(fixture, .post, "/teams", as: "alice", body: ["name": "devs", "description": "the developers"])
            #expect(team.status == .created)
            #expect(team.headers[.location] == "/api/v1/teams/devs")
            #expect(try Self.json(team)["role"] == "owner")
            // bob is not a member: the team does not exist for him, and he cannot add himself.
            #expect(try await Self.call(fixture, .get, "/teams/devs", as: "bob").status == .notFound)
            #expect(try await Self.call(fixture, .put, "/teams/devs/members/bob", as: "bob", body: ["role": "owner"]).status == .notFound)
            #expect(try await Self.call(fixture, .put, "/teams/devs/members/bob", as: "alice", body: ["role": "viewer"]).status == .ok)
            // A viewer sees the team but changes nothing.
            #expect(try await Self.call(fixture, .get, "/teams/devs", as: "bob").status == .ok)
            #expect(try await Self.call(fixture, .patch, "/teams/devs", as: "bob", body: ["description": "mine"]).status == .forbidden)
            // The last owner cannot leave.
            #expect(try await Self.call(fixture, .delete, "/teams/devs/members/alice", as: "alice").status == .conflict)

            let created = try await Self.call(fixture, .post, "/namespaces", as: "alice", body: ["name": "web", "team": "devs"])
            #expect(created.status == .created)
            #expect(try Self.json(created)["permissions"]?["manage"] == true)
            #expect(try await Self.call(fixture, .post, "/namespaces", as: "bob", body: ["name": "bobs", "team": "devs"]).status == .forbidden)
            // Private: members see it, with the viewer's rights; others and anonymous callers do not.
            let asViewer = try await Self.call(fixture, .get, "/namespaces/web", as: "bob")
            #expect(try Self.json(asViewer)["permissions"] == ["pull": true, "push": false, "delete": false, "manage": false])
            #expect(try await Self.call(fixture, .get, "/namespaces/web", as: nil).status == .notFound)
            #expect(try await Self.call(fixture, .get, "/namespaces/alice", as: "bob").status == .notFound)
            #expect(try await Self.call(fixture, .patch, "/namespaces/web", as: "bob", body: ["visibility": "public"]).status == .forbidden)
            #expect(try await Self.call(fixture, .patch, "/namespaces/web", as: "alice", body: ["visibility": "public"]).status == .ok)
            let anonymous = try await Self.call(fixture, .get, "/namespaces", as: nil)
            #expect(try Self.json(anonymous)["items"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["web"])

            // A team that owns namespaces is deleted only saying what becomes of them.
            #expect(try await Self.call(fixture, .delete, "/teams/devs", as: "alice").status == .conflict)
            #expect(try await Self.call(fixture, .post, "/teams", as: "admin", body: ["name": "ops", "owner": "alice"]).status == .created)
            #expect(try await Self.call(fixture, .delete, "/teams/devs?namespaces=transfer:ops", as: "alice").status == .noContent)
            #expect(try Self.json(try await Self.call(fixture, .get, "/namespaces/web", as: "alice"))["team"] == "ops")
        }
    }

    @Test func activitiesAreTheCallersOwnUnlessAdminAndComeAsCSVOnRequest() async throws {
        try await withAuthServer { fixture in
            #expect(try await Self.call(fixture, .post, "/teams", as: "alice", body: ["name": "qa"]).status == .created)
            #expect(try await Self.call(fixture, .post, "/teams", as: "bob", body: ["name": "ops"]).status == .created)
            let mine = try await Self.call(fixture, .get, "/activities", as: "bob")
            let actors = Set(try Self.json(mine)["items"]?.arrayValue?.compactMap { $0["actor"]?.stringValue } ?? [])
            #expect(actors == ["bob"])
            #expect(try await Self.call(fixture, .get, "/activities?user=alice", as: "bob").status == .forbidden)
            let csv = try await Self.call(fixture, .get, "/activities?type=team.", headers: [.accept: "text/csv"])
            #expect(csv.headers[.contentType]?.hasPrefix("text/csv") == true)
            let lines = String(buffer: csv.body).split(separator: "\r\n")
            #expect(lines.first == "id,time,actor,action,target_kind,target,addr,details")
            #expect(lines.count == 3)
        }
    }
}
