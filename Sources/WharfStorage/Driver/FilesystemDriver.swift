import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The filesystem storage driver: a folder in distribution's layout.
///
/// Calls are plain POSIX system calls made from the calling task (never from an actor): small reads and writes to
/// the page cache cost microseconds, less than a hop to a thread pool. The one call that can block for long,
/// `fsync`, runs on NIO's thread pool.
public struct FilesystemDriver: StorageDriver {
    public let root: String
    /// Whether data is flushed to disk before it becomes visible (blob data, links).
    public let durable: Bool

    public init(root: String, durable: Bool = true) {
        var root = root
        while root.count > 1 && root.hasSuffix("/") { root.removeLast() }
        self.root = root
        self.durable = durable
    }

    func fullPath(_ path: String) throws -> String {
        try StoragePath.check(path)
        return root + "/" + path
    }

    public func read(_ path: String, limit: Int) async throws -> [UInt8]? {
        let full = try fullPath(path)
        let fd = open(full, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw Self.error("open", full)
        }
        defer { _ = close(fd) }
        var st = Glibc.stat()
        guard fstat(fd, &st) == 0 else { throw Self.error("fstat", full) }
        if (st.st_mode & S_IFMT) == S_IFDIR { return nil }
        guard st.st_size <= limit else { throw StorageError(.io, "\(path) is larger than \(limit) bytes") }
        // Links and manifests are small: one exact allocation, one read in the common case.
        var result = [UInt8](repeating: 0, count: Int(st.st_size))
        var filled = 0
        while filled < result.count {
            let n = result.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + filled, $0.count - filled, off_t(filled)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Self.error("read", full)
            }
            if n == 0 { break }
            filled += n
        }
        if filled < result.count { result.removeLast(result.count - filled) }
        return result
    }

    public func write(_ path: String, contents: [UInt8], durable: Bool) async throws {
        let full = try fullPath(path)
        // A concurrent `remove` of a parent folder (a tag DELETE racing a tag PUT) can take the folder, or the
        // temporary file, away between the steps: start again, a few times, rather than fail.
        var attempts = 0
        while true {
            attempts += 1
            do {
                try makeParents(of: full)
            } catch  where attempts < 10 {
                continue
            }
            do {
                try await AtomicFile.write(contents, to: full, durability: durable && self.durable ? .file : .none, threadPool: .singleton)
                return
            } catch let error as AtomicFileError {
                // ENOENT on create or rename: the folder went away meanwhile.
                if error.systemError == ENOENT, error.code == .create || error.code == .publish, attempts < 10 { continue }
                throw StorageError.isFull(error.systemError)
                    ? StorageError(.full, "the storage is full: \(error)") : StorageError(.io, error.description)
            }
        }
    }

    public func stat(_ path: String) async throws -> FileInfo? {
        try Self.statFull(try fullPath(path))
    }

    static func statFull(_ full: String) throws -> FileInfo? {
        var st = Glibc.stat()
        guard fstatat(AT_FDCWD, full, &st, 0) == 0 else {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw Self.error("stat", full)
        }
        return info(st)
    }

    static func info(_ st: Glibc.stat) -> FileInfo {
        let modified = Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9
        return FileInfo(size: Int64(st.st_size), modified: modified, isDirectory: (st.st_mode & S_IFMT) == S_IFDIR)
    }

    public func list(_ path: String) async throws -> [String]? {
        try Self.listFull(try fullPath(path))?.filter { !AtomicFile.isTemporaryName($0) }.sorted(by: Self.byteOrder)
    }

    /// Byte order of the names' UTF-8 (what S3 lists by), not Swift's `<` on strings (Unicode order).
    static func byteOrder(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    public func walk(_ path: String, visit: (StorageEntry) async throws -> WalkStep) async throws {
        _ = try await walk(relative: path, full: try fullPath(path), visit: visit)
    }

    /// Returns false when the walk was stopped. The folder stays open while its entries are visited: a folder
    /// is known as one from the listing (`d_type`), and a file is looked at relative to the open folder
    /// (`fstatat`: one path component to resolve, not the dozen of a full path) when its turn comes.
    private func walk(relative: String, full: String, visit: (StorageEntry) async throws -> WalkStep) async throws -> Bool {
        guard let dir = opendir(full) else {
            if errno == ENOENT || errno == ENOTDIR { return true }
            throw Self.error("opendir", full)
        }
        defer { closedir(dir) }
        let fd = dirfd(dir)
        let entries = Self.readEntries(dir).filter { !AtomicFile.isTemporaryName($0.name) }.sorted { Self.byteOrder($0.name, $1.name) }
        for (name, type) in entries {
            var file: FileInfo?
            if type != UInt8(DT_DIR) {
                // A file, or a kind the listing does not tell (a symbolic link, some file systems): look.
                var st = Glibc.stat()
                guard fstatat(fd, name, &st, 0) == 0 else {
                    // An entry removed since the listing is no longer there to visit.
                    if errno == ENOENT { continue }
                    throw Self.error("stat", full + "/" + name)
                }
                let info = Self.info(st)
                file = info.isDirectory ? nil : info
            }
            let entry = StorageEntry(path: relative + "/" + name, file: file)
            switch try await visit(entry) {
            case .stop: return false
            case .skip: continue
            case .descend:
                if entry.isDirectory, try await !walk(relative: entry.path, full: full + "/" + name, visit: visit) { return false }
            }
        }
        return true
    }

    static func listFull(_ full: String) throws -> [String]? {
        guard let dir = opendir(full) else {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw error("opendir", full)
        }
        defer { closedir(dir) }
        return readNames(dir)
    }

    /// The names of an open folder's entries, without `.` and `..`.
    static func readNames(_ dir: OpaquePointer) -> [String] {
        readEntries(dir).map(\.name)
    }

    /// The names and `d_type`s of an open folder's entries, without `.` and `..`.
    static func readEntries(_ dir: OpaquePointer) -> [(name: String, type: UInt8)] {
        var entries: [(name: String, type: UInt8)] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name == "." || name == ".." { continue }
            entries.append((name, entry.pointee.d_type))
        }
        return entries
    }

    public func delete(_ path: String) async throws {
        try Self.removeFull(try fullPath(path))
    }

    public func pruneFolder(_ path: String) async throws {
        let full = try fullPath(path)
        // rmdir removes only an empty folder; the rest is what the contract says to leave alone.
        guard rmdir(full) != 0 else { return }
        switch errno {
        case ENOENT, ENOTEMPTY, EEXIST, ENOTDIR: return
        default: throw Self.error("rmdir", full)
        }
    }

    static func removeFull(_ full: String) throws {
        var st = Glibc.stat()
        guard lstat(full, &st) == 0 else {
            // ENOTDIR: a parent is a file, so nothing is there to remove.
            if errno == ENOENT || errno == ENOTDIR { return }
            throw error("lstat", full)
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            for name in try listFull(full) ?? [] {
                try removeFull(full + "/" + name)
            }
            // ENOTEMPTY: a concurrent write put something in meanwhile; that write comes after this removal.
            if rmdir(full) != 0 && errno != ENOENT && errno != ENOTEMPTY { throw error("rmdir", full) }
        } else if unlink(full) != 0 && errno != ENOENT {
            throw error("unlink", full)
        }
    }

    public func move(_ source: String, to destination: String, durable: Bool) async throws {
        let from = try fullPath(source)
        let to = try fullPath(destination)
        if durable && self.durable {
            let fd = open(from, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw Self.missingOrError("open", from) }
            defer { _ = close(fd) }
            try await Self.sync(fd, path: from)
        }
        try makeParents(of: to)
        guard rename(from, to) == 0 else { throw Self.missingOrError("rename", from) }
    }

    public func writer(_ path: String, append: Bool) async throws -> any StorageWriter {
        let full = try fullPath(path)
        try makeParents(of: full)
        guard append else {
            // A new file is written under a temporary name and gets its name when the writer ends, as `write` does:
            // writers racing on one path never mix, the last to end wins whole.
            let temporary = AtomicFile.temporaryPath(for: full)
            let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw Self.error("open", temporary) }
            return FileWriter(fd: fd, path: full, temporaryPath: temporary, size: 0, durable: durable)
        }
        let fd = open(full, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Self.error("open", full) }
        var st = Glibc.stat()
        guard fstat(fd, &st) == 0 else {
            let error = Self.error("fstat", full)
            _ = close(fd)
            throw error
        }
        return FileWriter(fd: fd, path: full, temporaryPath: nil, size: Int64(st.st_size), durable: durable)
    }

    public func reader(_ path: String) async throws -> (any StorageReader)? {
        let full = try fullPath(path)
        let fd = open(full, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw Self.error("open", full)
        }
        var st = Glibc.stat()
        guard fstat(fd, &st) == 0 else {
            _ = close(fd)
            throw Self.error("fstat", full)
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            _ = close(fd)
            return nil
        }
        return FileReader(fd: fd, size: Int64(st.st_size), path: full)
    }

    func makeParents(of full: String) throws {
        guard let slash = full.lastIndex(of: "/") else { return }
        try Self.makeDirectories(String(full[..<slash]))
    }

    static func makeDirectories(_ full: String) throws {
        if mkdir(full, 0o755) == 0 || errno == EEXIST { return }
        guard errno == ENOENT, let slash = full.lastIndex(of: "/"), slash != full.startIndex else {
            throw error("mkdir", full)
        }
        try makeDirectories(String(full[..<slash]))
        if mkdir(full, 0o755) != 0 && errno != EEXIST { throw error("mkdir", full) }
    }

    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int64, path: String) throws {
        var written = 0
        while written < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + written, bytes.count - written, off_t(offset) + off_t(written))
            if n < 0 {
                if errno == EINTR { continue }
                throw error("write", path)
            }
            written += n
        }
    }

    static func sync(_ fd: Int32, path: String) async throws {
        let result = try await NIOThreadPool.singleton.runIfActive { fsync(fd) == 0 ? 0 : errno }
        if result != 0 { throw StorageError.system("fsync", path, systemError: result) }
    }

    /// The error for the current `errno`, ``StorageError/Code/notFound`` when it is `ENOENT` or `ENOTDIR` (a
    /// parent is a file: nothing is there either).
    static func missingOrError(_ operation: String, _ path: String) -> StorageError {
        errno == ENOENT || errno == ENOTDIR ? StorageError(.notFound, "\(operation) \(path): no such file") : error(operation, path)
    }

    /// The error for the current `errno` (``StorageError/Code/full`` when the disk or the quota is full).
    static func error(_ operation: String, _ path: String) -> StorageError {
        StorageError.system(operation, path, systemError: errno)
    }
}

