import CMariaDB

/// `ER_CLIENT_INTERACTION_TIMEOUT` (MariaDB 11), which older libmariadb headers do not define.
private let erClientInteractionTimeout: Int32 = 4031

/// Owns one `MYSQL*` and its prepared statements, and closes them when released.
///
/// `@unchecked Sendable`: libmariadb allows a handle to move between threads but not to be used by two at once.
/// The pool lends a connection to one borrower at a time, whose calls run one after another on a pool thread,
/// and closes it only after it was returned.
final class MariaDBHandle: @unchecked Sendable {
    fileprivate(set) var mysql: UnsafeMutablePointer<MYSQL>?
    fileprivate var statements: [String: UnsafeMutablePointer<MYSQL_STMT>] = [:]

    fileprivate init(_ mysql: UnsafeMutablePointer<MYSQL>) { self.mysql = mysql }

    deinit { close() }

    func close() {
        for statement in statements.values { mysql_stmt_close(statement) }
        statements = [:]
        if let mysql { mysql_close(mysql) }
        mysql = nil
    }
}

/// One MariaDB/MySQL client connection with its cache of server-side prepared statements.
struct MariaDBConnection: SQLConnection {
    private let owner: MariaDBHandle
    private var handle: UnsafeMutablePointer<MYSQL>? { owner.mysql }

    /// Connects with the options of `location`; fails with `.unavailable` (network) or `.configuration`
    /// (credentials, unknown database). Messages name the server, never the password.
    init(_ location: DatabaseLocation.MySQL) throws {
        Self.initializeLibrary
        guard let handle = mysql_init(nil) else { throw DatabaseError(.unavailable, "libmariadb: out of memory") }
        var connectTimeout = UInt32(clamping: location.connectTimeout.components.seconds)
        var readTimeout = UInt32(clamping: location.readTimeout.components.seconds)
        var writeTimeout = UInt32(clamping: location.writeTimeout.components.seconds)
        mysql_options(handle, MYSQL_OPT_CONNECT_TIMEOUT, &connectTimeout)
        mysql_options(handle, MYSQL_OPT_READ_TIMEOUT, &readTimeout)
        mysql_options(handle, MYSQL_OPT_WRITE_TIMEOUT, &writeTimeout)
        mysql_options(handle, MYSQL_SET_CHARSET_NAME, "utf8mb4")
        // UTC for anything the server computes, and strict mode so a value that does not fit is an error,
        // never silently truncated.
        mysql_options(handle, MYSQL_INIT_COMMAND, "SET time_zone = '+00:00', sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'")
        switch location.tls {
        case .off:
            break
        case .required, .verify:
            var enforce: my_bool = 1
            mysql_options(handle, MYSQL_OPT_SSL_ENFORCE, &enforce)
            var verify: my_bool = location.tls == .verify ? 1 : 0
            mysql_options(handle, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify)
            if let ca = location.tlsCA { mysql_options(handle, MYSQL_OPT_SSL_CA, ca) }
        }
        let connected = mysql_real_connect(
            handle,
            location.host,
            location.user,
            location.password,
            location.database,
            UInt32(location.port),
            location.socket,
            // Affected rows count the rows a statement matched, as SQLite does, not only the ones whose values changed.
            UInt(CLIENT_FOUND_ROWS)
        )
        guard connected != nil else {
            let error = Self.error(code: mysql_errno(handle), message: String(cString: mysql_error(handle)), server: location.displayName)
            mysql_close(handle)
            throw error
        }
        // libmariadb 3.3 connects in plain text when the server offers no TLS, even with MYSQL_OPT_SSL_ENFORCE set:
        // check the session itself, so that `tls=required` never silently becomes "tls=off".
        if location.tls != .off && mysql_get_ssl_cipher(handle) == nil {
            mysql_close(handle)
            throw DatabaseError(
                .configuration,
                "\(location.displayName): TLS is required (tls=\(location.tls.rawValue)) but the server does not offer it"
            )
        }
        owner = MariaDBHandle(handle)
    }

    /// `mysql_library_init` is a macro Swift cannot call; this is what it expands to, run once per process.
    private static let initializeLibrary: Void = { _ = mysql_server_init(0, nil, nil) }()

    func close() { owner.close() }

