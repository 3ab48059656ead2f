import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A failure of the storage backend itself (disk full, permissions, I/O error), as opposed to missing content.
public struct StorageError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable {
        let rawValue: String
        public static let io = Code(rawValue: "io")
        public static let invalidPath = Code(rawValue: "invalidPath")
        /// The storage has no room left (`ENOSPC`, or `EDQUOT`: the quota of the user the registry runs as). Not
        /// a bug and not the client's fault: writes work again once an operator frees space.
        public static let full = Code(rawValue: "full")
        /// What an operation needed is not there (the source of a move, a file that ended early).
        public static let notFound = Code(rawValue: "notFound")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "storage \(code.rawValue) error: \(message)" }

    /// The error for a failed system call: ``Code/full`` when `systemError` says the storage has no room left
    /// (so the HTTP layer can say so rather than answer a bug's 500), ``Code/io`` otherwise. The message names
    /// the call, the path and the system's text, for the log.
    public static func system(_ operation: String, _ path: String, systemError: Int32) -> StorageError {
        let text = "\(operation) \(path): \(String(cString: strerror(systemError)))"
        return isFull(systemError) ? StorageError(.full, "the storage is full: \(text)") : StorageError(.io, text)
    }

    /// Whether an `errno` means the storage has no room left.
    public static func isFull(_ systemError: Int32) -> Bool {
        systemError == ENOSPC || systemError == EDQUOT
    }
}

/// What is known about a stored file or folder.
public struct FileInfo: Sendable, Equatable {
    public var size: Int64
    public var modified: Double
    public var isDirectory: Bool

    public init(size: Int64, modified: Double, isDirectory: Bool) {
        self.size = size
        self.modified = modified
        self.isDirectory = isDirectory
    }
}

/// One file or folder met by ``StorageDriver/walk(_:visit:)``.
public struct StorageEntry: Sendable {
    /// The entry's path, relative to the storage root like every driver path.
    public let path: String
    /// What is known about a file; nil for a folder. A walk learns a folder's kind from the listing and reads
    /// nothing more about it (an object store's folders have no size or time of their own; `stat` one for that),
    /// so walking a tree costs one listing per folder entered and one look per file.
    public let file: FileInfo?

    public init(path: String, file: FileInfo?) {
        self.path = path
        self.file = file
    }

    public var isDirectory: Bool { file == nil }

    /// The last component of the path.
    public var name: Substring { path.lastIndex(of: "/").map { path[path.index(after: $0)...] } ?? path[...] }
}

/// What a walk does after visiting an entry.
public enum WalkStep: Sendable {
    /// Goes on (into the entry when it is a folder).
    case descend
    /// Goes on, but not into this folder.
    case skip
    /// Ends the walk: nothing more is visited or read.
    case stop
}

/// Storage for the registry layout, addressed by paths relative to the storage root (see `RegistryPaths`).
///
/// Every method is async so that a driver for remote storage (S3-compatible) fits the same contract; the contract
/// itself is stated by the driver conformance suite (`Tests/WharfStorageTests/DriverConformance`), which every
/// driver passes. Implementations are used directly from request tasks: they must be safe to call concurrently,
/// and they are never called from inside an actor (bytes never queue behind one).
///
/// Paths are relative, `/`-separated, and every method refuses one with an empty, `.` or `..` component (so
/// also a leading or trailing `/`) or a NUL byte with ``StorageError/Code/invalidPath``. Folders are made as
/// needed by `write`, `move` and `writer`; whether a folder emptied by `delete` is still there is up to the driver
/// (an object store has no folders), so callers never rely on empty folders. A file cannot be put where a folder
/// is, nor below a file: that throws ``StorageError/Code/io`` (a writer of a new file may throw when it ends) and
/// leaves both as they were.
public protocol StorageDriver: Sendable {
    /// The whole content of a small file, or nil when it does not exist (or is a folder). A file larger than
    /// `limit` throws ``StorageError/Code/io``.
    func read(_ path: String, limit: Int) async throws -> [UInt8]?
    /// Replaces the file at `path` with `contents` atomically: readers see the old or the new content, whole, never
    /// a mix nor a missing file; of writes racing on one path, one wins whole. With `durable`, the content is also
    /// on disk before the new name appears (when the driver promises durability).
    func write(_ path: String, contents: [UInt8], durable: Bool) async throws
    /// What is stored at `path`, or nil when nothing is. The size of a folder means nothing.
    func stat(_ path: String) async throws -> FileInfo?
    /// Names of the files and folders in a folder, in the byte order of their UTF-8 (`B` < `a` < `a-c` < `a.b` <
    /// `a_b` < `é`), or nil when there is no folder at `path` (nothing, or a file). Listings and walks show what
    /// was written, never the work in progress of a write or writer (a filesystem's temporary names).
    func list(_ path: String) async throws -> [String]?
    /// Removes a file or a whole folder; removing something missing (also below a file) is not an error.
    func delete(_ path: String) async throws
    /// Removes the folder at `path` only if it holds nothing (garbage collection tidies a blob's folder after
    /// moving its data away, while a push may be putting new data there: that data must stay). A folder that
    /// holds something, a file, or nothing at `path` is left as it is, and none of them is an error. A driver
    /// without folders (an object store) has nothing to do.
    func pruneFolder(_ path: String) async throws
    /// Moves a file into place atomically, replacing what was there; makes the destination's parents. With
    /// `durable`, flushes the file's data first when the driver promises durability (garbage collection moves
    /// files whose data was flushed when written, and skips that). A missing source (also one below a file)
    /// throws ``StorageError/Code/notFound``.
    func move(_ source: String, to destination: String, durable: Bool) async throws
    /// Opens a writer at the end of the file at `path` (`append`, for a resumed upload: also by a new driver on
    /// the same storage, after a restart) or on a new empty file that replaces it. A missing file is created
    /// either way (empty, when the writer ends with nothing appended). Once the writer ends with `commit` or
    /// `close`, `read`, `stat` and `reader` see its whole content; until then they may see the old content or part
    /// of the new. Writers opened without `append` racing on one path never mix: the file is the whole content of
    /// one of them (the last to end). Writers with `append` are one at a time per path (an upload session is
    /// checked out by one request): two of them racing may mix.
    func writer(_ path: String, append: Bool) async throws -> any StorageWriter
    /// Opens a file for reading, or nil when it does not exist (or is a folder).
    func reader(_ path: String) async throws -> (any StorageReader)?
    /// Visits everything below the folder `path`, depth first, a folder before what it holds, the entries of
    /// each folder in the byte order of their names; what `visit` returns can skip a folder or end the walk, so
    /// a walk that has found what it needs reads no further. A missing folder, or a file, visits nothing; an error
    /// thrown by `visit` ends the walk and is rethrown.
    func walk(_ path: String, visit: (StorageEntry) async throws -> WalkStep) async throws
}

