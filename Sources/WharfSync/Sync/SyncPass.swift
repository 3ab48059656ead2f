import Foundation
import Logging
import WharfCore
import WharfDatabase
import WharfStorage

/// What one pass found and changed.
public struct SyncReport: Sendable, Equatable {
    public var repositories = 0
    public var tags = 0
    public var repositoriesAdded = 0
    public var repositoriesRemoved = 0
    /// Tags written: new, moved, or whose facts were missing.
    public var tagsWritten = 0
    public var tagsRemoved = 0
    public var duration: Duration = .zero

    public init() {}

    public var changed: Bool { repositoriesAdded + repositoriesRemoved + tagsWritten + tagsRemoved > 0 }
}

/// One reconciliation of the mirror with storage.
///
/// Storage is read first, in one walk that visits only what tells a tag apart: each tag's `current/link` (its
/// modification time), skipping layers, uploads, revisions and tag histories. A tag whose link has the time the
/// mirror remembers is unchanged and costs nothing more; only new or rewritten links are read, and only moved
/// tags have their manifests and configs read. Then the differences are written, a batch of repositories per
/// transaction. A storage error ends the pass before anything is written: the mirror is never emptied because a
/// read failed.
struct SyncPass {
    let pool: DatabasePool
    let driver: any StorageDriver
    let logger: Logger
    /// Repositories per write transaction.
    var batchSize = 200

    /// A repository as the walk found it: tag name to its link's modification time.
    struct Scan {
        var tags: [String: Int64] = [:]
    }

    func run() async throws -> SyncReport {
        let started = ContinuousClock.now
        let scans = try await walk()
        var report = SyncReport()
        report.repositories = scans.count
        report.tags = scans.values.reduce(0) { $0 + $1.tags.count }
        let (ids, stamps, revisionStamps) = try await pool.read { transaction in
            (try transaction.repositories.allIDs(), try transaction.tags.stamps(), try transaction.repositories.revisionStamps())
        }
        let inspector = ImageInspector(driver: driver)
        var changes: [RepositoryChange] = []
        for (index, name) in scans.keys.sorted().enumerated() {
            if index % 256 == 255 { await Task.yield() }
            guard let repository = try? RepositoryName(name) else { continue }
            let scan = scans[name]!
            let id = ids[name]
            let known = id.flatMap { stamps[$0] } ?? [:]
            var change = RepositoryChange(name: name, id: id)
            if id == nil { report.repositoriesAdded += 1 }
            for (tagName, modified) in scan.tags {
                // Signatures are referrers, read with the revisions below.
                if ImageInspector.cosignSubject(ofTag: tagName) != nil { continue }
                if let stamp = known[tagName], stamp.linkModified == modified { continue }
                guard let tag = try? Tag(tagName),
                    let digest = try await readLink(RegistryPaths.tagCurrentLink(repository, tag))
                else { continue }
                if let stamp = known[tagName], stamp.digest == digest.description {
                    change.touched[tagName] = modified
                    continue
                }
                guard let facts = try await inspector.facts(of: digest) else { continue }
                change.written.append((tagName, digest.description, facts, modified))
            }
            // A tag the walk missed is gone only if its link is really not there (a folder that vanished while
            // it was walked, an unmounted volume, reads as empty).
            for tagName in known.keys where scan.tags[tagName] == nil && ImageInspector.cosignSubject(ofTag: tagName) == nil {
                guard let tag = try? Tag(tagName), try await driver.stat(RegistryPaths.tagCurrentLink(repository, tag)) == nil else { continue }
                change.removed.append(tagName)
            }
            // OCI referrers live in the revisions folder, which gains an entry whenever a manifest is pushed.
            let revisions = CatalogMirror.nanoseconds(
                try await driver.stat(RegistryPaths.revisionsDirectory(repository, .sha256))?.modified
            )
            if revisions != (id.flatMap { revisionStamps[$0] } ?? 0) || !change.written.isEmpty {
                change.revisionsModified = revisions
                change.referrers = try await referrers(of: repository, scan: scan, inspector: inspector)
            }
            report.tagsWritten += change.written.count
            report.tagsRemoved += change.removed.count
            if change.isEmpty == false { changes.append(change) }
            // Written a batch at a time, so a first pass over a million tags never holds all their facts.
            if changes.count >= batchSize {
                try await write(changes)
                changes.removeAll(keepingCapacity: true)
            }
        }
        var gone: [String: Int64] = [:]
        for (name, id) in ids where scans[name] == nil {
            guard let repository = try? RepositoryName(name),
                try await driver.stat(RegistryPaths.manifestsDirectory(repository)) == nil
            else { continue }
            gone[name] = id
        }
        report.repositoriesRemoved = gone.count
        // Everything read: if the root went away meanwhile, what looked deleted was only unreachable.
        guard try await driver.stat(RegistryPaths.repositoriesRoot)?.isDirectory == true || scans.isEmpty && ids.isEmpty else {
            throw StorageError(.notFound, "\(RegistryPaths.repositoriesRoot) went missing during the pass; the catalogue is kept as it is")
        }
        try await write(changes)
        if !gone.isEmpty {
            let removed = Array(gone.values)
            try await pool.write { transaction in
                for id in removed { try transaction.repositories.delete(id: id) }
            }
        }
        report.duration = ContinuousClock.now - started
        return report
    }

