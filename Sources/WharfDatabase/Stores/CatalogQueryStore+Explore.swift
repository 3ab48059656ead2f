import Foundation
import WharfCore

/// What the portal's Explore and namespace pages read besides the tree-ordered pages: the newest pushes, the
/// namespaces with their repository counts, and one namespace's count. Filtered by the ``PullScope`` in the same
/// query, like every catalogue read.
extension CatalogQueryStore {
    /// Repositories `scope` shows that were pushed to, newest push first (ties in tree order).
    public func recentlyPushed(scope: PullScope, limit: Int) throws -> [Repository] {
        let filter = scope.repositoryFilter()
        return try transaction.fetch(
            "SELECT \(Self.repositoryColumns) FROM repositories r\(filter.joins) WHERE \(filter.condition) AND r.pushed_at IS NOT NULL ORDER BY r.pushed_at DESC, r.sort_key LIMIT ?",
            filter.joinBinds + filter.conditionBinds + [pageSize(limit)]
        )
    }

    /// Namespaces `scope` shows by name after `name` (nil: from the start), each with its number of repositories
    /// (a namespace shown shows all of its repositories, so the count needs no filter).
    public func namespaceSummaries(scope: PullScope, after name: String?, limit: Int) throws -> [NamespaceSummary] {
        let filter = scope.namespaceFilter()
        let rows = try transaction.query(
            "SELECT \(Self.namespaceColumns), (SELECT COUNT(*) FROM repositories rc WHERE rc.namespace = n.name) AS repository_count FROM namespaces n\(filter.joins) WHERE \(filter.condition) AND n.name > ? ORDER BY n.name LIMIT ?",
            filter.joinBinds + filter.conditionBinds + [name ?? "", pageSize(limit)]
        )
        return try rows.map { NamespaceSummary(namespace: try Namespace(row: $0), repositoryCount: try $0.decode("repository_count")) }
    }
}
