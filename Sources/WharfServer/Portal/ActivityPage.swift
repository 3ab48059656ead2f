import Foundation
import Hummingbird
import NIOCore
import WharfCore
import WharfDatabase

/// `/activity`: the audit log with filters (what, namespace, who, from, to), paged newest first, and
/// `/activity.csv`: the same filtered rows as CSV. Who reads what follows ``ActivityQuery``, as on the API.
struct ActivityPage<Context: WharfContext>: Sendable {
    let portal: Portal
    static var pageSize: Int { 50 }
    /// The most rows one CSV export holds (a narrower filter gets the rest).
    static var csvLimit: Int { 100_000 }

    func addRoutes(to router: some RouterMethods<Context>) {
        router.get("/activity", use: page)
        router.get("/activity.csv", use: csv)
    }

    /// The filter form's values as sent.
    struct Filters {
        var type = ""
        var namespace = ""
        var user = ""
        var since = ""
        var until = ""

        init(_ request: Request) {
            let query = request.uri.queryParameters
            type = query.get("type").map { String($0) } ?? ""
            namespace = query.get("namespace").map { String($0) }?.trimmingCharacters(in: .whitespaces) ?? ""
            user = query.get("user").map { String($0) }?.trimmingCharacters(in: .whitespaces) ?? ""
            since = query.get("since").map { String($0) } ?? ""
            until = query.get("until").map { String($0) } ?? ""
        }

        /// `since`/`until` from the form's date fields (`2026-11-30`, a whole UTC day) or RFC 3339 times.
        func query() throws -> ActivityQuery {
            func time(_ text: String, endOfDay: Bool, _ field: String) throws -> Date? {
                if text.isEmpty { return nil }
                if let parsed = RFC3339.parse(text) { return parsed }
                if let day = RFC3339.parse(text + "T00:00:00Z") { return endOfDay ? day.addingTimeInterval(86400) : day }
                throw PortalError(.badRequest, "That did not work", "\(field) must be a date like 2026-11-30.")
            }
            return ActivityQuery(
                since: try time(since, endOfDay: false, "From"),
                until: try time(until, endOfDay: true, "To"),
                type: type,
                namespace: namespace,
                user: user
            )
        }

        /// The query string that repeats these filters (for the CSV link and the next page).
        var queryString: String {
            [("type", type), ("namespace", namespace), ("user", user), ("since", since), ("until", until)]
                .filter { !$0.1.isEmpty }
                .map { "\($0.0)=\(Portal.encodeQuery($0.1))" }
                .joined(separator: "&")
        }
    }

    private func activities(_ request: Request, context: Context, limit: Int, before: Int64?) async throws -> (Filters, [Activity]) {
        let visit = context.portal
        guard let user = visit.user else { throw PortalError.signInRequired }
        let filters = Filters(request)
        guard let filter = try await filters.query().filter(for: visit.caller, userID: user.id, api: portal.services) else { return (filters, []) }
        let rows = try await portal.services.pool.read { transaction in try transaction.activities.list(filter, beforeID: before, limit: limit) }
        return (filters, rows)
    }

    @Sendable func page(_ request: Request, context: Context) async throws -> Response {
        let visit = context.portal
        let before = request.uri.queryParameters.get("before").flatMap { Int64($0) }
        let (filters, rows) = try await activities(request, context: context, limit: Self.pageSize + 1, before: before)
        let shown = Array(rows.prefix(Self.pageSize))
        let names = try await namespaceNames(shown.compactMap(\.namespaceID))
        let now = Date()
        var values: [String: Any] = [
            "filters": [
                "namespace": filters.namespace, "user": filters.user, "since": filters.since, "until": filters.until,
            ],
            "types": Self.typeOptions(selected: filters.type),
            "activities": shown.map { activity -> [String: Any] in
                var row = ActivityRow(activity, now: now).values
                row["namespace"] = activity.namespaceID.flatMap { names[$0] } ?? ""
                row["address"] = Self.address(activity.details)
                return row
            },
            "csv": "/activity.csv" + (filters.queryString.isEmpty ? "" : "?" + filters.queryString),
            "isAdmin": visit.isAdmin,
        ]
        if rows.count > Self.pageSize, let last = shown.last {
            values["next"] = "/activity?" + (filters.queryString.isEmpty ? "" : filters.queryString + "&") + "before=\(last.id)"
        }
        if before != nil { values["first"] = "/activity" + (filters.queryString.isEmpty ? "" : "?" + filters.queryString) }
        return await portal.page("activity", title: "Activity", visit: visit, request: request, context: context, nav: "activity", values: values)
    }

    @Sendable func csv(_ request: Request, context: Context) async throws -> Response {
        var lines: [ActivityLine] = []
        var before: Int64?
        // Read in pages so one export never holds a transaction for long.
        while lines.count < Self.csvLimit {
            let (_, rows) = try await activities(request, context: context, limit: 1000, before: before)
            lines += rows.map(ActivityLine.init)
            guard rows.count == 1000, let last = rows.last else { break }
            before = last.id
        }
        let stamp = PortalFormat.day(Date())
        return Response(
            status: .ok,
            headers: [
                .contentType: "text/csv; charset=utf-8",
                .contentDisposition: "attachment; filename=\"wharf-activity-\(stamp).csv\"",
                .cacheControl: "no-store",
            ],
            body: .init(byteBuffer: ByteBuffer(string: ActivityLine.csv(Array(lines.prefix(Self.csvLimit)))))
        )
    }

    private func namespaceNames(_ ids: [Int64]) async throws -> [Int64: String] {
        let unique = Set(ids)
        guard !unique.isEmpty else { return [:] }
        return try await portal.services.pool.read { transaction in
            var names: [Int64: String] = [:]
            for id in unique { names[id] = try transaction.namespaces.find(id: id)?.name }
            return names
        }
    }

    /// The client address an activity's details recorded (`addr`), if any.
    static func address(_ details: String) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(details.utf8)) as? [String: Any] else { return "" }
        return object["addr"] as? String ?? ""
    }

    /// The "what" choices: every action, grouped under its kind (`team.` covers every team action).
    static func typeOptions(selected: String) -> [[String: Any]] {
        var options: [[String: Any]] = [["value": "", "label": "Everything", "selected": selected.isEmpty]]
        var kinds: [String] = []
        for action in ActivityAction.all {
            let kind = String(action.rawValue.prefix { $0 != "." })
            if !kinds.contains(kind) {
                kinds.append(kind)
                options.append(["value": kind + ".", "label": "Any \(kind) action", "selected": selected == kind + "."])
            }
            options.append(["value": action.rawValue, "label": action.rawValue, "selected": selected == action.rawValue])
        }
        return options
    }
}
