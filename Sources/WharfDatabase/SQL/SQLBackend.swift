/// One open connection to a database server or file. Its methods block the calling thread: they are only called
/// on the pool's threads (`NIOThreadPool`), never on Swift's cooperative pool, and by one borrower at a time.
public protocol SQLConnection: Sendable {
    /// Runs one statement with bound parameters and returns its rows (none for statements without a result).
    func query(_ sql: String, _ binds: [SQLValue]) throws -> [SQLRow]
    /// Runs one statement with bound parameters; returns the number of affected rows and the generated id.
    @discardableResult
    func execute(_ sql: String, _ binds: [SQLValue]) throws -> SQLExecution
    /// Cheap check that the connection still works (a round trip to the server).
    func ping() -> Bool
    /// The server's version string, for `wharf db check`.
    func serverVersion() throws -> String
    /// Closes the connection; later calls fail.
    func close()
}

/// What a data-changing statement did.
public struct SQLExecution: Sendable {
    public var affectedRows: Int
    public var lastInsertID: Int64
}

/// A database server or file that connections are opened to: the one protocol the pool sees, with one
/// implementation per engine (`SQLiteBackend`, `MariaDBBackend`).
public protocol SQLBackend: Sendable {
    var dialect: SQLDialect { get }
    /// How many connections the pool may keep open.
    var maxConnections: Int { get }
    /// The location without secrets, for logs and messages.
    var displayName: String { get }
    /// Opens a new connection (blocking; called on a pool thread). Fails with `.unavailable` when the server
    /// cannot be reached.
    func connect() throws -> any SQLConnection
    /// Takes the process-wide or database-wide lock that serialises migrations, on `connection`, and releases it
    /// after `body` (even when `body` throws).
    func withMigrationLock<T>(on connection: any SQLConnection, _ body: () throws -> T) throws -> T
}
