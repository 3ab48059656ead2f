import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
import WharfCore

@testable import WharfServer

@Suite struct RegistryManifestTests {
    @Test func putAndGetByTagAndDigest() async throws {
        try await withRegistry { client, folder in
            let (manifest, d) = try await client.pushImage("team/app", tag: "v1")
            for reference in ["v1", d] {
                let get = try await client.execute(uri: "/v2/team/app/manifests/\(reference)", method: .get)
                #expect(get.status == .ok)
                #expect(Array(get.body.readableBytesView) == manifest)
                #expect(get.headers[.contentType] == "application/vnd.oci.image.manifest.v1+json")
                #expect(get.headers[.dockerContentDigest] == d)
                let head = try await client.execute(uri: "/v2/team/app/manifests/\(reference)", method: .head)
                #expect(head.status == .ok)
                #expect(head.headers[.contentLength] == String(manifest.count))
                #expect(head.body.readableBytes == 0)
            }
            let hex = String(d.dropFirst(7))
            let base = "\(folder)/registry/docker/registry/v2/repositories/team/app/_manifests"
            #expect(FileManager.default.contents(atPath: "\(base)/tags/v1/current/link") == Data(d.utf8))
            #expect(FileManager.default.contents(atPath: "\(base)/tags/v1/index/sha256/\(hex)/link") == Data(d.utf8))
            #expect(FileManager.default.contents(atPath: "\(base)/revisions/sha256/\(hex)/link") == Data(d.utf8))

            let missing = try await client.execute(uri: "/v2/team/app/manifests/nope", method: .get)
            #expect(missing.status == .notFound)
            #expect(errorCode(missing) == "MANIFEST_UNKNOWN")
        }
    }

    @Test func putByDigestMustMatchTheContent() async throws {
        try await withRegistry { client, _ in
            let (manifest, d) = try await client.pushImage("p", tag: "t")
            let byDigest = try await client.execute(
                uri: "/v2/p/manifests/\(d)",
                method: .put,
                headers: [.contentType: "application/vnd.oci.image.manifest.v1+json"],
                body: buffer(manifest)
            )
            #expect(byDigest.status == .created)
            let wrong = try await client.execute(
                uri: "/v2/p/manifests/\(digest(bytes("other")))",
                method: .put,
                headers: [.contentType: "application/vnd.oci.image.manifest.v1+json"],
                body: buffer(manifest)
            )
            #expect(wrong.status == .badRequest)
            #expect(errorCode(wrong) == "DIGEST_INVALID")
        }
    }

    @Test func invalidManifestsAreRejected() async throws {
        try await withRegistry { client, _ in
            let oci: HTTPFields = [.contentType: "application/vnd.oci.image.manifest.v1+json"]
            let notJSON = try await client.execute(uri: "/v2/m/manifests/t", method: .put, headers: oci, body: buffer(bytes("{nope")))
            #expect(notJSON.status == .badRequest)
            #expect(errorCode(notJSON) == "MANIFEST_INVALID")

            let missingBlob = bytes(
                """
                {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",\
                "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\(digest(bytes("absent")))","size":6},"layers":[]}
                """
            )
            let unknown = try await client.execute(uri: "/v2/m/manifests/t", method: .put, headers: oci, body: buffer(missingBlob))
            #expect(unknown.status == .notFound)
            #expect(errorCode(unknown) == "MANIFEST_BLOB_UNKNOWN")

            let mismatch = try await client.execute(
                uri: "/v2/m/manifests/t",
                method: .put,
                headers: [.contentType: "application/vnd.oci.image.index.v1+json"],
                body: buffer(missingBlob)
            )
            #expect(errorCode(mismatch) == "MANIFEST_INVALID")

            let huge = [UInt8](repeating: UInt8(ascii: " "), count: 4 * 1024 * 1024 + 1)
            let tooLarge = try await client.execute(uri: "/v2/m/manifests/t", method: .put, headers: oci, body: buffer(huge))
            #expect(tooLarge.status == .contentTooLarge)

            let tags = try await client.execute(uri: "/v2/m/tags/list", method: .get)
            #expect(tags.status == .notFound)
            #expect(errorCode(tags) == "NAME_UNKNOWN")
        }
    }