    /// Writes a batch of changes in one transaction, if the root is still there: a removal was confirmed by a look
    /// that finds nothing once the volume is gone.
    func write(_ batch: [RepositoryChange]) async throws {
        guard !batch.isEmpty else { return }
        guard try await driver.stat(RegistryPaths.repositoriesRoot)?.isDirectory == true else {
            throw StorageError(.notFound, "\(RegistryPaths.repositoriesRoot) went missing during the pass; the catalogue is kept as it is")
        }
        let logger = self.logger
        try await pool.write { transaction in
            for change in batch {
                do {
                    try change.apply(in: transaction)
                } catch let error as DatabaseError where error.code == .invalidValue {
                    // Refused before any SQL ran: one repository's odd content never stops the pass.
                    logger.warning("repository not mirrored", metadata: ["repository": "\(change.name)", "error": "\(error)"])
                }
            }
        }
    }

    /// Every repository under the storage root with its tags' link times.
    func walk() async throws -> [String: Scan] {
        guard try await driver.stat(RegistryPaths.repositoriesRoot)?.isDirectory == true else {
            // An empty installation has no folder yet; a folder that vanished (an unmounted volume) must not
            // empty the mirror.
            let mirrored = try await pool.read { try $0.repositories.count() }
            if mirrored == 0 { return [:] }
            throw StorageError(.notFound, "\(RegistryPaths.repositoriesRoot) is missing; the catalogue is kept as it is")
        }
        let prefix = RegistryPaths.repositoriesRoot + "/"
        var repositories: [String] = []
        // The walk finds repositories (folders holding `_manifests`) and goes no deeper into them.
        try await driver.walk(RegistryPaths.repositoriesRoot) { entry in
            guard entry.isDirectory, entry.path.hasPrefix(prefix) else { return .skip }
            if entry.name == RegistryPaths.manifestsFolder {
                let relative = entry.path.dropFirst(prefix.count)
                repositories.append(String(relative.dropLast(RegistryPaths.manifestsFolder.count + 1)))
                return .skip
            }
            return RegistryPaths.isNameComponent(String(entry.name)) ? .descend : .skip
        }
        // Then one listing of each repository's tags and one look at each tag's link: a moved tag changes only
        // that file, and a look by path costs a fraction of opening its two folders.
        var scans: [String: Scan] = [:]
        for (index, name) in repositories.enumerated() {
            var scan = Scan()
            if let repository = try? RepositoryName(name) {
                for tagName in try await driver.list(RegistryPaths.tagsDirectory(repository)) ?? [] {
                    guard let tag = try? Tag(tagName), let file = try await driver.stat(RegistryPaths.tagCurrentLink(repository, tag)),
                        !file.isDirectory
                    else { continue }
                    scan.tags[tagName] = CatalogMirror.nanoseconds(file.modified)
                }
            }
            scans[name] = scan
            // Storage calls do not suspend: let the requests sharing this thread run now and then.
            if index % 256 == 255 { await Task.yield() }
        }
        return scans
    }

    /// The repository's referrers: manifests with a `subject`, cosign's tags, and its indexes' attestations.
    func referrers(of repository: RepositoryName, scan: Scan, inspector: ImageInspector) async throws -> Set<ReferrerRecord> {
        var found = Set<ReferrerRecord>()
        for name in try await driver.list(RegistryPaths.revisionsDirectory(repository, .sha256)) ?? [] {
            // The folder's name is the digest (as distribution's own listing has it); the link is not read again.
            guard let digest = try? OCIDigest(algorithm: .sha256, hex: name), let facts = try await inspector.facts(of: digest) else { continue }
            found.formUnion(facts.referrers(digest: digest.description))
        }
        for tagName in scan.tags.keys {
            guard ImageInspector.cosignSubject(ofTag: tagName) != nil, let tag = try? Tag(tagName),
                let digest = try await readLink(RegistryPaths.tagCurrentLink(repository, tag)),
                let facts = try await inspector.facts(of: digest)
            else { continue }
            found.formUnion(facts.referrers(digest: digest.description, tag: tagName))
        }
        return found
    }

    func readLink(_ path: String) async throws -> OCIDigest? {
        guard let bytes = try await driver.read(path, limit: 1024) else { return nil }
        return try? OCIDigest(parsing: String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

/// What a pass writes for one repository.
struct RepositoryChange: Sendable {
    let name: String
    let id: Int64?
    var written: [(tag: String, digest: String, facts: ImageFacts, modified: Int64)] = []
    var touched: [String: Int64] = [:]
    var removed: [String] = []
    var revisionsModified: Int64?
    var referrers: Set<ReferrerRecord>?

    init(name: String, id: Int64?) {
        self.name = name
        self.id = id
    }

    var isEmpty: Bool { id != nil && written.isEmpty && touched.isEmpty && removed.isEmpty && referrers == nil }

    func apply(in transaction: Transaction) throws {
        let repositoryID = try id ?? transaction.repositories.findOrCreate(name: name).id
        for (tag, digest, facts, modified) in written where ImageInspector.cosignSubject(ofTag: tag) == nil {
            // Found in storage, not pushed through this process: the link's time is the push time.
            // Only over an older row: a push through Wharf during the pass wrote a newer one, with its pusher.
            try transaction.tags.write(
                repositoryID: repositoryID,
                facts.tagRecord(
                    name: tag,
                    digest: digest,
                    pusher: (nil, nil),
                    pushedAt: Date(timeIntervalSince1970: Double(modified) / 1_000_000_000),
                    linkModified: modified
                ),
                onlyIfNewer: true
            )
        }
        for (tag, modified) in touched { try transaction.tags.setLinkModified(repositoryID: repositoryID, name: tag, modified) }
        for tag in removed { try transaction.tags.delete(repositoryID: repositoryID, name: tag) }
        if let referrers {
            try transaction.referrers.replace(repositoryID: repositoryID, with: referrers)
            try transaction.repositories.setRevisionsModified(id: repositoryID, revisionsModified ?? 0)
        }
        try transaction.repositories.summarize(id: repositoryID)
    }
}
