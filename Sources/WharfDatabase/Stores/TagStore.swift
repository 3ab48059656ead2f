import Foundation

/// One platform of a multi-platform index, as the portal lists it.
public struct CatalogPlatform: Sendable, Equatable, Codable {
    public var os: String
    public var architecture: String
    public var variant: String?
    public var digest: String
    /// The platform image's manifest, config and layers.
    public var size: Int64

    public init(os: String, architecture: String, variant: String? = nil, digest: String, size: Int64) {
        self.os = os
        self.architecture = architecture
        self.variant = variant
        self.digest = digest
        self.size = size
    }

    /// `os/architecture[/variant]`.
    public var name: String { [os, architecture, variant].compactMap { $0 }.joined(separator: "/") }

    static func encode(_ platforms: [CatalogPlatform]) -> String {
        guard !platforms.isEmpty, let data = try? JSONEncoder().encode(platforms) else { return "" }
        return String(decoding: data, as: UTF8.self)
    }

    static func decode(_ text: String) -> [CatalogPlatform] {
        guard !text.isEmpty else { return [] }
        return (try? JSONDecoder().decode([CatalogPlatform].self, from: Data(text.utf8))) ?? []
    }
}

/// A tag in the catalogue mirror: what it points at, what that holds, and who pushed it (a row, not the name
/// grammar: that is WharfCore's `Tag`).
public struct CatalogTag: Sendable, Equatable, RowDecodable {
    public var id: Int64
    public var repositoryID: Int64
    public var name: String
    public var digest: String
    public var mediaType: String
    /// The manifest, its config and layers (for an index: every platform's), each digest counted once.
    public var size: Int64
    public var configDigest: String?
    /// When the image was built, from its config.
    public var created: Date?
    public var os: String?
    public var architecture: String?
    /// The images of an index (attestations left out: they are referrers).
    public var platforms: [CatalogPlatform]
    public var artifactType: String?
    public var pushedBy: Int64?
    /// The pusher's name, kept when the user is deleted (``pushedBy`` then becomes nil).
    public var pushedByName: String?
    public var pushedAt: Date
    public var pulledAt: Date?
    /// The modification time of the tag's `current/link` when the row was written (nanoseconds since 1970).
    public var linkModified: Int64

    init(row: SQLRow) throws {
        id = try row.decode("id")
        repositoryID = try row.decode("repository_id")
        name = try row.decode("name")
        digest = try row.decode("digest")
        mediaType = try row.decode("media_type")
        size = try row.decode("size")
        configDigest = try row.decode("config_digest")
        created = try row.decode("created")
        os = try row.decode("os")
        architecture = try row.decode("architecture")
        platforms = CatalogPlatform.decode(try row.decode("platforms"))
        artifactType = try row.decode("artifact_type")
        pushedBy = try row.decode("pushed_by")
        pushedByName = try row.decode("pushed_by_name")
        pushedAt = try row.decode("pushed_at")
        pulledAt = try row.decode("pulled_at")
        linkModified = try row.decode("link_modified")
    }
}

/// What a push or a sync pass records about a tag.
public struct TagRecord: Sendable, Equatable {
    public var name: String
    public var digest: String
    public var mediaType: String
    public var size: Int64
    public var configDigest: String?
    public var created: Date?
    public var os: String?
    public var architecture: String?
    public var platforms: [CatalogPlatform]
    public var artifactType: String?
    public var pushedBy: Int64?
    public var pushedByName: String?
    public var pushedAt: Date
    public var linkModified: Int64

    public init(
        name: String,
        digest: String,
        mediaType: String,
        size: Int64,
        configDigest: String? = nil,
        created: Date? = nil,
        os: String? = nil,
        architecture: String? = nil,
        platforms: [CatalogPlatform] = [],
        artifactType: String? = nil,
        pushedBy: Int64? = nil,
        pushedByName: String? = nil,
        pushedAt: Date = Date(),
        linkModified: Int64 = 0
    ) {
        self.name = name
        self.digest = digest
        self.mediaType = mediaType
        self.size = size
        self.configDigest = configDigest
        self.created = created
        self.os = os
        self.architecture = architecture
        self.platforms = platforms
        self.artifactType = artifactType
        self.pushedBy = pushedBy
        self.pushedByName = pushedByName
        self.pushedAt = pushedAt
        self.linkModified = linkModified
    }
}

/// What a sync pass needs to know of a mirrored tag to tell whether storage moved it.
public struct TagStamp: Sendable, Equatable {
    public var digest: String
    public var linkModified: Int64
}

public struct TagStore: Store {
    let transaction: Transaction
    init(_ transaction: Transaction) { self.transaction = transaction }

    static let writtenColumns = [
        "repository_id", "name", "digest", "media_type", "size", "config_digest", "created", "os", "architecture", "platforms",
        "artifact_type", "pushed_by", "pushed_by_name", "pushed_at", "link_modified",
    ]
    /// Built once: a sync pass writes 100,000s of tags.
    static let sqliteUpsert = upsert(.sqlite)
    static let mysqlUpsert = upsert(.mysql)