    @Test func indexNeedsItsManifestsInTheRepository() async throws {
        try await withRegistry { client, _ in
            let (amd, amdDigest) = try await client.pushImage("multi", tag: "amd64", layers: ["amd"])
            let index = bytes(
                """
                {"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[\
                {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\(amdDigest)","size":\(amd.count),\
                "platform":{"architecture":"amd64","os":"linux"}}]}
                """
            )
            let headers: HTTPFields = [.contentType: "application/vnd.oci.image.index.v1+json"]
            let put = try await client.execute(uri: "/v2/multi/manifests/latest", method: .put, headers: headers, body: buffer(index))
            #expect(put.status == .created)
            let get = try await client.execute(uri: "/v2/multi/manifests/latest", method: .get)
            #expect(get.headers[.contentType] == "application/vnd.oci.image.index.v1+json")
            let elsewhere = try await client.execute(uri: "/v2/other/manifests/latest", method: .put, headers: headers, body: buffer(index))
            #expect(errorCode(elsewhere) == "MANIFEST_BLOB_UNKNOWN")
        }
    }

    @Test func acceptHeaderIsHonoured() async throws {
        try await withRegistry { client, _ in
            _ = try await client.pushImage("acc", tag: "v1")
            let docker = try await client.execute(
                uri: "/v2/acc/manifests/v1",
                method: .get,
                headers: [.accept: "application/vnd.docker.distribution.manifest.v2+json"]
            )
            #expect(docker.status == .notFound)
            #expect(errorCode(docker) == "MANIFEST_UNKNOWN")
            let both = try await client.execute(
                uri: "/v2/acc/manifests/v1",
                method: .get,
                headers: [.accept: "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json"]
            )
            #expect(both.status == .ok)
            let any = try await client.execute(uri: "/v2/acc/manifests/v1", method: .get, headers: [.accept: "*/*"])
            #expect(any.status == .ok)
        }
    }

    @Test func tagListPaging() async throws {
        try await withRegistry { client, _ in
            let (manifest, _) = try await client.pushImage("pg", tag: "a")
            for tag in ["d", "b", "c", "e"] {
                let put = try await client.execute(
                    uri: "/v2/pg/manifests/\(tag)",
                    method: .put,
                    headers: [.contentType: "application/vnd.oci.image.manifest.v1+json"],
                    body: buffer(manifest)
                )
                #expect(put.status == .created)
            }
            let all = try await client.execute(uri: "/v2/pg/tags/list", method: .get)
            #expect(try json(all)["tags"] as? [String] == ["a", "b", "c", "d", "e"])
            #expect(try json(all)["name"] as? String == "pg")
            #expect(all.headers[.link] == nil)

            let first = try await client.execute(uri: "/v2/pg/tags/list?n=2", method: .get)
            #expect(try json(first)["tags"] as? [String] == ["a", "b"])
            #expect(first.headers[.link] == "</v2/pg/tags/list?n=2&last=b>; rel=\"next\"")
            let second = try await client.execute(uri: "/v2/pg/tags/list?n=2&last=b", method: .get)
            #expect(try json(second)["tags"] as? [String] == ["c", "d"])
            let last = try await client.execute(uri: "/v2/pg/tags/list?n=2&last=d", method: .get)
            #expect(try json(last)["tags"] as? [String] == ["e"])
            #expect(last.headers[.link] == nil)
            let zero = try await client.execute(uri: "/v2/pg/tags/list?n=0", method: .get)
            #expect(try json(zero)["tags"] as? [String] == [])
            let bad = try await client.execute(uri: "/v2/pg/tags/list?n=-1", method: .get)
            #expect(bad.status == .badRequest)
        }
    }

    @Test func catalogListsRepositoriesWithPaging() async throws {
        try await withRegistry { client, _ in
            for name in ["zeta", "alpha/one", "alpha/two", "mid"] {
                _ = try await client.pushImage(name, tag: "v1")
            }
            let all = try await client.execute(uri: "/v2/_catalog", method: .get)
            #expect(try json(all)["repositories"] as? [String] == ["alpha/one", "alpha/two", "mid", "zeta"])
            let page = try await client.execute(uri: "/v2/_catalog?n=3", method: .get)
            #expect(try json(page)["repositories"] as? [String] == ["alpha/one", "alpha/two", "mid"])
            #expect(page.headers[.link] == "</v2/_catalog?n=3&last=mid>; rel=\"next\"")
            let next = try await client.execute(uri: "/v2/_catalog?n=3&last=mid", method: .get)
            #expect(try json(next)["repositories"] as? [String] == ["zeta"])
        }
    }

