import Foundation
import WharfDatabase

/// What a caller asks of the audit log (`GET /api/v1/activities`, the portal's activity page), turned into a
/// filter under the one rule both follow: administrators read everything; others read what they did, or, with a
/// namespace, the history of a namespace they may see; only administrators read what another user did outside a
/// namespace.
struct ActivityQuery: Sendable {
    var since: Date?
    var until: Date?
    /// An action (`repository.push`) or a prefix ending in a dot (`team.`).
    var type: String?
    var namespace: String?
    var user: String?

    /// The filter, or nil when nothing can match (a namespace that never had a row).
    func filter(for caller: APICaller, userID: Int64, api: APIServices) async throws -> ActivityFilter? {
        var filter = ActivityFilter()
        filter.since = since
        filter.until = until
        if let type, !type.isEmpty { filter.action = type.hasSuffix(".") ? String(type.dropLast()) : type }
        if let namespace, !namespace.isEmpty {
            if !caller.isAdmin { _ = try await NamespacesAPI(api: api).visible(namespace, caller: caller) }
            guard let id = try await api.pool.read({ transaction in try transaction.activities.lastNamespaceID(named: namespace) }) else {
                return nil
            }
            filter.namespaceID = id
        } else if !caller.isAdmin {
            filter.actorID = userID
        }
        if let user, !user.isEmpty {
            let found = try await api.pool.read { transaction in try transaction.users.find(name: user) }
            let refused = APIError(.forbidden, "only administrators read what other users did outside a namespace")
            if let found {
                if !caller.isAdmin && filter.namespaceID == nil && found.id != userID { throw refused }
                filter.actorID = found.id
            } else {
                filter.actorName = user
                if !caller.isAdmin && filter.namespaceID == nil { throw refused }
            }
        }
        return filter
    }
}
