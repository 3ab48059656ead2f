import WharfDatabase

/// A tag as the portal, the API and the CLI show it: its row, and the referrers (signatures, SBOMs, attestations)
/// of its manifest or of its platforms' images.
public struct CatalogEntry: Sendable, Equatable {
    public var tag: CatalogTag
    public var referrers: [Referrer]
}

extension CatalogMirror {
    /// The repository's row and its tags with their referrers, in tag order; nil when the mirror has no such
    /// repository.
    public func entries(of repository: String) async throws -> (repository: Repository, tags: [CatalogEntry])? {
        try await pool.read { transaction in
            guard let row = try transaction.repositories.find(name: repository) else { return nil }
            var tags: [CatalogTag] = []
            var after: String? = nil
            while true {
                let page = try transaction.tags.list(repositoryID: row.id, after: after, limit: 1000)
                tags += page
                guard page.count == 1000, let last = page.last else { break }
                after = last.name
            }
            let referrers = Dictionary(grouping: try transaction.referrers.list(repositoryID: row.id), by: \.subject)
            let entries = tags.map { tag in
                let subjects = [tag.digest] + tag.platforms.map(\.digest)
                return CatalogEntry(tag: tag, referrers: subjects.flatMap { referrers[$0] ?? [] })
            }
            return (row, entries)
        }
    }

    /// Repositories in tree order, optionally of one namespace (empty: the global one).
    public func repositories(namespace: String? = nil, after: String? = nil, limit: Int = 1000) async throws -> [Repository] {
        try await pool.read { transaction in
            if let namespace { return try transaction.repositories.list(namespace: namespace, after: after, limit: limit) }
            return try transaction.repositories.list(after: after, limit: limit)
        }
    }
}
