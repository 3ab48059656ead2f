import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A file written in full under a temporary name in its final folder, then given its final name in one step, so
/// a reader, or a crash, sees the old file or the new one and never a part of either. The one way Wharf writes a
/// whole file: storage links and small blobs, the generated certificate and key, and `DATA/secrets`.
///
/// `prepare` writes the temporary file (a hidden `.NAME.RANDOM.tmp` next to `path`, created exclusively);
/// ``publish(_:)`` gives it its name, ``discard()`` removes it. Every failure removes the temporary file.
/// ``write(_:to:permissions:durability:publication:)`` does all three steps.
public struct AtomicFile: Sendable {
    /// The name the file gets when published.
    public let path: String
    /// Where the content waits until then, in the same folder (a rename never crosses filesystems).
    public let temporaryPath: String

    /// How much of the write survives a power loss once the call returns.
    public enum Durability: Sendable {
        /// Nothing is flushed: the page cache decides (a crash may leave the old file, or an empty new one).
        case none
        /// The content is flushed before it gets its name (the file is whole if the name survives).
        case file
        /// The content, then after the rename the folder, so the new name itself survives (best effort: some
        /// filesystems cannot flush a folder).
        case fileAndFolder
    }

    /// What happens to a file already at `path`.
    public enum Publication: Sendable {
        /// `rename`: an existing file is replaced.
        case replacing
        /// `link`: an existing entry (a dangling symbolic link too) is never replaced; the call fails with
        /// ``AtomicFileError/Code/exists``. Filesystems without hard links fall back to a check then `rename`.
        case creatingOnly
    }

    init(path: String, temporaryPath: String) {
        self.path = path
        self.temporaryPath = temporaryPath
    }

    // MARK: One step

    /// Writes `bytes` as `path` (the folder must exist), flushing on the calling thread: for start-up and the
    /// command line, never on a request's path (use the `threadPool` variant there).
    ///
    /// - Parameter permissions: exactly these permission bits (the umask does not apply), as `0o600` for a
    ///   secret; nil: `0o644` less the umask, as for any new file.
    /// - Throws: ``AtomicFileError``.
    public static func write(
        _ bytes: [UInt8],
        to path: String,
        permissions: mode_t? = nil,
        durability: Durability,
        publication: Publication = .replacing
    ) throws {
        let file = try prepare(bytes, for: path, permissions: permissions, syncing: durability != .none)
        try file.publish(publication)
        if durability == .fileAndFolder { syncFolder(of: path) }
    }

    /// As ``write(_:to:permissions:durability:publication:)``, but any `fsync` runs on `threadPool`, so a slow
    /// disk never blocks the cooperative pool.
    public static func write(
        _ bytes: [UInt8],
        to path: String,
        permissions: mode_t? = nil,
        durability: Durability,
        publication: Publication = .replacing,
        threadPool: NIOThreadPool
    ) async throws {
        let file = try await prepare(bytes, for: path, permissions: permissions, syncing: durability != .none, threadPool: threadPool)
        try file.publish(publication)
        if durability == .fileAndFolder {
            try await threadPool.runIfActive { syncFolder(of: path) }
        }
    }

    // MARK: Two steps

    /// Writes `bytes` to a new temporary file next to `path`, flushed to disk first when `syncing` (on the calling
    /// thread). Publish or discard the result. Use it to write several files before giving any of them its name.
    ///
    /// - Throws: ``AtomicFileError``; the temporary file is gone then.
    public static func prepare(_ bytes: [UInt8], for path: String, permissions: mode_t? = nil, syncing: Bool) throws -> AtomicFile {
        let (descriptor, file) = try create(bytes, for: path, permissions: permissions)
        if syncing, fsync(descriptor) != 0 { throw file.fail(.sync, closing: descriptor) }
        try file.finishWriting(descriptor)
        return file
    }

    /// As ``prepare(_:for:permissions:syncing:)``, with the `fsync` on `threadPool`.
    public static func prepare(
        _ bytes: [UInt8],
        for path: String,
        permissions: mode_t? = nil,
        syncing: Bool,
        threadPool: NIOThreadPool
    ) async throws -> AtomicFile {
        let (descriptor, file) = try create(bytes, for: path, permissions: permissions)
        if syncing {
            let result: Int32
            do {
                result = try await threadPool.runIfActive { fsync(descriptor) == 0 ? 0 : errno }
            } catch {
                _ = close(descriptor)
                file.discard()
                throw error
            }
            if result != 0 {
                errno = result
                throw file.fail(.sync, closing: descriptor)
            }
        }
        try file.finishWriting(descriptor)
        return file
    }

