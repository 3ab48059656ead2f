import Foundation

public struct StarStore: Store {
    let transaction: Transaction
    init(_ transaction: Transaction) { self.transaction = transaction }

    /// Stars the repository for the user; starring twice changes nothing.
    public func star(userID: Int64, repositoryID: Int64) throws {
        let sql = transaction.dialect.upsert(
            into: "stars",
            columns: ["user_id", "repository_id", "created_at"],
            conflict: ["user_id", "repository_id"],
            update: []
        )
        try transaction.execute(sql, [userID, repositoryID, now()])
        try recount(repositoryID: repositoryID)
    }

    @discardableResult
    public func unstar(userID: Int64, repositoryID: Int64) throws -> Bool {
        let removed = try changed("DELETE FROM stars WHERE user_id = ? AND repository_id = ?", [userID, repositoryID])
        if removed { try recount(repositoryID: repositoryID) }
        return removed
    }

    /// Keeps the repository's `star_count` (what lists sort by) equal to its stars.
    func recount(repositoryID: Int64) throws {
        try transaction.execute(
            "UPDATE repositories SET star_count = (SELECT COUNT(*) FROM stars WHERE repository_id = ?) WHERE id = ?",
            [repositoryID, repositoryID]
        )
    }

    public func isStarred(userID: Int64, repositoryID: Int64) throws -> Bool {
        try !transaction.query("SELECT 1 AS one FROM stars WHERE user_id = ? AND repository_id = ?", [userID, repositoryID]).isEmpty
    }

    public func count(repositoryID: Int64) throws -> Int {
        try transaction.query("SELECT COUNT(*) AS n FROM stars WHERE repository_id = ?", [repositoryID]).first?.decode("n") ?? 0
    }

    /// Ids of the repositories the user starred.
    public func repositoryIDs(userID: Int64) throws -> [Int64] {
        try transaction.query("SELECT repository_id FROM stars WHERE user_id = ? ORDER BY repository_id", [userID]).map {
            try $0.decode("repository_id")
        }
    }
}
