import Foundation
import WharfCore

/// Re-hashes stored blobs against their digests and, with `deep`, checks each image's layers against its config:
/// the `wharf scrub` command.
///
/// It only reads, so it is safe while servers run: a blob is in `blobs/` only once its upload is complete and
/// verified (uploads are written under the repository's `_uploads` and moved into place whole), so a scrub never
/// sees one half-written. A blob deleted while the scrub runs is simply not checked; one the manifests reference
/// and that is absent is reported missing. The only write is ``BlobQuarantine``'s rename, with `quarantine`.
///
/// Memory: the table of references (a few strings per blob) and one chunk and one window per blob being read;
/// blobs are streamed, never read whole (layers can be gigabytes).
public struct Scrubber: Sendable {
    public let driver: any StorageDriver
    public let quarantine: BlobQuarantine?

    public init(driver: any StorageDriver, quarantine: BlobQuarantine? = nil) {
        self.driver = driver
        self.quarantine = quarantine
    }

    /// Why a scrub could not run at all.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// An image manifest to check with `deep`, and who has it.
    struct Image {
        var digest: OCIDigest
        var manifest: ScrubManifest
    }

    public func run(_ options: ScrubOptions, now: @Sendable () -> Date = Date.init) async throws -> ScrubReport {
        let clock = ContinuousClock()
        let start = clock.now
        if options.quarantine && quarantine == nil { throw Failure(description: "no quarantine folder to move corrupt blobs to") }
        let index = ManifestIndex(driver: driver)
        let repositories: [RepositoryName]
        if let repository = options.repository {
            guard try await RepositoryWalker(driver: driver).isRepository(RegistryPaths.repository(repository), kinds: [.manifests, .layers]) else {
                throw Failure(description: "repository \(repository) is not in storage")
            }
            repositories = [repository]
        } else {
            repositories = try await RepositoryWalker(driver: driver).repositories(kinds: [.manifests, .layers])
        }

        var references: [OCIDigest: Set<String>] = [:]
        var images: [OCIDigest: Image] = [:]
        for repository in repositories {
            for digest in try await StoredBlobs(driver: driver).layerLinks(in: repository) {
                references[digest, default: []].insert("\(repository) (layer link)")
            }
            for digest in try await index.revisions(in: repository) {
                references[digest, default: []].insert("\(repository) (manifest)")
                guard let bytes = try await driver.read(RegistryPaths.blobData(digest), limit: ManifestIndex.readLimit),
                    let manifest = try? ScrubManifest(parsing: bytes)
                else { continue }  // A missing manifest is reported with the blobs; an unparsable one by its hash.
                for descriptor in manifest.blobDescriptors + (manifest.manifests ?? []) where !ScrubManifest.isForeign(descriptor) {
                    guard let blob = try? OCIDigest(parsing: descriptor.digest) else { continue }
                    references[blob, default: []].insert("\(repository)@\(digest)")
                }
                if manifest.isImage { images[digest] = Image(digest: digest, manifest: manifest) }
            }
        }

        var digests = Set(references.keys)
        if options.repository == nil {
            try await collectStoredBlobs(into: &digests)
        }

        var report = ScrubReport()
        var problems: [OCIDigest: ScrubFinding] = [:]
        func sortedReferences(_ digest: OCIDigest) -> [String] { (references[digest] ?? []).sorted() }
        for digest in digests.sorted() {
            guard let reader = try await driver.reader(RegistryPaths.blobData(digest)) else {
                if references[digest] != nil {
                    problems[digest] = ScrubFinding(
                        digest: digest,
                        kind: .missing,
                        detail: "the blob's data is not in storage",
                        references: sortedReferences(digest)
                    )
                }
                continue
            }
            report.blobsChecked += 1
            var hasher = ContentHasher(algorithm: digest.algorithm)
            var detail: String?
            do {
                for try await buffer in reader.chunks() {
                    buffer.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
                    report.bytes += Int64(buffer.readableBytes)
                }
                let actual = hasher.finalize()
                if actual != digest { detail = "the data hashes to \(actual)" }
            } catch let error as StorageError {
                detail = "the data cannot be read: \(error.message)"
            }
            guard let detail else { continue }
            var finding = ScrubFinding(digest: digest, kind: .corrupt, detail: detail, references: sortedReferences(digest))
            if options.quarantine, let quarantine {
                // A failed move (another filesystem: `registry/` a symlink to another volume) is reported, and the
                // scrub goes on: the blob is still corrupt, and the rest still worth checking.
                do {
                    finding.quarantinedTo = try quarantine.move(digest, at: now())
                    report.quarantined += 1
                } catch {
                    finding.detail += "; it could not be quarantined: \(error)"
                }
            }
            problems[digest] = finding
        }

        var skips: [OCIDigest: ScrubFinding] = [:]
        if options.deep {
            var checker = LayerChecker(driver: driver, references: references, problems: problems)
            for image in images.values.sorted(by: { $0.digest < $1.digest }) {
                try await checker.check(image)
            }
            problems = checker.problems
            skips = checker.skips
            report.layersDecompressed = checker.layersDecompressed
            report.uncompressedBytes = checker.uncompressedBytes
        }

        report.missing = problems.values.count { $0.kind == .missing }
        report.corrupt = problems.values.count { $0.kind != .missing }
        report.ok = report.blobsChecked - report.corrupt
        report.skipped = skips.count
        let order: [ScrubFinding.Kind: Int] = [.missing: 0, .corrupt: 1, .badLayer: 2]
        report.findings =
            problems.values.sorted { (order[$0.kind] ?? 3, $0.digest) < (order[$1.kind] ?? 3, $1.digest) }
            + skips.values.sorted { $0.digest < $1.digest }
        let elapsed = (clock.now - start).components
        report.seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
        return report
    }

    /// Adds the digest of every blob with data under `blobs/`.
    func collectStoredBlobs(into digests: inout Set<OCIDigest>) async throws {
        try await StoredBlobs(driver: driver).walk { digest, _ in digests.insert(digest) }
    }
}
