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
        let query = ActivityQuery(
            since: request.string("since").flatMap(RFC3339.parse),
            until: request.string("until").flatMap(RFC3339.parse),
            type: request.string("type"),
            namespace: request.string("namespace"),
            user: request.string("user")
        )
        guard let filter = try await query.filter(for: request.caller, userID: userID, api: api) else {
            return try await respond([], size: size, request: request)
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
