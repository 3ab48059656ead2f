import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The embedded database: one SQLite file in WAL mode, several connections (readers run side by side, writers
/// take turns on the busy timeout).
public struct SQLiteBackend: SQLBackend {
    public let path: String
    public let maxConnections: Int
    let busyTimeout: Duration

    public init(path: String, maxConnections: Int = 4, busyTimeout: Duration = .seconds(10)) {
        self.path = path
        self.maxConnections = max(1, maxConnections)
        self.busyTimeout = busyTimeout
    }

    public var dialect: SQLDialect { .sqlite }
    public var displayName: String { "sqlite://\(path)" }

    public func connect() throws -> any SQLConnection {
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty, !FileManager.default.fileExists(atPath: folder) {
            try? FileManager.default.createDirectory(atPath: (folder as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            // The folder holds the database: private like the data folder `wharf serve` creates.
            if mkdir(folder, 0o700) == 0 { chmod(folder, 0o700) }
        }
        try Self.createPrivateFile(path)
        return try SQLiteConnection(path: path, busyTimeout: busyTimeout)
    }

    /// Creates the database file 0600 when it does not exist yet: it holds password and token hashes, and SQLite
    /// would create it 0644. SQLite gives the `-wal` and `-shm` files it creates later the main file's mode.
    /// An existing file keeps its mode (`wharf serve` warns when others may read it).
    static func createPrivateFile(_ path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        // Already there (EEXIST), or not creatable: then SQLite's own open reports why, with its message.
        guard descriptor >= 0 else { return }
        // The umask may have cleared bits of 0600; the owner must still read and write it.
        let changed = fchmod(descriptor, 0o600)
        close(descriptor)
        guard changed == 0 else { throw DatabaseError(.unavailable, "cannot make \(path) private (chmod 600)") }
    }

    /// SQLite's own write lock is the migration lock: `BEGIN IMMEDIATE` makes every other writer, in this process
    /// or another, wait until the migrations are committed, and the migrations apply all or nothing.
    public func withMigrationLock<T>(on connection: any SQLConnection, _ body: () throws -> T) throws -> T {
        try connection.execute(dialect.beginWrite, [])
        do {
            let result = try body()
            try connection.execute("COMMIT", [])
            return result
        } catch {
            _ = try? connection.execute("ROLLBACK", [])
            throw error
        }
    }
}
