import Foundation
import Logging
import Testing
import WharfCore
import WharfDatabase
import WharfStorage

@testable import WharfSync

/// A storage in distribution's layout written file by file (as distribution or another replica would), and a
/// SQLite catalogue over it.
struct SyncFixture {
    let driver: MemoryDriver
    let pool: DatabasePool
    let mirror: CatalogMirror

    static func with(_ body: (SyncFixture) async throws -> Void) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-sync-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var logger = Logger(label: "wharf-sync-tests")
        logger.logLevel = .critical
        let pool = DatabasePool(location: .sqlite(path: folder + "/wharf.sqlite", poolSize: 2), logger: logger)
        _ = try await pool.prepare()
        let driver = MemoryDriver()
        try await body(SyncFixture(driver: driver, pool: pool, mirror: CatalogMirror(pool: pool, driver: driver, logger: logger)))
        await pool.close()
    }

    /// Stores `bytes` as a blob and returns its digest.
    @discardableResult
    func blob(_ bytes: [UInt8]) async throws -> OCIDigest {
        let digest = OCIDigest.of(bytes)
        try await driver.write(RegistryPaths.blobData(digest), contents: bytes)
        return digest
    }

    /// An image (config and one layer) in `repository`, tagged `tag`; returns its manifest's digest and total size.
    @discardableResult
    func image(_ repository: String, _ tag: String, architecture: String = "amd64", layer: String = "layer") async throws -> (OCIDigest, Int64) {
        let name = try RepositoryName(repository)
        let config = Array(#"{"architecture":"\#(architecture)","os":"linux","created":"2024-05-06T07:08:09Z"}"#.utf8)
        let layerBytes = Array(layer.utf8)
        let configDigest = try await blob(config)
        let layerDigest = try await blob(layerBytes)
        let manifest = Array(
            """
            {"schemaVersion":2,"mediaType":"\(MediaType.ociManifest)","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\(configDigest)","size":\(config.count)},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"\(layerDigest)","size":\(layerBytes.count)}]}
            """.utf8
        )
        let digest = try await blob(manifest)
        try await driver.write(RegistryPaths.revisionLink(name, digest), contents: RegistryPaths.linkContent(digest))
        try await point(repository, tag, at: digest)
        return (digest, Int64(config.count + layerBytes.count + manifest.count))
    }

    func point(_ repository: String, _ tag: String, at digest: OCIDigest) async throws {
        let name = try RepositoryName(repository)
        let parsed = try Tag(tag)
        try await driver.write(RegistryPaths.tagIndexLink(name, parsed, digest), contents: RegistryPaths.linkContent(digest))
        try await driver.write(RegistryPaths.tagCurrentLink(name, parsed), contents: RegistryPaths.linkContent(digest))
    }

    func pass() async throws -> SyncReport {
        try await SyncPass(pool: pool, driver: driver, logger: Logger(label: "test")).run()
    }

    func tags(_ repository: String) async throws -> [String: CatalogTag] {
        let entries = try await mirror.entries(of: repository)?.tags ?? []
        return Dictionary(uniqueKeysWithValues: entries.map { ($0.tag.name, $0.tag) })
    }
}

@Suite struct SyncPassTests {
    @Test func aPassMirrorsStorageAndAnUnchangedPassWritesNothing() async throws {
        try await SyncFixture.with { fixture in
            let (v1, size) = try await fixture.image("team/app", "v1")
            try await fixture.point("team/app", "latest", at: v1)
            try await fixture.image("alpine", "3.20", architecture: "arm64", layer: "other")
            let first = try await fixture.pass()
            #expect(first.repositories == 2 && first.tags == 3 && first.repositoriesAdded == 2 && first.tagsWritten == 3)
            let tags = try await fixture.tags("team/app")
            #expect(tags.keys.sorted() == ["latest", "v1"])
            #expect(tags["v1"]?.digest == v1.description && tags["v1"]?.size == size && tags["v1"]?.architecture == "amd64")
            #expect(tags["v1"]?.created == ISO8601DateFormatter().date(from: "2024-05-06T07:08:09Z"))
            #expect(try await fixture.tags("alpine")["3.20"]?.architecture == "arm64")

            let again = try await fixture.pass()
            #expect(again.repositories == 2 && again.tags == 3 && !again.changed)
        }
    }

