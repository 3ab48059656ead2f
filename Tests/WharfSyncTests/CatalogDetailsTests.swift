import Foundation
import Logging
import Testing
import WharfAuth
import WharfCore
import WharfDatabase
import WharfStorage

@testable import WharfSync

/// A tag's details read from storage: an image's config and layers, an index's platforms, referrers, and what is
/// left out (with a note) when a blob is too large, missing or not JSON.
@Suite struct CatalogDetailsTests {
    /// An image in `repository` tagged `tag` with `config` as its config blob; returns the manifest's digest.
    @discardableResult
    static func image(
        _ fixture: QueryFixture,
        _ repository: String,
        _ tag: String?,
        config: [UInt8],
        extra: String = ""
    ) async throws
        -> OCIDigest
    {
        let name = try RepositoryName(repository)
        let configDigest = try await fixture.blob(config)
        let layer = try await fixture.blob(Array("layer of \(repository)".utf8))
        let manifest = Array(
            """
            {"schemaVersion":2,"mediaType":"\(MediaType.ociManifest)",\(extra)"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\(configDigest)","size":\(config.count)},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"\(layer)","size":\("layer of \(repository)".utf8.count)}]}
            """.utf8
        )
        let digest = try await fixture.blob(manifest)
        try await fixture.driver.write(RegistryPaths.revisionLink(name, digest), contents: RegistryPaths.linkContent(digest))
        if let tag { try await point(fixture, repository, tag, at: digest) }
        return digest
    }

    static func point(_ fixture: QueryFixture, _ repository: String, _ tag: String, at digest: OCIDigest) async throws {
        let name = try RepositoryName(repository)
        let parsed = try Tag(tag)
        try await fixture.driver.write(RegistryPaths.tagIndexLink(name, parsed, digest), contents: RegistryPaths.linkContent(digest))
        try await fixture.driver.write(RegistryPaths.tagCurrentLink(name, parsed), contents: RegistryPaths.linkContent(digest))
    }

    static func sync(_ fixture: QueryFixture) async throws {
        _ = try await SyncPass(pool: fixture.pool, driver: fixture.driver, logger: QueryFixture.logger).run()
    }

