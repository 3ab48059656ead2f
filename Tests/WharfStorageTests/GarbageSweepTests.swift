import Foundation
import NIOCore
import Testing
import WharfCore

@testable import WharfStorage

/// The sweep on a real folder: it deletes what the dry run lists, and nothing a push links while it runs.
@Suite("Garbage collection sweep")
struct GarbageSweepTests {
    typealias Helpers = GarbageCollectorTests

    static func collect(_ storage: TemporaryStorage, untagged: Bool = false, dryRun: Bool = false) async throws -> GCReport {
        try await GarbageCollector(driver: storage.driver).run(GCOptions(untagged: untagged, minAge: 0), dryRun: dryRun)
    }

    @Test func theSweepDeletesExactlyWhatTheDryRunListed() async throws {
        try await TemporaryStorage.with { storage in
            let fixture = ScrubFixture(storage: storage)
            let shared = try await fixture.blob(Array("base".utf8), in: "app")
            let first = try await fixture.blob(Array("v1 layer".utf8), in: "app")
            let second = try await fixture.blob(Array("v2 layer".utf8), in: "app")
            let config1 = try await fixture.blob(Array(#"{"v":1}"#.utf8), in: "app")
            let config2 = try await fixture.blob(Array(#"{"v":2}"#.utf8), in: "app")
            let kept = try await fixture.manifest(Helpers.image(config: config1, layers: [shared, first]), in: "app", tag: "v1")
            let deleted = try await fixture.manifest(Helpers.image(config: config2, layers: [shared, second]), in: "app", tag: "v2")
            try await fixture.link(second, in: "other")
            let stray = try await fixture.blob(Array("never referenced".utf8))
            try await ManifestIndex(driver: storage.driver).delete(deleted, in: try RepositoryName("app"))

            let dry = try await Self.collect(storage, dryRun: true)
            #expect(dry.dryRun && dry.reclaimedBlobs == 0)
            let real = try await Self.collect(storage)
            #expect(!real.dryRun)
            #expect(Helpers.eligible(real) == Helpers.eligible(dry))
            #expect(Helpers.eligible(real) == [second, config2, deleted, stray])
            #expect(real.reclaimedBlobs == 4)
            #expect(real.reclaimedBytes == dry.eligibleBytes)
            #expect(real.removedLayerLinks == 3)
            #expect(real.rescuedBlobs == 0)
            for digest in [second, config2, deleted, stray] {
                #expect(!storage.exists(storage.blobDataPath(digest)))
                #expect(!storage.exists(storage.v2("blobs/sha256/\(digest.hex.prefix(2))/\(digest.hex)")))
            }
            #expect(!storage.exists(storage.layerLinkPath("other", second)))
            #expect(!storage.exists(storage.layerLinkPath("app", config2)))
            for digest in [shared, first, config1, kept] { #expect(storage.exists(storage.blobDataPath(digest))) }
            #expect(storage.exists(storage.layerLinkPath("app", first)))
            #expect(storage.entries(storage.root + "/" + RegistryPaths.gcTrashRoot + "/sha256").isEmpty)

            let index = ManifestIndex(driver: storage.driver)
            #expect(try await index.resolve(.tag(try Tag("v1")), in: try RepositoryName("app")) == kept)
            let again = try await Self.collect(storage, dryRun: true)
            #expect(again.eligible.isEmpty)
            #expect(again.blobs == 4)
        }
    }

    @Test func aTaggedIndexKeepsItsChildrenAndSignatureAndTheyGoWithIt() async throws {
        try await TemporaryStorage.with { storage in
            let fixture = ScrubFixture(storage: storage)
            var children: [OCIDigest] = []
            var blobs: [OCIDigest] = []
            for arch in ["amd64", "arm64"] {
                let layer = try await fixture.blob(Array("layer of \(arch)".utf8), in: "multi")
                let config = try await fixture.blob(Array(#"{"architecture":"\#(arch)"}"#.utf8), in: "multi")
                blobs += [layer, config]
                children.append(try await fixture.manifest(Helpers.image(config: config, layers: [layer]), in: "multi"))
            }
            let index = try await fixture.manifest(Helpers.index(children), in: "multi", tag: "latest")
            let signatureConfig = try await fixture.blob(Array("{}".utf8), in: "multi")
            let payload = try await fixture.blob(Array("signature payload".utf8), in: "multi")
            let signature = try await fixture.manifest(
                Helpers.image(config: signatureConfig, layers: [payload], subject: index),
                in: "multi"
            )

            let first = try await Self.collect(storage, untagged: true)
            #expect(first.reclaimedBlobs == 0)
            #expect(first.removedManifests.isEmpty)
            for digest in children + blobs + [index, signature, signatureConfig, payload] {
                #expect(storage.exists(storage.blobDataPath(digest)))
            }

            try await ManifestIndex(driver: storage.driver).deleteTag(try Tag("latest"), in: try RepositoryName("multi"))
            let second = try await Self.collect(storage, untagged: true)
            #expect(Set(second.removedManifests.map(\.digest)) == Set(children + [index, signature]))
            #expect(second.reclaimedBlobs == children.count + blobs.count + 4)
            #expect(try await ManifestIndex(driver: storage.driver).revisions(in: try RepositoryName("multi")).isEmpty)
            for digest in children + blobs + [index, signature, signatureConfig, payload] {
                #expect(!storage.exists(storage.blobDataPath(digest)))
            }
        }
    }

    @Test func aLayerLinkWrittenDuringTheRunRescuesTheParkedBlob() async throws {
        try await TemporaryStorage.with { storage in
            let fixture = ScrubFixture(storage: storage)
            let orphan = try await fixture.blob(Array("pushed long ago".utf8), in: "old")
            let other = try await fixture.blob(Array("also unreferenced".utf8), in: "old")
            var report = try await GarbageCollector(driver: storage.driver).mark(GCOptions(minAge: 0))
            #expect(Helpers.eligible(report) == [orphan, other])
            let started = Date().timeIntervalSince1970
            try await Task.sleep(for: .milliseconds(20))
            try await GarbageCollector(driver: storage.driver).sweep(&report, options: GCOptions(minAge: 0), started: started) {
                // An upload's commit that found the data before it was parked has written its link.
                #expect(!storage.exists(storage.blobDataPath(orphan)))
                try await fixture.link(orphan, in: "new")
            }
            #expect(report.rescuedBlobs == 1)
            #expect(report.reclaimedBlobs == 1)
            #expect(storage.contents(storage.blobDataPath(orphan)) == Array("pushed long ago".utf8))
            #expect(try await BlobStore(driver: storage.driver).blobSize(orphan, in: try RepositoryName("new")) == 15)
            #expect(!storage.exists(storage.blobDataPath(other)))
        }
    }

    @Test func aManifestPushedAgainDuringTheRunKeepsItsChildrenAndBlobs() async throws {
        try await TemporaryStorage.with { storage in
            let fixture = ScrubFixture(storage: storage)
            let layer = try await fixture.blob(Array("layer".utf8), in: "multi")
            let config = try await fixture.blob(Array("{}".utf8), in: "multi")
            let child = try await fixture.manifest(Helpers.image(config: config, layers: [layer]), in: "multi")
            let index = try await fixture.manifest(Helpers.index([child]), in: "multi")
            let options = GCOptions(untagged: true, minAge: 0)
            var report = try await GarbageCollector(driver: storage.driver).mark(options)
            #expect(Helpers.eligible(report) == [layer, config, child, index])
            let started = Date().timeIntervalSince1970
            try await Task.sleep(for: .milliseconds(20))
            let name = try RepositoryName("multi")
            try await GarbageCollector(driver: storage.driver).sweep(&report, options: options, started: started) {
                // A push of the same index by tag, which found the child linked before step 1 unlinked it.
                #expect(try await ManifestIndex(driver: storage.driver).revisions(in: name).isEmpty)
                try await storage.driver.write(RegistryPaths.revisionLink(name, index), contents: RegistryPaths.linkContent(index))
                try await storage.driver.write(RegistryPaths.tagCurrentLink(name, try Tag("v2")), contents: RegistryPaths.linkContent(index))
            }
            #expect(report.reclaimedBlobs == 0)
            #expect(report.rescuedBlobs == 4)
            #expect(report.removedManifests.isEmpty)
            #expect(try await ManifestIndex(driver: storage.driver).revisions(in: name) == [child, index].sorted())
            for digest in [layer, config, child, index] { #expect(storage.exists(storage.blobDataPath(digest))) }
            #expect(try await Self.collect(storage, untagged: true, dryRun: true).eligible.isEmpty)
        }
    }

    @Test func writersThatFindABlobParkedFailCleanlyOrPutItBack() async throws {
        try await TemporaryStorage.with { storage in
            let fixture = ScrubFixture(storage: storage)
            let content = Array("a layer being collected".utf8)
            let layer = try await fixture.blob(content, in: "old")
            let config = try await fixture.blob(Array("{}".utf8), in: "app")
            try await storage.driver.move(RegistryPaths.blobData(layer), to: RegistryPaths.gcTrash(layer))
            let app = try RepositoryName("app")
            let blobs = BlobStore(driver: storage.driver)

            // A mount mounts nothing and leaves no link: the client uploads instead.
            #expect(try await blobs.mount(layer, into: app, from: try RepositoryName("old")) == nil)
            #expect(try await blobs.mount(layer, into: app, from: nil) == nil)
            #expect(!storage.exists(storage.layerLinkPath("app", layer)))

            // A manifest naming it is refused and leaves no revision or tag.
            try await fixture.link(layer, in: "app")
            let json = Array(Helpers.image(config: config, layers: [layer]).utf8)
            let index = ManifestIndex(driver: storage.driver)
            await #expect {
                _ = try await index.put(json, contentType: Helpers.imageType, reference: .tag(try Tag("v1")), in: app, blobs: blobs)
            } throws: { ($0 as? ContentError)?.code == .manifestBlobUnknown }
            #expect(try await index.revisions(in: app).isEmpty)
            #expect(try await index.tags(in: app) ?? [] == [])

            // An upload of the same content puts it back, and the push then succeeds.
            var session = try await blobs.startUpload(in: app)
            try await blobs.append(Chunks(content, chunkSize: 7), to: &session)
            #expect(try await blobs.commit(session, expected: layer) == Int64(content.count))
            #expect(storage.contents(storage.blobDataPath(layer)) == content)
            let pushed = try await index.put(json, contentType: Helpers.imageType, reference: .tag(try Tag("v1")), in: app, blobs: blobs)
            #expect(try await index.resolve(.tag(try Tag("v1")), in: app) == pushed.digest)

            // The collector's own restore then only drops its parked copy.
            try await GarbageCollector(driver: storage.driver).unpark(layer)
            #expect(storage.contents(storage.blobDataPath(layer)) == content)
            #expect(!storage.exists(storage.root + "/" + RegistryPaths.gcTrash(layer)))
        }
    }

    @Test func aRunRestoresWhatAnInterruptedRunLeftParked() async throws {
        try await TemporaryStorage.with { storage in
            let fixture = ScrubFixture(storage: storage)
            let layer = try await fixture.blob(Array("layer".utf8), in: "app")
            let config = try await fixture.blob(Array("{}".utf8), in: "app")
            _ = try await fixture.manifest(Helpers.image(config: config, layers: [layer]), in: "app", tag: "v1")
            // A run that crashed after parking the layer (say, the tag was pushed after its mark).
            try await storage.driver.move(RegistryPaths.blobData(layer), to: RegistryPaths.gcTrash(layer))

            let report = try await Self.collect(storage)
            #expect(report.restoredParked == 1)
            #expect(report.reclaimedBlobs == 0)
            #expect(report.missing == 0)
            #expect(storage.contents(storage.blobDataPath(layer)) == Array("layer".utf8))
        }
    }

    @Test func aSweepThatFailsPutsBackWhatItParked() async throws {
        struct StorageGaveUp: Error {}
        try await TemporaryStorage.with { storage in
            let fixture = ScrubFixture(storage: storage)
            let orphan = try await fixture.blob(Array("unreferenced".utf8), in: "old")
            var report = try await GarbageCollector(driver: storage.driver).mark(GCOptions(minAge: 0))
            #expect(Helpers.eligible(report) == [orphan])
            await #expect(throws: StorageGaveUp.self) {
                try await GarbageCollector(driver: storage.driver).sweep(
                    &report,
                    options: GCOptions(minAge: 0),
                    started: Date().timeIntervalSince1970
                ) {
                    #expect(!storage.exists(storage.blobDataPath(orphan)))
                    throw StorageGaveUp()
                }
            }
            #expect(storage.contents(storage.blobDataPath(orphan)) == Array("unreferenced".utf8))
            #expect(report.reclaimedBlobs == 0)
        }
    }

    @Test func nothingYoungerThanMinAgeIsDeleted() async throws {
        try await TemporaryStorage.with { storage in
            let fixture = ScrubFixture(storage: storage)
            let stray = try await fixture.blob(Array("just uploaded".utf8), in: "app")
            let report = try await GarbageCollector(driver: storage.driver).run(GCOptions(untagged: true), dryRun: false)
            #expect(report.reclaimedBlobs == 0)
            #expect(report.kept.first?.reason == .tooYoung)
            #expect(storage.exists(storage.blobDataPath(stray)))
        }
    }
}
