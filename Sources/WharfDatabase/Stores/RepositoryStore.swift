import Foundation

/// A repository in the catalogue mirror, by its full name (`team/app`, or `alpine` in the global namespace), with
/// the summary the portal lists: how many tags, how much they hold, when it was last pushed and pulled.
public struct Repository: Sendable, Equatable, RowDecodable {
    public var id: Int64
    public var name: String
    /// The first component of a name with several, empty for the global namespace.
    public var namespace: String
    public var description: String
    public var tagCount: Int
    /// Bytes of every manifest the tags point at and everything those reference, each digest counted once.
    public var size: Int64
    public var starCount: Int
    public var pushedAt: Date?
    public var pulledAt: Date?
    public var createdAt: Date
    public var updatedAt: Date

    init(row: SQLRow) throws {
        id = try row.decode("id")
        name = try row.decode("name")
        namespace = try row.decode("namespace")
        description = try row.decode("description")
        tagCount = try row.decode("tag_count")
        size = try row.decode("size")
        starCount = try row.decode("star_count")
        pushedAt = try row.decode("pushed_at")
        pulledAt = try row.decode("pulled_at")
        createdAt = try row.decode("created_at")
        updatedAt = try row.decode("updated_at")
    }

    /// The namespace part of `name`: its first component when it has several, else empty (the global namespace).
    public static func namespace(of name: String) -> String {
        guard let slash = name.firstIndex(of: "/") else { return "" }
        return String(name[..<slash])
    }

    /// The key that sorts names in tree order (`a`, `a/b`, `a-c`), the order of a walk of the storage folders:
    /// `/` becomes a space, which sorts before every character a repository name may hold.
    public static func sortKey(_ name: String) -> String {
        name.replacingOccurrences(of: "/", with: " ")
    }
}

public struct RepositoryStore: Store {
    let transaction: Transaction
    init(_ transaction: Transaction) { self.transaction = transaction }

    static let columns =
        "id, name, namespace, description, tag_count, size, star_count, pushed_at, pulled_at, created_at, updated_at"

    /// The repository called `name`, created when missing (what a push or a sync pass does).
    @discardableResult
    public func findOrCreate(name: String) throws -> Repository {
        if let existing = try find(name: name) { return existing }
        let time = now()
        let sql = transaction.dialect.upsert(
            into: "repositories",
            columns: ["name", "sort_key", "namespace", "description", "created_at", "updated_at"],
            conflict: ["name"],
            update: []
        )
        try transaction.execute(
            sql,
            [try Validation.name(name, "repository name"), Repository.sortKey(name), Repository.namespace(of: name), "", time, time]
        )
        return try find(name: name)!
    }

    public func find(id: Int64) throws -> Repository? {
        try transaction.fetchOne("SELECT \(Self.columns) FROM repositories WHERE id = ?", [id])
    }

    public func find(name: String) throws -> Repository? {
        try transaction.fetchOne("SELECT \(Self.columns) FROM repositories WHERE name = ?", [name])
    }

    /// Repositories in tree order after `name` (nil: from the start).
    public func list(after name: String? = nil, limit: Int = 100) throws -> [Repository] {
        try transaction.fetch(
            "SELECT \(Self.columns) FROM repositories WHERE sort_key > ? ORDER BY sort_key LIMIT ?",
            [Repository.sortKey(name ?? ""), pageSize(limit)]
        )
    }

    /// Only the names of ``list(after:limit:)``: a `/v2/_catalog` page.
    public func names(after name: String? = nil, limit: Int = 100) throws -> [String] {
        try transaction.query(
            "SELECT name FROM repositories WHERE sort_key > ? ORDER BY sort_key LIMIT ?",
            [Repository.sortKey(name ?? ""), pageSize(limit)]
        ).map { try $0.decode("name") }
    }

    /// Repositories of a namespace (empty: the global one) in tree order.
    public func list(namespace: String, after name: String? = nil, limit: Int = 100) throws -> [Repository] {
        try transaction.fetch(
            "SELECT \(Self.columns) FROM repositories WHERE namespace = ? AND sort_key > ? ORDER BY sort_key LIMIT ?",
            [namespace, Repository.sortKey(name ?? ""), pageSize(limit)]
        )
    }

    /// Every repository's id by name: what a sync pass compares storage with.
    public func allIDs() throws -> [String: Int64] {
        var ids: [String: Int64] = [:]
        for row in try transaction.query("SELECT id, name FROM repositories", []) {
            ids[try row.decode("name")] = try row.decode("id")
        }
        return ids
    }