/// Owns one file descriptor open for writing; used by one task at a time, and ended by `commit`, `close` or
/// `cancel` (or, when a task forgets to, by `deinit`, which keeps the content like `close`). A writer of a new file
/// writes `temporaryPath`, renamed to `path` when it ends.
final class FileWriter: StorageWriter {
    private var fd: Int32
    let path: String
    let temporaryPath: String?
    private(set) var size: Int64
    let durable: Bool

    init(fd: Int32, path: String, temporaryPath: String?, size: Int64, durable: Bool) {
        self.fd = fd
        self.path = path
        self.temporaryPath = temporaryPath
        self.size = size
        self.durable = durable
    }

    func append(_ buffer: ByteBuffer) async throws {
        guard fd >= 0 else { throw StorageError(.io, "\(path): append after the writer was closed") }
        do {
            try buffer.withUnsafeReadableBytes { try FilesystemDriver.writeAll(fd, $0, at: size, path: path) }
        } catch {
            // A buffer written in part (the disk filled up half-way) is taken back: the file stays as it was.
            _ = ftruncate(fd, off_t(size))
            throw error
        }
        size += Int64(buffer.readableBytes)
    }

    func commit() async throws {
        guard fd >= 0 else { throw StorageError(.io, "\(path): commit after the writer was closed") }
        do {
            if durable { try await FilesystemDriver.sync(fd, path: temporaryPath ?? path) }
        } catch {
            // A new file that may not be on disk does not get its name.
            end()
            if let temporaryPath { _ = unlink(temporaryPath) }
            throw error
        }
        try publish()
    }

