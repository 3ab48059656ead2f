import Foundation

public struct Comment: Sendable, Equatable, RowDecodable {
    public var id: Int64
    public var repositoryID: Int64
    public var userID: Int64
    public var body: String
    public var createdAt: Date
    public var updatedAt: Date

    init(row: SQLRow) throws {
        id = try row.decode("id")
        repositoryID = try row.decode("repository_id")
        userID = try row.decode("user_id")
        body = try row.decode("body")
        createdAt = try row.decode("created_at")
        updatedAt = try row.decode("updated_at")
    }
}

public struct CommentStore: Store {
    let transaction: Transaction
    init(_ transaction: Transaction) { self.transaction = transaction }

    static let columns = "id, repository_id, user_id, body, created_at, updated_at"

    @discardableResult
    public func add(repositoryID: Int64, userID: Int64, body: String) throws -> Comment {
        let time = now()
        let id = try transaction.insert(
            "INSERT INTO comments (repository_id, user_id, body, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
            [repositoryID, userID, try Validation.text(body, "comment"), time, time]
        )
        return try transaction.fetchOne("SELECT \(Self.columns) FROM comments WHERE id = ?", [id])!
    }

    /// Comments of a repository, oldest first.
    public func list(repositoryID: Int64, limit: Int = 100) throws -> [Comment] {
        try transaction.fetch(
            "SELECT \(Self.columns) FROM comments WHERE repository_id = ? ORDER BY created_at, id LIMIT ?",
            [repositoryID, pageSize(limit)]
        )
    }

    public func edit(id: Int64, body: String) throws {
        try transaction.execute("UPDATE comments SET body = ?, updated_at = ? WHERE id = ?", [try Validation.text(body, "comment"), now(), id])
    }

    @discardableResult
    public func delete(id: Int64) throws -> Bool {
        try changed("DELETE FROM comments WHERE id = ?", [id])
    }
}
