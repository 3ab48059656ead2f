import Foundation
import Testing
import WharfCore
import WharfStorage

@Suite("GarbageCollector")
struct GarbageCollectorTests {
    static let layerType = "application/vnd.oci.image.layer.v1.tar+gzip"
    static let imageType = "application/vnd.oci.image.manifest.v1+json"
    /// Two hours on: everything the test wrote is older than the default `min_age` of one hour.
    static let later = Date().addingTimeInterval(7200)

    static func mark(_ storage: TemporaryStorage, untagged: Bool = false) async throws -> GCReport {
        try await GarbageCollector(driver: storage.driver).mark(GCOptions(untagged: untagged), listKept: true, now: later)
    }

    static func eligible(_ report: GCReport) -> Set<OCIDigest> { Set(report.eligible.map(\.digest)) }

    static func reason(_ report: GCReport, _ digest: OCIDigest) -> GCReason? {
        report.keptBlobList.first { $0.digest == digest }?.reason
    }

    @Test func aMultiArchIndexKeepsItsUntaggedChildrenAndTheirLayers() async throws {
        try await TemporaryStorage.with { storage in
            let fixture = ScrubFixture(storage: storage)
            let shared = try await fixture.blob(Array("shared layer".utf8), in: "team/multi")
            var children: [OCIDigest] = []
            var unique: [OCIDigest] = []
            for arch in ["amd64", "arm64"] {
                let layer = try await fixture.blob(Array("layer of \(arch)".utf8), in: "team/multi")
                let config = try await fixture.blob(Array(#"{"architecture":"\#(arch)"}"#.utf8), in: "team/multi")
                unique += [layer, config]
                children.append(try await fixture.manifest(Self.image(config: config, layers: [shared, layer]), in: "team/multi"))
            }
            let index = try await fixture.manifest(Self.index(children), in: "team/multi", tag: "v1")

            for untagged in [false, true] {
                let report = try await Self.mark(storage, untagged: untagged)
                #expect(report.eligible.isEmpty)
                #expect(report.untaggedManifests.isEmpty)
                #expect(report.blobs == 8)
                #expect(report.keptBlobs == 8)
                #expect(report.missing == 0)
                #expect(Self.reason(report, index) == GCReason(.tagged, "team/multi:v1"))
                #expect(Self.reason(report, shared)?.kind == .child)
                for digest in children + unique { #expect(Self.reason(report, digest)?.kind == .child) }
                #expect(Self.reason(report, unique[0])?.detail == "team/multi@\(children[0]), child of team/multi@\(index)")
            }

            // Untag the index: it and its children are untagged; everything goes with --untagged, nothing without.
            try await ManifestIndex(driver: storage.driver).deleteTag(try Tag("v1"), in: try RepositoryName("team/multi"))
            let kept = try await Self.mark(storage)
            #expect(kept.eligible.isEmpty)
            #expect(Set(kept.untaggedManifests.map(\.digest)) == Set(children + [index]))
            let swept = try await Self.mark(storage, untagged: true)
            #expect(Self.eligible(swept) == Set(children + unique + [shared, index]))
            #expect(Set(swept.eligibleManifests.map(\.digest)) == Set(children + [index]))
        }
    }

    @Test func aDeletedImageFreesItsOwnLayersNotTheSharedOnes() async throws {
        try await TemporaryStorage.with { storage in
            let fixture = ScrubFixture(storage: storage)
            let shared = try await fixture.blob(Array("base".utf8), in: "app")
            let first = try await fixture.blob(Array("v1 layer".utf8), in: "app")
            let second = try await fixture.blob(Array("v2 layer".utf8), in: "app")
            let config1 = try await fixture.blob(Array(#"{"v":1}"#.utf8), in: "app")
            let config2 = try await fixture.blob(Array(#"{"v":2}"#.utf8), in: "app")
            _ = try await fixture.manifest(Self.image(config: config1, layers: [shared, first]), in: "app", tag: "v1")
            let deleted = try await fixture.manifest(Self.image(config: config2, layers: [shared, second]), in: "app", tag: "v2")
            // Another repository shares the base through a layer link only: a link is not a reference.
            try await fixture.link(shared, in: "other")
            try await fixture.link(second, in: "other")

            #expect(try await Self.mark(storage).eligible.isEmpty)
            // As DELETE /v2/app/manifests/<digest> does (and distribution's delete): tags and revision unlinked.
            try await ManifestIndex(driver: storage.driver).delete(deleted, in: try RepositoryName("app"))

            for untagged in [false, true] {
                let report = try await Self.mark(storage, untagged: untagged)
                #expect(Self.eligible(report) == [second, config2, deleted])
                #expect(report.eligible.first { $0.digest == second }?.layerLinks == ["app", "other"])
                #expect(report.eligible.first { $0.digest == deleted }?.layerLinks == [])
                #expect(report.eligibleLayerLinks == 3)
                #expect(
                    report.eligibleBytes == Int64("v2 layer".utf8.count + #"{"v":2}"#.utf8.count)
                        + report.eligible.first { $0.digest == deleted }!.bytes
                )
                #expect(Self.reason(report, shared) == GCReason(.tagged, "app:v1"))
                #expect(report.keptBlobs == 4)
                #expect(report.untaggedManifests.isEmpty)
            }
        }
    }

    @Test func aReferrerIsKeptWhileItsSubjectIs() async throws {
        try await TemporaryStorage.with { storage in
            let fixture = ScrubFixture(storage: storage)
            let layer = try await fixture.blob(Array("layer".utf8), in: "app")
            let config = try await fixture.blob(Array("{}".utf8), in: "app")
            let subject = try await fixture.manifest(Self.image(config: config, layers: [layer]), in: "app", tag: "v1")
            let signature = try await fixture.blob(Array("signature".utf8), in: "app")
            let empty = try await fixture.blob(Array("{ }".utf8), in: "app")
            let referrer = try await fixture.manifest(Self.image(config: empty, layers: [signature], subject: subject), in: "app")
            // A cosign-style tag is an ordinary tag: what it names is kept as tagged.
            let cosignLayer = try await fixture.blob(Array("cosign".utf8), in: "app")
            let cosign = try await fixture.manifest(
                Self.image(config: empty, layers: [cosignLayer]),
                in: "app",
                tag: "sha256-\(subject.hex).sig"
            )

            let report = try await Self.mark(storage, untagged: true)
            #expect(report.eligible.isEmpty)
            #expect(report.untaggedManifests.isEmpty)
            #expect(Self.reason(report, referrer) == GCReason(.referrer, "app@\(referrer), referrer of app@\(subject)"))
            #expect(Self.reason(report, signature)?.kind == .referrer)
            #expect(Self.reason(report, cosign) == GCReason(.tagged, "app:sha256-\(subject.hex).sig"))

            // The subject untagged: with --untagged it goes, and its referrer with it (never left orphaned).
            try await ManifestIndex(driver: storage.driver).deleteTag(try Tag("v1"), in: try RepositoryName("app"))
            let swept = try await Self.mark(storage, untagged: true)
            #expect(Self.eligible(swept) == [subject, layer, config, referrer, signature])
            #expect(Set(swept.eligibleManifests.map(\.digest)) == [subject, referrer])
            // `empty` is also the config of the cosign manifest, which is still tagged.
            #expect(Self.reason(swept, empty)?.kind == .tagged)
        }
    }

    @Test func anUntaggedManifestIsKeptByDefaultAndEligibleWithUntagged() async throws {
        try await TemporaryStorage.with { storage in
            let fixture = ScrubFixture(storage: storage)
            let layer = try await fixture.blob(Array("layer".utf8), in: "app")
            let config = try await fixture.blob(Array("{}".utf8), in: "app")
            let manifest = try await fixture.manifest(Self.image(config: config, layers: [layer]), in: "app")

            let kept = try await Self.mark(storage)
            #expect(kept.eligible.isEmpty)
            #expect(kept.untaggedManifests == [GCManifest(repository: "app", digest: manifest, bytes: kept.untaggedManifests.first?.bytes ?? -1)])
            #expect(kept.eligibleManifests.isEmpty)
            #expect(Self.reason(kept, layer) == GCReason(.untagged, "app@\(manifest) (untagged)"))
            #expect(kept.kept == [GCReport.KeptGroup(reason: .untagged, blobs: 3, bytes: kept.bytes)])

            let swept = try await Self.mark(storage, untagged: true)
            #expect(Self.eligible(swept) == [manifest, layer, config])
            #expect(swept.eligibleManifests.map(\.digest) == [manifest])
            #expect(swept.eligibleBytes == swept.bytes)
        }
    }

    @Test func youngBlobsLinksAndRevisionsAreKeptAsTooYoung() async throws {
        try await TemporaryStorage.with { storage in
            let fixture = ScrubFixture(storage: storage)
            let old = try await fixture.blob(Array("old".utf8))
            let young = try await fixture.blob(Array("young".utf8))
            let relinked = try await fixture.blob(Array("relinked".utf8), in: "app")
            let layer = try await fixture.blob(Array("layer".utf8), in: "app")
            let config = try await fixture.blob(Array("{}".utf8), in: "app")
            let pushed = try await fixture.manifest(Self.image(config: config, layers: [layer]), in: "app")
            // Ten minutes before `later`: younger than an hour then.
            let recent = Self.later.addingTimeInterval(-600)
            for path in [
                storage.blobDataPath(young), storage.layerLinkPath("app", relinked),
                storage.v2("repositories/app/_manifests/revisions/sha256/\(pushed.hex)/link"),
            ] {
                try FileManager.default.setAttributes([.modificationDate: recent], ofItemAtPath: path)
            }

            let report = try await Self.mark(storage, untagged: true)
            #expect(Self.eligible(report) == [old])
            #expect(report.untaggedManifests.isEmpty)
            #expect(Self.reason(report, young)?.kind == .tooYoung)
            #expect(Self.reason(report, relinked)?.kind == .tooYoung)
            #expect(Self.reason(report, relinked)?.detail.hasPrefix("layer link in app written at ") == true)
            #expect(Self.reason(report, layer)?.kind == .tooYoung)
            #expect(report.kept.map(\.reason) == [.tooYoung])

            // With no grace, only what is referenced stays.
            let now = try await GarbageCollector(driver: storage.driver).mark(GCOptions(untagged: true, minAge: 0), now: Self.later)
            #expect(Self.eligible(now) == [old, young, relinked, layer, config, pushed])
        }
    }

    @Test func anAbsentForeignLayerIsNotMissingAndAMissingLayerIs() async throws {
        try await TemporaryStorage.with { storage in
            let fixture = ScrubFixture(storage: storage)
            let config = try await fixture.blob(Array("{}".utf8), in: "win")
            let foreign = OCIDigest.of(Array("a Windows base layer, served from elsewhere".utf8))
            let missing = OCIDigest.of(Array("a layer whose data is gone".utf8))
            let json = """
                {"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",\
                "config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"\(config)","size":2},\
                "layers":[{"mediaType":"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip","digest":"\(foreign)",\
                "size":1,"urls":["https://example.com/layer"]},\
                {"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"\(missing)","size":1}]}
                """
            try await fixture.manifest(json, in: "win", tag: "ltsc")
            let report = try await Self.mark(storage, untagged: true)
            #expect(report.missing == 1)
            #expect(report.eligible.isEmpty)
            #expect(report.keptBlobs == 2)
        }
    }

    @Test func theMarkChangesNothing() async throws {
        try await TemporaryStorage.with { storage in
            let fixture = ScrubFixture(storage: storage)
            let layer = try await fixture.blob(Array("layer".utf8), in: "app")
            let config = try await fixture.blob(Array("{}".utf8), in: "app")
            let gone = try await fixture.manifest(Self.image(config: config, layers: [layer]), in: "app", tag: "v1")
            _ = try await fixture.manifest(Self.image(config: config, layers: []), in: "app", tag: "v2")
            try await fixture.blob(Array("stray".utf8), in: "other")
            try await ManifestIndex(driver: storage.driver).delete(gone, in: try RepositoryName("app"))
            let before = try Self.treeHash(storage.root)

            for untagged in [false, true] {
                #expect(try await Self.mark(storage, untagged: untagged).eligible.count == 3)
                _ = try await GarbageCollector(driver: storage.driver).mark(GCOptions(untagged: untagged, minAge: 0))
            }
            #expect(try Self.treeHash(storage.root) == before)
        }
    }

    // MARK: Helpers

    static func image(config: OCIDigest, layers: [OCIDigest], subject: OCIDigest? = nil) -> String {
        let layerJSON = layers.map { #"{"mediaType":"\#(layerType)","digest":"\#($0)","size":1}"# }.joined(separator: ",")
        let subjectJSON = subject.map { #","subject":{"mediaType":"\#(imageType)","digest":"\#($0)","size":1}"# } ?? ""
        return """
            {"schemaVersion":2,"mediaType":"\(imageType)",\
            "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\(config)","size":1},\
            "layers":[\(layerJSON)]\(subjectJSON)}
            """
    }

    static func index(_ children: [OCIDigest]) -> String {
        let list = children.map { #"{"mediaType":"\#(imageType)","digest":"\#($0)","size":1}"# }.joined(separator: ",")
        return #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[\#(list)]}"#
    }

    /// Every path under `root` with its content, size and modification time: any write shows.
    static func treeHash(_ root: String) throws -> OCIDigest {
        var text = ""
        let enumerator = try #require(FileManager.default.enumerator(atPath: root))
        var paths: [String] = []
        while let path = enumerator.nextObject() as? String { paths.append(path) }
        for path in paths.sorted() {
            let full = root + "/" + path
            let attributes = try FileManager.default.attributesOfItem(atPath: full)
            let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            text += "\(path) \(attributes[.type] ?? "") \(modified)"
            if attributes[.type] as? FileAttributeType == .typeRegular {
                text += " " + OCIDigest.of(Array(FileManager.default.contents(atPath: full) ?? Data())).description
            }
            text += "\n"
        }
        return OCIDigest.of(Array(text.utf8))
    }
}

extension ScrubFixture {
    /// Stores a manifest and links it as a revision of `repository`, tagged `tag` when given.
    @discardableResult
    func manifest(_ json: String, in repository: String, tag: String? = nil) async throws -> OCIDigest {
        let digest = try await blob(Array(json.utf8))
        let name = try RepositoryName(repository)
        try await storage.driver.write(RegistryPaths.revisionLink(name, digest), contents: RegistryPaths.linkContent(digest))
        if let tag {
            try await storage.driver.write(RegistryPaths.tagCurrentLink(name, try Tag(tag)), contents: RegistryPaths.linkContent(digest))
        }
        return digest
    }
}