    @Test func referrersFollowSubjects() async throws {
        try await withRegistry { client, _ in
            let (subject, subjectDigest) = try await client.pushImage("ref", tag: "v1")
            let empty = try await client.execute(uri: "/v2/ref/referrers/\(subjectDigest)", method: .get)
            #expect(empty.status == .ok)
            #expect(empty.headers[.contentType] == "application/vnd.oci.image.index.v1+json")
            #expect((try json(empty)["manifests"] as? [Any])?.isEmpty == true)

            let emptyConfig = bytes("{}")
            let configDigest = try await client.pushBlob("ref", emptyConfig)
            func artifact(_ type: String) -> [UInt8] {
                bytes(
                    """
                    {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"\(type)",\
                    "config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"\(configDigest)","size":2},"layers":[],\
                    "subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\(subjectDigest)","size":\(subject.count)},\
                    "annotations":{"org.example":"\(type)"}}
                    """
                )
            }
            var digests: [String] = []
            for type in ["application/vnd.example.sbom", "application/vnd.example.signature"] {
                let body = artifact(type)
                let put = try await client.execute(
                    uri: "/v2/ref/manifests/\(digest(body))",
                    method: .put,
                    headers: [.contentType: "application/vnd.oci.image.manifest.v1+json"],
                    body: buffer(body)
                )
                #expect(put.status == .created)
                #expect(put.headers[.ociSubject] == subjectDigest)
                digests.append(digest(body))
            }
            let all = try await client.execute(uri: "/v2/ref/referrers/\(subjectDigest)", method: .get)
            let manifests = try #require(try json(all)["manifests"] as? [[String: Any]])
            #expect(Set(manifests.compactMap { $0["digest"] as? String }) == Set(digests))
            #expect(
                Set(manifests.compactMap { $0["artifactType"] as? String }) == ["application/vnd.example.sbom", "application/vnd.example.signature"]
            )
            #expect(all.headers[.ociFiltersApplied] == nil)

            let filtered = try await client.execute(uri: "/v2/ref/referrers/\(subjectDigest)?artifactType=application/vnd.example.sbom", method: .get)
            let only = try #require(try json(filtered)["manifests"] as? [[String: Any]])
            #expect(only.count == 1)
            #expect(only.first?["digest"] as? String == digests[0])
            #expect((only.first?["annotations"] as? [String: String])?["org.example"] == "application/vnd.example.sbom")
            #expect(filtered.headers[.ociFiltersApplied] == "artifactType")

            let delete = try await client.execute(uri: "/v2/ref/manifests/\(digests[0])", method: .delete)
            #expect(delete.status == .accepted)
            let after = try await client.execute(uri: "/v2/ref/referrers/\(subjectDigest)", method: .get)
            #expect((try json(after)["manifests"] as? [Any])?.count == 1)
        }
    }

    @Test func deletingATagKeepsTheManifest() async throws {
        try await withRegistry { client, _ in
            let (manifest, d) = try await client.pushImage("dt", tag: "one")
            let put = try await client.execute(
                uri: "/v2/dt/manifests/two",
                method: .put,
                headers: [.contentType: "application/vnd.oci.image.manifest.v1+json"],
                body: buffer(manifest)
            )
            #expect(put.status == .created)
            let untag = try await client.execute(uri: "/v2/dt/manifests/one", method: .delete)
            #expect(untag.status == .accepted)
            #expect(try await client.execute(uri: "/v2/dt/manifests/one", method: .get).status == .notFound)
            #expect(try await client.execute(uri: "/v2/dt/manifests/\(d)", method: .get).status == .ok)
            #expect(try json(try await client.execute(uri: "/v2/dt/tags/list", method: .get))["tags"] as? [String] == ["two"])

            let delete = try await client.execute(uri: "/v2/dt/manifests/\(d)", method: .delete)
            #expect(delete.status == .accepted)
            #expect(try await client.execute(uri: "/v2/dt/manifests/\(d)", method: .get).status == .notFound)
            #expect(try await client.execute(uri: "/v2/dt/manifests/two", method: .get).status == .notFound)
            let again = try await client.execute(uri: "/v2/dt/manifests/\(d)", method: .delete)
            #expect(again.status == .notFound)
            #expect(errorCode(again) == "MANIFEST_UNKNOWN")
        }
    }

    @Test func concurrentPushesToOneTagEndConsistent() async throws {
        try await withRegistry { client, _ in
            var pushed: [String: [UInt8]] = [:]
            for index in 0..<16 {
                let (manifest, d) = try await client.pushImage("race", tag: "seed\(index)", layers: ["layer \(index)"])
                pushed[d] = manifest
            }
            let candidates = pushed
            try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for (_, manifest) in candidates {
                    group.addTask {
                        try await client.execute(
                            uri: "/v2/race/manifests/latest",
                            method: .put,
                            headers: [.contentType: "application/vnd.oci.image.manifest.v1+json"],
                            body: buffer(manifest)
                        ).status
                    }
                }
                for try await status in group { #expect(status == .created) }
            }
            let get = try await client.execute(uri: "/v2/race/manifests/latest", method: .get)
            #expect(get.status == .ok)
            let served = try #require(get.headers[.dockerContentDigest])
            #expect(candidates[served] == Array(get.body.readableBytesView))
            #expect(digest(Array(get.body.readableBytesView)) == served)
        }
    }
}
