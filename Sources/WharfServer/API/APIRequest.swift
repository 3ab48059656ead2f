import Foundation
import HTTPTypes
import WharfAuth
import WharfDatabase

/// Who calls the API: the authenticated caller (anonymous without credentials), as the permission table and the
/// activities see them.
struct APICaller: Sendable {
    var caller: Caller
    /// The client's address (behind a trusted proxy, the forwarded one), recorded with the changes it makes.
    var address: String

    var subject: TokenSubject { caller.subject }
    var isAdmin: Bool { subject.kind == .admin }
    var isAnonymous: Bool { subject.kind == .anonymous }
    var actor: ActivityActor { ActivityActor(id: subject.userID, name: subject.name, address: address) }

    /// Only a signed-in user (not anonymous, not the service account) may go on; gives their id.
    func requireUser() throws -> Int64 {
        guard let id = subject.userID else {
            if isAnonymous { throw APIError.unauthorized("sign in to do this") }
            throw APIError(.forbidden, "only users may do this")
        }
        return id
    }
}

/// A request that passed its operation's schema: its path parameters (decoded), its declared query parameters
/// typed as the schema says, its JSON body, and who sent it.
struct APIRequest: Sendable {
    let operation: APIOperation
    let caller: APICaller
    let pathValues: [String: String]
    let query: [String: JSONValue]
    let body: Data?
    let headers: HTTPFields
    /// The request's path and every query parameter as sent, for the `Link` of the next page.
    let path: String
    let queryItems: [(String, String)]

    /// A path parameter (the router matched it, so it is there).
    func path(_ name: String) -> String { pathValues[name] ?? "" }

    func string(_ name: String) -> String? { query[name]?.stringValue }

    func int(_ name: String) -> Int? { query[name]?.integerValue.map { Int(clamping: $0) } }

    func bool(_ name: String) -> Bool? { query[name]?.boolValue }

    /// The body as `T` (it passed the schema, so this fails only where the schema and `T` disagree: a bug).
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        guard let body else { throw APIError(.badRequest, "the request needs a JSON body") }
        do {
            return try JSONDecoder.api.decode(type, from: body)
        } catch {
            throw APIError(.badRequest, "the body does not fit the operation: \(error)")
        }
    }

    /// The page the caller asks for: `page_size` (default 50, at most 500) and the key after which it starts.
    var page: (size: Int, after: String?) {
        (int("page_size") ?? 50, string("cursor").map(APICursor.decode))
    }

    /// Only admins may go on.
    func requireAdmin() throws {
        guard caller.isAdmin else { throw APIError(.forbidden, "only administrators may do this") }
    }

    /// Only a signed-in user (not anonymous, not the service account) may go on; gives their id.
    func requireUser() throws -> Int64 { try caller.requireUser() }
}

/// The opaque `cursor` of paged lists: the sort key of the last item, base64url-encoded. Decoding is lenient
/// (any text of the cursor's alphabet is a position): a cursor is a place to start, never something to refuse.
enum APICursor {
    static func encode(_ key: String) -> String {
        Data(key.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ cursor: String) -> String {
        var text = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        if text.count % 4 == 1 { text.removeLast() }
        while text.count % 4 != 0 { text += "=" }
        guard let data = Data(base64Encoded: text) else { return cursor }
        return String(decoding: data, as: UTF8.self)
    }
}
