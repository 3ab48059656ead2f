/// One operation of the OpenAPI document, as the router dispatches and validates it.
struct APIOperation: Sendable {
    /// One parameter in the path, the query or a header.
    struct Parameter: Sendable {
        enum Location: String, Sendable { case path, query, header }
        var name: String
        var location: Location
        var required: Bool
        var schema: JSONValue
    }

    var id: String
    /// Upper-case, as on the wire.
    var method: String
    /// The path below `/api/v1`, as the document writes it (`/teams/{team}/members/{user}`).
    var path: String
    /// The path's segments: a literal, or nil for a parameter (whose name is in ``parameterNames``).
    var segments: [String?]
    var parameterNames: [String]
    var parameters: [Parameter]
    /// The JSON body's schema; nil when the operation takes no body.
    var bodySchema: JSONValue?
    var bodyRequired: Bool
    /// Whether callers without credentials may call it (its `security` lists `{}`); they still see only what the
    /// permission table lets anonymous callers see.
    var allowsAnonymous: Bool

    /// The values of the path parameters when `segments` (raw, still percent-encoded) match this path.
    func match(_ raw: [Substring]) -> [String: String]? {
        guard raw.count == segments.count else { return nil }
        var values: [String: String] = [:]
        var parameter = 0
        for (segment, template) in zip(raw, segments) {
            if let template {
                guard segment == template else { return nil }
            } else {
                guard !segment.isEmpty, let decoded = String(segment).removingPercentEncoding else { return nil }
                values[parameterNames[parameter]] = decoded
                parameter += 1
            }
        }
        return values
    }

    /// How many literal segments it has: `/users/bootstrap` wins over `/users/{user}`.
    var literalCount: Int { segments.count(where: { $0 != nil }) }
}
