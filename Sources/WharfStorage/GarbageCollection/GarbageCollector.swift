import Foundation
import WharfCore

/// Garbage collection's mark: from storage alone, which blobs and manifest revisions every repository still needs
/// (and why), and which a sweep may delete. `wharf gc --dry-run` prints it.
///
/// It only reads (listings, small link and manifest files, `stat`s through the walk), so it is safe while servers
/// run and on a folder distribution serves. What it keeps, and why distribution would not always:
/// - every tag's current manifest, and with `untagged` false (the default) every manifest revision;
/// - what a kept manifest reaches: an index's children (read from storage even when the repository links no
///   revision of them: distribution#3178 deleted those), an image's config and layers, an artifact's blobs;
/// - referrers: a revision whose `subject` is a kept manifest of the same repository (signatures, SBOMs,
///   attestations), transitively; a cosign-style `sha256-<hex>.sig` tag is an ordinary tag;
/// - anything written within `minAge`: a blob whose data or any layer link to it, or a revision whose link, is
///   younger (a push in progress uploads blobs and children before the manifest that names them).
///
/// Memory: one entry per marked blob (a digest and a reason whose text is shared by every blob of one manifest),
/// the parsed manifests of one repository at a time, and the eligible blobs; never a blob's content. Manifests
/// are read whole up to ``ManifestIndex/readLimit`` (they are small).
public struct GarbageCollector: Sendable {
    public let driver: any StorageDriver

    public init(driver: any StorageDriver) {
        self.driver = driver
    }

    /// What the mark needs of one manifest.
    struct Node {
        var blobs: [OCIDigest] = []
        var foreign: [OCIDigest] = []
        var children: [OCIDigest] = []
        var subject: OCIDigest?
        var size: Int64 = 0
    }

    /// Blobs marked so far, across repositories, with the strongest reason found.
    struct Marks {
        var reasons: [OCIDigest: GCReason] = [:]
        /// Foreign (non-distributable) blobs: kept when present, never counted missing when absent.
        var foreign: Set<OCIDigest> = []

        mutating func mark(_ digest: OCIDigest, _ reason: GCReason) {
            if let known = reasons[digest], known.kind <= reason.kind { return }
            reasons[digest] = reason
        }
    }

    /// A whole collection: the mark, then (unless `dryRun`) the sweep of what it found eligible (see
    /// `GarbageCollector+Sweep`). The caller holds the database's GC lease, so no other replica sweeps at the same
    /// time; the elapsed time in the report covers the mark and the sweep.
    public func run(_ options: GCOptions, dryRun: Bool, listKept: Bool = false, now: Date = Date()) async throws -> GCReport {
        guard !dryRun else { return try await mark(options, listKept: listKept, now: now) }
        let start = ContinuousClock.now
        let restored = try await restoreParked()
        var report = try await mark(options, listKept: listKept, now: now)
        report.restoredParked = restored
        try await sweep(&report, options: options, started: now.timeIntervalSince1970)
        let elapsed = (ContinuousClock.now - start).components
        report.seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
        return report
    }

    public func mark(_ options: GCOptions, listKept: Bool = false, now: Date = Date()) async throws -> GCReport {
        let clock = ContinuousClock()
        let start = clock.now
        var report = GCReport()
        report.untagged = options.untagged
        report.minAgeSeconds = options.minAge
        let cutoff = now.timeIntervalSince1970 - options.minAge
        let repositories = try await RepositoryWalker(driver: driver).repositories(kinds: [.manifests, .layers])
        report.repositories = repositories.count

        var marks = Marks()
        for repository in repositories {
            let untagged = try await markRepository(repository, options: options, cutoff: cutoff, marks: &marks, report: &report)
            report.untaggedManifests += untagged
        }

        // Every stored blob: kept when marked or young, else a candidate.
        var candidates: [OCIDigest: Int64] = [:]
        var keptGroups: [GCReason.Kind: (blobs: Int, bytes: Int64)] = [:]
        var keptList: [GCBlob] = []
        var foundMarked = 0
        var foundForeign = 0
        func keep(_ digest: OCIDigest, _ bytes: Int64, _ reason: GCReason) {
            keptGroups[reason.kind, default: (0, 0)].blobs += 1
            keptGroups[reason.kind, default: (0, 0)].bytes += bytes
            if listKept { keptList.append(GCBlob(digest: digest, bytes: bytes, reason: reason)) }
        }
        try await StoredBlobs(driver: driver).walk { digest, file in
            report.blobs += 1
            report.bytes += file.size
            if let reason = marks.reasons[digest] {
                foundMarked += 1
                if marks.foreign.contains(digest) { foundForeign += 1 }
                keep(digest, file.size, reason)
            } else if file.modified > cutoff {
                keep(digest, file.size, Self.young("blob data written", file.modified))
            } else {
                candidates[digest] = file.size
            }
        }
        report.missing = (marks.reasons.count - marks.foreign.count) - (foundMarked - foundForeign)
        marks = Marks()

        // Layer links to candidates: a young one keeps the blob (a push is linking it now); the others go with it.
        var links: [OCIDigest: [String]] = [:]
        var young: [OCIDigest: GCReason] = [:]
        if !candidates.isEmpty {
            let blobs = StoredBlobs(driver: driver)
            for repository in repositories {
                for digest in try await blobs.layerLinks(in: repository, including: { candidates[$0] != nil }) {
                    let modified = try await driver.stat(RegistryPaths.layerLink(repository, digest))?.modified ?? 0
                    if modified > cutoff {
                        young[digest] = young[digest] ?? Self.young("layer link in \(repository) written", modified)
                    }
                    links[digest, default: []].append(repository.value)
                }
            }
        }
        for (digest, bytes) in candidates.sorted(by: { $0.key < $1.key }) {
            if let reason = young[digest] {
                keep(digest, bytes, reason)
                continue
            }
            let repositories = links[digest] ?? []
            report.eligible.append(GCBlob(digest: digest, bytes: bytes, layerLinks: repositories))
            report.eligibleBytes += bytes
            report.eligibleLayerLinks += repositories.count
        }
        report.eligibleBlobs = report.eligible.count
        report.kept = GCReason.Kind.allCases.compactMap { kind in
            keptGroups[kind].map { GCReport.KeptGroup(reason: kind, blobs: $0.blobs, bytes: $0.bytes) }
        }
        report.keptBlobs = report.kept.reduce(0) { $0 + $1.blobs }
        report.keptBytes = report.kept.reduce(0) { $0 + $1.bytes }
        report.keptBlobList = keptList.sorted { $0.digest < $1.digest }
        let elapsed = (clock.now - start).components
        report.seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
        return report
    }

