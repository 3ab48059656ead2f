import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// What a handler answers: a status, headers and a body (JSON unless the handler says otherwise).
struct APIResponse: Sendable {
    var status: HTTPResponse.Status
    var headers: HTTPFields
    var body: Data?

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> APIResponse {
        APIResponse(status: status, headers: [.contentType: "application/json"], body: try JSONEncoder.api.encode(value))
    }

    static let noContent = APIResponse(status: .noContent, headers: [:], body: nil)

    /// A whole (unpaged) list, `{"items": […]}`.
    static func items(_ items: [some Encodable]) throws -> APIResponse {
        try json(APIPage(items: items, nextCursor: nil))
    }

    /// With `Location` naming the resource a `201 Created` made.
    func located(_ path: String) -> APIResponse {
        var response = self
        response.headers[.location] = path
        return response
    }

    /// One page of a list, `{"items": […], "next_cursor": "…"}`, with `Link: <…>; rel="next"` when more follow.
    /// `rawCursor`: the key is the cursor as it is (a listing whose cursor has a shape the document gives).
    static func page<Item: Encodable>(_ items: [Item], nextKey: String?, request: APIRequest, rawCursor: Bool = false) throws -> APIResponse {
        let next = rawCursor ? nextKey : nextKey.map(APICursor.encode)
        var response = try json(APIPage(items: items, nextCursor: next))
        if let next {
            var components = URLComponents()
            components.path = "/api/v1" + request.operation.path
            var items = request.queryItems.filter { $0.0 != "cursor" }.map { URLQueryItem(name: $0.0, value: $0.1) }
            items.append(URLQueryItem(name: "cursor", value: next))
            components.queryItems = items
            let target = "/api/v1" + request.path + "?" + (components.percentEncodedQuery ?? "")
            response.headers[.link] = "<\(target)>; rel=\"next\""
        }
        return response
    }

    /// Pages of at most `size` items from a list asked with one more than that: the extra one only says more follow.
    static func page<Item: Encodable>(_ fetched: [Item], size: Int, key: (Item) -> String, request: APIRequest) throws -> APIResponse {
        let items = Array(fetched.prefix(size))
        return try page(items, nextKey: fetched.count > size ? items.last.map(key) : nil, request: request)
    }

    func response(head: Bool) -> Response {
        var fields = headers
        if body != nil, fields[.contentType] == nil { fields[.contentType] = "application/json" }
        guard let body else { return Response(status: status, headers: fields) }
        if head {
            fields[.contentLength] = String(body.count)
            return Response(status: status, headers: fields)
        }
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// A page of a list as the API returns it.
struct APIPage<Item: Encodable>: Encodable {
    var items: [Item]
    var nextCursor: String?
}
