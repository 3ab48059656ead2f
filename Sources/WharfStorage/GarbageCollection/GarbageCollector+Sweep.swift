import WharfCore

/// The sweep: deleting what the mark found eligible while pushes go on, on this replica or another one sharing the
/// storage (the caller holds the database's GC lease, so only one sweep runs at a time).
///
/// A push never asks the collector for permission, so the sweep proves each deletion safe from storage alone:
/// 1. with `untagged`, it unlinks the untagged revisions the mark found, each one only if its link is still as old
///    as the mark saw it and no tag names it now;
/// 2. it parks every eligible blob whose data is still old: a rename to ``RegistryPaths/gcTrashRoot``;
/// 3. it looks again at every repository for links written since the mark began (layer links to a parked blob,
///    revision links and what their manifests reach) and restores whatever they need;
/// 4. it deletes the rest, then the layer links that pointed at them.
///
/// The writers do their part: an upload's commit, a mount and a manifest `PUT` write their link first and look
/// for the data after (see ``BlobStore/mount(_:into:from:)`` and ``ManifestIndex/put(_:contentType:reference:in:blobs:)``).
/// A link written before a blob was parked is found by step 3 (it began after every park), and a writer that looks
/// after the park finds the data gone and fails cleanly, or puts its own data in place: so no link written during
/// the run ends up naming deleted data. A crash between parking and step 4 leaves blobs parked: the next run
/// restores them all before it marks.
extension GarbageCollector {
    /// What a sweep needs beyond the mark's report.
    struct Sweep {
        /// Links modified after this (seconds since 1970) were written during the run: the mark's start, less a
        /// margin for clocks of replicas writing the same storage (at most `minAge`: the operator's grace).
        var fresh: Double
        /// Parked blobs, with what the report said of them.
        var parked: [OCIDigest: GCBlob] = [:]
        /// Revisions step 1 unlinked, by repository.
        var unlinked: [RepositoryName: Set<OCIDigest>] = [:]
        /// Parked blobs a link written during the run needs.
        var needed: Set<OCIDigest> = []
    }

    /// Deletes what `report` (a mark that began at `started`) found eligible, and records what went in it.
    /// `afterParking` runs between steps 2 and 3: the place a unit test puts a racing push.
    func sweep(
        _ report: inout GCReport,
        options: GCOptions,
        started: Double,
        afterParking: () async throws -> Void = {}
    ) async throws {
        report.dryRun = false
        var sweep = Sweep(fresh: started - Swift.min(options.minAge, 60))
        if options.untagged { try await unlinkUntagged(&report, &sweep) }

        do {
            try await parkAndDelete(&report, &sweep, afterParking: afterParking)
        } catch {
            // Whatever failed, nothing stays parked: pulls of those blobs would fail until the next run.
            _ = try? await restoreParked()
            throw error
        }
        report.removedManifests = report.removedManifests.filter { manifest in
            guard let name = try? RepositoryName(manifest.repository) else { return true }
            return sweep.unlinked[name]?.contains(manifest.digest) ?? false
        }
    }

    /// Steps 2 to 4.
    private func parkAndDelete(_ report: inout GCReport, _ sweep: inout Sweep, afterParking: () async throws -> Void) async throws {
        for blob in report.eligible {
            let data = RegistryPaths.blobData(blob.digest)
            guard let info = try await driver.stat(data), !info.isDirectory else { continue }
            guard info.modified <= sweep.fresh else {
                report.rescuedBlobs += 1  // uploaded again since the mark
                continue
            }
            do {
                // Parking and restoring rename data flushed when it was written: no flush again.
                try await driver.move(data, to: RegistryPaths.gcTrash(blob.digest), durable: false)
                sweep.parked[blob.digest] = blob
            } catch let error as StorageError where error.code == .notFound {
                continue  // gone meanwhile
            }
        }
        try await afterParking()

        try await lookAgain(&sweep)
        for (digest, blob) in sweep.parked.sorted(by: { $0.key < $1.key }) {
            if sweep.needed.contains(digest) {
                try await unpark(digest)
                report.rescuedBlobs += 1
                continue
            }
            try await driver.delete(RegistryPaths.gcTrash(digest))
            try await driver.pruneFolder(RegistryPaths.blobDirectory(digest))
            report.reclaimedBlobs += 1
            report.reclaimedBytes += blob.bytes
            report.removedLayerLinks += try await removeLayerLinks(to: blob, fresh: sweep.fresh)
        }
    }

    /// Step 1: unlinks the untagged revisions the mark found, with their entries in tag histories; one that a
    /// push linked again or a tag names since the mark stays.
    private func unlinkUntagged(_ report: inout GCReport, _ sweep: inout Sweep) async throws {
        let index = ManifestIndex(driver: driver)
        let byRepository = Dictionary(grouping: report.untaggedManifests, by: \.repository)
        for (repositoryName, manifests) in byRepository.sorted(by: { $0.key < $1.key }) {
            guard let repository = try? RepositoryName(repositoryName) else { continue }
            var tagged: [Tag: OCIDigest] = [:]
            for name in try await index.tags(in: repository) ?? [] {
                guard let tag = try? Tag(name), let digest = try await index.resolve(.tag(tag), in: repository) else { continue }
                tagged[tag] = digest
            }
            let taggedDigests = Set(tagged.values)
            for manifest in manifests where !taggedDigests.contains(manifest.digest) {
                let link = RegistryPaths.revisionLink(repository, manifest.digest)
                guard let info = try await driver.stat(link), info.modified <= sweep.fresh,
                    try await index.readLink(link) == manifest.digest
                else { continue }
                for tag in tagged.keys {
                    try await driver.delete(RegistryPaths.tagIndexDirectory(repository, tag, manifest.digest))
                }
                try await driver.delete(RegistryPaths.revisionDirectory(repository, manifest.digest))
                sweep.unlinked[repository, default: []].insert(manifest.digest)
                report.removedManifests.append(manifest)
            }
        }
    }