    /// The modification time of each repository's manifest revisions folder when its referrers were last read
    /// (nanoseconds since 1970), by id: a pass reads a repository's revisions again only when it changed.
    public func revisionStamps() throws -> [Int64: Int64] {
        var stamps: [Int64: Int64] = [:]
        for row in try transaction.query("SELECT id, revisions_modified FROM repositories", []) {
            stamps[try row.decode("id")] = try row.decode("revisions_modified")
        }
        return stamps
    }

    public func setRevisionsModified(id: Int64, _ value: Int64) throws {
        try transaction.execute("UPDATE repositories SET revisions_modified = ? WHERE id = ?", [value, id])
    }

    public func count() throws -> Int {
        try transaction.query("SELECT COUNT(*) AS n FROM repositories", []).first?.decode("n") ?? 0
    }

    /// How many repositories each of `namespaces` holds (one query; a namespace without any is absent).
    public func counts(namespaces: [String]) throws -> [String: Int] {
        guard !namespaces.isEmpty else { return [:] }
        let marks = Array(repeating: "?", count: namespaces.count).joined(separator: ", ")
        let rows = try transaction.query(
            "SELECT namespace, COUNT(*) AS n FROM repositories WHERE namespace IN (\(marks)) GROUP BY namespace",
            namespaces.map { $0 as any SQLValueConvertible }
        )
        var counts: [String: Int] = [:]
        for row in rows { counts[try row.decode("namespace")] = try row.decode("n") }
        return counts
    }

    public func update(id: Int64, description: String) throws {
        try transaction.execute(
            "UPDATE repositories SET description = ?, updated_at = ? WHERE id = ?",
            [try Validation.text(description, "repository description"), now(), id]
        )
    }

    /// Recomputes the tag count, size and last push from the repository's tags, after its tags changed.
    public func summarize(id: Int64) throws {
        let rows = try transaction.query(
            "SELECT COUNT(*) AS n, MAX(pushed_at) AS pushed FROM tags WHERE repository_id = ?",
            [id]
        )
        let count: Int = try rows.first?.decode("n") ?? 0
        let pushed: Date? = try rows.first?.decode("pushed")
        // A digest tagged several times counts once (summed here: MariaDB's SUM is a DECIMAL, SQLite's an integer).
        let size = try transaction.query("SELECT MAX(size) AS size FROM tags WHERE repository_id = ? GROUP BY digest", [id]).reduce(Int64(0)) {
            $0 + (try $1.decode("size") as Int64)
        }
        try transaction.execute(
            "UPDATE repositories SET tag_count = ?, size = ?, pushed_at = ?, updated_at = ? WHERE id = ?",
            [count, size, pushed, now(), id]
        )
    }

    /// Updates the summary for one tag written over `previous` (nil: a new tag), without reading every tag of the
    /// repository (what a push does: ``summarize(id:)`` costs a scan of all of them). Call it after the write, with
    /// whether the new digest was already tagged in the repository before it.
    public func tagWritten(id: Int64, digest: String, size: Int64, pushedAt: Date, previous: CatalogTag?, digestWasTagged: Bool) throws {
        var countChange = previous == nil ? 1 : 0
        var sizeChange = digestWasTagged ? Int64(0) : size
        if let previous, previous.digest != digest {
            // The old digest's bytes go once no other tag points at it.
            if try !isTagged(id: id, digest: previous.digest) { sizeChange -= previous.size }
        } else if previous != nil {
            sizeChange = 0
            countChange = 0
        }
        try transaction.execute(
            "UPDATE repositories SET tag_count = tag_count + ?, size = size + ?, pushed_at = CASE WHEN pushed_at IS NULL OR pushed_at < ? THEN ? ELSE pushed_at END, updated_at = ? WHERE id = ?",
            [
                countChange, sizeChange, Date(millisecondsSince1970: pushedAt.millisecondsSince1970),
                Date(millisecondsSince1970: pushedAt.millisecondsSince1970), now(), id,
            ]
        )
    }

    /// Whether some tag of the repository points at `digest`.
    public func isTagged(id: Int64, digest: String) throws -> Bool {
        try !transaction.query("SELECT 1 AS one FROM tags WHERE repository_id = ? AND digest = ? LIMIT 1", [id, digest]).isEmpty
    }

    /// Remembers the newest pull (coalesced by the caller).
    public func recordPull(id: Int64, at time: Date) throws {
        try transaction.execute(
            "UPDATE repositories SET pulled_at = ? WHERE id = ? AND (pulled_at IS NULL OR pulled_at < ?)",
            [Date(millisecondsSince1970: time.millisecondsSince1970), id, time]
        )
    }

    /// Removes the repository with its tags, referrers, stars and comments.
    @discardableResult
    public func delete(id: Int64) throws -> Bool {
        try changed("DELETE FROM repositories WHERE id = ?", [id])
    }
}
