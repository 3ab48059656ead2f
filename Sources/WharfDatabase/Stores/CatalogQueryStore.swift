import Foundation
import WharfCore

/// The catalogue as the API and the portal read it: pages and searches filtered by a ``PullScope`` in the same
/// query, so a page costs one query whatever its caller may see. Pages are keyset pages: each starts after the
/// key of the last row of the one before (never an offset), so rows inserted or removed between two pages neither
/// repeat nor hide the rows whose key did not change.
///
/// A `limit` here is the number of rows read; callers ask for one more than they show to learn whether another
/// page follows.
public struct CatalogQueryStore: Store {
    let transaction: Transaction
    init(_ transaction: Transaction) { self.transaction = transaction }

    static let repositoryColumns = RepositoryStore.columns.split(separator: ",").map { "r." + $0.trimmingCharacters(in: .whitespaces) }
        .joined(separator: ", ")
    static let namespaceColumns = NamespaceStore.columns.split(separator: ",").map { "n." + $0.trimmingCharacters(in: .whitespaces) }
        .joined(separator: ", ")

    // MARK: Repositories

    /// Repositories `scope` shows in tree order after `name` (nil: from the start), of one namespace (empty: the
    /// global one) or of all. One range of the `repositories_namespace` or `repositories_sort` index.
    public func repositories(scope: PullScope, namespace: String?, after name: String?, limit: Int) throws -> [Repository] {
        let filter = scope.repositoryFilter()
        var sql = "SELECT \(Self.repositoryColumns) FROM repositories r\(filter.joins) WHERE \(filter.condition) AND r.sort_key > ?"
        var binds = filter.joinBinds + filter.conditionBinds + [Repository.sortKey(name ?? "")]
        if let namespace {
            sql += " AND r.namespace = ?"
            binds.append(namespace)
        }
        return try transaction.fetch(sql + " ORDER BY r.sort_key LIMIT ?", binds + [pageSize(limit)])
    }

    /// The repository called `name` when `scope` shows it.
    public func repository(scope: PullScope, name: String) throws -> Repository? {
        let filter = scope.repositoryFilter()
        return try transaction.fetchOne(
            "SELECT \(Self.repositoryColumns) FROM repositories r\(filter.joins) WHERE \(filter.condition) AND r.name = ?",
            filter.joinBinds + filter.conditionBinds + [name]
        )
    }

    /// The repositories `userID` starred that `scope` shows, in tree order after `name`.
    public func starred(scope: PullScope, userID: Int64, after name: String?, limit: Int) throws -> [Repository] {
        let filter = scope.repositoryFilter()
        return try transaction.fetch(
            "SELECT \(Self.repositoryColumns) FROM stars s JOIN repositories r ON r.id = s.repository_id\(filter.joins) WHERE s.user_id = ? AND \(filter.condition) AND r.sort_key > ? ORDER BY r.sort_key LIMIT ?",
            filter.joinBinds + [userID] + filter.conditionBinds + [Repository.sortKey(name ?? ""), pageSize(limit)]
        )
    }

    // MARK: Tags

    /// A page of the repository's tags grouped by digest: newest push first (a group's push is its newest tag's),
    /// then by digest, after `key`. Two queries: the page's digests (one pass over the `tags_repository_digest`
    /// index, grouped in index order), then their tags.
    public func tagGroups(repositoryID: Int64, after key: TagGroupKey?, limit: Int) throws -> [TagGroup] {
        var sql = "SELECT digest, MAX(pushed_at) AS pushed FROM tags WHERE repository_id = ? GROUP BY digest"
        var binds: [any SQLValueConvertible] = [repositoryID]
        if let key {
            sql += " HAVING MAX(pushed_at) < ? OR (MAX(pushed_at) = ? AND digest > ?)"
            binds += [key.pushedAt, key.pushedAt, key.digest]
        }
        let digests: [String] = try transaction.query(sql + " ORDER BY pushed DESC, digest LIMIT ?", binds + [pageSize(limit)]).map {
            try $0.decode("digest")
        }
        guard !digests.isEmpty else { return [] }
        let marks = digests.map { _ in "?" }.joined(separator: ", ")
        let tags: [CatalogTag] = try transaction.fetch(
            "SELECT \(TagStore.columns) FROM tags WHERE repository_id = ? AND digest IN (\(marks)) ORDER BY pushed_at DESC, name",
            [repositoryID] + digests.map { $0 as any SQLValueConvertible }
        )
        let byDigest = Dictionary(grouping: tags, by: \.digest)
        return digests.compactMap { byDigest[$0].map(TagGroup.init) }
    }

