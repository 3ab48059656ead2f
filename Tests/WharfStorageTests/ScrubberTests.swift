import Foundation
import Testing
import WharfCore
import WharfStorage

@Suite("Scrubber")
struct ScrubberTests {
    static let gzipLayer = "application/vnd.oci.image.layer.v1.tar+gzip"
    static let dockerGzipLayer = "application/vnd.docker.image.rootfs.diff.tar.gzip"

    @Test func goodBlobsAndImagesAreClean() async throws {
        try await TemporaryStorage.with { storage in
            let fixture = ScrubFixture(storage: storage)
            // 3 MB uncompressed: the layer crosses chunk and window boundaries.
            let tar = ScrubFixture.noise(3 << 20, seed: 1)
            let layer = try await fixture.blob(try ScrubFixture.gzip(tar), in: "team/app")
            let plain = ScrubFixture.noise(1000, seed: 2)
            let plainLayer = try await fixture.blob(plain, in: "team/app")
            let config = try await fixture.config([OCIDigest.of(tar), plainLayer], in: "team/app")
            try await fixture.image(
                "team/app",
                tag: "v1",
                config: config,
                layers: [(Self.dockerGzipLayer, layer), ("application/vnd.oci.image.layer.v1.tar", plainLayer)]
            )

            let report = try await Scrubber(driver: storage.driver).run(ScrubOptions(deep: true))
            #expect(report.isClean)
            #expect(report.blobsChecked == 4)
            #expect(report.ok == 4)
            #expect(report.layersDecompressed == 1)
            #expect(report.uncompressedBytes == Int64(tar.count))
            #expect(report.findings.isEmpty)
            #expect(report.bytes > Int64(3 << 20))
        }
    }

    @Test func aFlippedByteIsCorruptAndAMissingBlobIsMissing() async throws {
        try await TemporaryStorage.with { storage in
            let fixture = ScrubFixture(storage: storage)
            let good = try await fixture.blob(Array("good".utf8), in: "app")
            let bad = try await fixture.blob(ScrubFixture.noise(100_000, seed: 3), in: "app")
            let gone = try await fixture.blob(Array("gone".utf8), in: "app")
            let config = try await fixture.config([good, bad, gone], in: "app")
            let manifest = try await fixture.image(
                "app",
                tag: "latest",
                config: config,
                layers: [
                    ("application/vnd.oci.image.layer.v1.tar", good), ("application/vnd.oci.image.layer.v1.tar", bad),
                    ("application/vnd.oci.image.layer.v1.tar", gone),
                ]
            )
            var bytes = try #require(storage.contents(storage.blobDataPath(bad)))
            bytes[50_000] ^= 0x01
            try Data(bytes).write(to: URL(fileURLWithPath: storage.blobDataPath(bad)))
            try FileManager.default.removeItem(atPath: storage.blobDataPath(gone))
            // An unreferenced blob is still checked in a full scrub.
            let stray = try await fixture.blob(Array("stray".utf8))

            let report = try await Scrubber(driver: storage.driver).run(ScrubOptions())
            #expect(!report.isClean)
            #expect(report.blobsChecked == 5)
            #expect(report.missing == 1)
            #expect(report.corrupt == 1)
            #expect(report.ok == 4)
            #expect(report.quarantined == 0)
            let missing = try #require(report.findings.first { $0.kind == .missing })
            #expect(missing.digest == gone)
            #expect(missing.references == ["app (layer link)", "app@\(manifest)"])
            let corrupt = try #require(report.findings.first { $0.kind == .corrupt })
            #expect(corrupt.digest == bad)
            #expect(corrupt.detail.contains("hashes to sha256:"))
            #expect(corrupt.references.contains("app@\(manifest)"))
            #expect(report.findings.count == 2)
            // Without --quarantine nothing moves.
            #expect(storage.exists(storage.blobDataPath(bad)))
            #expect(storage.exists(storage.blobDataPath(stray)))
        }
    }

    @Test func sha512BlobsAreHashedWithSHA512() async throws {
        try await TemporaryStorage.with { storage in
            let bytes = Array("sha512 content".utf8)
            let digest = OCIDigest.of(bytes, algorithm: .sha512)
            try await storage.driver.write(RegistryPaths.blobData(digest), contents: bytes)
            let wrong = OCIDigest.of(Array("other".utf8), algorithm: .sha512)
            try await storage.driver.write(RegistryPaths.blobData(wrong), contents: bytes)
            let report = try await Scrubber(driver: storage.driver).run(ScrubOptions())
            #expect(report.blobsChecked == 2)
            #expect(report.ok == 1)
            #expect(report.findings.map(\.digest) == [wrong])
        }
    }

