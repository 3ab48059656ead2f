import Foundation
import Synchronization
import Testing
import WharfCore

@testable import WharfStorage

@Suite("ManifestIndex")
struct ManifestIndexTests {
    static let repo = try! RepositoryName("library/app")

    /// A storage folder with a blob store and manifest index over it.
    struct Fixture {
        let storage: TemporaryStorage
        let blobs: BlobStore
        let index: ManifestIndex

        init(_ storage: TemporaryStorage) {
            self.storage = storage
            self.blobs = BlobStore(driver: storage.driver)
            self.index = ManifestIndex(driver: storage.driver)
        }

        /// Pushes a config and a layer to `repository` and returns an OCI image manifest that references them.
        func imageManifest(
            in repository: RepositoryName = ManifestIndexTests.repo,
            seed: String,
            configMediaType: String = "application/vnd.oci.image.config.v1+json",
            artifactType: String? = nil,
            subject: OCIDigest? = nil,
            pushBlobs: Bool = true
        ) async throws -> [UInt8] {
            let config = Array(#"{"seed":"\#(seed)"}"#.utf8)
            let layer = Array("layer of \(seed)".utf8)
            if pushBlobs {
                try await pushBlob(config, to: repository, in: blobs)
                try await pushBlob(layer, to: repository, in: blobs)
            }
            var fields = [
                #""schemaVersion":2"#,
                #""mediaType":"\#(MediaType.ociManifest)""#,
                #""config":{"mediaType":"\#(configMediaType)","digest":"\#(OCIDigest.of(config))","size":\#(config.count)}"#,
                #""layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"\#(OCIDigest.of(layer))","size":\#(layer.count)}]"#,
            ]
            if let artifactType { fields.append(#""artifactType":"\#(artifactType)""#) }
            if let subject { fields.append(#""subject":{"mediaType":"\#(MediaType.ociManifest)","digest":"\#(subject)","size":1}"#) }
            return Array("{\(fields.joined(separator: ","))}".utf8)
        }

        @discardableResult
        func put(_ bytes: [UInt8], _ reference: String, in repository: RepositoryName = ManifestIndexTests.repo) async throws -> OCIDigest {
            try await index.put(bytes, contentType: MediaType.ociManifest, reference: Reference(reference), in: repository, blobs: blobs).digest
        }

        func manifestsPath(_ path: String) -> String { storage.v2("repositories/library/app/_manifests/\(path)") }
    }

    static func with(_ body: (Fixture) async throws -> Void) async throws {
        try await TemporaryStorage.with { storage in try await body(Fixture(storage)) }
    }

    // MARK: Putting

    @Test func putByTagWritesDistributionLayout() async throws {
        try await Self.with { f in
            let bytes = try await f.imageManifest(seed: "one")
            let (digest, manifest) = try await f.index.put(
                bytes,
                contentType: MediaType.ociManifest,
                reference: Reference("v1"),
                in: Self.repo,
                blobs: f.blobs
            )
            #expect(digest == OCIDigest.of(bytes))
            #expect(manifest.mediaType == MediaType.ociManifest)

            #expect(f.storage.contents(f.storage.blobDataPath(digest)) == bytes)
            #expect(f.storage.text(f.manifestsPath("revisions/sha256/\(digest.hex)/link")) == "sha256:\(digest.hex)")
            #expect(f.storage.text(f.manifestsPath("tags/v1/current/link")) == "sha256:\(digest.hex)")
            #expect(f.storage.text(f.manifestsPath("tags/v1/index/sha256/\(digest.hex)/link")) == "sha256:\(digest.hex)")

            await #expect(try f.index.resolve(Reference("v1"), in: Self.repo) == digest)
            await #expect(try f.index.resolve(.digest(digest), in: Self.repo) == digest)
            let stored = try #require(try await f.index.get(Reference("v1"), in: Self.repo))
            #expect(stored.digest == digest)
            #expect(stored.bytes == bytes)
            #expect(stored.mediaType == MediaType.ociManifest)
            await #expect(try f.index.repositoryExists(Self.repo))
        }
    }

    @Test func retaggingMovesCurrentAndKeepsHistory() async throws {
        try await Self.with { f in
            let first = try await f.put(try await f.imageManifest(seed: "one"), "latest")
            let second = try await f.put(try await f.imageManifest(seed: "two"), "latest")
            #expect(first != second)
            #expect(f.storage.text(f.manifestsPath("tags/latest/current/link")) == second.description)
            #expect(f.storage.entries(f.manifestsPath("tags/latest/index/sha256")) == [first.hex, second.hex].sorted())
            await #expect(try f.index.resolve(Reference("latest"), in: Self.repo) == second)
            await #expect(try f.index.resolve(.digest(first), in: Self.repo) == first)
        }
    }

    @Test func putWithMissingBlobIsManifestBlobUnknown() async throws {
        try await Self.with { f in
            let bytes = try await f.imageManifest(seed: "orphan", pushBlobs: false)
            await expectContentError(.manifestBlobUnknown) { try await f.put(bytes, "v1") }
            await #expect(try f.index.resolve(Reference("v1"), in: Self.repo) == nil)
            await #expect(try f.index.resolve(.digest(OCIDigest.of(bytes)), in: Self.repo) == nil)
            #expect(!f.storage.exists(f.manifestsPath("tags/v1")))
            #expect(!f.storage.exists(f.storage.blobDataPath(OCIDigest.of(bytes))))
        }
    }

    @Test func blobsOfAnotherRepositoryDoNotCount() async throws {
        try await Self.with { f in
            let elsewhere = try RepositoryName("elsewhere")
            let bytes = try await f.imageManifest(in: elsewhere, seed: "x")
            await expectContentError(.manifestBlobUnknown) { try await f.put(bytes, "v1") }
            #expect(try await f.put(bytes, "v1", in: elsewhere) == OCIDigest.of(bytes))
        }
    }

    @Test func putByMatchingDigest() async throws {
        try await Self.with { f in
            let bytes = try await f.imageManifest(seed: "by-digest")
            let digest = OCIDigest.of(bytes)
            #expect(try await f.put(bytes, digest.description) == digest)
            #expect(f.storage.text(f.manifestsPath("revisions/sha256/\(digest.hex)/link")) == digest.description)
            await #expect(try f.index.tags(in: Self.repo) == [])
        }
    }

    @Test func putBySHA512Digest() async throws {
        try await Self.with { f in
            let bytes = try await f.imageManifest(seed: "sha512")
            let digest = OCIDigest.of(bytes, algorithm: .sha512)
            #expect(try await f.put(bytes, digest.description) == digest)
            #expect(f.storage.text(f.manifestsPath("revisions/sha512/\(digest.hex)/link")) == digest.description)
            #expect(f.storage.contents(f.storage.blobDataPath(digest)) == bytes)
            await #expect(try f.index.revisions(in: Self.repo) == [digest])
            #expect(try await f.index.get(.digest(digest), in: Self.repo)?.bytes == bytes)
        }
    }

    @Test func putByMismatchingDigestIsDigestInvalid() async throws {
        try await Self.with { f in
            let bytes = try await f.imageManifest(seed: "mismatch")
            let other = OCIDigest.of(Array("other".utf8))
            await expectContentError(.digestInvalid) { try await f.put(bytes, other.description) }
            let otherAlgorithm = OCIDigest.of(Array("other".utf8), algorithm: .sha512)
            await expectContentError(.digestInvalid) { try await f.put(bytes, otherAlgorithm.description) }
            #expect(!f.storage.exists(f.manifestsPath("revisions/sha256/\(other.hex)")))
            #expect(!f.storage.exists(f.storage.blobDataPath(other)))
            await #expect(try f.index.revisions(in: Self.repo) == [])
        }
    }

    @Test func invalidManifestIsRejectedBeforeWriting() async throws {
        try await Self.with { f in
            await expectContentError(.manifestInvalid) { try await f.put(Array("{".utf8), "v1") }
            let tags = try await f.index.tags(in: Self.repo)
            #expect(tags == nil)
        }
    }

    @Test func indexNeedsItsChildrenInTheRepository() async throws {
        try await Self.with { f in
            let child = try await f.imageManifest(seed: "child")
            let childDigest = OCIDigest.of(child)
            let indexBytes = Array(
                #"{"schemaVersion":2,"mediaType":"\#(MediaType.ociIndex)","manifests":[{"mediaType":"\#(MediaType.ociManifest)","digest":"\#(childDigest)","size":\#(child.count)}]}"#
                    .utf8
            )
            await expectContentError(.manifestBlobUnknown) {
                _ = try await f.index.put(indexBytes, contentType: MediaType.ociIndex, reference: Reference("multi"), in: Self.repo, blobs: f.blobs)
            }
            try await f.put(child, childDigest.description)
            let (digest, manifest) = try await f.index.put(
                indexBytes,
                contentType: MediaType.ociIndex,
                reference: Reference("multi"),
                in: Self.repo,
                blobs: f.blobs
            )
            #expect(manifest.manifestReferences == [childDigest])
            await #expect(try f.index.resolve(Reference("multi"), in: Self.repo) == digest)
            #expect(try await f.index.get(Reference("multi"), in: Self.repo)?.mediaType == MediaType.ociIndex)
        }
    }

    // MARK: Tags

    @Test func tagsAreSorted() async throws {
        try await Self.with { f in
            let bytes = try await f.imageManifest(seed: "tags")
            for tag in ["v2", "latest", "V1", "v10", "1.0", "_x"] { try await f.put(bytes, tag) }
            await #expect(try f.index.tags(in: Self.repo) == ["1.0", "V1", "_x", "latest", "v10", "v2"])
        }
    }

    @Test func tagsOfUnknownRepositoryIsNil() async throws {
        try await Self.with { f in
            await #expect(try f.index.tags(in: RepositoryName("nope")) == nil)
            await #expect(try !f.index.repositoryExists(RepositoryName("nope")))
            // A repository that only has blobs has no manifests yet.
            try await pushBlob(Array("blob".utf8), to: RepositoryName("blobs/only"), in: f.blobs)
            await #expect(try f.index.tags(in: RepositoryName("blobs/only")) == nil)
        }
    }

    @Test func tagsIgnoreFoldersWithoutCurrentLink() async throws {
        try await Self.with { f in
            try await f.put(try await f.imageManifest(seed: "a"), "good")
            try f.storage.makeDirectory(f.manifestsPath("tags/half-written/index"))
            try f.storage.makeDirectory(f.manifestsPath("tags/.hidden/current"))
            await #expect(try f.index.tags(in: Self.repo) == ["good"])
        }
    }

    // MARK: Deleting

    @Test func deleteByDigestRemovesTagsPointingAtIt() async throws {
        try await Self.with { f in
            let first = try await f.put(try await f.imageManifest(seed: "first"), "a")
            try await f.put(try await f.imageManifest(seed: "first"), "b")
            let second = try await f.put(try await f.imageManifest(seed: "second"), "c")
            // "d" used to point at first and now points at second.
            try await f.put(try await f.imageManifest(seed: "first"), "d")
            try await f.put(try await f.imageManifest(seed: "second"), "d")

            try await f.index.delete(first, in: Self.repo)

            await #expect(try f.index.tags(in: Self.repo) == ["c", "d"])
            await #expect(try f.index.resolve(.digest(first), in: Self.repo) == nil)
            #expect(try await f.index.get(.digest(first), in: Self.repo) == nil)
            #expect(!f.storage.exists(f.manifestsPath("revisions/sha256/\(first.hex)")))
            #expect(!f.storage.exists(f.manifestsPath("tags/a")))
            #expect(!f.storage.exists(f.manifestsPath("tags/d/index/sha256/\(first.hex)")))
            #expect(f.storage.exists(f.manifestsPath("tags/d/index/sha256/\(second.hex)/link")))
            await #expect(try f.index.resolve(Reference("c"), in: Self.repo) == second)
            await #expect(try f.index.resolve(Reference("d"), in: Self.repo) == second)
            await #expect(try f.index.revisions(in: Self.repo) == [second])
        }
    }

    @Test func deleteUnknownDigestIsManifestUnknown() async throws {
        try await Self.with { f in
            let digest = OCIDigest.of(Array("nothing".utf8))
            await expectContentError(.manifestUnknown) { try await f.index.delete(digest, in: Self.repo) }
        }
    }

    @Test func deleteTagKeepsTheRevision() async throws {
        try await Self.with { f in
            let bytes = try await f.imageManifest(seed: "keep")
            let digest = try await f.put(bytes, "latest")
            try await f.put(bytes, "stable")

            try await f.index.deleteTag(Tag("latest"), in: Self.repo)

            await #expect(try f.index.tags(in: Self.repo) == ["stable"])
            await #expect(try f.index.resolve(Reference("latest"), in: Self.repo) == nil)
            await #expect(try f.index.resolve(.digest(digest), in: Self.repo) == digest)
            #expect(try await f.index.get(.digest(digest), in: Self.repo)?.bytes == bytes)
            #expect(f.storage.text(f.manifestsPath("revisions/sha256/\(digest.hex)/link")) == digest.description)
            #expect(!f.storage.exists(f.manifestsPath("tags/latest")))
            await expectContentError(.manifestUnknown) { try await f.index.deleteTag(Tag("latest"), in: Self.repo) }
            await expectContentError(.manifestUnknown) { try await f.index.deleteTag(Tag("never"), in: Self.repo) }
        }
    }

    // MARK: Referrers

    @Test func referrersFindsManifestsWithSubjectAndFiltersByArtifactType() async throws {
        try await Self.with { f in
            let subject = try await f.put(try await f.imageManifest(seed: "image"), "v1")
            let sbom = try await f.put(
                try await f.imageManifest(seed: "sbom", artifactType: "application/vnd.example.sbom", subject: subject),
                "sbom"
            )
            let signatureBytes = try await f.imageManifest(
                seed: "signature",
                configMediaType: "application/vnd.example.signature.config",
                subject: subject
            )
            let signature = try await f.put(signatureBytes, OCIDigest.of(signatureBytes).description)
            // Refers to another manifest, and one that refers to nothing.
            let unrelated = OCIDigest.of(Array("unrelated".utf8))
            try await f.put(try await f.imageManifest(seed: "other", artifactType: "application/vnd.example.sbom", subject: unrelated), "o")
            try await f.put(try await f.imageManifest(seed: "plain"), "plain")

            let all = try await f.index.referrers(of: subject, in: Self.repo, artifactType: nil)
            #expect(Set(all.map(\.digest)) == [sbom.description, signature.description])
            let sbomDescriptor = try #require(all.first { $0.digest == sbom.description })
            #expect(sbomDescriptor.artifactType == "application/vnd.example.sbom")
            #expect(sbomDescriptor.mediaType == MediaType.ociManifest)
            #expect(sbomDescriptor.size == Int64(try #require(f.storage.contents(f.storage.blobDataPath(sbom))).count))
            let signatureDescriptor = try #require(all.first { $0.digest == signature.description })
            #expect(signatureDescriptor.artifactType == "application/vnd.example.signature.config")

            let filtered = try await f.index.referrers(of: subject, in: Self.repo, artifactType: "application/vnd.example.sbom")
            #expect(filtered.map(\.digest) == [sbom.description])
            #expect(try await f.index.referrers(of: subject, in: Self.repo, artifactType: "application/x-none").isEmpty)
            #expect(try await f.index.referrers(of: sbom, in: Self.repo, artifactType: nil).isEmpty)
            #expect(try await f.index.referrers(of: subject, in: RepositoryName("elsewhere"), artifactType: nil).isEmpty)

            // A fresh index (nothing cached) reads the same answer from storage.
            let fresh = ManifestIndex(driver: f.storage.driver)
            let again = try await fresh.referrers(of: subject, in: Self.repo, artifactType: nil)
            #expect(Set(again.map(\.digest)) == [sbom.description, signature.description])
            let filteredAgain = try await fresh.referrers(of: subject, in: Self.repo, artifactType: "application/vnd.example.signature.config")
            #expect(filteredAgain.map(\.digest) == [signature.description])
        }
    }

    @Test func summaryCacheIsBoundedByBytesNotOnlyByCount() async throws {
        try await TemporaryStorage.with { storage in
            let fixture = Fixture(storage)
            let limit = 1024 * 1024
            let index = ManifestIndex(driver: storage.driver, summaryByteLimit: limit)
            // Annotations are cached with each summary: big ones must not pile up until the count limit.
            for seed in 0..<8 {
                var manifest = try await fixture.imageManifest(seed: "\(seed)")
                manifest.removeLast()
                manifest += Array(#","annotations":{"filler":"\#(String(repeating: "x", count: 300_000))"}}"#.utf8)
                let reference = try Reference("t\(seed)")
                _ = try await index.put(manifest, contentType: MediaType.ociManifest, reference: reference, in: Self.repo, blobs: fixture.blobs)
                #expect(await index.cachedSummaryBytes <= limit)
            }
        }
    }

    @Test func referrersForgetDeletedManifests() async throws {
        try await Self.with { f in
            let subject = try await f.put(try await f.imageManifest(seed: "image"), "v1")
            let referrer = try await f.put(try await f.imageManifest(seed: "sig", artifactType: "application/x-sig", subject: subject), "sig")
            #expect(try await f.index.referrers(of: subject, in: Self.repo, artifactType: nil).map(\.digest) == [referrer.description])
            try await f.index.delete(referrer, in: Self.repo)
            #expect(try await f.index.referrers(of: subject, in: Self.repo, artifactType: nil).isEmpty)
        }
    }
}

@Suite("RepositoryWalker")
struct RepositoryWalkerTests {
    @Test func listsNestedRepositoriesAndIgnoresUnderscoreFolders() async throws {
        try await TemporaryStorage.with { storage in
            for path in [
                "a/_manifests/tags",
                "a/b/c/_manifests/revisions/sha256",
                "library/ubuntu/_manifests",
                "library/ubuntu/_layers/sha256",
                "z9/_manifests",
                "_hidden/_manifests",
                "_hidden/inner/_manifests",
                "a/_layers/nested/_manifests",
                "a/_manifests/tags/latest/_manifests",
                "x/_uploads/0f0e0d0c-0b0a-4908-8706-050403020100",
                "empty/folder",
                ".tmp/_manifests",
                "Invalid/_manifests",
            ] {
                try storage.makeDirectory(storage.v2("repositories/\(path)"))
            }
            try storage.writeText(storage.v2("repositories/file/_manifests"), "not a folder")
            let walker = RepositoryWalker(driver: storage.driver)
            await #expect(try walker.repositories().map(\.value) == ["a", "a/b/c", "file", "library/ubuntu", "z9"])
            await #expect(try walker.repositories(includeUploadsOnly: true).map(\.value) == ["a", "a/b/c", "file", "library/ubuntu", "x", "z9"])
        }
    }

    /// Tree order: name component by component, so a repository's children come right after it and before a
    /// sibling whose name merely starts with its own (`a`, `a/b`, `a-c`); a page starts after `last` and ends
    /// at `limit`, whatever `last` is (a name that is not there, or not a repository name at all).
    @Test func pagesFollowTreeOrder() async throws {
        try await TemporaryStorage.with { storage in
            let names = ["a", "a/b", "a/b/c", "a-c", "a.d", "a0", "b", "b/x", "z"]
            for name in names { try storage.makeDirectory(storage.v2("repositories/\(name)/_manifests")) }
            let walker = RepositoryWalker(driver: storage.driver)
            await #expect(try walker.repositories().map(\.value) == names)
            #expect(names == names.sorted { RepositoryWalker.precedes($0, $1) })

            var paged: [String] = []
            var last: String?
            while true {
                let page = try await walker.repositories(after: last, limit: 2).map(\.value)
                paged += page
                guard page.count == 2 else { break }
                last = page.last
            }
            #expect(paged == names)
            await #expect(try walker.repositories(after: "a/b/c", limit: 3).map(\.value) == ["a-c", "a.d", "a0"])
            await #expect(try walker.repositories(after: "a/a", limit: 1).map(\.value) == ["a/b"])
            await #expect(try walker.repositories(after: "a-b", limit: 1).map(\.value) == ["a-c"])
            await #expect(try walker.repositories(after: "b/x").map(\.value) == ["z"])
            await #expect(try walker.repositories(after: "~", limit: 5).isEmpty)
            await #expect(try walker.repositories(after: "", limit: 1).map(\.value) == ["a"])
            await #expect(try walker.repositories(limit: 0).isEmpty)
        }
    }

    /// The first page of a large catalogue reads a few folders, not the whole tree; a page further on skips
    /// the folders before it without reading into them.
    @Test func aPageWalksOnlyAsFarAsItNeeds() async throws {
        try await TemporaryStorage.with { storage in
            for team in 0..<20 {
                for app in 0..<20 { try storage.makeDirectory(storage.v2("repositories/t\(team)/app\(app)/_manifests/tags")) }
            }
            let counting = CountingDriver(base: storage.driver)
            let walker = RepositoryWalker(driver: counting)
            let all = try await walker.repositories()
            #expect(all.count == 400)
            let wholeTree = counting.listings.withLock { $0 }

            counting.listings.withLock { $0 = 0 }
            let first = try await walker.repositories(limit: 5)
            #expect(first == Array(all.prefix(5)))
            let firstPage = counting.listings.withLock { $0 }
            #expect(firstPage <= 8, "the first page listed \(firstPage) folders")

            counting.listings.withLock { $0 = 0 }
            let later = try await walker.repositories(after: all[390].value, limit: 5)
            #expect(later == Array(all[391...395]))
            let laterPage = counting.listings.withLock { $0 }
            #expect(laterPage * 4 < wholeTree, "a page near the end listed \(laterPage) of \(wholeTree) folders")
        }
    }

    @Test func emptyStorageHasNoRepositories() async throws {
        try await TemporaryStorage.with { storage in
            let repositories = try await RepositoryWalker(driver: storage.driver).repositories()
            #expect(repositories.isEmpty)
        }
    }

    @Test func findsRepositoriesWrittenByTheStores() async throws {
        try await TemporaryStorage.with { storage in
            let blobs = BlobStore(driver: storage.driver)
            let index = ManifestIndex(driver: storage.driver)
            let config = Array("{}".utf8)
            for name in ["team/app", "team/app/debug", "solo"] {
                let repository = try RepositoryName(name)
                let digest = try await pushBlob(config, to: repository, in: blobs)
                let manifest = Array(
                    #"{"schemaVersion":2,"mediaType":"\#(MediaType.ociManifest)","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"\#(digest)","size":2},"layers":[]}"#
                        .utf8
                )
                _ = try await index.put(manifest, contentType: nil, reference: Reference("latest"), in: repository, blobs: blobs)
            }
            _ = try await blobs.startUpload(in: RepositoryName("pending"))
            let walker = RepositoryWalker(driver: storage.driver)
            await #expect(try walker.repositories().map(\.value) == ["solo", "team/app", "team/app/debug"])
            await #expect(try walker.repositories(includeUploadsOnly: true).map(\.value) == ["pending", "solo", "team/app", "team/app/debug"])
        }
    }
}

/// A filesystem driver that counts the folders it lists (a walk lists each folder it enters).
final class CountingDriver: StorageDriver {
    init(base: FilesystemDriver) { self.base = base }

    let base: FilesystemDriver
    let listings = Mutex(0)

    func read(_ path: String, limit: Int) async throws -> [UInt8]? { try await base.read(path, limit: limit) }
    func write(_ path: String, contents: [UInt8], durable: Bool) async throws { try await base.write(path, contents: contents, durable: durable) }
    func stat(_ path: String) async throws -> FileInfo? { try await base.stat(path) }
    func list(_ path: String) async throws -> [String]? {
        listings.withLock { $0 += 1 }
        return try await base.list(path)
    }
    func delete(_ path: String) async throws { try await base.delete(path) }
    func move(_ source: String, to destination: String, durable: Bool) async throws {
        try await base.move(source, to: destination, durable: durable)
    }
    func pruneFolder(_ path: String) async throws { try await base.pruneFolder(path) }
    func writer(_ path: String, append: Bool) async throws -> any StorageWriter { try await base.writer(path, append: append) }
    func reader(_ path: String) async throws -> (any StorageReader)? { try await base.reader(path) }
    func walk(_ path: String, visit: (StorageEntry) async throws -> WalkStep) async throws {
        // Counted as the filesystem driver walks: one listing per folder entered.
        try await base.walk(path) { entry in
            let step = try await visit(entry)
            if step == .descend && entry.isDirectory { listings.withLock { $0 += 1 } }
            return step
        }
        listings.withLock { $0 += 1 }
    }
}
