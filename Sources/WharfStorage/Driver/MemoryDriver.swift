import Foundation
import NIOCore
import Synchronization

/// A storage driver that keeps everything in memory: for fast unit tests, and as a second implementation of the
/// ``StorageDriver`` contract (the conformance suite runs against it), so that the contract says what every driver
/// does rather than what the filesystem happens to do.
///
/// Like an object store it has no folders of its own: a folder is there while a file below it is. The state is
/// behind a `Mutex`, not in an actor: it holds bytes, and a driver's calls must not queue behind one another. Files
/// are copy-on-write arrays, so a reader keeps the content it opened even when the file is replaced meanwhile.
public final class MemoryDriver: StorageDriver, Sendable {
    let store: Store

    /// An empty storage; with `capacity`, writes that would make the files hold more than that many bytes in all
    /// throw ``StorageError/Code/full`` (a full disk, for tests).
    public init(capacity: Int64? = nil) {
        store = Store(capacity: capacity)
    }

    /// A new driver on the storage of `other`, as a restarted process finds the files of the last one.
    public init(sharing other: MemoryDriver) {
        store = other.store
    }

    public func read(_ path: String, limit: Int) async throws -> [UInt8]? {
        try StoragePath.check(path)
        guard let bytes = store.state.withLock({ $0.files[path]?.bytes }) else { return nil }
        guard bytes.count <= limit else { throw StorageError(.io, "\(path) is larger than \(limit) bytes") }
        return bytes
    }

    public func write(_ path: String, contents: [UInt8], durable: Bool) async throws {
        try StoragePath.check(path)
        try store.state.withLock { state in
            try state.checkWritable(path)
            try state.reserve(Int64(contents.count) - Int64(state.files[path]?.bytes.count ?? 0), for: path)
            state.files[path] = StoredFile(bytes: contents, modified: Date().timeIntervalSince1970)
        }
    }

    public func stat(_ path: String) async throws -> FileInfo? {
        try StoragePath.check(path)
        return store.state.withLock { $0.info(path) }
    }

    public func list(_ path: String) async throws -> [String]? {
        try StoragePath.check(path)
        return store.state.withLock { $0.children(of: path) }.map { $0.map(\.name) }
    }

    public func delete(_ path: String) async throws {
        try StoragePath.check(path)
        store.state.withLock { state in
            let prefix = path + "/"
            for key in state.files.keys.filter({ $0 == path || $0.hasPrefix(prefix) }) {
                state.used -= Int64(state.files.removeValue(forKey: key)?.bytes.count ?? 0)
            }
        }
    }

    public func pruneFolder(_ path: String) async throws {
        // Folders exist only through the files below them: an empty one is already gone.
        try StoragePath.check(path)
    }

    public func move(_ source: String, to destination: String, durable: Bool) async throws {
        try StoragePath.check(source)
        try StoragePath.check(destination)
        try store.state.withLock { state in
            guard let file = state.files[source] else { throw StorageError(.notFound, "move \(source): no such file") }
            guard source != destination else { return }
            try state.checkWritable(destination)
            state.used -= Int64(state.files[destination]?.bytes.count ?? 0)
            state.files[destination] = file
            state.files[source] = nil
        }
    }

    public func writer(_ path: String, append: Bool) async throws -> any StorageWriter {
        try StoragePath.check(path)
        let base = try store.state.withLock { state in
            try state.checkWritable(path)
            return append ? state.files[path]?.bytes ?? [] : []
        }
        return MemoryWriter(store: store, path: path, bytes: base)
    }

    public func reader(_ path: String) async throws -> (any StorageReader)? {
        try StoragePath.check(path)
        return store.state.withLock { $0.files[path] }.map { MemoryReader(bytes: $0.bytes) }
    }

    public func walk(_ path: String, visit: (StorageEntry) async throws -> WalkStep) async throws {
        try StoragePath.check(path)
        _ = try await walk(folder: path, visit: visit)
    }

    /// Returns false when the walk was stopped. Each folder is listed when the walk gets to it (under the lock,
    /// then visited without it), as the filesystem driver reads a folder at a time.
    private func walk(folder: String, visit: (StorageEntry) async throws -> WalkStep) async throws -> Bool {
        guard let children = store.state.withLock({ $0.children(of: folder) }) else { return true }
        for child in children {
            let entry = StorageEntry(path: folder + "/" + child.name, file: child.info.isDirectory ? nil : child.info)
            switch try await visit(entry) {
            case .stop: return false
            case .skip: continue
            case .descend:
                if child.info.isDirectory, try await !walk(folder: entry.path, visit: visit) { return false }
            }
        }
        return true
    }

    /// The files of one storage, shared by the drivers made with ``init(sharing:)``.
    final class Store: Sendable {
        let state: Mutex<State>

        init(capacity: Int64?) {
            state = Mutex(State(capacity: capacity))
        }
    }

    struct StoredFile {
        var bytes: [UInt8]
        var modified: Double
    }

    struct State {
        var files: [String: StoredFile] = [:]
        /// The bytes of all files, plus those appended by writers not ended yet (they count as soon as they are
        /// appended, as on a disk).
        var used: Int64 = 0
        let capacity: Int64?