    @Test func deepFindsAWrongDiffIDAndATruncatedGzip() async throws {
        try await TemporaryStorage.with { storage in
            let fixture = ScrubFixture(storage: storage)
            let tarA = ScrubFixture.noise(200_000, seed: 4)
            let tarB = ScrubFixture.noise(300_000, seed: 5)
            let layerA = try await fixture.blob(try ScrubFixture.gzip(tarA), in: "app")
            let gzipB = try ScrubFixture.gzip(tarB)
            // Cut short but stored under its own digest: the blob hashes right, the layer is broken.
            let truncated = try await fixture.blob(Array(gzipB.prefix(gzipB.count / 2)), in: "app")
            let config = try await fixture.config([OCIDigest.of(tarB), OCIDigest.of(tarB)], in: "app")
            let manifest = try await fixture.image("app", tag: "v1", config: config, layers: [(Self.gzipLayer, layerA), (Self.gzipLayer, truncated)])

            let shallow = try await Scrubber(driver: storage.driver).run(ScrubOptions())
            #expect(shallow.isClean)

            let report = try await Scrubber(driver: storage.driver).run(ScrubOptions(deep: true))
            #expect(!report.isClean)
            #expect(report.corrupt == 2)
            #expect(report.missing == 0)
            let wrong = try #require(report.findings.first { $0.digest == layerA })
            #expect(wrong.kind == .badLayer)
            #expect(wrong.detail.contains("decompresses to \(OCIDigest.of(tarA))"))
            #expect(wrong.references.contains("app@\(manifest)"))
            let cut = try #require(report.findings.first { $0.digest == truncated })
            #expect(cut.kind == .badLayer)
            #expect(cut.detail.contains("truncated"))
            // A bad layer is not a corrupt blob: quarantine leaves it where it is.
            let quarantined = try await Scrubber(
                driver: storage.driver,
                quarantine: BlobQuarantine(storageRoot: storage.root, folder: storage.root + "/../q-\(UUID().uuidString)")
            ).run(ScrubOptions(deep: true, quarantine: true))
            #expect(quarantined.quarantined == 0)
            #expect(storage.exists(storage.blobDataPath(truncated)))
        }
    }

    @Test func concatenatedGzipMembersAreOneStreamAndTrailingGarbageIsCorrupt() async throws {
        try await TemporaryStorage.with { storage in
            let fixture = ScrubFixture(storage: storage)
            let first = ScrubFixture.noise(70_000, seed: 6)
            let second = ScrubFixture.noise(90_000, seed: 7)
            let members = try await fixture.blob(try ScrubFixture.gzip(first) + ScrubFixture.gzip(second), in: "app")
            let garbage = try await fixture.blob(try ScrubFixture.gzip(first) + Array(repeating: 0, count: 64), in: "app")
            let config = try await fixture.config([OCIDigest.of(first + second), OCIDigest.of(first)], in: "app")
            try await fixture.image("app", tag: "v1", config: config, layers: [(Self.gzipLayer, members), (Self.gzipLayer, garbage)])

            let report = try await Scrubber(driver: storage.driver).run(ScrubOptions(deep: true))
            #expect(report.findings.map(\.digest) == [garbage])
            #expect(report.findings.first?.detail.contains("corrupt") == true)
        }
    }

    @Test func zstdLayersForeignLayersAndArtifactsAreSkippedNotCorrupt() async throws {
        try await TemporaryStorage.with { storage in
            let fixture = ScrubFixture(storage: storage)
            let zstd = try await fixture.blob(Array("not really zstd".utf8), in: "app")
            let tar = ScrubFixture.noise(10_000, seed: 8)
            let gz = try await fixture.blob(try ScrubFixture.gzip(tar), in: "app")
            let foreign = try OCIDigest(parsing: "sha256:" + String(repeating: "ab", count: 32))
            let config = try await fixture.config([OCIDigest.of(Array("x".utf8)), OCIDigest.of(tar), foreign], in: "app")
            try await fixture.image(
                "app",
                tag: "v1",
                config: config,
                layers: [
                    ("application/vnd.oci.image.layer.v1.tar+zstd", zstd), (Self.gzipLayer, gz),
                    ("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", foreign),
                ]
            )
            // An artifact: its "layers" are anything, its config is not an image config.
            let sbom = try await fixture.blob(Array("{\"spdx\":true}".utf8), in: "app")
            let artifactConfig = try await fixture.blob(Array("{}".utf8), in: "app")
            let artifact = try await fixture.image(
                "app",
                tag: "sbom",
                config: artifactConfig,
                configType: "application/vnd.example.sbom.config.v1+json",
                layers: [("application/spdx+json", sbom)]
            )

            let report = try await Scrubber(driver: storage.driver).run(ScrubOptions(deep: true))
            #expect(report.isClean)
            #expect(report.missing == 0)
            #expect(report.skipped == 3)
            #expect(Set(report.findings.filter { $0.kind == .skipped }.map(\.digest)) == [zstd, foreign, artifact])
            #expect(report.findings.allSatisfy { $0.kind == .skipped })
            #expect(report.layersDecompressed == 1)
        }
    }

