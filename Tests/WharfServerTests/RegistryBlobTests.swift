import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
import WharfCore

@testable import WharfServer

@Suite struct RegistryBlobTests {
    @Test func pingAnswersWithTheAPIVersion() async throws {
        try await withRegistry { client, _ in
            let response = try await client.execute(uri: "/v2/", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.dockerDistributionAPIVersion] == "registry/2.0")
            let bare = try await client.execute(uri: "/v2", method: .get)
            #expect(bare.status == .ok)
        }
    }

    @Test func monolithicPostStoresTheBlobInDistributionsLayout() async throws {
        try await withRegistry { client, folder in
            let content = bytes("hello wharf")
            let d = try await client.pushBlob("team/app", content)
            let hex = String(d.dropFirst("sha256:".count))
            let data = "\(folder)/registry/docker/registry/v2/blobs/sha256/\(hex.prefix(2))/\(hex)/data"
            #expect(FileManager.default.contents(atPath: data) == Data(content))
            let link = "\(folder)/registry/docker/registry/v2/repositories/team/app/_layers/sha256/\(hex)/link"
            #expect(FileManager.default.contents(atPath: link) == Data(d.utf8))

            let get = try await client.execute(uri: "/v2/team/app/blobs/\(d)", method: .get)
            #expect(get.status == .ok)
            #expect(Array(get.body.readableBytesView) == content)
            #expect(get.headers[.dockerContentDigest] == d)
            #expect(get.headers[.dockerDistributionAPIVersion] == "registry/2.0")

            let head = try await client.execute(uri: "/v2/team/app/blobs/\(d)", method: .head)
            #expect(head.status == .ok)
            #expect(head.headers[.contentLength] == String(content.count))
            #expect(head.body.readableBytes == 0)
        }
    }

    @Test func rangeRequestsServePartsOfABlob() async throws {
        try await withRegistry { client, _ in
            let content = bytes("0123456789")
            let d = try await client.pushBlob("r", content)
            let partial = try await client.execute(uri: "/v2/r/blobs/\(d)", method: .get, headers: [.range: "bytes=2-5"])
            #expect(partial.status == .partialContent)
            #expect(String(buffer: partial.body) == "2345")
            #expect(partial.headers[.contentRange] == "bytes 2-5/10")
            let suffix = try await client.execute(uri: "/v2/r/blobs/\(d)", method: .get, headers: [.range: "bytes=-3"])
            #expect(String(buffer: suffix.body) == "789")
            let beyond = try await client.execute(uri: "/v2/r/blobs/\(d)", method: .get, headers: [.range: "bytes=20-30"])
            #expect(beyond.status == .rangeNotSatisfiable)
            #expect(beyond.headers[.contentRange] == "bytes */10")
        }
    }

    @Test func postThenPutWithTheWholeBody() async throws {
        try await withRegistry { client, _ in
            let start = try await client.execute(uri: "/v2/a/b/blobs/uploads/", method: .post)
            #expect(start.status == .accepted)
            let location = try #require(start.headers[.location])
            #expect(location.hasPrefix("/v2/a/b/blobs/uploads/"))
            #expect(start.headers[.dockerUploadUUID] != nil)
            let content = bytes("put body")
            let put = try await client.execute(uri: "\(location)?digest=\(digest(content))", method: .put, body: buffer(content))
            #expect(put.status == .created)
            #expect(put.headers[.location] == "/v2/a/b/blobs/\(digest(content))")
            let get = try await client.execute(uri: "/v2/a/b/blobs/\(digest(content))", method: .get)
            #expect(Array(get.body.readableBytesView) == content)
        }
    }

    @Test func chunkedUploadEnforcesOrder() async throws {
        try await withRegistry { client, _ in
            let start = try await client.execute(uri: "/v2/chunky/blobs/uploads/", method: .post)
            let location = try #require(start.headers[.location])
            let first = bytes("abcde")
            let second = bytes("fghij")
            let patch1 = try await client.execute(
                uri: location,
                method: .patch,
                headers: [.contentRange: "0-4", .contentLength: "5", .contentType: "application/octet-stream"],
                body: buffer(first)
            )
            #expect(patch1.status == .accepted)
            #expect(patch1.headers[.range] == "0-4")

            // Sending the first chunk again is out of order.
            let retry = try await client.execute(
                uri: location,
                method: .patch,
                headers: [.contentRange: "0-4", .contentLength: "5"],
                body: buffer(first)
            )
            #expect(retry.status == .rangeNotSatisfiable)
            #expect(retry.headers[.range] == "0-4")
            // So is a gap.
            let gap = try await client.execute(
                uri: location,
                method: .patch,
                headers: [.contentRange: "6-10", .contentLength: "5"],
                body: buffer(second)
            )
            #expect(gap.status == .rangeNotSatisfiable)

            let status = try await client.execute(uri: location, method: .get)
            #expect(status.status == .noContent)
            #expect(status.headers[.range] == "0-4")

            let patch2 = try await client.execute(
                uri: location,
                method: .patch,
                headers: [.contentRange: "5-9", .contentLength: "5"],
                body: buffer(second)
            )
            #expect(patch2.status == .accepted)
            #expect(patch2.headers[.range] == "0-9")

            let whole = first + second
            let put = try await client.execute(uri: "\(location)?digest=\(digest(whole))", method: .put)
            #expect(put.status == .created)
            let get = try await client.execute(uri: "/v2/chunky/blobs/\(digest(whole))", method: .get)
            #expect(Array(get.body.readableBytesView) == whole)
        }
    }

    @Test func streamedPatchWithoutContentRange() async throws {
        try await withRegistry { client, _ in
            let start = try await client.execute(uri: "/v2/s/blobs/uploads/", method: .post)
            let location = try #require(start.headers[.location])
            let content = [UInt8](repeating: 7, count: 300_000)
            let patch = try await client.execute(uri: location, method: .patch, body: buffer(content))
            #expect(patch.status == .accepted)
            #expect(patch.headers[.range] == "0-299999")
            let last = bytes("tail")
            let put = try await client.execute(uri: "\(location)?digest=\(digest(content + last))", method: .put, body: buffer(last))
            #expect(put.status == .created)
        }
    }

    @Test func wrongDigestLeavesNothingBehind() async throws {
        try await withRegistry { client, folder in
            let start = try await client.execute(uri: "/v2/w/blobs/uploads/", method: .post)
            let location = try #require(start.headers[.location])
            let wrong = digest(bytes("something else"))
            let put = try await client.execute(uri: "\(location)?digest=\(wrong)", method: .put, body: buffer(bytes("content")))
            #expect(put.status == .badRequest)
            #expect(errorCode(put) == "DIGEST_INVALID")
            let status = try await client.execute(uri: location, method: .get)
            #expect(status.status == .notFound)
            #expect(errorCode(status) == "BLOB_UPLOAD_UNKNOWN")
            let uploads = "\(folder)/registry/docker/registry/v2/repositories/w/_uploads"
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: uploads)) ?? []).isEmpty)
            let blobs = "\(folder)/registry/docker/registry/v2/blobs/sha256"
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: blobs)) ?? []).isEmpty)

            let monolithic = try await client.execute(uri: "/v2/w/blobs/uploads/?digest=\(wrong)", method: .post, body: buffer(bytes("x")))
            #expect(errorCode(monolithic) == "DIGEST_INVALID")
        }
    }

    @Test func sha512ContentIsVerified() async throws {
        try await withRegistry { client, _ in
            let content = bytes("sha512 content")
            let d = OCIDigest.of(content, algorithm: .sha512).description
            let post = try await client.execute(uri: "/v2/x/blobs/uploads/?digest=\(d)", method: .post, body: buffer(content))
            #expect(post.status == .created)
            let get = try await client.execute(uri: "/v2/x/blobs/\(d)", method: .get)
            #expect(Array(get.body.readableBytesView) == content)
        }
    }

    @Test func crossRepositoryMount() async throws {
        try await withRegistry { client, _ in
            let content = bytes("shared layer")
            let d = try await client.pushBlob("source/repo", content)
            let mount = try await client.execute(uri: "/v2/target/repo/blobs/uploads/?mount=\(d)&from=source/repo", method: .post)
            #expect(mount.status == .created)
            #expect(mount.headers[.location] == "/v2/target/repo/blobs/\(d)")
            let get = try await client.execute(uri: "/v2/target/repo/blobs/\(d)", method: .get)
            #expect(Array(get.body.readableBytesView) == content)

            // A source that does not have it starts an ordinary upload.
            let miss = try await client.execute(uri: "/v2/third/blobs/uploads/?mount=\(d)&from=empty/repo", method: .post)
            #expect(miss.status == .accepted)
            #expect(miss.headers[.location]?.hasPrefix("/v2/third/blobs/uploads/") == true)

            // Without `from`, a blob stored anywhere is mounted.
            let automatic = try await client.execute(uri: "/v2/fourth/blobs/uploads/?mount=\(d)", method: .post)
            #expect(automatic.status == .created)
        }
    }

    @Test func blobDeleteAndCancel() async throws {
        try await withRegistry { client, _ in
            let d = try await client.pushBlob("del", bytes("to delete"))
            let delete = try await client.execute(uri: "/v2/del/blobs/\(d)", method: .delete)
            #expect(delete.status == .accepted)
            let get = try await client.execute(uri: "/v2/del/blobs/\(d)", method: .get)
            #expect(get.status == .notFound)
            #expect(errorCode(get) == "BLOB_UNKNOWN")
            let again = try await client.execute(uri: "/v2/del/blobs/\(d)", method: .delete)
            #expect(again.status == .notFound)

            let start = try await client.execute(uri: "/v2/del/blobs/uploads/", method: .post)
            let location = try #require(start.headers[.location])
            let cancel = try await client.execute(uri: location, method: .delete)
            #expect(cancel.status == .noContent)
            let status = try await client.execute(uri: location, method: .get)
            #expect(status.status == .notFound)
        }
    }

    @Test func hostileNamesAndDigestsGetClientErrors() async throws {
        try await withRegistry { client, _ in
            let cases: [(String, HTTPRequest.Method, String)] = [
                ("/v2/UPPER/blobs/uploads/", .post, "NAME_INVALID"),
                ("/v2/a/../b/blobs/uploads/", .post, "NAME_INVALID"),
                ("/v2/a%2Fb/blobs/uploads/", .post, "NAME_INVALID"),
                ("/v2/a/%2e%2e/blobs/uploads/", .post, "NAME_INVALID"),
                ("/v2//a/blobs/uploads/", .post, "NAME_INVALID"),
                ("/v2/\(String(repeating: "a", count: 256))/tags/list", .get, "NAME_INVALID"),
                ("/v2/a/blobs/sha256:xyz", .get, "DIGEST_INVALID"),
                ("/v2/a/blobs/md5:d41d8cd98f00b204e9800998ecf8427e", .get, "DIGEST_INVALID"),
                ("/v2/a/blobs/sha256:\(String(repeating: "A", count: 64))", .get, "DIGEST_INVALID"),
                ("/v2/a/manifests/sha256:short", .get, "DIGEST_INVALID"),
                ("/v2/a/manifests/-bad-tag", .get, "MANIFEST_UNKNOWN"),
                ("/v2/a/manifests/-bad-tag", .put, "TAG_INVALID"),
                ("/v2/a/referrers/notadigest", .get, "DIGEST_INVALID"),
                ("/v2/a/blobs/uploads/not-a-uuid", .get, "BLOB_UPLOAD_UNKNOWN"),
                ("/v2/a/blobs/uploads/../../x", .get, "NAME_INVALID"),
            ]
            for (uri, method, code) in cases {
                let response = try await client.execute(uri: uri, method: method)
                #expect((400..<500).contains(response.status.code), "\(uri) gave \(response.status)")
                #expect(errorCode(response) == code, "\(uri)")
                #expect(response.headers[.dockerDistributionAPIVersion] == "registry/2.0")
            }
            let unknown = try await client.execute(
                uri: "/v2/a/blobs/uploads/00000000-0000-4000-8000-000000000000",
                method: .patch,
                body: buffer(bytes("x"))
            )
            #expect(unknown.status == .notFound)
            let method = try await client.execute(uri: "/v2/a/tags/list", method: .post)
            #expect(method.status == .methodNotAllowed)
            #expect(errorCode(method) == "UNSUPPORTED")
            let missingDigest = try await client.execute(uri: "/v2/a/blobs/uploads/", method: .post)
            let location = try #require(missingDigest.headers[.location])
            let put = try await client.execute(uri: location, method: .put)
            #expect(errorCode(put) == "DIGEST_INVALID")
        }
    }

    @Test func bodyLongerThanDeclaredRangeIsRejected() async throws {
        try await withRegistry { client, _ in
            let start = try await client.execute(uri: "/v2/len/blobs/uploads/", method: .post)
            let location = try #require(start.headers[.location])
            let patch = try await client.execute(uri: location, method: .patch, headers: [.contentRange: "0-1"], body: buffer(bytes("abcdef")))
            #expect((400..<500).contains(patch.status.code))
            let status = try await client.execute(uri: location, method: .get)
            #expect(status.status == .noContent)
        }
    }
}