    /// The tags of the repository pointing at `digest`, newest push first.
    public func tags(repositoryID: Int64, digest: String) throws -> [CatalogTag] {
        try transaction.fetch(
            "SELECT \(TagStore.columns) FROM tags WHERE repository_id = ? AND digest = ? ORDER BY pushed_at DESC, name",
            [repositoryID, digest]
        )
    }

    // MARK: Search

    /// Repositories `scope` shows whose name contains `text` (already lower-cased: names are lower case by the
    /// grammar), ranked: the name starts with it, then a later component does (`lib/nginx` for `ngi`), then any
    /// other place; by tree order within a rank. `text` is compared as bytes (`instr`, never `LIKE`), so `%`, `_`
    /// and quotes are themselves.
    public func searchRepositories(scope: PullScope, text: String, limit: Int) throws -> [Repository] {
        let filter = scope.repositoryFilter()
        return try transaction.fetch(
            "SELECT \(Self.repositoryColumns) FROM repositories r\(filter.joins) WHERE \(filter.condition) AND instr(r.name, ?) > 0 ORDER BY CASE WHEN instr(r.name, ?) = 1 THEN 0 WHEN instr(r.name, ?) > 0 THEN 1 ELSE 2 END, r.sort_key LIMIT ?",
            filter.joinBinds + filter.conditionBinds + [text, text, "/" + text, pageSize(limit)]
        )
    }

    /// Namespaces `scope` shows whose name contains `text` (lower-cased; compared with the name lower-cased),
    /// those starting with it first, then by name.
    public func searchNamespaces(scope: PullScope, text: String, limit: Int) throws -> [Namespace] {
        let filter = scope.namespaceFilter()
        return try transaction.fetch(
            "SELECT \(Self.namespaceColumns) FROM namespaces n\(filter.joins) WHERE \(filter.condition) AND instr(lower(n.name), ?) > 0 ORDER BY CASE WHEN instr(lower(n.name), ?) = 1 THEN 0 ELSE 1 END, n.name LIMIT ?",
            filter.joinBinds + filter.conditionBinds + [text, text, pageSize(limit)]
        )
    }

    /// Tags in repositories `scope` shows whose name contains `text` (lower-cased; compared with the name
    /// lower-cased), those starting with it first, then by repository and tag name.
    ///
    /// Two queries, so that typing costs little on 100,000s of tags: the names starting with the text are ranges of
    /// the `tags_name` index (one per upper/lower-case spelling of its first letters: at most 16), and only when
    /// they are fewer than `limit` does a scan of every tag name look for the text further in. On MariaDB the scan
    /// reads the tags before their repositories (`STRAIGHT_JOIN`): its planner otherwise walks every repository
    /// and looks up its tags, four times slower.
    public func searchTags(scope: PullScope, text: String, limit: Int) throws -> [TagMatch] {
        let filter = scope.repositoryFilter()
        let join = transaction.dialect == .mysql ? "STRAIGHT_JOIN" : "JOIN"
        let select =
            "SELECT r.name AS repository, t.name AS tag, t.digest, t.pushed_at FROM tags t \(join) repositories r ON r.id = t.repository_id\(filter.joins)"
        let ranges = Self.spellings(of: text)
        let rangeSQL = ranges.map { _ in "(t.name >= ? AND t.name < ?)" }.joined(separator: " OR ")
        var found = try transaction.query(
            select + " WHERE (\(rangeSQL)) AND instr(lower(t.name), ?) = 1 AND \(filter.condition) ORDER BY r.sort_key, t.name LIMIT ?",
            filter.joinBinds + ranges.flatMap { [$0, $0 + "\u{10FFFF}"] as [any SQLValueConvertible] } + [text] + filter.conditionBinds
                + [pageSize(limit)]
        ).map(Self.tagMatch)
        guard found.count < limit else { return found }
        found += try transaction.query(
            select + " WHERE instr(lower(t.name), ?) > 1 AND \(filter.condition) ORDER BY r.sort_key, t.name LIMIT ?",
            filter.joinBinds + [text] + filter.conditionBinds + [pageSize(limit - found.count)]
        ).map(Self.tagMatch)
        return found
    }

    /// The spellings of `text`'s first four characters in upper and lower case (`we`: `we`, `wE`, `We`, `WE`): a
    /// name starting with `text` in any case starts with one of them.
    static func spellings(of text: String) -> [String] {
        var spellings = [""]
        for character in text.prefix(4) {
            let lower = String(character).lowercased()
            let upper = String(character).uppercased()
            let variants = lower == upper || upper.count != 1 ? [lower] : [lower, upper]
            spellings = spellings.flatMap { prefix in variants.map { prefix + $0 } }
        }
        return spellings
    }