    @Test func repositoryScopesToItsBlobs() async throws {
        try await TemporaryStorage.with { storage in
            let fixture = ScrubFixture(storage: storage)
            let mine = try await fixture.blob(Array("mine".utf8), in: "mine")
            let theirs = try await fixture.blob(Array("theirs".utf8), in: "theirs")
            let config = try await fixture.config([mine], in: "mine")
            let manifest = try await fixture.image("mine", tag: "v1", config: config, layers: [("application/vnd.oci.image.layer.v1.tar", mine)])
            try Data("flipped".utf8).write(to: URL(fileURLWithPath: storage.blobDataPath(theirs)))
            try await fixture.blob(Array("unreferenced".utf8))

            let scoped = try await Scrubber(driver: storage.driver).run(ScrubOptions(repository: try RepositoryName("mine")))
            #expect(scoped.isClean)
            #expect(scoped.blobsChecked == 3)  // the layer, the config, the manifest
            let all = try await Scrubber(driver: storage.driver).run(ScrubOptions())
            #expect(all.blobsChecked == 5)
            #expect(all.findings.map(\.digest) == [theirs])
            #expect(all.findings.first?.references == ["theirs (layer link)"])
            _ = manifest

            await #expect(throws: Scrubber.Failure.self) {
                try await Scrubber(driver: storage.driver).run(ScrubOptions(repository: try RepositoryName("nobody")))
            }
        }
    }

    @Test func quarantineMovesExactlyTheCorruptDataAndDeletesNothing() async throws {
        try await TemporaryStorage.with { storage in
            let fixture = ScrubFixture(storage: storage)
            let good = try await fixture.blob(Array("good".utf8), in: "app")
            let bad = try await fixture.blob(Array("bad-original".utf8), in: "app")
            let config = try await fixture.config([good, bad], in: "app")
            try await fixture.image(
                "app",
                tag: "v1",
                config: config,
                layers: [("application/vnd.oci.image.layer.v1.tar", good), ("application/vnd.oci.image.layer.v1.tar", bad)]
            )
            try Data("bad-flipped!".utf8).write(to: URL(fileURLWithPath: storage.blobDataPath(bad)))
            let before = try filesBelow(storage.root)

            let folder = storage.root + "-quarantine"
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            let report = try await Scrubber(driver: storage.driver, quarantine: BlobQuarantine(storageRoot: storage.root, folder: folder))
                .run(ScrubOptions(quarantine: true), now: { now })
            #expect(report.quarantined == 1)
            let finding = try #require(report.findings.first)
            #expect(finding.digest == bad)
            let moved = "\(folder)/\(bad)-20270115T080000Z"
            #expect(finding.quarantinedTo == moved)
            #expect(storage.text(moved) == "bad-flipped!")
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["\(bad)-20270115T080000Z"])
            // Exactly one file left the storage folder: the corrupt data; its links stay for a new push to heal.
            let after = try filesBelow(storage.root)
            #expect(before.subtracting(after) == [storage.blobDataPath(bad)])
            #expect(after.isSubset(of: before))

            // Once moved, the blob is missing (the links still name it), and nothing more moves.
            let again = try await Scrubber(driver: storage.driver, quarantine: BlobQuarantine(storageRoot: storage.root, folder: folder))
                .run(ScrubOptions(quarantine: true))
            #expect(again.missing == 1)
            #expect(again.quarantined == 0)
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder).count == 1)
        }
    }

    func filesBelow(_ root: String) throws -> Set<String> {
        var files: Set<String> = []
        let enumerator = try #require(FileManager.default.enumerator(atPath: root))
        while let relative = enumerator.nextObject() as? String {
            var isDirectory: ObjCBool = false
            let path = root + "/" + relative
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue { files.insert(path) }
        }
        return files
    }

    @Test func aMoveThatFailsIsReportedAndTheScrubGoesOn() async throws {
        try await TemporaryStorage.with { storage in
            let fixture = ScrubFixture(storage: storage)
            let first = try await fixture.blob(Array("first".utf8), in: "app")
            let second = try await fixture.blob(Array("second".utf8), in: "app")
            try Data("FIRST".utf8).write(to: URL(fileURLWithPath: storage.blobDataPath(first)))
            try Data("SECOND".utf8).write(to: URL(fileURLWithPath: storage.blobDataPath(second)))
            // The quarantine folder's place is taken by a file: no move can succeed.
            let folder = storage.root + "-not-a-folder"
            try Data("x".utf8).write(to: URL(fileURLWithPath: folder))
            defer { try? FileManager.default.removeItem(atPath: folder) }

            let report = try await Scrubber(driver: storage.driver, quarantine: BlobQuarantine(storageRoot: storage.root, folder: folder))
                .run(ScrubOptions(quarantine: true))
            #expect(report.corrupt == 2)
            #expect(report.quarantined == 0)
            #expect(report.findings.allSatisfy { $0.detail.contains("could not be quarantined") && $0.quarantinedTo == nil })
            #expect(storage.exists(storage.blobDataPath(first)) && storage.exists(storage.blobDataPath(second)))
        }
    }
}