    /// Marks what one repository's tags (and, without `untagged`, revisions) reach; returns the revisions no tag
    /// reaches (eligible with `untagged`).
    private func markRepository(
        _ repository: RepositoryName,
        options: GCOptions,
        cutoff: Double,
        marks: inout Marks,
        report: inout GCReport
    ) async throws -> [GCManifest] {
        let index = ManifestIndex(driver: driver)
        let revisions = try await index.revisions(in: repository)
        report.manifests += revisions.count
        var nodes: [OCIDigest: Node] = [:]
        var referrers: [OCIDigest: [OCIDigest]] = [:]
        for digest in revisions {
            let node = try await load(digest)
            nodes[digest] = node
            if let subject = node.subject { referrers[subject, default: []].append(digest) }
        }

        var kept: [OCIDigest: GCReason] = [:]
        var queue: [OCIDigest] = []
        func keep(_ digest: OCIDigest, _ reason: GCReason) {
            guard kept[digest] == nil else { return }
            kept[digest] = reason
            queue.append(digest)
        }
        func drain() async throws {
            while let digest = queue.popLast() {
                let reason = kept[digest]!
                marks.mark(digest, reason)
                if nodes[digest] == nil { nodes[digest] = try await load(digest) }  // a child the repository does not link
                let node = nodes[digest]!
                for blob in node.blobs { marks.mark(blob, reason) }
                for blob in node.foreign {
                    marks.mark(blob, reason)
                    marks.foreign.insert(blob)
                }
                for child in node.children {
                    keep(child, GCReason(.child, "\(repository)@\(child), child of \(repository)@\(digest)"))
                }
                for referrer in referrers[digest] ?? [] {
                    keep(referrer, GCReason(.referrer, "\(repository)@\(referrer), referrer of \(repository)@\(digest)"))
                }
            }
        }

        // Tags first, so what they reach is reported under them.
        for name in try await index.tags(in: repository) ?? [] {
            guard let tag = try? Tag(name), let digest = try await index.resolve(.tag(tag), in: repository) else { continue }
            keep(digest, GCReason(.tagged, "\(repository):\(name)"))
            try await drain()
        }
        // Then revisions written within the grace period (a multi-arch push links its children before its index).
        for digest in revisions where kept[digest] == nil {
            let modified = try await driver.stat(RegistryPaths.revisionLink(repository, digest))?.modified ?? 0
            guard modified > cutoff else { continue }
            keep(digest, Self.young("\(repository)@\(digest) linked", modified))
            try await drain()
        }
        let untagged = revisions.filter { kept[$0] == nil }.map {
            GCManifest(repository: repository.value, digest: $0, bytes: nodes[$0]?.size ?? 0)
        }
        if !options.untagged {
            for manifest in untagged where kept[manifest.digest] == nil {
                keep(manifest.digest, GCReason(.untagged, "\(repository)@\(manifest.digest) (untagged)"))
                try await drain()
            }
        }
        return untagged
    }

    /// Reads and parses one stored manifest; a missing or unparsable one has no edges (its own blob is marked, and
    /// `wharf scrub` reports what is wrong with it).
    func load(_ digest: OCIDigest, parked: Bool = false) async throws -> Node {
        let path = parked ? RegistryPaths.gcTrash(digest) : RegistryPaths.blobData(digest)
        guard let bytes = try await driver.read(path, limit: ManifestIndex.readLimit) else { return Node() }
        var node = Node(size: Int64(bytes.count))
        guard let manifest = try? ScrubManifest(parsing: bytes) else { return node }
        for descriptor in manifest.blobDescriptors {
            guard let blob = try? OCIDigest(parsing: descriptor.digest) else { continue }
            if ScrubManifest.isForeign(descriptor) {
                node.foreign.append(blob)
            } else {
                node.blobs.append(blob)
            }
        }
        node.children = (manifest.manifests ?? []).compactMap { try? OCIDigest(parsing: $0.digest) }
        node.subject = manifest.subject.flatMap { try? OCIDigest(parsing: $0.digest) }
        return node
    }

    static func young(_ what: String, _ modified: Double) -> GCReason {
        let time = Date(timeIntervalSince1970: modified).formatted(.iso8601)
        return GCReason(.tooYoung, "\(what) at \(time)")
    }
}
