import CSQLite

/// Owns one `sqlite3*` and its prepared statements, and closes them when released.
///
/// `@unchecked Sendable`: the handle is opened with `SQLITE_OPEN_NOMUTEX`, which is safe as long as one thread
/// uses it at a time. The pool guarantees that: a connection is lent to exactly one borrower, whose calls run
/// one after another on a pool thread, and is only closed after it was returned.
final class SQLiteHandle: @unchecked Sendable {
    fileprivate(set) var database: OpaquePointer?
    fileprivate var statements: [String: OpaquePointer] = [:]

    fileprivate init(_ database: OpaquePointer) { self.database = database }

    deinit { close() }

    func close() {
        for statement in statements.values { sqlite3_finalize(statement) }
        statements = [:]
        if let database { sqlite3_close_v2(database) }
        database = nil
    }
}

/// One SQLite connection with its cache of prepared statements.
struct SQLiteConnection: SQLConnection {
    private let owner: SQLiteHandle
    private let path: String
    private var handle: OpaquePointer? { owner.database }

    /// Opens (creating when missing) the database at `path` in WAL mode with foreign keys on.
    init(path: String, busyTimeout: Duration) throws {
        self.path = path
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let status = sqlite3_open_v2(path, &handle, flags, nil)
        guard status == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(handle)
            throw DatabaseError(.unavailable, "cannot open \(path): \(message)")
        }
        owner = SQLiteHandle(handle)
        sqlite3_extended_result_codes(handle, 1)
        sqlite3_busy_timeout(handle, Int32(busyTimeout.components.seconds * 1000))
        do {
            // WAL: readers never block the writer; synchronous FULL: a commit that returned survives a power cut.
            _ = try query("PRAGMA journal_mode = WAL", [])
            try execute("PRAGMA synchronous = FULL", [])
            try execute("PRAGMA foreign_keys = ON", [])
        } catch {
            close()
            throw error
        }
    }

    func close() { owner.close() }

    func query(_ sql: String, _ binds: [SQLValue]) throws -> [SQLRow] {
        try run(sql, binds) { statement in
            let count = sqlite3_column_count(statement)
            let columns = SQLColumns((0..<count).map { String(cString: sqlite3_column_name(statement, $0)) })
            var rows: [SQLRow] = []
            while true {
                let status = sqlite3_step(statement)
                if status == SQLITE_DONE { break }
                guard status == SQLITE_ROW else { throw error(status) }
                rows.append(SQLRow(columns: columns, values: (0..<count).map { value(statement, $0) }))
            }
            return rows
        }
    }

    @discardableResult
    func execute(_ sql: String, _ binds: [SQLValue]) throws -> SQLExecution {
        try run(sql, binds) { statement in
            var status = sqlite3_step(statement)
            while status == SQLITE_ROW { status = sqlite3_step(statement) }
            guard status == SQLITE_DONE else { throw error(status) }
            return SQLExecution(affectedRows: Int(sqlite3_changes(handle)), lastInsertID: sqlite3_last_insert_rowid(handle))
        }
    }

    func ping() -> Bool { handle != nil }

    func serverVersion() throws -> String { "SQLite " + String(cString: sqlite3_libversion()) }

    /// Prepares (or reuses) the statement, binds, runs `body`, and resets it for the next use.
    private func run<T>(_ sql: String, _ binds: [SQLValue], _ body: (OpaquePointer) throws -> T) throws -> T {
        guard let handle else { throw DatabaseError(.closed, "connection closed") }
        let statement: OpaquePointer
        if let cached = owner.statements[sql] {
            statement = cached
        } else {
            var prepared: OpaquePointer?
            let status = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &prepared, nil)
            guard status == SQLITE_OK, let prepared else { throw error(status) }
            owner.statements[sql] = prepared
            statement = prepared
        }
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        for (offset, value) in binds.enumerated() {
            let status = bind(value, to: statement, at: Int32(offset + 1))
            guard status == SQLITE_OK else { throw error(status) }
        }
        return try body(statement)
    }

    private func bind(_ value: SQLValue, to statement: OpaquePointer, at index: Int32) -> Int32 {
        switch value {
        case .null:
            return sqlite3_bind_null(statement, index)
        case .integer(let number):
            return sqlite3_bind_int64(statement, index, number)
        case .real(let number):
            return sqlite3_bind_double(statement, index, number)
        case .text(var text):
            // By length, not as a C string: a NUL inside the text is kept. An empty text gets a pointer to ""
            // (a null pointer would bind SQL NULL).
            return text.withUTF8 { bytes in
                guard let base = bytes.baseAddress else {
                    return sqlite3_bind_text64(statement, index, "", 0, wharf_sqlite_transient(), UInt8(SQLITE_UTF8))
                }
                return sqlite3_bind_text64(statement, index, base, UInt64(bytes.count), wharf_sqlite_transient(), UInt8(SQLITE_UTF8))
            }
        case .blob(let bytes):
            return bytes.withUnsafeBytes { raw in
                guard let base = raw.baseAddress else { return sqlite3_bind_zeroblob(statement, index, 0) }
                return sqlite3_bind_blob64(statement, index, base, UInt64(raw.count), wharf_sqlite_transient())
            }
        }
    }

    private func value(_ statement: OpaquePointer, _ column: Int32) -> SQLValue {
        switch sqlite3_column_type(statement, column) {
        case SQLITE_INTEGER:
            return .integer(sqlite3_column_int64(statement, column))
        case SQLITE_FLOAT:
            return .real(sqlite3_column_double(statement, column))
        case SQLITE_TEXT:
            let count = Int(sqlite3_column_bytes(statement, column))
            guard let bytes = sqlite3_column_text(statement, column) else { return .text("") }
            return .text(String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(statement, column))
            guard let bytes = sqlite3_column_blob(statement, column) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: bytes, count: count)))
        default:
            return .null
        }
    }

    private func error(_ status: Int32) -> DatabaseError {
        let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(status))
        switch status {
        // SQLITE_CONSTRAINT_UNIQUE and SQLITE_CONSTRAINT_PRIMARYKEY: macros Swift does not import.
        case SQLITE_CONSTRAINT | (8 << 8), SQLITE_CONSTRAINT | (6 << 8):
            return DatabaseError(.conflict, message)
        case _ where status & 0xff == SQLITE_CONSTRAINT, SQLITE_TOOBIG, SQLITE_MISMATCH:
            return DatabaseError(.invalidValue, message)
        case _ where status & 0xff == SQLITE_BUSY, _ where status & 0xff == SQLITE_LOCKED:
            return DatabaseError(.timeout, "\(path) is locked by another writer: \(message)")
        case _ where status & 0xff == SQLITE_CANTOPEN, _ where status & 0xff == SQLITE_IOERR, SQLITE_FULL, SQLITE_READONLY:
            return DatabaseError(.unavailable, "\(path): \(message)")
        default:
            return DatabaseError(.query, message)
        }
    }
}
