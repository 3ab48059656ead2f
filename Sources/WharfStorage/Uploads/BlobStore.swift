import Foundation
import Logging
import NIOCore
import WharfCore

#if canImport(Glibc)
import Glibc
#endif

/// Blobs and their upload sessions.
///
/// The actor owns only the table of upload sessions and who is writing to each; reading, hashing and writing
/// bytes happen in the calling request's task through the nonisolated methods, so N uploads use N cores. No
/// storage call runs inside the actor: a method reserves a session in the actor, does its I/O outside, and
/// commits the outcome in a second short actor call, so one slow disk call never holds up every other upload.
public actor BlobStore {
    public nonisolated let driver: any StorageDriver

    private struct Entry {
        /// nil while the request that reserved the session is still reading it from storage.
        var session: UploadSession?
        var busy: Bool
    }

    private var sessions: [UploadID: Entry] = [:]
    /// Sessions being removed (cancelled or purged): until their files are gone, nobody may take them, or a
    /// request could load one from storage in between and write on into a session whose files are going.
    private var removing: Set<UploadID> = []

    public init(driver: any StorageDriver) {
        self.driver = driver
    }

    // MARK: Blobs

    /// The size of a blob readable through `repository`, or nil when the repository has no link to it.
    public nonisolated func blobSize(_ digest: OCIDigest, in repository: RepositoryName) async throws -> Int64? {
        guard try await isLinked(digest, in: repository) else { return nil }
        return try await driver.stat(RegistryPaths.blobData(digest)).flatMap { $0.isDirectory ? nil : $0.size }
    }

    /// Opens a blob readable through `repository` for streaming, or nil.
    public nonisolated func openBlob(_ digest: OCIDigest, in repository: RepositoryName) async throws -> (any StorageReader)? {
        guard try await isLinked(digest, in: repository) else { return nil }
        return try await driver.reader(RegistryPaths.blobData(digest))
    }

    /// Whether `repository` links `digest` as a layer (or as a manifest, which is also content of the repository).
    public nonisolated func isLinked(_ digest: OCIDigest, in repository: RepositoryName) async throws -> Bool {
        if try await readLink(RegistryPaths.layerLink(repository, digest)) == digest { return true }
        return try await readLink(RegistryPaths.revisionLink(repository, digest)) == digest
    }

    /// Whether the blob's data exists anywhere in storage.
    public nonisolated func blobExists(_ digest: OCIDigest) async throws -> Bool {
        try await driver.stat(RegistryPaths.blobData(digest)).map { !$0.isDirectory } ?? false
    }

    /// Removes the repository's link to a blob (the data stays until garbage collection). Throws BLOB_UNKNOWN when absent.
    public nonisolated func unlinkBlob(_ digest: OCIDigest, in repository: RepositoryName) async throws {
        guard try await readLink(RegistryPaths.layerLink(repository, digest)) == digest else {
            throw ContentError(.blobUnknown, detail: digest.description)
        }
        try await driver.delete(RegistryPaths.layerDirectory(repository, digest))
    }

    /// Links an existing blob into `repository` (a cross-repository mount). Returns its size, or nil when the
    /// blob is not readable through `source` (or, without a source, not stored at all).
    ///
    /// The link is written before the data is looked at, and a mount that then finds no data takes its link back
    /// and mounts nothing (the client uploads the blob instead): garbage collection may be parking the blob, and
    /// either it sees this link and restores the blob, or this mount sees the blob gone (see ``GarbageCollector``).
    public nonisolated func mount(_ digest: OCIDigest, into repository: RepositoryName, from source: RepositoryName?) async throws -> Int64? {
        if let source {
            guard try await isLinked(digest, in: source) else { return nil }
        }
        guard try await blobExists(digest) else { return nil }
        let link = RegistryPaths.layerLink(repository, digest)
        let wasLinked = try await readLink(link) == digest
        try await driver.write(link, contents: RegistryPaths.linkContent(digest))
        guard let info = try await driver.stat(RegistryPaths.blobData(digest)), !info.isDirectory else {
            if !wasLinked { try await driver.delete(RegistryPaths.layerDirectory(repository, digest)) }
            return nil
        }
        return info.size
    }

    nonisolated func readLink(_ path: String) async throws -> OCIDigest? {
        guard let bytes = try await driver.read(path, limit: 1024) else { return nil }
        return try? OCIDigest(parsing: String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    // MARK: Upload sessions

    /// Starts an upload session for `repository`; its marker files are in storage before this returns, so the
    /// session survives a restart. `id` is chosen by the caller when it must be known first (to count it against
    /// the account's ``UploadQuota`` before anything is written).
    public nonisolated func startUpload(in repository: RepositoryName, id: UploadID = .random(), now: Date = Date()) async throws -> UploadSession {
        // A session marker needs no flush: after a power loss the client starts the upload again.
        try await driver.write(RegistryPaths.uploadStartedAt(repository, id), contents: Array(Self.format(now).utf8), durable: false)
        try await driver.writer(RegistryPaths.uploadData(repository, id), append: false).close()
        let session = UploadSession(
            id: id,
            repository: repository,
            offset: 0,
            hasher: ContentHasher(),
            startedAt: now.timeIntervalSince1970
        )
        await register(session)
        return session
    }

    private func register(_ session: UploadSession) {
        sessions[session.id] = Entry(session: session, busy: false)
    }

    /// The session's state without taking it (for status requests).
    public nonisolated func status(of id: UploadID, in repository: RepositoryName) async throws -> UploadSession {
        let known = try await remembered(id, in: repository)
        if let known, known.busy { return known.session }
        // Not being written here: storage may have moved on (another process purged or extended it).
        let stored = try await loadFromStorage(id, repository, remembered: known?.session)
        await refresh(stored)
        return stored
    }

    /// What the table holds for a session: the session and whether a request is writing to it; nil when it is not
    /// in the table (or still being read from storage by the request that reserved it).
    private func remembered(_ id: UploadID, in repository: RepositoryName) throws -> (session: UploadSession, busy: Bool)? {
        guard !removing.contains(id) else { throw ContentError(.uploadUnknown, detail: id.value) }
        guard let entry = sessions[id], let session = entry.session else { return nil }
        guard session.repository == repository else { throw ContentError(.uploadUnknown, detail: id.value) }
        return (session, entry.busy)
    }

    /// Stores what a status request read, unless a request took the session meanwhile (its state is newer).
    private func refresh(_ session: UploadSession) {
        guard !removing.contains(session.id), sessions[session.id]?.busy != true else { return }
        sessions[session.id] = Entry(session: session, busy: false)
    }

    /// Takes the session for writing; one request at a time may hold it. Give it back with `checkIn`.
    public nonisolated func checkOut(_ id: UploadID, in repository: RepositoryName) async throws -> UploadSession {
        let known = try await reserve(id, in: repository)
        let session: UploadSession
        do {
            // Another process on the same storage (a replica, distribution) may have purged or extended the
            // session since: writing on at the remembered offset would recreate a sparse file or overwrite its
            // chunk, and the remembered hash would then vouch for content the file does not hold.
            session = try await loadFromStorage(id, repository, remembered: known)
        } catch {
            await release(id, forget: true)
            throw error
        }
        guard await settle(session) else { throw ContentError(.uploadUnknown, detail: id.value) }
        return session
    }

    /// Marks a session busy before its files are read; returns what the table knew of it.
    private func reserve(_ id: UploadID, in repository: RepositoryName) throws -> UploadSession? {
        guard !removing.contains(id) else { throw ContentError(.uploadUnknown, detail: id.value) }
        guard var entry = sessions[id] else {
            sessions[id] = Entry(session: nil, busy: true)
            return nil
        }
        if let session = entry.session, session.repository != repository { throw ContentError(.uploadUnknown, detail: id.value) }
        guard !entry.busy else {
            throw ContentError(.outOfOrder, "another request is writing to this upload", uploadOffset: entry.session?.offset ?? 0)
        }
        entry.busy = true
        sessions[id] = entry
        return entry.session
    }

    /// Records the session a reservation read; false when it was cancelled or purged meanwhile.
    private func settle(_ session: UploadSession) -> Bool {
        guard sessions[session.id]?.busy == true, !removing.contains(session.id) else { return false }
        sessions[session.id] = Entry(session: session, busy: true)
        return true
    }

    /// Ends a reservation that found nothing usable.
    private func release(_ id: UploadID, forget: Bool) {
        guard var entry = sessions[id] else { return }
        if forget || entry.session == nil {
            sessions[id] = nil
        } else {
            entry.busy = false
            sessions[id] = entry
        }
    }

    /// Gives a session back after writing, with its new offset and hash state. Returns false when the session was
    /// cancelled while it was checked out: then whatever the writer left (it may have recreated the data file) is
    /// removed, so no session lives on in memory without its files.
    @discardableResult
    public nonisolated func checkIn(_ session: UploadSession) async -> Bool {
        guard await giveBack(session) else {
            try? await driver.delete(RegistryPaths.uploadDirectory(session.repository, session.id))
            return false
        }
        return true
    }

    private func giveBack(_ session: UploadSession) -> Bool {
        guard sessions[session.id] != nil else { return false }
        sessions[session.id] = Entry(session: session, busy: false)
        return true
    }

    /// Gives a session back after a failure and returns the error to report: the failure itself, or
    /// `uploadUnknown` when the session was cancelled meanwhile (its folder vanishing mid-write is no 500).
    public nonisolated func checkIn(_ session: UploadSession, after error: any Error) async -> any Error {
        await checkIn(session) ? error : ContentError(.uploadUnknown, detail: session.id.value)
    }

    /// Forgets a finished or cancelled session.
    func forget(_ id: UploadID) {
        sessions[id] = nil
    }

    /// The session as storage holds it. `remembered` is kept (with its hash state) when storage still agrees
    /// with it; otherwise the session is rebuilt from its files, its hash to be recomputed on next use.
    private nonisolated func loadFromStorage(
        _ id: UploadID,
        _ repository: RepositoryName,
        remembered: UploadSession?
    ) async throws -> UploadSession {
        guard let info = try await driver.stat(RegistryPaths.uploadData(repository, id)), !info.isDirectory else {
            throw ContentError(.uploadUnknown, detail: id.value)
        }
        if let remembered, remembered.offset == info.size { return remembered }
        guard let started = try await driver.read(RegistryPaths.uploadStartedAt(repository, id), limit: 1024) else {
            throw ContentError(.uploadUnknown, detail: id.value)
        }
        let startedAt = Self.parse(String(decoding: started, as: UTF8.self))?.timeIntervalSince1970 ?? info.modified
        return UploadSession(id: id, repository: repository, offset: info.size, hasher: nil, startedAt: startedAt)
    }

    /// Appends a request body to the session at its offset, hashing as it goes. On failure the session keeps
    /// what was written whole (the client can ask for the offset and resume), and the error is rethrown.
    ///
    /// - Parameters:
    ///   - limit: the most bytes this body may carry (from `Content-Range`/`Content-Length`), or nil.
    ///   - maxSize: the most bytes the whole upload may reach (`uploads.max_blob_size`), or nil. A body that would
    ///     pass it throws `tooLarge` before the buffer that crosses it is written, so a body without a
    ///     declared length stops there too.
    public nonisolated func append<Body: AsyncSequence>(
        _ body: Body,
        to session: inout UploadSession,
        limit: Int64? = nil,
        maxSize: Int64? = nil
    ) async throws where Body.Element == ByteBuffer {
        try await rebuildHashIfNeeded(&session)
        let writer = try await driver.writer(RegistryPaths.uploadData(session.repository, session.id), append: true)
        guard writer.size == session.offset else {
            // The file changed between check-out and here (another process wrote to it): start over from storage.
            try? await writer.close()
            throw ContentError(.outOfOrder, "the upload changed while this chunk started", uploadOffset: writer.size)
        }
        let start = session.offset
        do {
            for try await buffer in body {
                if let limit, session.offset - start + Int64(buffer.readableBytes) > limit {
                    throw ContentError(.sizeInvalid, detail: "body is longer than the declared length of \(limit) bytes")
                }
                if let maxSize, session.offset + Int64(buffer.readableBytes) > maxSize {
                    throw Self.tooLarge(maxSize)
                }
                try await writer.append(buffer)
                buffer.withUnsafeReadableBytes { session.hasher!.update(bufferPointer: $0) }
                session.offset += Int64(buffer.readableBytes)
            }
        } catch {
            // The writer took back a buffer it wrote in part: the file holds exactly `session.offset` bytes.
            try? await writer.close()
            throw error
        }
        try await writer.close()
    }

    /// The error for an upload that would pass `uploads.max_blob_size`.
    public nonisolated static func tooLarge(_ maxSize: Int64) -> ContentError {
        ContentError(.tooLarge, "blob too large", detail: "the largest blob accepted is \(maxSize) bytes (uploads.max_blob_size)")
    }

    /// Recomputes the hash of the data already received, after a restart.
    nonisolated func rebuildHashIfNeeded(_ session: inout UploadSession) async throws {
        guard session.hasher == nil else { return }
        var hasher = ContentHasher()
        let path = RegistryPaths.uploadData(session.repository, session.id)
        guard let reader = try await driver.reader(path) else { throw ContentError(.uploadUnknown, detail: session.id.value) }
        session.offset = try await hash(reader, into: &hasher)
        session.hasher = hasher
    }

    /// Hashes a whole file; returns its length.
    nonisolated func hash(_ reader: any StorageReader, into hasher: inout ContentHasher) async throws -> Int64 {
        var offset: Int64 = 0
        for try await buffer in reader.chunks() {
            buffer.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
            offset += Int64(buffer.readableBytes)
        }
        return offset
    }

    /// Finishes a checked-out session: verifies the digest, moves the data into place atomically and links the
    /// blob into the repository. A wrong digest removes the session and its data and throws `digestInvalid`.
    /// Returns the blob's size.
    public nonisolated func commit(_ session: UploadSession, expected: OCIDigest) async throws -> Int64 {
        var session = session
        let dataPath = RegistryPaths.uploadData(session.repository, session.id)
        let actual: OCIDigest
        do {
            try await rebuildHashIfNeeded(&session)
            if expected.algorithm == session.hasher!.algorithm {
                actual = session.hasher!.finalize()
            } else {
                var hasher = ContentHasher(algorithm: expected.algorithm)
                guard let reader = try await driver.reader(dataPath) else { throw ContentError(.uploadUnknown, detail: session.id.value) }
                _ = try await hash(reader, into: &hasher)
                actual = hasher.finalize()
            }
        } catch {
            throw await checkIn(session, after: error)
        }
        guard actual == expected else {
            try? await driver.delete(RegistryPaths.uploadDirectory(session.repository, session.id))
            await forget(session.id)
            throw ContentError(.digestInvalid, detail: "expected \(expected), content has \(actual)")
        }
        do {
            // The link first, then the data: garbage collection parking a blob of this digest either sees the
            // link (and restores the blob) or has parked it before the look below (which then puts this data in).
            try await driver.write(RegistryPaths.layerLink(session.repository, expected), contents: RegistryPaths.linkContent(expected))
            if try await blobExists(expected) {
                try await driver.delete(dataPath)
            } else {
                try await driver.move(dataPath, to: RegistryPaths.blobData(expected))
            }
        } catch {
            throw await checkIn(session, after: error)
        }
        try? await driver.delete(RegistryPaths.uploadDirectory(session.repository, session.id))
        await forget(session.id)
        return session.offset
    }

    /// Cancels an upload and removes its data.
    public nonisolated func cancel(_ id: UploadID, in repository: RepositoryName) async throws {
        let known = try await claimForRemoval(id, in: repository)
        let outcome: Result<Void, any Error>
        do {
            let onDisk = try await driver.stat(RegistryPaths.uploadDirectory(repository, id)) != nil
            guard known || onDisk else { throw ContentError(.uploadUnknown, detail: id.value) }
            try await driver.delete(RegistryPaths.uploadDirectory(repository, id))
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        await removed(id)
        try outcome.get()
    }

    /// Takes a session out of the table for removal (whether or not a request is writing to it: that request's
    /// check-in then removes what it wrote). Returns whether the table knew it.
    private func claimForRemoval(_ id: UploadID, in repository: RepositoryName) throws -> Bool {
        if let session = sessions[id]?.session, session.repository != repository {
            throw ContentError(.uploadUnknown, detail: id.value)
        }
        guard !removing.contains(id) else { throw ContentError(.uploadUnknown, detail: id.value) }
        removing.insert(id)
        return sessions.removeValue(forKey: id) != nil
    }

    /// The session's files are gone: its id may be looked up again (and is unknown).
    private func removed(_ id: UploadID) {
        removing.remove(id)
    }

    // MARK: Purging abandoned uploads

    /// Removes upload sessions started before `cutoff` that nobody is writing to. Returns how many were removed.
    public nonisolated func purgeUploads(startedBefore cutoff: Date, repositories: [RepositoryName]) async -> Int {
        await purgeUploadSessions(startedBefore: cutoff, repositories: repositories).count
    }

    /// Removes upload sessions started before `cutoff` that nobody is writing to, and returns their ids.
    /// Storage is read outside the actor; each candidate is claimed in one actor call, its files removed outside,
    /// and released in another.
    public nonisolated func purgeUploadSessions(startedBefore cutoff: Date, repositories: [RepositoryName]) async -> [UploadID] {
        var removed: [UploadID] = []
        for repository in repositories {
            guard let names = try? await driver.list(RegistryPaths.uploadsDirectory(repository)) else { continue }
            for name in names {
                guard let id = try? UploadID(name) else { continue }
                let started: Double
                if let text = try? await driver.read(RegistryPaths.uploadStartedAt(repository, id), limit: 1024),
                    let date = Self.parse(String(decoding: text, as: UTF8.self))
                {
                    started = date.timeIntervalSince1970
                } else {
                    started = (try? await driver.stat(RegistryPaths.uploadDirectory(repository, id)))??.modified ?? 0
                }
                guard started < cutoff.timeIntervalSince1970, await claimForPurge(id) else { continue }
                try? await driver.delete(RegistryPaths.uploadDirectory(repository, id))
                await self.removed(id)
                removed.append(id)
            }
        }
        return removed
    }

    /// Claims a session nobody is writing to for removal; false when a request holds it.
    private func claimForPurge(_ id: UploadID) -> Bool {
        if let entry = sessions[id], entry.busy { return false }
        guard !removing.contains(id) else { return false }
        sessions[id] = nil
        removing.insert(id)
        return true
    }

    // distribution writes `startedat` as RFC 3339 text.
    nonisolated static func format(_ date: Date) -> String {
        date.formatted(.iso8601)
    }

    nonisolated static func parse(_ text: String) -> Date? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if let date = try? Date(trimmed, strategy: .iso8601) { return date }
        // Go's RFC3339Nano: fractional seconds and a numeric offset.
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: trimmed) { return date }
        if let dot = trimmed.firstIndex(of: "."), let zone = trimmed[dot...].firstIndex(where: { $0 == "Z" || $0 == "+" || $0 == "-" }) {
            return try? Date(String(trimmed[..<dot]) + String(trimmed[zone...]), strategy: .iso8601)
        }
        return nil
    }
}