    /// Gives the prepared file its name. On failure the temporary file is removed.
    ///
    /// - Throws: ``AtomicFileError`` (``AtomicFileError/Code/exists`` when `.creatingOnly` finds an entry).
    public func publish(_ publication: Publication = .replacing) throws {
        switch publication {
        case .replacing:
            guard rename(temporaryPath, path) == 0 else { throw fail(.publish, path: path) }
        case .creatingOnly:
            if link(temporaryPath, path) == 0 {
                discard()
                return
            }
            switch errno {
            case EEXIST:
                throw fail(.exists, path: path)
            case EPERM, ENOTSUP, EOPNOTSUPP, EMLINK, ENOSYS, EXDEV:
                var info = stat()
                guard lstat(path, &info) != 0 else {
                    errno = EEXIST
                    throw fail(.exists, path: path)
                }
                guard rename(temporaryPath, path) == 0 else { throw fail(.publish, path: path) }
            default:
                throw fail(.publish, path: path)
            }
        }
    }

    /// Removes the temporary file (a published file is left alone).
    public func discard() {
        _ = unlink(temporaryPath)
    }

    /// Flushes the folder holding `path`, so entries created or renamed in it survive a power loss. Best effort:
    /// some filesystems cannot flush a folder, and the files themselves are already whole.
    public static func syncFolder(of path: String) {
        let folder = path.lastIndex(of: "/").map { path[..<$0].isEmpty ? "/" : String(path[..<$0]) } ?? "."
        let descriptor = open(folder, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        _ = fsync(descriptor)
        _ = close(descriptor)
    }

    // MARK: Internals

    /// The temporary name: hidden (so listings of distribution's layout skip it) and random.
    static func temporaryPath(for path: String) -> String {
        let slash = path.lastIndex(of: "/")
        let folder = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        return "\(folder).\(name).\(String(UInt64.random(in: 0...UInt64.max), radix: 36)).tmp"
    }

    /// Whether `name` (a file name, no folder) is one ``temporaryPath(for:)`` makes: the work in progress of a
    /// write, which listings leave out.
    static func isTemporaryName(_ name: some StringProtocol) -> Bool {
        name.utf8.count >= 7 && name.hasPrefix(".") && name.hasSuffix(".tmp")
    }

    private static func create(_ bytes: [UInt8], for path: String, permissions: mode_t?) throws -> (Int32, AtomicFile) {
        let file = AtomicFile(path: path, temporaryPath: temporaryPath(for: path))
        let descriptor = open(file.temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, permissions ?? 0o644)
        guard descriptor >= 0 else { throw AtomicFileError(.create, path: file.temporaryPath, systemError: errno) }
        // The umask may have cleared bits of `permissions`; the result must be exactly them.
        if let permissions, fchmod(descriptor, permissions) != 0 { throw file.fail(.permissions, closing: descriptor) }
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress! + written, $0.count - written, off_t(written)) }
            if count < 0 {
                if errno == EINTR { continue }
                throw file.fail(.write, closing: descriptor)
            }
            written += count
        }
        return (descriptor, file)
    }

    private func finishWriting(_ descriptor: Int32) throws {
        guard close(descriptor) == 0 else {
            let error = AtomicFileError(.write, path: temporaryPath, systemError: errno)
            discard()
            throw error
        }
    }

    /// The error for the current `errno`, after closing `descriptor` and removing the temporary file.
    private func fail(_ code: AtomicFileError.Code, closing descriptor: Int32) -> AtomicFileError {
        let error = AtomicFileError(code, path: temporaryPath, systemError: errno)
        _ = close(descriptor)
        discard()
        return error
    }

    /// The error for the current `errno`, after removing the temporary file.
    private func fail(_ code: AtomicFileError.Code, path: String) -> AtomicFileError {
        let error = AtomicFileError(code, path: path, systemError: errno)
        discard()
        return error
    }
}