    /// Step 3: finds the parked blobs (and unlinked revisions) that links written since the mark began need,
    /// and relinks those revisions. Reads every repository's link folders again, but opens only the links that
    /// name a parked blob and the manifests of revisions linked since the mark.
    private func lookAgain(_ sweep: inout Sweep) async throws {
        guard !sweep.parked.isEmpty || !sweep.unlinked.isEmpty else { return }
        let index = ManifestIndex(driver: driver)
        for repository in try await RepositoryWalker(driver: driver).repositories(kinds: [.manifests, .layers]) {
            for algorithm in OCIDigest.Algorithm.allCases {
                let layers = "\(RegistryPaths.repository(repository))/\(RegistryPaths.layersFolder)/\(algorithm.rawValue)"
                for name in try await driver.list(layers) ?? [] {
                    guard let digest = try? OCIDigest(algorithm: algorithm, hex: name), sweep.parked[digest] != nil else { continue }
                    let link = RegistryPaths.layerLink(repository, digest)
                    guard let info = try await driver.stat(link), info.modified > sweep.fresh,
                        try await index.readLink(link) == digest
                    else { continue }
                    sweep.needed.insert(digest)
                }
                for name in try await driver.list(RegistryPaths.revisionsDirectory(repository, algorithm)) ?? [] {
                    guard let digest = try? OCIDigest(algorithm: algorithm, hex: name) else { continue }
                    let link = RegistryPaths.revisionLink(repository, digest)
                    guard let info = try await driver.stat(link) else { continue }
                    let relinked = sweep.parked[digest] != nil || sweep.unlinked[repository]?.contains(digest) == true
                    guard relinked || info.modified > sweep.fresh, try await index.readLink(link) == digest else { continue }
                    // A revision step 1 unlinked, or whose content is parked, was linked again by a push.
                    sweep.unlinked[repository]?.remove(digest)
                    if sweep.parked[digest] != nil { sweep.needed.insert(digest) }
                    if info.modified > sweep.fresh { try await need(digest, in: repository, &sweep) }
                }
            }
        }
    }

    /// Marks what a manifest linked during the run reaches, relinking children step 1 unlinked.
    private func need(_ digest: OCIDigest, in repository: RepositoryName, _ sweep: inout Sweep) async throws {
        var queue = [digest]
        var seen: Set<OCIDigest> = [digest]
        while let next = queue.popLast() {
            sweep.needed.insert(next)
            let node = try await load(next, parked: sweep.parked[next] != nil)
            for blob in node.blobs + node.foreign { sweep.needed.insert(blob) }
            for child in node.children where seen.insert(child).inserted {
                if sweep.unlinked[repository]?.remove(child) != nil {
                    try await driver.write(RegistryPaths.revisionLink(repository, child), contents: RegistryPaths.linkContent(child))
                }
                queue.append(child)
            }
        }
    }

    /// Puts parked data back, unless a push has put the same content there meanwhile.
    func unpark(_ digest: OCIDigest) async throws {
        let parked = RegistryPaths.gcTrash(digest)
        if try await driver.stat(RegistryPaths.blobData(digest)) != nil {
            try await driver.delete(parked)
        } else {
            try await driver.move(parked, to: RegistryPaths.blobData(digest), durable: false)
        }
    }

    /// Restores whatever a run that ended half-way left parked; returns how many blobs.
    func restoreParked() async throws -> Int {
        var parked: [OCIDigest] = []
        for algorithm in OCIDigest.Algorithm.allCases {
            for name in try await driver.list("\(RegistryPaths.gcTrashRoot)/\(algorithm.rawValue)") ?? [] {
                guard let digest = try? OCIDigest(algorithm: algorithm, hex: name) else { continue }
                parked.append(digest)
            }
        }
        for digest in parked { try await unpark(digest) }
        return parked.count
    }

    /// Removes the layer links to a deleted blob that were there at the mark; a link written since, or one to
    /// data a push has put back, stays.
    private func removeLayerLinks(to blob: GCBlob, fresh: Double) async throws -> Int {
        var removed = 0
        for name in blob.layerLinks {
            guard let repository = try? RepositoryName(name),
                let info = try await driver.stat(RegistryPaths.layerLink(repository, blob.digest)), info.modified <= fresh,
                try await driver.stat(RegistryPaths.blobData(blob.digest)) == nil
            else { continue }
            try await driver.delete(RegistryPaths.layerDirectory(repository, blob.digest))
            removed += 1
        }
        return removed
    }
}
