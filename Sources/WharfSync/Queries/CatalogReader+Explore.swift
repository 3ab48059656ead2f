import Foundation
import WharfAuth
import WharfDatabase

/// The portal's Explore page: the newest pushes and the namespaces a caller may see, with their repository counts.
extension CatalogReader {
    /// The repositories `subject` may pull that were pushed to, newest push first.
    public func recentlyPushed(for subject: TokenSubject, limit: Int = 10) async throws -> [Repository] {
        let scope = scope(for: subject)
        let limit = CatalogPaging.clamp(limit)
        return try await pool.read { try $0.catalogQueries.recentlyPushed(scope: scope, limit: limit) }
    }

    /// The namespaces `subject` may pull from, by name, with their repository counts; `after` is the previous
    /// page's `next` (a namespace name).
    public func namespaces(
        for subject: TokenSubject,
        after: String? = nil,
        limit: Int = CatalogPaging.defaultSize
    ) async throws -> CatalogPage<NamespaceSummary> {
        let scope = scope(for: subject)
        let limit = CatalogPaging.clamp(limit)
        let rows = try await pool.read { try $0.catalogQueries.namespaceSummaries(scope: scope, after: after, limit: limit + 1) }
        return CatalogPaging.page(rows, limit: limit) { $0.namespace.name }
    }
}
