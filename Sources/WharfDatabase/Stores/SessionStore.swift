import Foundation

/// A browser session; `id` is a hash of the cookie's secret, never the secret itself.
public struct Session: Sendable, Equatable, RowDecodable {
    public var id: String
    public var userID: Int64
    public var data: String
    public var createdAt: Date
    public var expiresAt: Date
    public var lastSeenAt: Date

    init(row: SQLRow) throws {
        id = try row.decode("id")
        userID = try row.decode("user_id")
        data = try row.decode("data")
        createdAt = try row.decode("created_at")
        expiresAt = try row.decode("expires_at")
        lastSeenAt = try row.decode("last_seen_at")
    }
}

public struct SessionStore: Store {
    let transaction: Transaction
    init(_ transaction: Transaction) { self.transaction = transaction }

    static let columns = "id, user_id, data, created_at, expires_at, last_seen_at"

    @discardableResult
    public func create(id: String, userID: Int64, expiresAt: Date, data: String = "{}") throws -> Session {
        let time = now()
        let binds: [any SQLValueConvertible] = [
            try Validation.name(id, "session id"), userID, try Validation.text(data, "session data"), time,
            Date(millisecondsSince1970: expiresAt.millisecondsSince1970), time,
        ]
        try unique("a session with this id") {
            _ = try transaction.execute(
                "INSERT INTO sessions (id, user_id, data, created_at, expires_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?)",
                binds
            )
        }
        return try transaction.fetchOne("SELECT \(Self.columns) FROM sessions WHERE id = ?", [id])!
    }

    /// The session with this id unless it expired.
    public func find(id: String, at time: Date = Date()) throws -> Session? {
        try transaction.fetchOne("SELECT \(Self.columns) FROM sessions WHERE id = ? AND expires_at > ?", [id, time])
    }

    public func touch(id: String, expiresAt: Date, at time: Date = Date()) throws {
        try transaction.execute("UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE id = ?", [time, expiresAt, id])
    }

    @discardableResult
    public func delete(id: String) throws -> Bool {
        try changed("DELETE FROM sessions WHERE id = ?", [id])
    }

    /// Logs the user out everywhere; returns how many sessions ended.
    @discardableResult
    public func deleteAll(userID: Int64) throws -> Int {
        try transaction.execute("DELETE FROM sessions WHERE user_id = ?", [userID]).affectedRows
    }

    @discardableResult
    public func deleteExpired(at time: Date = Date()) throws -> Int {
        try transaction.execute("DELETE FROM sessions WHERE expires_at <= ?", [time]).affectedRows
    }
}
