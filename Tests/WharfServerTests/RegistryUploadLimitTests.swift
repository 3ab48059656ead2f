import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
import WharfCore

@testable import WharfServer

/// `uploads.max_open_per_account` and `uploads.max_blob_size` through the `/v2` routes.
@Suite struct RegistryUploadLimitTests {
    static func start(_ client: any TestClientProtocol, _ name: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        try await client.execute(uri: "/v2/\(name)/blobs/uploads/", method: .post, headers: headers)
    }

    @Test func theSessionBeyondTheCapIs429AndEndedSessionsFreeTheirPlace() async throws {
        let configure: (inout ServerConfiguration) -> Void = { $0.uploadMaxOpenPerAccount = 2 }
        try await withRegistry(configure: configure) { client, _ in
            let first = try await Self.start(client, "cap/app")
            let second = try await Self.start(client, "cap/other")
            #expect(first.status == .accepted)
            #expect(second.status == .accepted)
            let refused = try await Self.start(client, "cap/app")
            #expect(refused.status == .tooManyRequests)
            #expect(errorCode(refused) == "TOOMANYREQUESTS")
            #expect(refused.headers[HTTPField.Name("Retry-After")!].flatMap { Int($0) } != nil)
            #expect(refused.headers[.dockerDistributionAPIVersion] == "registry/2.0")

            // A monolithic upload finishes at once and is not refused.
            let content = bytes("monolithic under the cap")
            let monolithic = try await client.execute(
                uri: "/v2/cap/app/blobs/uploads/?digest=\(digest(content))",
                method: .post,
                body: buffer(content)
            )
            #expect(monolithic.status == .created)
            // Nor is a mount that succeeds.
            let mount = try await client.execute(uri: "/v2/cap/mounted/blobs/uploads/?mount=\(digest(content))&from=cap/app", method: .post)
            #expect(mount.status == .created)

            // Cancelling one frees a place.
            let cancel = try await client.execute(uri: try #require(first.headers[.location]), method: .delete)
            #expect(cancel.status == .noContent)
            let third = try await Self.start(client, "cap/app")
            #expect(third.status == .accepted)
            #expect(try await Self.start(client, "cap/app").status == .tooManyRequests)

            // So does committing one.
            let body = bytes("committed")
            let put = try await client.execute(
                uri: "\(try #require(second.headers[.location]))?digest=\(digest(body))",
                method: .put,
                body: buffer(body)
            )
            #expect(put.status == .created)
            #expect(try await Self.start(client, "cap/app").status == .accepted)
            #expect(try await Self.start(client, "cap/app").status == .tooManyRequests)
        }
    }

    @Test func aWrongDigestEndsTheSessionAndFreesItsPlace() async throws {
        let configure: (inout ServerConfiguration) -> Void = { $0.uploadMaxOpenPerAccount = 1 }
        try await withRegistry(configure: configure) { client, _ in
            let start = try await Self.start(client, "cap/app")
            let location = try #require(start.headers[.location])
            let put = try await client.execute(uri: "\(location)?digest=\(digest(bytes("other")))", method: .put, body: buffer(bytes("this")))
            #expect(put.status == .badRequest)
            #expect(try await Self.start(client, "cap/app").status == .accepted)
        }
    }

    @Test func eachAccountHasItsOwnCap() async throws {
        let configure: (inout ServerConfiguration) -> Void = { $0.uploadMaxOpenPerAccount = 2 }
        try await withAuthServer(configure: configure) { fixture in
            let alice = RegistryAuthorizationTests.basic("alice", "alice-password")
            let bob = RegistryAuthorizationTests.basic("bob", "bob-password")
            for _ in 0..<2 { #expect(try await Self.start(fixture.client, "alice/app", headers: alice).status == .accepted) }
            let refused = try await Self.start(fixture.client, "alice/app", headers: alice)
            #expect(refused.status == .tooManyRequests)
            #expect(errorCode(refused) == "TOOMANYREQUESTS")
            for _ in 0..<2 { #expect(try await Self.start(fixture.client, "bob/app", headers: bob).status == .accepted) }
            #expect(try await Self.start(fixture.client, "bob/app", headers: bob).status == .tooManyRequests)
        }
    }

    @Test func aMonolithicUploadOverTheSizeLimitIs413() async throws {
        let configure: (inout ServerConfiguration) -> Void = { $0.uploadMaxBlobSize = 1024 }
        try await withRegistry(configure: configure) { client, folder in
            let big = [UInt8](repeating: 9, count: 1025)
            let refused = try await client.execute(uri: "/v2/big/app/blobs/uploads/?digest=\(digest(big))", method: .post, body: buffer(big))
            #expect(refused.status == .contentTooLarge)
            #expect(errorCode(refused) == "SIZE_INVALID")
            #expect(try await client.execute(uri: "/v2/big/app/blobs/\(digest(big))", method: .head).status == .notFound)
            #expect(Self.uploads(folder, "big/app").isEmpty)

            let fits = [UInt8](repeating: 9, count: 1024)
            let accepted = try await client.execute(uri: "/v2/big/app/blobs/uploads/?digest=\(digest(fits))", method: .post, body: buffer(fits))
            #expect(accepted.status == .created)
        }
    }

    @Test func chunksThatCrossTheSizeLimitAre413AndEndTheSession() async throws {
        let configure: (inout ServerConfiguration) -> Void = { $0.uploadMaxBlobSize = 1024 }
        try await withRegistry(configure: configure) { client, folder in
            let start = try await Self.start(client, "big/app")
            let location = try #require(start.headers[.location])
            let chunk = [UInt8](repeating: 1, count: 600)
            let first = try await client.execute(uri: location, method: .patch, headers: [.contentRange: "0-599"], body: buffer(chunk))
            #expect(first.status == .accepted)
            let second = try await client.execute(uri: location, method: .patch, headers: [.contentRange: "600-1199"], body: buffer(chunk))
            #expect(second.status == .contentTooLarge)
            #expect(errorCode(second) == "SIZE_INVALID")
            #expect(try await client.execute(uri: location, method: .get).status == .notFound)
            #expect(Self.uploads(folder, "big/app").isEmpty)
        }
    }

    @Test func aFinalPutOverTheSizeLimitIs413() async throws {
        let configure: (inout ServerConfiguration) -> Void = { $0.uploadMaxBlobSize = 1024 }
        try await withRegistry(configure: configure) { client, _ in
            let start = try await Self.start(client, "big/app")
            let location = try #require(start.headers[.location])
            let first = [UInt8](repeating: 1, count: 1000)
            #expect(try await client.execute(uri: location, method: .patch, body: buffer(first)).status == .accepted)
            let rest = [UInt8](repeating: 2, count: 100)
            let put = try await client.execute(uri: "\(location)?digest=\(digest(first + rest))", method: .put, body: buffer(rest))
            #expect(put.status == .contentTooLarge)
            #expect(errorCode(put) == "SIZE_INVALID")
            #expect(try await client.execute(uri: "/v2/big/app/blobs/\(digest(first + rest))", method: .head).status == .notFound)

            // A POST whose body alone passes the limit.
            let post = try await client.execute(uri: "/v2/big/app/blobs/uploads/", method: .post, body: buffer([UInt8](repeating: 3, count: 2000)))
            #expect(post.status == .contentTooLarge)
        }
    }

    /// The upload session folders left in a repository.
    static func uploads(_ folder: String, _ repository: String) -> [String] {
        let path = "\(folder)/registry/docker/registry/v2/repositories/\(repository)/_uploads"
        return (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
    }
}
