#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why an ``AtomicFile`` could not be written: the step, the file concerned and the system's reason, as one line
/// (`certs/.server.key.1x2y.tmp: cannot create: Permission denied`). Callers wrap it in their own error.
public struct AtomicFileError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let description: String
        private init(_ description: String) { self.description = description }

        /// The temporary file could not be created (`ENOENT`: its folder is missing).
        public static let create = Code("create")
        /// Its permission bits could not be set.
        public static let permissions = Code("set permissions")
        /// Writing (or closing, which reports delayed write errors) failed.
        public static let write = Code("write")
        /// `fsync` failed: the content may not be on disk.
        public static let sync = Code("fsync")
        /// The rename (or link) to the final name failed.
        public static let publish = Code("publish")
        /// ``AtomicFile/Publication/creatingOnly`` found an entry at the final name.
        public static let exists = Code("exists")
    }

    public var code: Code
    /// The temporary file, or the final name for ``Code/publish`` and ``Code/exists``.
    public var path: String
    /// The `errno` of the failed call.
    public var systemError: Int32

    public init(_ code: Code, path: String, systemError: Int32) {
        self.code = code
        self.path = path
        self.systemError = systemError
    }

    public var description: String {
        code == .exists ? "\(path): already exists" : "\(path): cannot \(code): \(String(cString: strerror(systemError)))"
    }
}