    static func tagMatch(_ row: SQLRow) throws -> TagMatch {
        TagMatch(
            repository: try row.decode("repository"),
            tag: try row.decode("tag"),
            digest: try row.decode("digest"),
            pushedAt: try row.decode("pushed_at")
        )
    }

    // MARK: Counts and comments

    /// Everything's count for ``PullScope/everything``; otherwise only the namespaces, repositories and tags the
    /// scope shows (the rest are nil).
    public func counts(scope: PullScope) throws -> CatalogCounts {
        if scope == .everything {
            let row = try transaction.query(
                "SELECT (SELECT COUNT(*) FROM users) AS users, (SELECT COUNT(*) FROM teams) AS teams, (SELECT COUNT(*) FROM namespaces) AS namespaces, (SELECT COUNT(*) FROM repositories) AS repositories, (SELECT COUNT(*) FROM tags) AS tags, (SELECT COUNT(*) FROM webhooks) AS webhooks, (SELECT COUNT(*) FROM activities) AS activities"
            )[0]
            return CatalogCounts(
                users: try row.decode("users"),
                teams: try row.decode("teams"),
                namespaces: try row.decode("namespaces"),
                repositories: try row.decode("repositories"),
                tags: try row.decode("tags"),
                webhooks: try row.decode("webhooks"),
                activities: try row.decode("activities")
            )
        }
        let repositories = scope.repositoryFilter()
        // MariaDB's SUM is a DECIMAL, which arrives as bytes: read as text, then as a number.
        let row = try transaction.query(
            "SELECT COUNT(*) AS n, COALESCE(SUM(r.tag_count), 0) AS tags FROM repositories r\(repositories.joins) WHERE \(repositories.condition)",
            repositories.joinBinds + repositories.conditionBinds
        )[0]
        let namespaces = scope.namespaceFilter()
        let namespaceCount: Int =
            try transaction.query(
                "SELECT COUNT(*) AS n FROM namespaces n\(namespaces.joins) WHERE \(namespaces.condition)",
                namespaces.joinBinds + namespaces.conditionBinds
            ).first?.decode("n") ?? 0
        return CatalogCounts(
            users: nil,
            teams: nil,
            namespaces: namespaceCount,
            repositories: try row.decode("n"),
            tags: Int(try row.decode("tags", as: String.self)) ?? 0,
            webhooks: nil,
            activities: nil
        )
    }

    /// A page of a repository's comments, oldest first, after the comment created at `after.createdAt` with id
    /// `after.id`.
    public func comments(repositoryID: Int64, after: (createdAt: Date, id: Int64)?, limit: Int) throws -> [RepositoryComment] {
        var sql =
            "SELECT c.id, c.repository_id, c.user_id, u.name AS author, c.body, c.created_at, c.updated_at FROM comments c LEFT JOIN users u ON u.id = c.user_id WHERE c.repository_id = ?"
        var binds: [any SQLValueConvertible] = [repositoryID]
        if let after {
            sql += " AND (c.created_at > ? OR (c.created_at = ? AND c.id > ?))"
            binds += [after.createdAt, after.createdAt, after.id]
        }
        return try transaction.query(sql + " ORDER BY c.created_at, c.id LIMIT ?", binds + [pageSize(limit)]).map(Self.comment)
    }

    /// The comment `id` of the repository, with its author's name.
    public func comment(repositoryID: Int64, id: Int64) throws -> RepositoryComment? {
        try transaction.query(
            "SELECT c.id, c.repository_id, c.user_id, u.name AS author, c.body, c.created_at, c.updated_at FROM comments c LEFT JOIN users u ON u.id = c.user_id WHERE c.repository_id = ? AND c.id = ?",
            [repositoryID, id]
        ).first.map(Self.comment)
    }

    static func comment(_ row: SQLRow) throws -> RepositoryComment {
        RepositoryComment(
            id: try row.decode("id"),
            repositoryID: try row.decode("repository_id"),
            authorID: try row.decode("user_id"),
            authorName: try row.decode("author"),
            body: try row.decode("body"),
            createdAt: try row.decode("created_at"),
            updatedAt: try row.decode("updated_at")
        )
    }
}

extension Transaction {
    /// The catalogue's pages and searches (``CatalogQueryStore``).
    public var catalogQueries: CatalogQueryStore { CatalogQueryStore(self) }
}
