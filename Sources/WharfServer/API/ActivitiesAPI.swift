import Foundation
import HTTPTypes
import WharfCore
import WharfDatabase

/// `/activities`: the audit log. Administrators read all of it; others read what they did, or, with
/// `namespace`, the history of a namespace they may see.
struct ActivitiesAPI {
    let api: APIServices

    var handlers: [String: APIHandler] { ["listActivities": list] }

    /// An activity as the API shows it: the details as an object, the address among them (`addr`).
    struct ActivityBody: Encodable {
        var id: Int64
        var action: String
        var actor: String
        var targetKind: String
        var target: String
        var namespace: String?
        var createdAt: Date
        var details: JSONValue

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(action, forKey: .action)
            try container.encode(actor, forKey: .actor)
            try container.encode(targetKind, forKey: .targetKind)
            try container.encode(target, forKey: .target)
            try container.encode(namespace, forKey: .namespace)
            try container.encode(createdAt, forKey: .createdAt)
            try container.encode(details, forKey: .details)
        }

        enum CodingKeys: String, CodingKey { case id, action, actor, targetKind, target, namespace, createdAt, details }
    }

    func list(_ request: APIRequest) async throws -> APIResponse {
        let userID = try request.requireUser()
        let (size, after) = request.page
        var filter = ActivityFilter()
        filter.since = request.string("since").flatMap(RFC3339.parse)
        filter.until = request.string("until").flatMap(RFC3339.parse)
        if let type = request.string("type") { filter.action = type.hasSuffix(".") ? String(type.dropLast()) : type }
        if let namespace = request.string("namespace") {
            if !request.caller.isAdmin { _ = try await NamespacesAPI(api: api).visible(namespace, request: request) }
            guard let id = try await api.pool.read({ transaction in try transaction.activities.lastNamespaceID(named: namespace) }) else {
                return try await respond([], size: size, request: request)
            }
            filter.namespaceID = id
        } else if !request.caller.isAdmin {
            filter.actorID = userID
        }
        if let user = request.string("user") {
            let found = try await api.pool.read { transaction in try transaction.users.find(name: user) }
            if let found {
                if !request.caller.isAdmin && filter.namespaceID == nil && found.id != userID {
                    throw APIError(.forbidden, "only administrators read what other users did outside a namespace")
                }
                filter.actorID = found.id
            } else {
                filter.actorName = user
                if !request.caller.isAdmin && filter.namespaceID == nil {
                    throw APIError(.forbidden, "only administrators read what other users did outside a namespace")
                }
            }
        }
        let before = after.flatMap { Int64($0) }
        let chosen = filter
        let activities = try await api.pool.read { transaction in try transaction.activities.list(chosen, beforeID: before, limit: size + 1) }
        return try await respond(activities, size: size, request: request)
    }

    private func respond(_ activities: [Activity], size: Int, request: APIRequest) async throws -> APIResponse {
        let page = Array(activities.prefix(size))
        let next = activities.count > size ? page.last.map { String($0.id) } : nil
        if request.headers[.accept]?.lowercased().contains("text/csv") == true {
            var response = try APIResponse.page([String](), nextKey: next, request: request)
            response.headers[.contentType] = "text/csv; charset=utf-8"
            response.body = Data(ActivityLine.csv(page.map(ActivityLine.init)).utf8)
            return response
        }
        let names = try await namespaceNames(page.compactMap(\.namespaceID))
        let bodies = page.map { activity in
            ActivityBody(
                id: activity.id,
                action: activity.action,
                actor: activity.actorName,
                targetKind: activity.targetKind,
                target: activity.targetName,
                namespace: activity.namespaceID.flatMap { names[$0] },
                createdAt: activity.createdAt,
                details: JSONValue.parse(Data(activity.details.utf8)).flatMap { $0.objectValue == nil ? nil : $0 } ?? .object([:])
            )
        }
        return try .page(bodies, nextKey: next, request: request)
    }

    private func namespaceNames(_ ids: [Int64]) async throws -> [Int64: String] {
        let unique = Set(ids)
        guard !unique.isEmpty else { return [:] }
        return try await api.pool.read { transaction in
            var names: [Int64: String] = [:]
            for id in unique { names[id] = try transaction.namespaces.find(id: id)?.name }
            return names
        }
    }
}