    @Test func aMovedOrDeletedTagIsFollowed() async throws {
        try await SyncFixture.with { fixture in
            try await fixture.image("team/app", "v1")
            try await fixture.image("team/app", "v2", layer: "two")
            try await fixture.image("team/other", "v1")
            _ = try await fixture.pass()
            let (moved, _) = try await fixture.image("team/app", "v1", layer: "three")
            try await fixture.driver.delete(RegistryPaths.tagDirectory(try RepositoryName("team/app"), try Tag("v2")))
            let report = try await fixture.pass()
            #expect(report.tagsWritten == 1 && report.tagsRemoved == 1)
            let tags = try await fixture.tags("team/app")
            #expect(tags.keys.sorted() == ["v1"] && tags["v1"]?.digest == moved.description)
            // A repository removed from storage leaves the catalogue.
            try await fixture.driver.delete(RegistryPaths.repository(try RepositoryName("team/app")))
            #expect(try await fixture.pass().repositoriesRemoved == 1)
            #expect(try await fixture.mirror.entries(of: "team/app") == nil)
        }
    }

    @Test func aStorageErrorKeepsTheCatalogue() async throws {
        try await SyncFixture.with { fixture in
            try await fixture.image("team/app", "v1")
            _ = try await fixture.pass()
            let failing = FailingDriver(base: fixture.driver)
            await #expect(throws: StorageError.self) {
                try await SyncPass(pool: fixture.pool, driver: failing, logger: Logger(label: "test")).run()
            }
            #expect(try await fixture.tags("team/app").keys.sorted() == ["v1"])
        }
    }

    @Test func signaturesAndAttestationsAreReferrersOfTheirSubject() async throws {
        try await SyncFixture.with { fixture in
            let (image, _) = try await fixture.image("team/app", "v1")
            let (arm, _) = try await fixture.image("team/app", "arm", architecture: "arm64", layer: "arm")
            // cosign's tag-based signature of v1.
            let (signature, _) = try await fixture.image("team/app", "sha256-\(image.hex).sig", layer: "signature")
            // An index with BuildKit's attestation for its arm64 image.
            let attestation = try await fixture.blob(Array(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}"#.utf8))
            let index = try await fixture.blob(
                Array(
                    """
                    {"schemaVersion":2,"mediaType":"\(MediaType.ociIndex)","manifests":[\
                    {"mediaType":"\(MediaType.ociManifest)","digest":"\(arm)","size":10,"platform":{"os":"linux","architecture":"arm64"}},\
                    {"mediaType":"\(MediaType.ociManifest)","digest":"\(attestation)","size":20,"platform":{"os":"unknown","architecture":"unknown"},\
                    "annotations":{"vnd.docker.reference.type":"attestation-manifest","vnd.docker.reference.digest":"\(arm)"}}]}
                    """.utf8
                )
            )
            let name = try RepositoryName("team/app")
            try await fixture.driver.write(RegistryPaths.revisionLink(name, index), contents: RegistryPaths.linkContent(index))
            try await fixture.point("team/app", "multi", at: index)
            _ = try await fixture.pass()

            let entries = try #require(try await fixture.mirror.entries(of: "team/app")).tags
            let byName = Dictionary(uniqueKeysWithValues: entries.map { ($0.tag.name, $0) })
            #expect(byName.keys.sorted() == ["arm", "multi", "v1"])
            #expect(byName["v1"]?.referrers.map(\.digest) == [signature.description])
            #expect(byName["multi"]?.tag.platforms.map(\.name) == ["linux/arm64"])
            #expect(byName["multi"]?.referrers.map(\.digest) == [attestation.description])
        }
    }

    /// Facts come from pushed content: values the catalogue cannot store are left out, and never stop a pass.
    @Test func oddContentIsMirroredWithoutWhatCannotBeStored() async throws {
        try await SyncFixture.with { fixture in
            let name = try RepositoryName("team/odd")
            let config = Array(#"{"os":"","architecture":"\#(String(repeating: "x", count: 300))","created":"yesterday"}"#.utf8)
            let configDigest = try await fixture.blob(config)
            let manifest = Array(
                """
                {"schemaVersion":2,"mediaType":"\(MediaType.ociManifest)","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\(configDigest)","size":\(config.count)},"layers":[],"subject":{"mediaType":"x","digest":"not a digest","size":1}}
                """.utf8
            )
            let digest = try await fixture.blob(manifest)
            try await fixture.driver.write(RegistryPaths.revisionLink(name, digest), contents: RegistryPaths.linkContent(digest))
            try await fixture.point("team/odd", "v1", at: digest)
            try await fixture.image("team/plain", "v1")
            let report = try await fixture.pass()
            #expect(report.tagsWritten == 2)
            let odd = try #require(try await fixture.tags("team/odd")["v1"])
            #expect(odd.os == nil && odd.architecture == nil && odd.created == nil && odd.digest == digest.description)
            #expect(try await fixture.tags("team/plain")["v1"] != nil)
        }
    }

    @Test func theMirrorIsCurrentOnlyAfterAPassThatFollowsAFailedWrite() {
        let state = CatalogState()
        #expect(!state.isCurrent)
        let first = state.passStarting()
        state.passCompleted(first)
        #expect(state.isCurrent)
        state.writeFailed()
        #expect(!state.isCurrent)
        let second = state.passStarting()
        state.writeFailed()
        state.passCompleted(second)
        // The second failure happened during the pass: the pass may have missed it.
        #expect(!state.isCurrent)
        state.passCompleted(state.passStarting())
        #expect(state.isCurrent)
    }
}

/// A driver whose listings fail, as a storage that cannot be read does.
struct FailingDriver: StorageDriver {
    let base: MemoryDriver

    func read(_ path: String, limit: Int) async throws -> [UInt8]? { try await base.read(path, limit: limit) }
    func write(_ path: String, contents: [UInt8], durable: Bool) async throws { try await base.write(path, contents: contents, durable: durable) }
    func stat(_ path: String) async throws -> FileInfo? { try await base.stat(path) }
    func list(_ path: String) async throws -> [String]? { throw StorageError(.io, "\(path): input/output error") }
    func delete(_ path: String) async throws { try await base.delete(path) }
    func move(_ source: String, to destination: String, durable: Bool) async throws {
        try await base.move(source, to: destination, durable: durable)
    }
    func pruneFolder(_ path: String) async throws { try await base.pruneFolder(path) }
    func writer(_ path: String, append: Bool) async throws -> any StorageWriter { try await base.writer(path, append: append) }
    func reader(_ path: String) async throws -> (any StorageReader)? { try await base.reader(path) }
    func walk(_ path: String, visit: (StorageEntry) async throws -> WalkStep) async throws {
        var visited = 0
        try await base.walk(path) { entry in
            visited += 1
            if visited > 3 { throw StorageError(.io, "\(entry.path): input/output error") }
            return try await visit(entry)
        }
    }
}

@Suite struct CatalogWriteRaceTests {
    @Test func aSlowWriteIsNotWaitedForPastTheTimeout() async {
        let started = ContinuousClock.now
        let outcome = await CatalogMirror.race(timeout: .milliseconds(100)) {
            try await Task.sleep(for: .seconds(30))
        }
        #expect(ContinuousClock.now - started < .seconds(20))
        guard case .failure(let error) = outcome else {
            Issue.record("a write slower than its timeout must report the timeout")
            return
        }
        #expect(error is CatalogMirror.CatalogWriteTimeout)
    }

    @Test func aWriteInTimeGivesItsOwnOutcome() async {
        struct Refused: Error {}
        let success = await CatalogMirror.race(timeout: .seconds(30)) {}
        #expect((try? success.get()) != nil)
        let failure = await CatalogMirror.race(timeout: .seconds(30)) { throw Refused() }
        guard case .failure(let error) = failure else {
            Issue.record("the write's own error must come back")
            return
        }
        #expect(error is Refused)
    }
}