    func close() async throws {
        try publish()
    }

    func cancel() async throws {
        end()
        if let temporaryPath { _ = unlink(temporaryPath) }
        if unlink(path) != 0 && errno != ENOENT { throw FilesystemDriver.error("unlink", path) }
    }

    /// Closes the descriptor; a new file gets its name (once: a second `close` does nothing).
    private func publish() throws {
        guard fd >= 0 else { return }
        end()
        if let temporaryPath, rename(temporaryPath, path) != 0 {
            let error = FilesystemDriver.error("rename", temporaryPath)
            _ = unlink(temporaryPath)
            throw error
        }
    }

    private func end() {
        if fd >= 0 {
            _ = Glibc.close(fd)
            fd = -1
        }
    }

    deinit { try? publish() }
}

/// Owns one file descriptor open for reading. `@unchecked Sendable` is safe: the descriptor never changes after
/// init, `pread` takes explicit offsets (no shared file position), and it is closed only in `deinit`.
final class FileReader: StorageReader, @unchecked Sendable {
    let fd: Int32
    let size: Int64
    let path: String

    init(fd: Int32, size: Int64, path: String) {
        self.fd = fd
        self.size = size
        self.path = path
    }

    func read(at offset: Int64, length: Int, into buffer: inout ByteBuffer) async throws -> Int {
        buffer.clear(minimumCapacity: length)
        var filled = 0
        while filled < length {
            // The allocator rounds capacity up: never read past what was asked for.
            let n = buffer.withUnsafeMutableWritableBytes { pointer in
                pread(fd, pointer.baseAddress, min(pointer.count, length - filled), off_t(offset) + off_t(filled))
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw FilesystemDriver.error("read", path)
            }
            if n == 0 { break }
            buffer.moveWriterIndex(forwardBy: n)
            filled += n
        }
        return filled
    }

    deinit { _ = Glibc.close(fd) }
}