extension StorageDriver {
    /// A durable atomic replace.
    public func write(_ path: String, contents: [UInt8]) async throws {
        try await write(path, contents: contents, durable: true)
    }

    /// A durable move.
    public func move(_ source: String, to destination: String) async throws {
        try await move(source, to: destination, durable: true)
    }
}

/// A file being written by one task, in distribution's `FileWriter` shape: appends, then `commit` (the content is
/// final and, where the driver promises it, durable), `close` (the content so far stays, to be resumed by a new
/// writer with `append`), or `cancel` (the file is removed). One of the three ends every writer; a writer dropped
/// without them (its task was cancelled) is closed, so the file holds exactly the appends that completed.
public protocol StorageWriter: AnyObject {
    /// The bytes the file holds: what it had when opened for `append`, plus every completed append.
    var size: Int64 { get }
    /// Adds `buffer` at the end. An append that throws leaves the file as it was before it (no partial buffer):
    /// ``StorageError/Code/full`` when the storage has no room, or `CancellationError` in a cancelled task (a
    /// driver may also complete it then).
    func append(_ buffer: ByteBuffer) async throws
    /// Ends writing with the content final: flushed to disk when the driver promises durability.
    func commit() async throws
    /// Ends writing and keeps what was written, unflushed, for a later writer opened with `append`.
    func close() async throws
    /// Ends writing and removes the file.
    func cancel() async throws
}

/// An open file being read; safe to hand to a response body writer.
public protocol StorageReader: Sendable {
    var size: Int64 { get }
    /// Replaces the content of `buffer` with up to `length` bytes read at `offset`, reusing its storage when it is
    /// not shared (a download loop allocates once, not once per chunk). Returns the bytes read; 0 means end of file.
    func read(at offset: Int64, length: Int, into buffer: inout ByteBuffer) async throws -> Int
}

extension StorageReader {
    /// Reads up to `length` bytes at `offset` into a new buffer; a short buffer means end of file.
    public func read(at offset: Int64, length: Int, allocator: ByteBufferAllocator = ByteBufferAllocator()) async throws -> ByteBuffer {
        var buffer = allocator.buffer(capacity: length)
        _ = try await read(at: offset, length: length, into: &buffer)
        return buffer
    }

    /// The bytes from `offset` to the end of the file, or `length` of them, as a stream of buffers of at most
    /// `chunkSize` bytes. A file that turns out shorter than its size ends the stream with ``StorageError/Code/notFound``;
    /// in a cancelled task (a client gone), the stream throws `CancellationError` instead of reading on.
    public func chunks(from offset: Int64 = 0, length: Int64? = nil, chunkSize: Int = 1 << 20) -> StorageChunks {
        StorageChunks(reader: self, start: offset, end: offset + (length ?? max(size - offset, 0)), chunkSize: chunkSize)
    }
}

/// A ranged read of a ``StorageReader`` as an async sequence of buffers.
public struct StorageChunks: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer
    let reader: any StorageReader
    let start: Int64
    let end: Int64
    let chunkSize: Int

    public struct AsyncIterator: AsyncIteratorProtocol {
        let reader: any StorageReader
        var offset: Int64
        let end: Int64
        let chunkSize: Int

        public mutating func next() async throws -> ByteBuffer? {
            guard offset < end else { return nil }
            try Task.checkCancellation()
            let buffer = try await reader.read(at: offset, length: Int(Swift.min(Int64(chunkSize), end - offset)))
            guard buffer.readableBytes > 0 else {
                throw StorageError(.notFound, "the file ended at \(offset) bytes, before the \(end) expected")
            }
            offset += Int64(buffer.readableBytes)
            return buffer
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(reader: reader, offset: start, end: end, chunkSize: Swift.max(chunkSize, 1))
    }
}
