import Foundation
import WharfCore

/// What the index remembers about a stored manifest. Manifests are immutable by digest, so this never goes stale.
public struct ManifestSummary: Sendable {
    public let mediaType: String
    public let size: Int64
    public let subject: OCIDigest?
    public let artifactType: String?
    public let annotations: [String: String]?
}

extension ManifestSummary {
    /// Roughly what the summary holds in memory: its strings plus a fixed overhead.
    var approximateMemory: Int {
        let annotations = (annotations ?? [:]).reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count + 32 }
        return 256 + mediaType.utf8.count + (artifactType?.utf8.count ?? 0) + annotations
    }
}

/// A manifest as stored, ready to serve.
public struct StoredManifest: Sendable {
    public let digest: OCIDigest
    public let mediaType: String
    public let bytes: [UInt8]
}

/// Manifests, tags and referrers of every repository.
///
/// Storage is the source of truth and is read and written from the request's task; the actor owns only a cache
/// of per-digest summaries (immutable facts), so it is never stale, even when another process writes the folder.
public actor ManifestIndex {
    public nonisolated let driver: any StorageDriver
    private var summaries: [OCIDigest: ManifestSummary] = [:]
    private let summaryLimit: Int
    /// Summaries keep a manifest's annotations, which can be nearly as large as the manifest: the cache is bounded
    /// by their summed sizes too, or a pusher could fill memory with a few thousand manifests of big annotations.
    private let summaryByteLimit: Int
    private(set) var cachedSummaryBytes = 0

    /// The largest stored manifest Wharf will read back (distribution may have written larger ones than it accepts).
    static let readLimit = 16 * 1024 * 1024

    public init(driver: any StorageDriver, summaryLimit: Int = 100_000, summaryByteLimit: Int = 64 * 1024 * 1024) {
        self.driver = driver
        self.summaryLimit = summaryLimit
        self.summaryByteLimit = summaryByteLimit
    }

    // MARK: Writing

    /// Validates and stores a manifest, then points the tag at it when `reference` is a tag.
    ///
    /// Order of writes: content, revision link, tag index link, tag current link; a crash in between leaves an
    /// unreferenced revision at worst, never a tag pointing at missing content.
    public nonisolated func put(
        _ bytes: [UInt8],
        contentType: String?,
        reference: Reference,
        in repository: RepositoryName,
        blobs: BlobStore
    ) async throws -> (digest: OCIDigest, manifest: Manifest) {
        let manifest = try Manifest(parsing: bytes, contentType: contentType)
        let digest: OCIDigest
        switch reference {
        case .digest(let expected):
            digest = OCIDigest.of(bytes, algorithm: expected.algorithm)
            guard digest == expected else {
                throw ContentError(.digestInvalid, detail: "manifest content has digest \(digest), URL names \(expected)")
            }
        case .tag:
            digest = OCIDigest.of(bytes)
        }
        for blob in manifest.blobReferences {
            guard try await blobs.blobSize(blob, in: repository) != nil else {
                throw ContentError(.manifestBlobUnknown, detail: "blob \(blob) is not in \(repository)")
            }
        }
        for child in manifest.manifestReferences {
            guard try await readLink(RegistryPaths.revisionLink(repository, child)) == child,
                try await blobs.blobExists(child)
            else {
                throw ContentError(.manifestBlobUnknown, detail: "manifest \(child) is not in \(repository)")
            }
        }
        if try await driver.stat(RegistryPaths.blobData(digest))?.size != Int64(bytes.count) {
            try await driver.write(RegistryPaths.blobData(digest), contents: bytes)
        }
        let revision = RegistryPaths.revisionLink(repository, digest)
        let wasLinked = try await readLink(revision) == digest
        try await driver.write(revision, contents: RegistryPaths.linkContent(digest))
        try await recheck(manifest, digest: digest, bytes: bytes, in: repository, blobs: blobs, wasLinked: wasLinked)
        if case .tag(let tag) = reference {
            try await driver.write(RegistryPaths.tagIndexLink(repository, tag, digest), contents: RegistryPaths.linkContent(digest))
            try await driver.write(RegistryPaths.tagCurrentLink(repository, tag), contents: RegistryPaths.linkContent(digest))
        }
        await remember(
            digest,
            ManifestSummary(
                mediaType: manifest.mediaType,
                size: Int64(bytes.count),
                subject: manifest.subject,
                artifactType: manifest.artifactType,
                annotations: manifest.annotations
            )
        )
        return (digest, manifest)
    }

    /// Looks again, once the revision link is written, at what the manifest needs: garbage collection parks an
    /// unreferenced blob, then looks for links written meanwhile and restores what they need. A blob parked
    /// before this link was written is missing here: the manifest's own content is written again, a missing
    /// blob or child takes the new revision link back and fails the push with `MANIFEST_BLOB_UNKNOWN` (the
    /// client's retry uploads it again). One parked after is seen by the collector, which restores it.
    private nonisolated func recheck(
        _ manifest: Manifest,
        digest: OCIDigest,
        bytes: [UInt8],
        in repository: RepositoryName,
        blobs: BlobStore,
        wasLinked: Bool
    ) async throws {
        if try await driver.stat(RegistryPaths.blobData(digest))?.size != Int64(bytes.count) {
            try await driver.write(RegistryPaths.blobData(digest), contents: bytes)
        }
        var missing: String?
        for blob in manifest.blobReferences where missing == nil {
            if try await !blobs.blobExists(blob) { missing = "blob \(blob) is not in \(repository)" }
        }
        for child in manifest.manifestReferences where missing == nil {
            guard try await readLink(RegistryPaths.revisionLink(repository, child)) == child, try await blobs.blobExists(child) else {
                missing = "manifest \(child) is not in \(repository)"
                continue
            }
        }
        guard let missing else { return }
        if !wasLinked { try await driver.delete(RegistryPaths.revisionDirectory(repository, digest)) }
        throw ContentError(.manifestBlobUnknown, detail: missing)
    }

    // MARK: Reading

    /// The digest a reference resolves to in the repository, or nil.
    public nonisolated func resolve(_ reference: Reference, in repository: RepositoryName) async throws -> OCIDigest? {
        switch reference {
        case .tag(let tag):
            guard let digest = try await readLink(RegistryPaths.tagCurrentLink(repository, tag)) else { return nil }
            return try await readLink(RegistryPaths.revisionLink(repository, digest)) == digest ? digest : nil
        case .digest(let digest):
            return try await readLink(RegistryPaths.revisionLink(repository, digest)) == digest ? digest : nil
        }
    }

    /// The manifest a reference names, or nil.
    public nonisolated func get(_ reference: Reference, in repository: RepositoryName) async throws -> StoredManifest? {
        guard let digest = try await resolve(reference, in: repository),
            let bytes = try await driver.read(RegistryPaths.blobData(digest), limit: Self.readLimit)
        else { return nil }
        let summary = await summary(of: digest, bytes: bytes)
        return StoredManifest(digest: digest, mediaType: summary.mediaType, bytes: bytes)
    }

    /// The summary of a manifest the repository holds, reading it from storage when it is not cached.
    nonisolated func summary(of digest: OCIDigest, in repository: RepositoryName) async throws -> ManifestSummary? {
        if let cached = await cachedSummary(digest) { return cached }
        guard let bytes = try await driver.read(RegistryPaths.blobData(digest), limit: Self.readLimit) else { return nil }
        return await summary(of: digest, bytes: bytes)
    }

    nonisolated func summary(of digest: OCIDigest, bytes: [UInt8]) async -> ManifestSummary {
        if let cached = await cachedSummary(digest) { return cached }
        let parsed = try? Manifest(parsing: bytes, contentType: nil)
        let summary = ManifestSummary(
            mediaType: parsed?.mediaType ?? Manifest.storedMediaType(of: bytes),
            size: Int64(bytes.count),
            subject: parsed?.subject,
            artifactType: parsed?.artifactType,
            annotations: parsed?.annotations
        )
        await remember(digest, summary)
        return summary
    }

    private func cachedSummary(_ digest: OCIDigest) -> ManifestSummary? {
        summaries[digest]
    }

    private func remember(_ digest: OCIDigest, _ summary: ManifestSummary) {
        guard summaries[digest] == nil else { return }
        let size = summary.approximateMemory
        if summaries.count >= summaryLimit || cachedSummaryBytes + size > summaryByteLimit {
            summaries.removeAll(keepingCapacity: true)
            cachedSummaryBytes = 0
        }
        guard size <= summaryByteLimit else { return }
        summaries[digest] = summary
        cachedSummaryBytes += size
    }

    /// Whether the repository exists in storage.
    public nonisolated func repositoryExists(_ repository: RepositoryName) async throws -> Bool {
        try await driver.stat(RegistryPaths.manifestsDirectory(repository))?.isDirectory == true
    }

    /// The repository's tags in lexical order, or nil when the repository does not exist.
    public nonisolated func tags(in repository: RepositoryName) async throws -> [String]? {
        guard try await repositoryExists(repository) else { return nil }
        let names = try await driver.list(RegistryPaths.tagsDirectory(repository)) ?? []
        var tags: [String] = []
        for name in names {
            guard let tag = try? Tag(name) else { continue }
            if try await driver.stat(RegistryPaths.tagCurrentLink(repository, tag)) != nil { tags.append(name) }
        }
        return tags.sorted()
    }

    /// Manifests in the repository whose `subject` is `subject`, as descriptors, optionally only one artifact type.
    public nonisolated func referrers(
        of subject: OCIDigest,
        in repository: RepositoryName,
        artifactType: String?
    ) async throws -> [Descriptor] {
        var result: [Descriptor] = []
        for digest in try await revisions(in: repository) {
            guard let summary = try await summary(of: digest, in: repository), summary.subject == subject else { continue }
            if let artifactType, summary.artifactType != artifactType { continue }
            result.append(
                Descriptor(
                    mediaType: summary.mediaType,
                    digest: digest.description,
                    size: summary.size,
                    annotations: summary.annotations,
                    artifactType: summary.artifactType
                )
            )
        }
        return result
    }

    /// Digests of every manifest revision the repository links.
    public nonisolated func revisions(in repository: RepositoryName) async throws -> [OCIDigest] {
        var digests: [OCIDigest] = []
        for algorithm in OCIDigest.Algorithm.allCases {
            for name in try await driver.list(RegistryPaths.revisionsDirectory(repository, algorithm)) ?? [] {
                guard let digest = try? OCIDigest(algorithm: algorithm, hex: name),
                    try await readLink(RegistryPaths.revisionLink(repository, digest)) == digest
                else { continue }
                digests.append(digest)
            }
        }
        return digests.sorted()
    }

    // MARK: Deleting

    /// Deletes a manifest revision and every tag that points at it.
    public nonisolated func delete(_ digest: OCIDigest, in repository: RepositoryName) async throws {
        guard try await readLink(RegistryPaths.revisionLink(repository, digest)) == digest else {
            throw ContentError(.manifestUnknown, detail: digest.description)
        }
        // Untag first: a crash then leaves a revision without tags, never a tag pointing at nothing.
        for name in try await driver.list(RegistryPaths.tagsDirectory(repository)) ?? [] {
            guard let tag = try? Tag(name) else { continue }
            if try await readLink(RegistryPaths.tagCurrentLink(repository, tag)) == digest {
                try await driver.delete(RegistryPaths.tagDirectory(repository, tag))
            } else {
                try await driver.delete(RegistryPaths.tagIndexDirectory(repository, tag, digest))
            }
        }
        try await driver.delete(RegistryPaths.revisionDirectory(repository, digest))
    }

    /// Removes a tag only; the manifest it pointed at stays reachable by digest.
    public nonisolated func deleteTag(_ tag: Tag, in repository: RepositoryName) async throws {
        guard try await driver.stat(RegistryPaths.tagCurrentLink(repository, tag)) != nil else {
            throw ContentError(.manifestUnknown, detail: "tag \(tag) is not in \(repository)")
        }
        try await driver.delete(RegistryPaths.tagDirectory(repository, tag))
    }

    nonisolated func readLink(_ path: String) async throws -> OCIDigest? {
        guard let bytes = try await driver.read(path, limit: 1024) else { return nil }
        return try? OCIDigest(parsing: String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