    func ping() -> Bool {
        guard let handle else { return false }
        return mysql_ping(handle) == 0
    }

    func serverVersion() throws -> String {
        guard let handle else { throw DatabaseError(.closed, "connection closed") }
        return String(cString: mysql_get_server_info(handle))
    }

    func query(_ sql: String, _ binds: [SQLValue]) throws -> [SQLRow] {
        try run(sql, binds) { statement in try fetchRows(statement) }
    }

    @discardableResult
    func execute(_ sql: String, _ binds: [SQLValue]) throws -> SQLExecution {
        try run(sql, binds) { statement in
            _ = try fetchRows(statement)
            return SQLExecution(
                affectedRows: Int(truncatingIfNeeded: mysql_stmt_affected_rows(statement)),
                lastInsertID: Int64(truncatingIfNeeded: mysql_stmt_insert_id(statement))
            )
        }
    }

    // MARK: Statements

    private func run<T>(_ sql: String, _ binds: [SQLValue], _ body: (UnsafeMutablePointer<MYSQL_STMT>) throws -> T) throws -> T {
        let statement = try prepared(sql)
        guard mysql_stmt_param_count(statement) == binds.count else {
            throw DatabaseError(.query, "statement has \(mysql_stmt_param_count(statement)) parameters, \(binds.count) given")
        }
        let parameters = ParameterBuffers(binds)
        defer { parameters.deallocate() }
        if !binds.isEmpty, mysql_stmt_bind_param(statement, parameters.binds) != 0 { throw statementError(statement) }
        guard mysql_stmt_execute(statement) == 0 else { throw statementError(statement) }
        defer { mysql_stmt_free_result(statement) }
        return try body(statement)
    }

    private func prepared(_ sql: String) throws -> UnsafeMutablePointer<MYSQL_STMT> {
        if let statement = owner.statements[sql] { return statement }
        guard let handle else { throw DatabaseError(.closed, "connection closed") }
        guard let statement = mysql_stmt_init(handle) else { throw connectionError() }
        let utf8 = Array(sql.utf8)
        guard mysql_stmt_prepare(statement, utf8.map { CChar(bitPattern: $0) }, UInt(utf8.count)) == 0 else {
            let error = statementError(statement)
            mysql_stmt_close(statement)
            throw error
        }
        owner.statements[sql] = statement
        return statement
    }

    private func fetchRows(_ statement: UnsafeMutablePointer<MYSQL_STMT>) throws -> [SQLRow] {
        guard let metadata = mysql_stmt_result_metadata(statement) else {
            // No result set; an error here means the statement failed after executing.
            if mysql_stmt_errno(statement) != 0 { throw statementError(statement) }
            return []
        }
        defer { mysql_free_result(metadata) }
        guard mysql_stmt_store_result(statement) == 0 else { throw statementError(statement) }
        let count = Int(mysql_num_fields(metadata))
        let fields = UnsafeBufferPointer(start: mysql_fetch_fields(metadata), count: count)
        let columns = SQLColumns(fields.map { String(cString: $0.name) })
        let results = ResultBuffers(fields)
        defer { results.deallocate() }
        guard mysql_stmt_bind_result(statement, results.binds) == 0 else { throw statementError(statement) }
        var rows: [SQLRow] = []
        while true {
            let status = mysql_stmt_fetch(statement)
            if status == MYSQL_NO_DATA { break }
            guard status == 0 || status == MYSQL_DATA_TRUNCATED else { throw statementError(statement) }
            rows.append(SQLRow(columns: columns, values: try (0..<count).map { try results.value(at: $0, statement: statement) }))
        }
        return rows
    }

    // MARK: Errors

    private func statementError(_ statement: UnsafeMutablePointer<MYSQL_STMT>) -> DatabaseError {
        Self.error(code: mysql_stmt_errno(statement), message: String(cString: mysql_stmt_error(statement)), server: nil)
    }

    private func connectionError() -> DatabaseError {
        guard let handle else { return DatabaseError(.closed, "connection closed") }
        return Self.error(code: mysql_errno(handle), message: String(cString: mysql_error(handle)), server: nil)
    }

