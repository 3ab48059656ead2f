import Foundation

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
        if !folder.isEmpty { try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        return try SQLiteConnection(path: path, busyTimeout: busyTimeout)
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
