import Foundation

/// Where the database is, parsed from `database.url`:
/// `sqlite:///absolute/path` (or `sqlite://relative/path`), `mysql://user:password@host:port/database?options`
/// (`mariadb://` too). Options: `pool` (connections, default 4 for SQLite, 10 for MySQL), `tls` (`off`,
/// `required`, `verify`), `tls_ca` (CA file), `connect_timeout`, `read_timeout`, `write_timeout` (seconds, `10s`),
/// `socket` (a Unix socket instead of TCP).
///
/// `description` never shows the password; parse errors never repeat the URL.
public enum DatabaseLocation: Sendable, CustomStringConvertible, Equatable {
    case sqlite(path: String, poolSize: Int)
    case mysql(MySQL)

    public struct MySQL: Sendable, Equatable {
        public enum TLSMode: String, Sendable { case off, required, verify }

        public var host: String
        public var port: Int = 3306
        public var user: String
        public var password: String?
        public var database: String
        public var socket: String?
        public var poolSize = 10
        public var tls: TLSMode = .off
        public var tlsCA: String?
        public var connectTimeout: Duration = .seconds(5)
        public var readTimeout: Duration = .seconds(30)
        public var writeTimeout: Duration = .seconds(30)

        /// The URL with the password replaced by `***`.
        public var displayName: String {
            let credentials = password == nil ? user : "\(user):***"
            return "mysql://\(credentials)@\(host):\(port)/\(database)"
        }
    }

    /// The default: `wharf.sqlite` in the data folder.
    public static func defaultSQLite(dataDirectory: String) -> DatabaseLocation {
        .sqlite(path: dataDirectory + "/wharf.sqlite", poolSize: 4)
    }

    public var description: String {
        switch self {
        case .sqlite(let path, _): return "sqlite://\(path)"
        case .mysql(let mysql): return mysql.displayName
        }
    }

    /// The backend this location names.
    public func makeBackend() -> any SQLBackend {
        switch self {
        case .sqlite(let path, let poolSize): return SQLiteBackend(path: path, maxConnections: poolSize)
        case .mysql(let mysql): return MariaDBBackend(mysql)
        }
    }

    /// Parses a `database.url` value. Errors start with `database.url:` and do not contain the URL.
    public static func parse(_ text: String) throws -> DatabaseLocation {
        func fail(_ reason: String) -> DatabaseError { DatabaseError(.configuration, "database.url: \(reason)") }
        guard let schemeEnd = text.range(of: "://") else {
            throw fail("expected sqlite:///path or mysql://user:password@host:port/database")
        }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        switch scheme {
        case "sqlite":
            let rest = text[schemeEnd.upperBound...]
            let path = String(rest.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0])
            guard !path.isEmpty else { throw fail("sqlite:// needs a file path, as in sqlite:///srv/wharf/wharf.sqlite") }
            let options = try Options(query: rest.contains("?") ? String(rest.split(separator: "?", maxSplits: 1)[1]) : "", fail: fail)
            return .sqlite(path: path, poolSize: try options.poolSize ?? 4)
        case "mysql", "mariadb":
            guard let components = URLComponents(string: text), let host = components.host, !host.isEmpty else {
                throw fail("expected \(scheme)://user:password@host:port/database (percent-encode special characters in the password)")
            }
            guard let user = components.percentEncodedUser?.removingPercentEncoding, !user.isEmpty else { throw fail("missing user name") }
            let database = String(components.path.drop { $0 == "/" })
            guard !database.isEmpty, !database.contains("/") else { throw fail("missing database name after the host, as in …@host:3306/wharf") }
            var mysql = MySQL(host: host, user: user, database: database)
            mysql.password = components.percentEncodedPassword?.removingPercentEncoding
            if let port = components.port {
                guard (1...65535).contains(port) else { throw fail("bad port \(port)") }
                mysql.port = port
            }
            let options = try Options(query: components.percentEncodedQuery ?? "", fail: fail)
            if let pool = try options.poolSize { mysql.poolSize = pool }
            if let tls = options.values["tls"] {
                guard let mode = MySQL.TLSMode(rawValue: tls) else { throw fail("tls must be off, required or verify") }
                mysql.tls = mode
            }
            mysql.tlsCA = options.values["tls_ca"]
            mysql.socket = options.values["socket"]
            if let value = try options.seconds("connect_timeout") { mysql.connectTimeout = value }
            if let value = try options.seconds("read_timeout") { mysql.readTimeout = value }
            if let value = try options.seconds("write_timeout") { mysql.writeTimeout = value }
            return .mysql(mysql)
        default:
            throw fail("unknown scheme \(scheme); use sqlite, mysql or mariadb")
        }
    }

    private struct Options {
        let values: [String: String]
        let fail: (String) -> DatabaseError

        static let known: Set = ["pool", "tls", "tls_ca", "socket", "connect_timeout", "read_timeout", "write_timeout"]

        init(query: String, fail: @escaping (String) -> DatabaseError) throws {
            self.fail = fail
            var values: [String: String] = [:]
            for pair in query.split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = String(parts[0])
                guard Self.known.contains(name) else { throw fail("unknown option \(name)") }
                values[name] = parts.count > 1 ? (String(parts[1]).removingPercentEncoding ?? String(parts[1])) : ""
            }
            self.values = values
        }

        var poolSize: Int? {
            get throws {
                guard let text = values["pool"] else { return nil }
                guard let size = Int(text), (1...256).contains(size) else { throw fail("pool must be a number of connections from 1 to 256") }
                return size
            }
        }

        func seconds(_ name: String) throws -> Duration? {
            guard let text = values[name] else { return nil }
            guard let seconds = Int(text.hasSuffix("s") ? String(text.dropLast()) : text), seconds > 0 else {
                throw fail("\(name) must be a number of seconds, as in 10s")
            }
            return .seconds(seconds)
        }
    }
}
