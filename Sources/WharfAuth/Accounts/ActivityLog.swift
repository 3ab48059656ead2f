import Foundation
import WharfCore
import WharfDatabase

/// The audit log as people read it (`wharf activity list`, later the portal and the API): the filters take names,
/// turned here into what the activities table indexes.
public struct ActivityLog: Sendable {
    /// How many activities one query reads; a longer listing takes several pages, each after the last.
    static let pageSize = 1000

    let pool: DatabasePool

    public init(pool: DatabasePool) {
        self.pool = pool
    }

    /// The newest `limit` activities matching the filters, newest first.
    ///
    /// `namespace` is the namespace's history by its id: the namespace of that name, or, once it is deleted, the
    /// last one of that name the log knows of. `user` is who acted: the user of that name (by id, so a former user
    /// of the same name is not mixed in), or else the name as recorded (`cli`, a deleted user).
    public func list(
        since: Date? = nil,
        until: Date? = nil,
        action: String? = nil,
        namespace: String? = nil,
        user: String? = nil,
        limit: Int = 100
    ) async throws -> [Activity] {
        try await pool.read { transaction in
            var filter = ActivityFilter(since: since, until: until, action: action)
            if let namespace {
                guard let id = try transaction.namespaces.find(name: namespace)?.id ?? transaction.activities.lastNamespaceID(named: namespace) else {
                    throw AccountError(.unknownNamespace, "unknown namespace \(namespace): no namespace and no activity has that name")
                }
                filter.namespaceID = id
            }
            if let user {
                if let id = try transaction.users.find(name: user)?.id { filter.actorID = id } else { filter.actorName = user }
            }
            var activities: [Activity] = []
            while activities.count < limit {
                let wanted = min(limit - activities.count, Self.pageSize)
                let page = try transaction.activities.list(filter, beforeID: activities.last?.id, limit: wanted)
                activities += page
                if page.count < wanted { break }
            }
            return activities
        }
    }
}
