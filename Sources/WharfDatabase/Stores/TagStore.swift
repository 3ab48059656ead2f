import Foundation

/// A tag in the catalogue mirror: what it points at and who pushed it (a row, not the name grammar: that is
/// WharfCore's `Tag`).
public struct CatalogTag: Sendable, Equatable, RowDecodable {
    public var id: Int64
    public var repositoryID: Int64
    public var name: String
    public var digest: String
    public var mediaType: String
    public var size: Int64
    public var configDigest: String?
    /// `os/architecture[/variant]` entries, comma-separated (several for an index).
    public var platforms: String
    public var pushedBy: Int64?
    /// The pusher's name, kept when the user is deleted (``pushedBy`` then becomes nil).
    public var pushedByName: String?
    public var pushedAt: Date
    public var pulledAt: Date?

    init(row: SQLRow) throws {
        id = try row.decode("id")
        repositoryID = try row.decode("repository_id")
        name = try row.decode("name")
        digest = try row.decode("digest")
        mediaType = try row.decode("media_type")
        size = try row.decode("size")
        configDigest = try row.decode("config_digest")
        platforms = try row.decode("platforms")
        pushedBy = try row.decode("pushed_by")
        pushedByName = try row.decode("pushed_by_name")
        pushedAt = try row.decode("pushed_at")
        pulledAt = try row.decode("pulled_at")
    }
}

/// What a push records about a tag.
public struct TagRecord: Sendable {
    public var name: String
    public var digest: String
    public var mediaType: String
    public var size: Int64
    public var configDigest: String?
    public var platforms: String
    public var pushedBy: Int64?
    public var pushedByName: String?
    public var pushedAt: Date

    public init(
        name: String,
        digest: String,
        mediaType: String,
        size: Int64,
        configDigest: String? = nil,
        platforms: String = "",
        pushedBy: Int64? = nil,
        pushedByName: String? = nil,
        pushedAt: Date = Date()
    ) {
        self.name = name
        self.digest = digest
        self.mediaType = mediaType
        self.size = size
        self.configDigest = configDigest
        self.platforms = platforms
        self.pushedBy = pushedBy
        self.pushedByName = pushedByName
        self.pushedAt = pushedAt
    }
}

public struct TagStore: Store {
    let transaction: Transaction
    init(_ transaction: Transaction) { self.transaction = transaction }

    static let columns =
        "id, repository_id, name, digest, media_type, size, config_digest, platforms, pushed_by, pushed_by_name, pushed_at, pulled_at"

    /// Creates the tag or moves it to the new content (a push over an existing tag).
    @discardableResult
    public func upsert(repositoryID: Int64, _ tag: TagRecord) throws -> CatalogTag {
        let columns = [
            "repository_id", "name", "digest", "media_type", "size", "config_digest", "platforms", "pushed_by", "pushed_by_name", "pushed_at",
        ]
        let sql = transaction.dialect.upsert(
            into: "tags",
            columns: columns,
            conflict: ["repository_id", "name"],
            update: Array(columns.dropFirst(2))
        )
        try transaction.execute(
            sql,
            [
                repositoryID, try Validation.name(tag.name, "tag name"), try Validation.name(tag.digest, "digest"),
                try Validation.name(tag.mediaType, "media type"), tag.size, try Validation.name(tag.configDigest, "config digest"),
                try Validation.text(tag.platforms, "platforms"), tag.pushedBy, try Validation.name(tag.pushedByName, "pusher name"),
                Date(millisecondsSince1970: tag.pushedAt.millisecondsSince1970),
            ]
        )
        return try find(repositoryID: repositoryID, name: tag.name)!
    }

    public func find(repositoryID: Int64, name: String) throws -> CatalogTag? {
        try transaction.fetchOne("SELECT \(Self.columns) FROM tags WHERE repository_id = ? AND name = ?", [repositoryID, name])
    }

    /// Tags of a repository by name, after `name`: a page of the tag list.
    public func list(repositoryID: Int64, after name: String? = nil, limit: Int = 100) throws -> [CatalogTag] {
        try transaction.fetch(
            "SELECT \(Self.columns) FROM tags WHERE repository_id = ? AND name > ? ORDER BY name LIMIT ?",
            [repositoryID, name ?? "", pageSize(limit)]
        )
    }

    /// Every tag (in any repository) pointing at `digest`.
    public func list(digest: String) throws -> [CatalogTag] {
        try transaction.fetch("SELECT \(Self.columns) FROM tags WHERE digest = ? ORDER BY repository_id, name", [digest])
    }

    public func count(repositoryID: Int64) throws -> Int {
        try transaction.query("SELECT COUNT(*) AS n FROM tags WHERE repository_id = ?", [repositoryID]).first?.decode("n") ?? 0
    }

    public func recordPull(repositoryID: Int64, name: String, at time: Date = Date()) throws {
        try transaction.execute("UPDATE tags SET pulled_at = ? WHERE repository_id = ? AND name = ?", [time, repositoryID, name])
    }

    @discardableResult
    public func delete(repositoryID: Int64, name: String) throws -> Bool {
        try changed("DELETE FROM tags WHERE repository_id = ? AND name = ?", [repositoryID, name])
    }

    /// Removes every tag of the repository pointing at `digest` (a manifest delete); returns how many.
    @discardableResult
    public func delete(repositoryID: Int64, digest: String) throws -> Int {
        try transaction.execute("DELETE FROM tags WHERE repository_id = ? AND digest = ?", [repositoryID, digest]).affectedRows
    }
}