        init(capacity: Int64?) {
            self.capacity = capacity
        }

        /// Counts `bytes` more (or fewer, when negative) against the capacity, or throws ``StorageError/Code/full``.
        mutating func reserve(_ bytes: Int64, for path: String) throws {
            if let capacity, bytes > 0, used + bytes > capacity {
                throw StorageError(.full, "the storage is full: \(path): \(used) of \(capacity) bytes used")
            }
            used += bytes
        }

        /// Throws when a file cannot be put at `path`: a file is where a parent folder would be, or `path` is a
        /// folder (the errors the filesystem gives, `ENOTDIR` and `EISDIR`).
        func checkWritable(_ path: String) throws {
            var parent = path[...]
            while let slash = parent.lastIndex(of: "/") {
                parent = parent[..<slash]
                if files[String(parent)] != nil { throw StorageError(.io, "\(path): \(parent) is a file, not a folder") }
            }
            let prefix = path + "/"
            if files.keys.contains(where: { $0.hasPrefix(prefix) }) { throw StorageError(.io, "\(path) is a folder") }
        }

        func info(_ path: String) -> FileInfo? {
            if let file = files[path] { return FileInfo(size: Int64(file.bytes.count), modified: file.modified, isDirectory: false) }
            let prefix = path + "/"
            var newest: Double?
            for (key, file) in files where key.hasPrefix(prefix) {
                newest = max(newest ?? file.modified, file.modified)
            }
            return newest.map { FileInfo(size: 0, modified: $0, isDirectory: true) }
        }

        /// The entries of the folder `path` in the byte order of their names, or nil when it is not a folder.
        func children(of path: String) -> [(name: String, info: FileInfo)]? {
            let prefix = path + "/"
            var entries: [String: FileInfo] = [:]
            for (key, file) in files where key.hasPrefix(prefix) {
                let rest = key.utf8.dropFirst(prefix.utf8.count)
                if let slash = rest.firstIndex(of: UInt8(ascii: "/")) {
                    let name = String(Substring(rest[..<slash]))
                    let modified = max(entries[name]?.modified ?? file.modified, file.modified)
                    entries[name] = FileInfo(size: 0, modified: modified, isDirectory: true)
                } else {
                    entries[String(Substring(rest))] = FileInfo(size: Int64(file.bytes.count), modified: file.modified, isDirectory: false)
                }
            }
            guard !entries.isEmpty else { return nil }
            return entries.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }.map { (name: $0.key, info: $0.value) }
        }
    }
}

/// A writer of the ``MemoryDriver``: appends go to its own copy, which replaces the stored file when it ends (so
/// writers racing on one path never mix: the last to end wins). A writer dropped without ending keeps its content,
/// as ``StorageWriter`` asks.
final class MemoryWriter: StorageWriter {
    let store: MemoryDriver.Store
    let path: String
    private var bytes: [UInt8]
    /// The bytes appended and counted against the capacity, until the content replaces the stored file.
    private var reserved: Int64 = 0
    private var ended = false

    init(store: MemoryDriver.Store, path: String, bytes: [UInt8]) {
        self.store = store
        self.path = path
        self.bytes = bytes
    }

    var size: Int64 { Int64(bytes.count) }

    func append(_ buffer: ByteBuffer) async throws {
        guard !ended else { throw StorageError(.io, "\(path): append after the writer was closed") }
        try store.state.withLock { try $0.reserve(Int64(buffer.readableBytes), for: path) }
        reserved += Int64(buffer.readableBytes)
        bytes.append(contentsOf: buffer.readableBytesView)
    }

    func commit() async throws {
        guard !ended else { throw StorageError(.io, "\(path): commit after the writer was closed") }
        try publish()
    }

    func close() async throws {
        guard !ended else { return }
        try publish()
    }

    func cancel() async throws {
        let reserved = ended ? 0 : reserved
        ended = true
        store.state.withLock { state in
            state.used -= reserved + Int64(state.files[path]?.bytes.count ?? 0)
            state.files[path] = nil
        }
    }

    /// Replaces the stored file with this writer's content.
    private func publish() throws {
        ended = true
        let appended = reserved
        reserved = 0
        try store.state.withLock { state in
            // The appended bytes were counted as they came: they are counted again below as part of the file.
            state.used -= appended
            try state.checkWritable(path)
            state.used += Int64(bytes.count) - Int64(state.files[path]?.bytes.count ?? 0)
            state.files[path] = MemoryDriver.StoredFile(bytes: bytes, modified: Date().timeIntervalSince1970)
        }
    }

    deinit {
        if !ended { try? publish() }
    }
}

/// An open file of the ``MemoryDriver``: the content as it was when opened.
struct MemoryReader: StorageReader {
    let bytes: [UInt8]

    var size: Int64 { Int64(bytes.count) }

    func read(at offset: Int64, length: Int, into buffer: inout ByteBuffer) async throws -> Int {
        buffer.clear(minimumCapacity: length)
        guard offset >= 0, offset < Int64(bytes.count), length > 0 else { return 0 }
        let start = Int(offset)
        let end = min(start + length, bytes.count)
        buffer.writeBytes(bytes[start..<end])
        return end - start
    }
}
