/// A failure of the database layer, with a code callers can act on.
///
/// Messages never contain a password: connection errors name the server by its redacted URL.
public struct DatabaseError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public var description: String { rawValue }

        /// The server cannot be reached, or the connection was lost before the statement ran; retrying later may work.
        public static let unavailable = Code(rawValue: "unavailable")
        /// The connection was lost while a commit was in flight: the transaction may or may not have been applied.
        public static let outcomeUnknown = Code(rawValue: "outcomeUnknown")
        /// A unique constraint refused the row (for example a second user with the same name).
        public static let conflict = Code(rawValue: "conflict")
        /// A value the schema refuses (too long, control characters in a name, a missing referenced row).
        public static let invalidValue = Code(rawValue: "invalidValue")
        /// The configuration (`database.url`) is wrong.
        public static let configuration = Code(rawValue: "configuration")
        /// The schema in the database is newer than this binary knows, or a migration failed.
        public static let migration = Code(rawValue: "migration")
        /// Any other error the server reported; a bug in Wharf's SQL or a server problem.
        public static let query = Code(rawValue: "query")
        /// No connection became free in time.
        public static let timeout = Code(rawValue: "timeout")
        /// The pool was closed.
        public static let closed = Code(rawValue: "closed")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "database \(code.rawValue): \(message)" }

    /// True when the connection that produced this error can no longer be used.
    var connectionIsBroken: Bool { code == .unavailable || code == .outcomeUnknown }
}
