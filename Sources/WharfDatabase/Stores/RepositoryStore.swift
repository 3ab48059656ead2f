import Foundation

/// A repository in the catalogue mirror, by its full name (`team/app`, or `alpine` in the global namespace).
public struct Repository: Sendable, Equatable, RowDecodable {
    public var id: Int64
    public var namespaceID: Int64
    public var name: String
    public var description: String
    public var createdAt: Date
    public var updatedAt: Date

    init(row: SQLRow) throws {
        id = try row.decode("id")
        namespaceID = try row.decode("namespace_id")
        name = try row.decode("name")
        description = try row.decode("description")
        createdAt = try row.decode("created_at")
        updatedAt = try row.decode("updated_at")
    }
}

public struct RepositoryStore: Store {
    let transaction: Transaction
    init(_ transaction: Transaction) { self.transaction = transaction }

    static let columns = "id, namespace_id, name, description, created_at, updated_at"

    @discardableResult
    public func create(namespaceID: Int64, name: String, description: String = "") throws -> Repository {
        let time = now()
        let binds: [any SQLValueConvertible] = [
            namespaceID, try Validation.name(name, "repository name"), try Validation.text(description, "repository description"), time, time,
        ]
        let id = try unique("a repository named \(name)") {
            try transaction.insert("INSERT INTO repositories (namespace_id, name, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?)", binds)
        }
        return try find(id: id)!
    }

    /// The repository called `name`, created in `namespaceID` when missing (what a push does).
    public func findOrCreate(namespaceID: Int64, name: String) throws -> Repository {
        if let existing = try find(name: name) { return existing }
        let time = now()
        let sql = transaction.dialect.upsert(
            into: "repositories",
            columns: ["namespace_id", "name", "description", "created_at", "updated_at"],
            conflict: ["name"],
            update: []
        )
        try transaction.execute(sql, [namespaceID, try Validation.name(name, "repository name"), "", time, time])
        return try find(name: name)!
    }

    public func find(id: Int64) throws -> Repository? {
        try transaction.fetchOne("SELECT \(Self.columns) FROM repositories WHERE id = ?", [id])
    }

    public func find(name: String) throws -> Repository? {
        try transaction.fetchOne("SELECT \(Self.columns) FROM repositories WHERE name = ?", [name])
    }

    public func list(namespaceID: Int64, after name: String? = nil, limit: Int = 100) throws -> [Repository] {
        try transaction.fetch(
            "SELECT \(Self.columns) FROM repositories WHERE namespace_id = ? AND name > ? ORDER BY name LIMIT ?",
            [namespaceID, name ?? "", pageSize(limit)]
        )
    }

    public func list(after name: String? = nil, limit: Int = 100) throws -> [Repository] {
        try transaction.fetch("SELECT \(Self.columns) FROM repositories WHERE name > ? ORDER BY name LIMIT ?", [name ?? "", pageSize(limit)])
    }

    public func update(id: Int64, description: String) throws {
        try transaction.execute(
            "UPDATE repositories SET description = ?, updated_at = ? WHERE id = ?",
            [try Validation.text(description, "repository description"), now(), id]
        )
    }

    /// Removes the repository with its tags, stars and comments.
    @discardableResult
    public func delete(id: Int64) throws -> Bool {
        try changed("DELETE FROM repositories WHERE id = ?", [id])
    }
}
