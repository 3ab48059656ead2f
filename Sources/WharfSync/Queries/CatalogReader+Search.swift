import WharfAuth
import WharfDatabase

/// What a search found, of each kind at most ``CatalogReader/searchLimit``, those starting with the text first.
public struct SearchResults: Sendable, Equatable {
    public var namespaces: [Namespace]
    public var repositories: [Repository]
    public var tags: [TagMatch]

    public static let empty = SearchResults(namespaces: [], repositories: [], tags: [])
}

extension CatalogReader {
    /// Namespaces, repositories and tags whose name contains `text`, case-insensitively, that `subject` may see:
    /// those whose name (for repositories: whose name or a later component of it) starts with `text` first, then
    /// the others, each by name. The text is matched literally (`%`, `_`, quotes and backslashes are themselves);
    /// white space around it is ignored, and a text longer than any name (``maxSearchBytes``) or empty finds
    /// nothing without a query. Three queries in one read.
    public func search(_ text: String, for subject: TokenSubject, limit: Int = CatalogReader.searchLimit) async throws -> SearchResults {
        let needle = text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        guard !needle.isEmpty, needle.utf8.count <= Self.maxSearchBytes else { return .empty }
        let scope = scope(for: subject)
        let limit = min(max(limit, 1), CatalogPaging.maxSize)
        return try await pool.read { transaction in
            let queries = transaction.catalogQueries
            return SearchResults(
                namespaces: try queries.searchNamespaces(scope: scope, text: needle, limit: limit),
                repositories: try queries.searchRepositories(scope: scope, text: needle, limit: limit),
                tags: try queries.searchTags(scope: scope, text: needle, limit: limit)
            )
        }
    }
}