    /// Maps a client or server error number to a code. libmariadb's messages name the user and host but never
    /// the password.
    static func error(code: UInt32, message: String, server: String?) -> DatabaseError {
        let text = server.map { "\($0): \(message)" } ?? message
        switch Int32(code) {
        case CR_CONNECTION_ERROR, CR_CONN_HOST_ERROR, CR_UNKNOWN_HOST, CR_SERVER_GONE_ERROR, CR_SERVER_LOST, CR_SERVER_LOST_EXTENDED,
            ER_SERVER_SHUTDOWN, ER_CONNECTION_KILLED, ER_CON_COUNT_ERROR, CR_SERVER_HANDSHAKE_ERR, ER_NET_READ_ERROR, ER_NET_READ_INTERRUPTED,
            ER_NET_ERROR_ON_WRITE, ER_NET_WRITE_INTERRUPTED, erClientInteractionTimeout:
            return DatabaseError(.unavailable, text)
        case ER_ACCESS_DENIED_ERROR, ER_DBACCESS_DENIED_ERROR, ER_BAD_DB_ERROR, CR_SSL_CONNECTION_ERROR:
            return DatabaseError(.configuration, text)
        case ER_DUP_ENTRY, ER_DUP_ENTRY_WITH_KEY_NAME:
            return DatabaseError(.conflict, text)
        case ER_DATA_TOO_LONG, ER_BAD_NULL_ERROR, ER_NO_REFERENCED_ROW_2, ER_ROW_IS_REFERENCED_2, ER_TRUNCATED_WRONG_VALUE_FOR_FIELD,
            ER_WARN_DATA_OUT_OF_RANGE, ER_NO_DEFAULT_FOR_FIELD:
            return DatabaseError(.invalidValue, text)
        case ER_LOCK_WAIT_TIMEOUT, ER_LOCK_DEADLOCK:
            return DatabaseError(.timeout, text)
        default:
            return DatabaseError(.query, "\(text) (error \(code))")
        }
    }
}

/// The `MYSQL_BIND` array for a statement's parameters and the memory each one points to.
private struct ParameterBuffers {
    let binds: UnsafeMutablePointer<MYSQL_BIND>
    private var allocations: [UnsafeMutableRawPointer] = []
    private let count: Int

    init(_ values: [SQLValue]) {
        count = values.count
        binds = .allocate(capacity: max(1, values.count))
        binds.initialize(repeating: MYSQL_BIND(), count: max(1, values.count))
        for (index, value) in values.enumerated() {
            switch value {
            case .null:
                binds[index].buffer_type = MYSQL_TYPE_NULL
            case .integer(let number):
                binds[index].buffer_type = MYSQL_TYPE_LONGLONG
                binds[index].buffer = store(number)
            case .real(let number):
                binds[index].buffer_type = MYSQL_TYPE_DOUBLE
                binds[index].buffer = store(number)
            case .text(let text):
                binds[index].buffer_type = MYSQL_TYPE_STRING
                setBytes(Array(text.utf8), at: index)
            case .blob(let bytes):
                binds[index].buffer_type = MYSQL_TYPE_BLOB
                setBytes(bytes, at: index)
            }
        }
    }

    private mutating func store<T>(_ value: T) -> UnsafeMutableRawPointer {
        let pointer = UnsafeMutableRawPointer.allocate(byteCount: MemoryLayout<T>.size, alignment: MemoryLayout<T>.alignment)
        pointer.storeBytes(of: value, as: T.self)
        allocations.append(pointer)
        return pointer
    }

    /// Bound by length, so NUL bytes inside text are sent as they are.
    private mutating func setBytes(_ bytes: [UInt8], at index: Int) {
        let pointer = UnsafeMutableRawPointer.allocate(byteCount: max(1, bytes.count), alignment: 1)
        bytes.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress ?? UnsafeRawPointer(pointer), byteCount: bytes.count) }
        allocations.append(pointer)
        binds[index].buffer = pointer
        binds[index].buffer_length = UInt(bytes.count)
        binds[index].length = store(UInt(bytes.count)).assumingMemoryBound(to: UInt.self)
    }

    func deallocate() {
        for pointer in allocations { pointer.deallocate() }
        binds.deinitialize(count: max(1, count))
        binds.deallocate()
    }
}

