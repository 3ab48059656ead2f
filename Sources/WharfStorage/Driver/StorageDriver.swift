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
public struct FileInfo: Sendable {
    public var size: Int64
    public var modified: Double
    public var isDirectory: Bool
}

/// Storage for the registry layout, addressed by paths relative to the storage root (see `RegistryPaths`).
///
/// Implementations are used directly from request tasks: they must be safe to call concurrently.
public protocol StorageDriver: Sendable {
    /// The whole content of a small file, or nil when it does not exist. Fails for files larger than `limit`.
    func read(_ path: String, limit: Int) throws -> [UInt8]?
    /// Replaces the file at `path` with `contents` atomically: readers see the old or the new content, never a mix.
    /// With `durable`, the content is also on disk before the new name appears (when the driver promises durability).
    func write(_ path: String, contents: [UInt8], durable: Bool) async throws
    func info(_ path: String) throws -> FileInfo?
    /// Names of the entries of a folder, unsorted, or nil when it does not exist.
    func list(_ path: String) throws -> [String]?
    /// Removes a file or a whole folder; removing something missing is not an error.
    func remove(_ path: String) throws
    /// Moves a file into place atomically, replacing what was there; makes the destination's parents. Flushes
    /// the file's data first when the driver promises durability.
    func move(_ source: String, to destination: String) async throws
    /// Opens a file for writing at `offset` (creating it and its parents when missing).
    func openForWriting(_ path: String) throws -> any StorageWriter
    /// Opens a file for reading, or nil when it does not exist.
    func openForReading(_ path: String) throws -> (any StorageReader)?
}

extension StorageDriver {
    /// A durable atomic replace.
    public func write(_ path: String, contents: [UInt8]) async throws {
        try await write(path, contents: contents, durable: true)
    }
}

/// An open file being written by one request.
public protocol StorageWriter: AnyObject {
    /// Writes `buffer` at `offset`.
    func write(_ buffer: ByteBuffer, at offset: Int64) throws
    /// Drops everything after `size` (used to undo a partial chunk).
    func truncate(to size: Int64) throws
    func close()
}

/// An open file being read; safe to hand to a response body writer.
public protocol StorageReader: Sendable {
    var size: Int64 { get }
    /// Reads up to `length` bytes at `offset` into a new buffer; a short buffer means end of file.
    func read(at offset: Int64, length: Int, allocator: ByteBufferAllocator) throws -> ByteBuffer
    /// Replaces the content of `buffer` with up to `length` bytes read at `offset`, reusing its storage when it is
    /// not shared (a download loop allocates once, not once per chunk). Returns the bytes read; 0 means end of file.
    func read(at offset: Int64, length: Int, into buffer: inout ByteBuffer) throws -> Int
}