    /// The upsert of a sync pass: an existing row changes only when the pass saw a newer link than the row's (a
    /// push through Wharf during the pass wrote a newer one, and keeps it with its pusher).
    static let sqliteUpsertIfNewer =
        upsert(.sqlite) + " WHERE excluded.link_modified > tags.link_modified"
    static let mysqlUpsertIfNewer: String = {
        let insert =
            "INSERT INTO tags (\(writtenColumns.joined(separator: ", "))) VALUES (\(writtenColumns.map { _ in "?" }.joined(separator: ", ")))"
        // Assignments run left to right: link_modified, compared by every other one, comes last.
        let updated = writtenColumns.dropFirst(2).filter { $0 != "link_modified" }.map {
            "\($0) = IF(VALUES(link_modified) > link_modified, VALUES(\($0)), \($0))"
        }
        return insert + " ON DUPLICATE KEY UPDATE "
            + (updated + ["link_modified = GREATEST(link_modified, VALUES(link_modified))"]).joined(separator: ", ")
    }()

    static func upsert(_ dialect: SQLDialect) -> String {
        dialect.upsert(into: "tags", columns: writtenColumns, conflict: ["repository_id", "name"], update: Array(writtenColumns.dropFirst(2)))
    }

    static let columns =
        "id, repository_id, name, digest, media_type, size, config_digest, created, os, architecture, platforms, artifact_type, pushed_by, pushed_by_name, pushed_at, pulled_at, link_modified"

    /// Creates the tag or moves it to the new content (a push over an existing tag). A move keeps `pulled_at`.
    @discardableResult
    public func upsert(repositoryID: Int64, _ tag: TagRecord) throws -> CatalogTag {
        try write(repositoryID: repositoryID, tag)
        return try find(repositoryID: repositoryID, name: tag.name)!
    }

    /// ``upsert(repositoryID:_:)`` without reading the row back (what sync passes do by the thousand).
    public func write(repositoryID: Int64, _ tag: TagRecord, onlyIfNewer: Bool = false) throws {
        let sql =
            switch (transaction.dialect, onlyIfNewer) {
            case (.sqlite, false): Self.sqliteUpsert
            case (.mysql, false): Self.mysqlUpsert
            case (.sqlite, true): Self.sqliteUpsertIfNewer
            case (.mysql, true): Self.mysqlUpsertIfNewer
            }
        try transaction.execute(
            sql,
            [
                repositoryID, try Validation.name(tag.name, "tag name"), try Validation.name(tag.digest, "digest"),
                try Validation.name(tag.mediaType, "media type"), tag.size, try Validation.name(tag.configDigest, "config digest"),
                tag.created.map { Date(millisecondsSince1970: $0.millisecondsSince1970) }, try Validation.name(tag.os, "os"),
                try Validation.name(tag.architecture, "architecture"), try Validation.text(CatalogPlatform.encode(tag.platforms), "platforms"),
                try Validation.name(tag.artifactType, "artifact type"), tag.pushedBy, try Validation.name(tag.pushedByName, "pusher name"),
                Date(millisecondsSince1970: tag.pushedAt.millisecondsSince1970), tag.linkModified,
            ]
        )
    }

    /// Records that the tag's `current/link` was rewritten with the same content (nothing else changed).
    public func setLinkModified(repositoryID: Int64, name: String, _ value: Int64) throws {
        try transaction.execute(
            "UPDATE tags SET link_modified = ? WHERE repository_id = ? AND name = ? AND link_modified < ?",
            [value, repositoryID, name, value]
        )
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

    /// Every mirrored tag's stamp, by repository id and tag name, in one query: what a sync pass compares storage
    /// with.
    public func stamps() throws -> [Int64: [String: TagStamp]] {
        var stamps: [Int64: [String: TagStamp]] = [:]
        for row in try transaction.query("SELECT repository_id, name, digest, link_modified FROM tags", []) {
            let repository: Int64 = try row.decode("repository_id")
            stamps[repository, default: [:]][try row.decode("name")] = TagStamp(
                digest: try row.decode("digest"),
                linkModified: try row.decode("link_modified")
            )
        }
        return stamps
    }

    public func count(repositoryID: Int64) throws -> Int {
        try transaction.query("SELECT COUNT(*) AS n FROM tags WHERE repository_id = ?", [repositoryID]).first?.decode("n") ?? 0
    }

    public func count() throws -> Int {
        try transaction.query("SELECT COUNT(*) AS n FROM tags", []).first?.decode("n") ?? 0
    }

    /// Remembers the newest pull (coalesced by the caller: one write per tag per minute at most).
    public func recordPull(repositoryID: Int64, name: String, at time: Date = Date()) throws {
        try transaction.execute(
            "UPDATE tags SET pulled_at = ? WHERE repository_id = ? AND name = ? AND (pulled_at IS NULL OR pulled_at < ?)",
            [Date(millisecondsSince1970: time.millisecondsSince1970), repositoryID, name, time]
        )
    }

    /// A pull by digest: the newest pull of every tag of the repository pointing at `digest`.
    public func recordPull(repositoryID: Int64, digest: String, at time: Date = Date()) throws {
        try transaction.execute(
            "UPDATE tags SET pulled_at = ? WHERE repository_id = ? AND digest = ? AND (pulled_at IS NULL OR pulled_at < ?)",
            [Date(millisecondsSince1970: time.millisecondsSince1970), repositoryID, digest, time]
        )
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