/// The `MYSQL_BIND` array results are fetched into: integers and doubles in place, everything else as bytes in
/// a buffer that grows when a value does not fit (`MYSQL_DATA_TRUNCATED`).
private final class ResultBuffers {
    enum Kind {
        case integer, real
        case bytes(binary: Bool)
    }

    let binds: UnsafeMutablePointer<MYSQL_BIND>
    private let kinds: [Kind]
    private let lengths: UnsafeMutablePointer<UInt>
    private let nulls: UnsafeMutablePointer<my_bool>
    private var buffers: [UnsafeMutableRawPointer]
    private var capacities: [Int]

    init(_ fields: UnsafeBufferPointer<MYSQL_FIELD>) {
        let count = max(1, fields.count)
        binds = .allocate(capacity: count)
        binds.initialize(repeating: MYSQL_BIND(), count: count)
        lengths = .allocate(capacity: count)
        lengths.initialize(repeating: 0, count: count)
        nulls = .allocate(capacity: count)
        nulls.initialize(repeating: 0, count: count)
        var kinds: [Kind] = []
        buffers = []
        capacities = []
        for (index, field) in fields.enumerated() {
            let kind: Kind
            switch field.type {
            case MYSQL_TYPE_TINY, MYSQL_TYPE_SHORT, MYSQL_TYPE_LONG, MYSQL_TYPE_INT24, MYSQL_TYPE_LONGLONG, MYSQL_TYPE_YEAR:
                kind = .integer
            case MYSQL_TYPE_FLOAT, MYSQL_TYPE_DOUBLE:
                kind = .real
            default:
                // Character set 63 is "binary": BLOB columns; everything else is text.
                kind = .bytes(binary: field.charsetnr == 63 && (field.flags & UInt32(BINARY_FLAG)) != 0)
            }
            kinds.append(kind)
            let capacity: Int
            switch kind {
            case .integer:
                capacity = 8
                binds[index].buffer_type = MYSQL_TYPE_LONGLONG
            case .real:
                capacity = 8
                binds[index].buffer_type = MYSQL_TYPE_DOUBLE
            case .bytes:
                capacity = 256
                binds[index].buffer_type = MYSQL_TYPE_BLOB
            }
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
            buffers.append(buffer)
            capacities.append(capacity)
            binds[index].buffer = buffer
            binds[index].buffer_length = UInt(capacity)
            binds[index].length = lengths + index
            binds[index].is_null = nulls + index
        }
        self.kinds = kinds
    }

    func value(at index: Int, statement: UnsafeMutablePointer<MYSQL_STMT>) throws -> SQLValue {
        if nulls[index] != 0 { return .null }
        switch kinds[index] {
        case .integer:
            return .integer(buffers[index].load(as: Int64.self))
        case .real:
            return .real(buffers[index].load(as: Double.self))
        case .bytes(let binary):
            let length = Int(lengths[index])
            guard length > capacities[index] else {
                let bytes = UnsafeRawBufferPointer(start: buffers[index], count: length)
                return binary ? .blob(Array(bytes)) : .text(String(decoding: bytes, as: UTF8.self))
            }
            // Too long for the bound buffer: fetch this column again, whole, into a buffer of its size. The
            // statement keeps its own copy of the binds, so the bound buffer itself must stay as it is.
            let whole = UnsafeMutableRawPointer.allocate(byteCount: length, alignment: 8)
            defer { whole.deallocate() }
            var bind = binds[index]
            var fetched: UInt = 0
            bind.buffer = whole
            bind.buffer_length = UInt(length)
            return try withUnsafeMutablePointer(to: &fetched) { fetchedLength in
                bind.length = fetchedLength
                guard mysql_stmt_fetch_column(statement, &bind, UInt32(index), 0) == 0 else {
                    throw DatabaseError(.query, "cannot fetch column \(index): \(String(cString: mysql_stmt_error(statement)))")
                }
                let bytes = UnsafeRawBufferPointer(start: whole, count: length)
                return binary ? .blob(Array(bytes)) : .text(String(decoding: bytes, as: UTF8.self))
            }
        }
    }

    func deallocate() {
        for buffer in buffers { buffer.deallocate() }
        binds.deinitialize(count: max(1, kinds.count))
        binds.deallocate()
        lengths.deallocate()
        nulls.deallocate()
    }
}
