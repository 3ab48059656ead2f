import Foundation
import Logging
import NIOPosix

/// The database connections of one Wharf process: a bounded pool over one `SQLBackend`, with transactions and
/// migrations on top.
///
/// The actor owns the connections (idle ones, how many are open, who waits for one); statements run outside it,
/// on the pool's own `NIOThreadPool` (one thread per connection), so blocking C calls never occupy Swift's
/// cooperative threads. A connection found broken (server restarted, network gone) is closed together with
/// every idle one, and the next borrower opens a fresh connection: the pool recovers by itself when the server
/// comes back.
public actor DatabasePool {
    public nonisolated let backend: any SQLBackend
    public nonisolated let health = DatabaseHealth()
    nonisolated let threadPool: NIOThreadPool
    nonisolated let migrator: Migrator
    nonisolated let acquireTimeout: Duration
    nonisolated let logger: Logger

    private var threadsStarted = false
    private var idle: [any SQLConnection] = []
    private var open = 0
    private var waiters: [(id: Int, continuation: CheckedContinuation<Grant, any Error>)] = []
    private var nextWaiterID = 0
    private var closed = false

    /// What a waiting borrower receives: a connection someone returned, or the right to open a new one.
    private enum Grant: Sendable {
        case connection(any SQLConnection)
        case slot
    }

    /// Creates the pool; nothing connects until the first statement (or `prepare()`).
    public init(location: DatabaseLocation, logger: Logger, acquireTimeout: Duration = .seconds(10)) {
        self.init(backend: location.makeBackend(), logger: logger, acquireTimeout: acquireTimeout)
    }

    public init(backend: any SQLBackend, logger: Logger, acquireTimeout: Duration = .seconds(10)) {
        self.init(backend: backend, migrator: Migrator(), logger: logger, acquireTimeout: acquireTimeout)
    }

    init(backend: any SQLBackend, migrator: Migrator, logger: Logger, acquireTimeout: Duration = .seconds(10)) {
        self.backend = backend
        self.migrator = migrator
        self.logger = logger
        self.acquireTimeout = acquireTimeout
        threadPool = NIOThreadPool(numberOfThreads: backend.maxConnections)
    }

    /// The schema version this binary brings the database to.
    public nonisolated var latestSchemaVersion: Int { migrator.latestVersion }

    // MARK: Transactions

    /// Runs `body` in a read-write transaction: committed when it returns, rolled back when it throws.
    ///
    /// When the connection turns out to be dead before the commit was sent (the server restarted), the
    /// transaction cannot have been applied and `body` runs again on a fresh connection (at most twice more):
    /// `body` must only touch the database. A connection lost during the commit itself fails with
    /// `.outcomeUnknown` and is never retried.
    public nonisolated func write<T: Sendable>(_ body: @escaping @Sendable (Transaction) throws -> T) async throws -> T {
        let dialect = backend.dialect
        return try await withRetries {
            try $0.execute(dialect.beginWrite, [])
            let value: T
            do {
                value = try body(Transaction(connection: $0, dialect: dialect))
            } catch let error as DatabaseError where error.connectionIsBroken {
                throw error
            } catch {
                _ = try? $0.execute("ROLLBACK", [])
                throw error
            }
            do {
                try $0.execute("COMMIT", [])
            } catch let error as DatabaseError where error.connectionIsBroken {
                throw DatabaseError(.outcomeUnknown, "connection lost while committing; the change may or may not be saved (\(error.message))")
            } catch {
                _ = try? $0.execute("ROLLBACK", [])
                throw error
            }
            return value
        }
    }

    /// Runs `body`'s queries outside an explicit transaction (each statement sees the latest committed data).
    /// Retried on a fresh connection when the connection turns out to be dead.
    public nonisolated func read<T: Sendable>(_ body: @escaping @Sendable (Transaction) throws -> T) async throws -> T {
        let dialect = backend.dialect
        return try await withRetries { try body(Transaction(connection: $0, dialect: dialect)) }
    }

    private nonisolated func withRetries<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do {
                return try await withConnection(body)
            } catch let error as DatabaseError where error.code == .unavailable && attempt < 2 {
                attempt += 1
                logger.debug("database connection lost; retrying on a new connection", metadata: ["error": "\(error.message)"])
            } catch let error as DatabaseError where error.connectionIsBroken {
                health.markUnavailable(error.message)
                throw error
            }
        }
    }

    /// Lends a connection to `body` on a pool thread and takes it back (closing it when it broke).
    nonisolated func withConnection<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        let connection = try await checkOut()
        do {
            let value = try await threadPool.runIfActive { try body(connection) }
            await checkIn(connection, broken: false)
            return value
        } catch {
            await checkIn(connection, broken: (error as? DatabaseError)?.connectionIsBroken ?? false)
            throw error
        }
    }

    // MARK: Migrations and status

    /// Connects, applies pending migrations and marks the database ready. Returns the versions before and after.
    @discardableResult
    public nonisolated func prepare() async throws -> (from: Int, to: Int) {
        let backend = self.backend
        let migrator = self.migrator
        let versions = try await withConnection { connection in
            try migrator.migrate(connection, backend: backend, now: Date().millisecondsSince1970)
        }
        if versions.from != versions.to {
            logger.notice("database migrated", metadata: ["from": "\(versions.from)", "to": "\(versions.to)", "database": "\(backend.displayName)"])
        }
        health.set(.ready(schemaVersion: versions.to))
        return versions
    }

    /// Backend, server version, schema version and pool state, for `wharf db check`.
    public nonisolated func check() async throws -> DatabaseReport {
        let migrator = self.migrator
        let dialect = backend.dialect
        let (version, schema) = try await withConnection { connection in
            (try connection.serverVersion(), try migrator.schemaVersion(connection, dialect: dialect))
        }
        return DatabaseReport(
            backend: dialect,
            location: backend.displayName,
            serverVersion: version,
            schemaVersion: schema,
            latestSchemaVersion: migrator.latestVersion,
            pool: await status()
        )
    }

    /// A quick round trip (`SELECT 1`) through the pool.
    public nonisolated func ping() async throws {
        _ = try await read { try $0.query("SELECT 1 AS one") }
    }

    public func status() -> PoolStatus {
        PoolStatus(maxConnections: backend.maxConnections, open: open, idle: idle.count, waiting: waiters.count)
    }

    /// Closes every connection and stops the threads. Borrowers waiting for a connection fail with `.closed`.
    public func close() async {
        guard !closed else { return }
        closed = true
        for waiter in waiters { waiter.continuation.resume(throwing: DatabaseError(.closed, "the database pool was closed")) }
        waiters = []
        let connections = idle
        idle = []
        open -= connections.count
        if threadsStarted {
            _ = try? await threadPool.runIfActive { for connection in connections { connection.close() } }
            try? await threadPool.shutdownGracefully()
        }
    }

    // MARK: Connections

    private func checkOut() async throws -> any SQLConnection {
        guard !closed else { throw DatabaseError(.closed, "the database pool was closed") }
        if !threadsStarted {
            threadPool.start()
            threadsStarted = true
        }
        if let connection = idle.popLast() { return connection }
        if open < backend.maxConnections {
            open += 1
            return try await openConnection()
        }
        let id = nextWaiterID
        nextWaiterID += 1
        let timeout = acquireTimeout
        let timer = Task { [weak self] in
            try await Task.sleep(for: timeout)
            await self?.timeOut(waiter: id)
        }
        defer { timer.cancel() }
        switch try await withCheckedThrowingContinuation({ waiters.append((id, $0)) }) {
        case .connection(let connection): return connection
        case .slot: return try await openConnection()
        }
    }

    /// Opens a connection for a slot already counted in `open`; gives the slot back when that fails.
    private func openConnection() async throws -> any SQLConnection {
        let backend = self.backend
        do {
            return try await threadPool.runIfActive { try backend.connect() }
        } catch {
            open -= 1
            grantFreeSlots()
            throw error
        }
    }

    private func checkIn(_ connection: any SQLConnection, broken: Bool) {
        if broken || closed {
            // A broken connection usually means the server restarted: the idle ones are dead too.
            let dead = [connection] + (closed ? [] : idle)
            idle = []
            open -= dead.count
            let threadPool = self.threadPool
            Task { _ = try? await threadPool.runIfActive { for connection in dead { connection.close() } } }
            grantFreeSlots()
        } else if !waiters.isEmpty {
            waiters.removeFirst().continuation.resume(returning: .connection(connection))
        } else {
            idle.append(connection)
        }
    }

    private func grantFreeSlots() {
        while !waiters.isEmpty && open < backend.maxConnections {
            open += 1
            waiters.removeFirst().continuation.resume(returning: .slot)
        }
    }

    private func timeOut(waiter id: Int) {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
        waiters.remove(at: index).continuation.resume(
            throwing: DatabaseError(.timeout, "no database connection became free within \(acquireTimeout) (pool of \(backend.maxConnections))")
        )
    }
}

/// How the pool's connections are used.
public struct PoolStatus: Sendable, Equatable, CustomStringConvertible {
    public var maxConnections: Int
    public var open: Int
    public var idle: Int
    public var waiting: Int

    public var description: String { "\(open) open (\(idle) idle) of \(maxConnections), \(waiting) waiting" }
}

/// What `wharf db check` prints.
public struct DatabaseReport: Sendable {
    public var backend: SQLDialect
    public var location: String
    public var serverVersion: String
    public var schemaVersion: Int
    public var latestSchemaVersion: Int
    public var pool: PoolStatus
}

extension Date {
    /// Milliseconds since 1970-01-01 UTC, the form every timestamp column holds.
    var millisecondsSince1970: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }

    init(millisecondsSince1970 value: Int64) { self.init(timeIntervalSince1970: Double(value) / 1000) }
}

extension Date: SQLValueConvertible {
    public var sqlValue: SQLValue { .integer(millisecondsSince1970) }
    public init?(sqlValue: SQLValue) {
        guard let value = Int64(sqlValue: sqlValue) else { return nil }
        self.init(millisecondsSince1970: value)
    }
}
