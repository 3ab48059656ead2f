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
/// bytes happen in the calling request's task through the nonisolated methods, so N uploads use N cores.
public actor BlobStore {
    public nonisolated let driver: any StorageDriver

    private struct Entry {
        var session: UploadSession
        var busy: Bool
    }

    private var sessions: [UploadID: Entry] = [:]

    public init(driver: any StorageDriver) {
        self.driver = driver
    }

    // MARK: Blobs

    /// The size of a blob readable through `repository`, or nil when the repository has no link to it.
    public nonisolated func blobSize(_ digest: OCIDigest, in repository: RepositoryName) throws -> Int64? {
        guard try isLinked(digest, in: repository) else { return nil }
        return try driver.info(RegistryPaths.blobData(digest)).flatMap { $0.isDirectory ? nil : $0.size }
    }

    /// Opens a blob readable through `repository` for streaming, or nil.
    public nonisolated func openBlob(_ digest: OCIDigest, in repository: RepositoryName) throws -> (any StorageReader)? {
        guard try isLinked(digest, in: repository) else { return nil }
        return try driver.openForReading(RegistryPaths.blobData(digest))
    }

    /// Whether `repository` links `digest` as a layer (or as a manifest, which is also content of the repository).
    public nonisolated func isLinked(_ digest: OCIDigest, in repository: RepositoryName) throws -> Bool {
        if try readLink(RegistryPaths.layerLink(repository, digest)) == digest { return true }
        return try readLink(RegistryPaths.revisionLink(repository, digest)) == digest
    }

    /// Whether the blob's data exists anywhere in storage.
    public nonisolated func blobExists(_ digest: OCIDigest) throws -> Bool {
        try driver.info(RegistryPaths.blobData(digest)).map { !$0.isDirectory } ?? false
    }

    /// Removes the repository's link to a blob (the data stays until garbage collection). Throws BLOB_UNKNOWN when absent.
    public nonisolated func unlinkBlob(_ digest: OCIDigest, in repository: RepositoryName) throws {
        guard try readLink(RegistryPaths.layerLink(repository, digest)) == digest else {
            throw ContentError(.blobUnknown, detail: digest.description)
        }
        try driver.remove(RegistryPaths.layerDirectory(repository, digest))
    }

    /// Links an existing blob into `repository` (a cross-repository mount). Returns its size, or nil when the
    /// blob is not readable through `source` (or, without a source, not stored at all).
    public nonisolated func mount(_ digest: OCIDigest, into repository: RepositoryName, from source: RepositoryName?) async throws -> Int64? {
        if let source {
            guard try isLinked(digest, in: source) else { return nil }
        }
        guard let info = try driver.info(RegistryPaths.blobData(digest)), !info.isDirectory else { return nil }
        try await driver.write(RegistryPaths.layerLink(repository, digest), contents: RegistryPaths.linkContent(digest))
        return info.size
    }

    nonisolated func readLink(_ path: String) throws -> OCIDigest? {
        guard let bytes = try driver.read(path, limit: 1024) else { return nil }
        return try? OCIDigest(parsing: String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    // MARK: Upload sessions

    /// Starts an upload session for `repository`; its marker files are in storage before this returns, so the
    /// session survives a restart. `id` is chosen by the caller when it must be known first (to count it against
    /// the account's ``UploadQuota`` before anything is written).
    public nonisolated func startUpload(in repository: RepositoryName, id: UploadID = .random(), now: Date = Date()) async throws -> UploadSession {
        // A session marker needs no flush: after a power loss the client starts the upload again.
        try await driver.write(RegistryPaths.uploadStartedAt(repository, id), contents: Array(Self.format(now).utf8), durable: false)
        let writer = try driver.openForWriting(RegistryPaths.uploadData(repository, id))
        writer.close()
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
    public func status(of id: UploadID, in repository: RepositoryName) throws -> UploadSession {
        if let entry = sessions[id] {
            guard entry.session.repository == repository else { throw ContentError(.uploadUnknown, detail: id.value) }
            if entry.busy { return entry.session }
            // Not being written here: storage may have moved on (another process purged or extended it).
            guard let info = try driver.info(RegistryPaths.uploadData(repository, id)), !info.isDirectory else {
                sessions[id] = nil
                throw ContentError(.uploadUnknown, detail: id.value)
            }
            if info.size == entry.session.offset { return entry.session }
        }
        let session = try loadFromStorage(id, repository)
        sessions[id] = Entry(session: session, busy: false)
        return session
    }

    /// Takes the session for writing; one request at a time may hold it. Give it back with `checkIn`.
    public func checkOut(_ id: UploadID, in repository: RepositoryName) throws -> UploadSession {
        if var entry = sessions[id] {
            guard entry.session.repository == repository else { throw ContentError(.uploadUnknown, detail: id.value) }
            guard !entry.busy else {
                throw ContentError(.outOfOrder, "another request is writing to this upload", uploadOffset: entry.session.offset)
            }
            // Another process on the same storage (a replica, distribution) may have purged or extended the
            // session since: writing on at the remembered offset would recreate a sparse file or overwrite its
            // chunk, and the remembered hash would then vouch for content the file does not hold.
            guard let info = try driver.info(RegistryPaths.uploadData(repository, id)), !info.isDirectory else {
                sessions[id] = nil
                throw ContentError(.uploadUnknown, detail: id.value)
            }
            if info.size != entry.session.offset {
                entry.session = try loadFromStorage(id, repository)
            }
            entry.busy = true
            sessions[id] = entry
            return entry.session
        }
        let session = try loadFromStorage(id, repository)
        sessions[id] = Entry(session: session, busy: true)
        return session
    }

    /// Gives a session back after writing, with its new offset and hash state. Returns false when the session was
    /// cancelled while it was checked out: then whatever the writer left (it may have recreated the data file) is
    /// removed, so no session lives on in memory without its files.
    @discardableResult
    public func checkIn(_ session: UploadSession) -> Bool {
        guard sessions[session.id] != nil else {
            try? driver.remove(RegistryPaths.uploadDirectory(session.repository, session.id))
            return false
        }
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

    private func loadFromStorage(_ id: UploadID, _ repository: RepositoryName) throws -> UploadSession {
        guard let started = try driver.read(RegistryPaths.uploadStartedAt(repository, id), limit: 1024),
            let info = try driver.info(RegistryPaths.uploadData(repository, id))
        else {
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
        try rebuildHashIfNeeded(&session)
        let writer = try driver.openForWriting(RegistryPaths.uploadData(session.repository, session.id))
        defer { writer.close() }
        let start = session.offset
        do {
            for try await buffer in body {
                if let limit, session.offset - start + Int64(buffer.readableBytes) > limit {
                    throw ContentError(.sizeInvalid, detail: "body is longer than the declared length of \(limit) bytes")
                }
                if let maxSize, session.offset + Int64(buffer.readableBytes) > maxSize {
                    throw Self.tooLarge(maxSize)
                }
                try writer.write(buffer, at: session.offset)
                buffer.withUnsafeReadableBytes { session.hasher!.update(bufferPointer: $0) }
                session.offset += Int64(buffer.readableBytes)
            }
        } catch {
            try? writer.truncate(to: session.offset)
            throw error
        }
    }

    /// The error for an upload that would pass `uploads.max_blob_size`.
    public nonisolated static func tooLarge(_ maxSize: Int64) -> ContentError {
        ContentError(.tooLarge, "blob too large", detail: "the largest blob accepted is \(maxSize) bytes (uploads.max_blob_size)")
    }

    /// Recomputes the hash of the data already received, after a restart.
    nonisolated func rebuildHashIfNeeded(_ session: inout UploadSession) throws {
        guard session.hasher == nil else { return }
        var hasher = ContentHasher()
        let path = RegistryPaths.uploadData(session.repository, session.id)
        guard let reader = try driver.openForReading(path) else { throw ContentError(.uploadUnknown, detail: session.id.value) }
        session.offset = try hash(reader, upTo: reader.size, into: &hasher)
        session.hasher = hasher
    }

    nonisolated func hash(_ reader: any StorageReader, upTo size: Int64, into hasher: inout ContentHasher) throws -> Int64 {
        var offset: Int64 = 0
        let allocator = ByteBufferAllocator()
        while offset < size {
            let buffer = try reader.read(at: offset, length: Int(min(Int64(1 << 20), size - offset)), allocator: allocator)
            if buffer.readableBytes == 0 { break }
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
            try rebuildHashIfNeeded(&session)
            if expected.algorithm == session.hasher!.algorithm {
                actual = session.hasher!.finalize()
            } else {
                var hasher = ContentHasher(algorithm: expected.algorithm)
                guard let reader = try driver.openForReading(dataPath) else { throw ContentError(.uploadUnknown, detail: session.id.value) }
                _ = try hash(reader, upTo: reader.size, into: &hasher)
                actual = hasher.finalize()
            }
        } catch {
            throw await checkIn(session, after: error)
        }
        guard actual == expected else {
            try? driver.remove(RegistryPaths.uploadDirectory(session.repository, session.id))
            await forget(session.id)
            throw ContentError(.digestInvalid, detail: "expected \(expected), content has \(actual)")
        }
        do {
            if try blobExists(expected) {
                try driver.remove(dataPath)
            } else {
                try await driver.move(dataPath, to: RegistryPaths.blobData(expected))
            }
            try await driver.write(RegistryPaths.layerLink(session.repository, expected), contents: RegistryPaths.linkContent(expected))
        } catch {
            throw await checkIn(session, after: error)
        }
        try? driver.remove(RegistryPaths.uploadDirectory(session.repository, session.id))
        await forget(session.id)
        return session.offset
    }

    /// Cancels an upload and removes its data.
    public func cancel(_ id: UploadID, in repository: RepositoryName) throws {
        if let entry = sessions[id], entry.session.repository != repository {
            throw ContentError(.uploadUnknown, detail: id.value)
        }
        let onDisk = try driver.info(RegistryPaths.uploadDirectory(repository, id)) != nil
        guard sessions[id] != nil || onDisk else {
            throw ContentError(.uploadUnknown, detail: id.value)
        }
        sessions[id] = nil
        try driver.remove(RegistryPaths.uploadDirectory(repository, id))
    }

    // MARK: Purging abandoned uploads

    /// Removes upload sessions started before `cutoff` that nobody is writing to. Returns how many were removed.
    public nonisolated func purgeUploads(startedBefore cutoff: Date, repositories: [RepositoryName]) async -> Int {
        await purgeUploadSessions(startedBefore: cutoff, repositories: repositories).count
    }

    /// Removes upload sessions started before `cutoff` that nobody is writing to, and returns their ids.
    /// Storage is read outside the actor; each candidate is claimed and removed in one actor call.
    public nonisolated func purgeUploadSessions(startedBefore cutoff: Date, repositories: [RepositoryName]) async -> [UploadID] {
        var removed: [UploadID] = []
        for repository in repositories {
            guard let names = try? driver.list(RegistryPaths.uploadsDirectory(repository)) else { continue }
            for name in names {
                guard let id = try? UploadID(name) else { continue }
                let started: Double
                if let text = try? driver.read(RegistryPaths.uploadStartedAt(repository, id), limit: 1024),
                    let date = Self.parse(String(decoding: text, as: UTF8.self))
                {
                    started = date.timeIntervalSince1970
                } else {
                    started = (try? driver.info(RegistryPaths.uploadDirectory(repository, id)))??.modified ?? 0
                }
                if started < cutoff.timeIntervalSince1970, await purge(id, in: repository) {
                    removed.append(id)
                }
            }
        }
        return removed
    }

    /// Removes a session nobody is writing to. The files go inside the actor: removed outside it, a request could
    /// load the session from storage in between and keep writing to a session whose files are gone.
    private func purge(_ id: UploadID, in repository: RepositoryName) -> Bool {
        if let entry = sessions[id], entry.busy { return false }
        sessions[id] = nil
        try? driver.remove(RegistryPaths.uploadDirectory(repository, id))
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