    static let config = Array(
        #"""
        {"architecture":"amd64","os":"linux","created":"2024-05-06T07:08:09Z","author":"someone",
         "config":{"Env":["PATH=/usr/bin","API_TOKEN=hunter2","EMPTY"],"Entrypoint":["/bin/app"],"Cmd":["--serve"],
                   "Labels":{"org.opencontainers.image.source":"https://example.com/app"},"ExposedPorts":{"8080/tcp":{}},
                   "WorkingDir":"/srv","User":"1000"},
         "history":[{"created":"2024-05-06T07:08:00Z","created_by":"ADD rootfs /"},{"created_by":"ENV API_TOKEN=hunter2","empty_layer":true},42]}
        """#.utf8
    )

    @Test(arguments: QueryBackend.available)
    func anImageShowsItsLayersConfigAndReferrersButNoEnvironmentValues(_ backend: QueryBackend) async throws {
        try await QueryFixture.with(backend) { fixture in
            let admin = try await fixture.user("root", admin: true)
            try await fixture.namespace("team", .public)
            let digest = try await Self.image(fixture, "team/app", "v1", config: Self.config)
            try await Self.point(fixture, "team/app", "latest", at: digest)
            // An SBOM that names the image as its subject, pushed by digest.
            let sbom = try await Self.image(
                fixture,
                "team/app",
                nil,
                config: Array("{}".utf8),
                extra: #""artifactType":"application/spdx+json","subject":{"mediaType":"\#(MediaType.ociManifest)","digest":"\#(digest)","size":1},"#
            )
            try await Self.sync(fixture)

            let details = try await fixture.reader.details(of: "team/app", reference: "v1", for: .anonymous)
            #expect(details.digest == digest.description && details.mediaType == MediaType.ociManifest)
            #expect(details.tags.map(\.name).sorted() == ["latest", "v1"])
            #expect(details.layers.count == 1 && details.layers[0].mediaType == "application/vnd.oci.image.layer.v1.tar+gzip")
            #expect(details.configDescriptor?.size == Int64(Self.config.count))
            #expect(details.size > 0 && details.totalSize ?? 0 > details.size)
            let config = try #require(details.config)
            #expect(config.os == "linux" && config.architecture == "amd64" && config.author == "someone")
            #expect(config.envNames == ["PATH", "API_TOKEN", "EMPTY"])
            #expect(config.entrypoint == ["/bin/app"] && config.cmd == ["--serve"] && config.workingDir == "/srv" && config.user == "1000")
            #expect(config.labels == ["org.opencontainers.image.source": "https://example.com/app"])
            #expect(config.exposedPorts == ["8080/tcp"])
            #expect(config.history.count == 2 && config.history[1].emptyLayer && config.history[0].createdBy == "ADD rootfs /")
            #expect(config.created == Date(timeIntervalSince1970: 1_714_979_289))
            #expect(details.referrers.map(\.digest) == [sbom.description])
            #expect(details.referrers.first?.artifactType == "application/spdx+json")
            #expect(details.notes.isEmpty)
            // The environment's values never leave the reader (a history entry's command is shown as the builder wrote it).
            #expect(!config.envNames.joined().contains("hunter2"))

            // By digest, untagged too (the SBOM), and the same answer by digest as by tag.
            #expect(try await fixture.reader.details(of: "team/app", reference: digest.description, for: admin).tags == details.tags)
            let untagged = try await fixture.reader.details(of: "team/app", reference: sbom.description, for: admin)
            #expect(untagged.tags.isEmpty && untagged.artifactType == "application/spdx+json" && untagged.layers.count == 1)
            // Unknown references, and repositories the caller may not see, are not found.
            await #expect(throws: CatalogQueryError.self) { try await fixture.reader.details(of: "team/app", reference: "nope", for: admin) }
            await #expect(throws: CatalogQueryError.self) {
                try await fixture.reader.details(of: "team/app", reference: QueryFixture.digest("9"), for: admin)
            }
            await #expect(throws: CatalogQueryError.self) { try await fixture.reader.details(of: "team/none", reference: "v1", for: admin) }
        }
    }

    @Test(arguments: QueryBackend.available)
    func anIndexShowsItsPlatformsAndItsAttestationsAsReferrers(_ backend: QueryBackend) async throws {
        try await QueryFixture.with(backend) { fixture in
            let admin = try await fixture.user("root", admin: true)
            let amd = try await Self.image(fixture, "team/multi", nil, config: Self.config)
            let arm = try await Self.image(fixture, "team/multi", nil, config: Array(#"{"architecture":"arm64","os":"linux"}"#.utf8))
            let attestation = try await Self.image(fixture, "team/multi", nil, config: Array("{}".utf8))
            let index = Array(
                """
                {"schemaVersion":2,"mediaType":"\(MediaType.ociIndex)","manifests":[
                {"mediaType":"\(MediaType.ociManifest)","digest":"\(amd)","size":400,"platform":{"os":"linux","architecture":"amd64"}},
                {"mediaType":"\(MediaType.ociManifest)","digest":"\(arm)","size":401,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}},
                {"mediaType":"\(MediaType.ociManifest)","digest":"\(attestation)","size":402,"platform":{"os":"unknown","architecture":"unknown"},
                 "annotations":{"vnd.docker.reference.type":"attestation-manifest","vnd.docker.reference.digest":"\(amd)"}}]}
                """.utf8
            )
            let digest = try await fixture.blob(index)
            try await fixture.driver.write(
                RegistryPaths.revisionLink(try RepositoryName("team/multi"), digest),
                contents: RegistryPaths.linkContent(digest)
            )
            try await Self.point(fixture, "team/multi", "1.0", at: digest)
            try await Self.sync(fixture)

            let details = try await fixture.reader.details(of: "team/multi", reference: "1.0", for: admin)
            #expect(details.mediaType == MediaType.ociIndex && details.size == Int64(index.count))
            #expect(details.platforms.map(\.digest) == [amd.description, arm.description])
            #expect(details.platforms[1].variant == "v8" && details.platforms[1].size == 401 && details.platforms[1].totalSize ?? 0 > 401)
            #expect(details.layers.isEmpty && details.config == nil)
            #expect(details.referrers.map(\.digest) == [attestation.description])
        }
    }

    @Test(arguments: QueryBackend.available)
    func aConfigTooLargeOrNotJSONIsLeftOutWithANote(_ backend: QueryBackend) async throws {
        try await QueryFixture.with(backend) { fixture in
            let admin = try await fixture.user("root", admin: true)
            try await Self.image(fixture, "team/big", "v1", config: Array(repeating: UInt8(ascii: " "), count: CatalogReader.configLimit + 1))
            try await Self.image(fixture, "team/broken", "v1", config: Array("not json at all".utf8))
            try await Self.image(fixture, "team/array", "v1", config: Array("[1,2,3]".utf8))
            let gone = try await Self.image(fixture, "team/gone", "v1", config: Self.config)
            try await Self.sync(fixture)
            try await fixture.driver.delete(RegistryPaths.blobData(gone))

            let big = try await fixture.reader.details(of: "team/big", reference: "v1", for: admin)
            #expect(big.config == nil && big.layers.count == 1 && big.notes.count == 1 && big.notes[0].contains("more than"))
            for name in ["team/broken", "team/array"] {
                let broken = try await fixture.reader.details(of: name, reference: "v1", for: admin)
                #expect(broken.config == nil && broken.layers.count == 1 && broken.notes == ["the image config is not a JSON object"])
            }
            let missing = try await fixture.reader.details(of: "team/gone", reference: "v1", for: admin)
            #expect(missing.digest == gone.description && missing.layers.isEmpty && missing.notes.count == 1)
        }
    }
}
