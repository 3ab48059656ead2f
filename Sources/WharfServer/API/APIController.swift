import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdAuth
import Logging
import NIOCore
import WharfAuth

/// A handler of one operation of the document.
typealias APIHandler = @Sendable (APIRequest) async throws -> APIResponse

/// `/api/v1`: routes every operation of the OpenAPI document (``APIDocument``) to its handler, after
/// authenticating the caller and checking the request against the operation's schemas. A path the document does
/// not have is 404; a method it does not list for a known path is 405 with `Allow`. Errors leave in one shape
/// (``APIError``).
struct APIController<Context: WharfContext>: Sendable {
    static var prefix: String { "/api/v1" }
    /// Bodies are small JSON documents; a megabyte is plenty.
    static var maxBodySize: Int { 1 << 20 }

    let document: APIDocument
    let handlers: [String: APIHandler]
    let authenticator: Authenticator
    /// The portal's session cookie as a credential (with the CSRF header on unsafe methods); nil: not accepted.
    let browserSession: BrowserSession?
    let resolver: ExternalURLResolver
    let logger: Logger
    /// Operations grouped by path, the most literal paths first.
    private let paths: [(path: String, operations: [String: APIOperation])]

    /// Fails when the document and the handlers disagree: every operation needs a handler and every handler an
    /// operation, so neither can drift from the other.
    init(
        document: APIDocument,
        handlers: [String: APIHandler],
        authenticator: Authenticator,
        browserSession: BrowserSession? = nil,
        resolver: ExternalURLResolver,
        logger: Logger
    ) throws {
        let ids = Set(document.operations.map(\.id))
        let missing = ids.subtracting(handlers.keys).sorted()
        let extra = Set(handlers.keys).subtracting(ids).sorted()
        guard missing.isEmpty, extra.isEmpty else {
            throw APIDocumentError("operations without a handler: \(missing); handlers without an operation: \(extra)")
        }
        self.document = document
        self.handlers = handlers
        self.authenticator = authenticator
        self.browserSession = browserSession
        self.resolver = resolver
        self.logger = logger
        var grouped: [String: [String: APIOperation]] = [:]
        for operation in document.operations { grouped[operation.path, default: [:]][operation.method] = operation }
        paths = grouped.map { ($0.key, $0.value) }.sorted { lhs, rhs in
            let left = lhs.operations.first?.value.literalCount ?? 0
            let right = rhs.operations.first?.value.literalCount ?? 0
            return left != right ? left > right : lhs.path < rhs.path
        }
    }

    /// Routes for every common method, and a fallback for any other (`QUERY`, `PROPFIND`): the router would
    /// answer those with a bare 404, where the API answers 405 with `Allow` on a known path.
    func addRoutes(to router: Router<Context>) {
        router.add(middleware: APIFallbackMiddleware(controller: self))
        let methods: [HTTPRequest.Method] = [.get, .head, .post, .put, .patch, .delete, .options, .trace]
        for method in methods {
            router.on("/api/v1/**", method: method) { request, context in try await self.dispatch(request, context: context) }
            router.on("/api/v1", method: method) { request, context in try await self.dispatch(request, context: context) }
        }
    }

    func dispatch(_ request: Request, context: Context) async throws -> Response {
        let head = request.method == .head
        do {
            return try await route(request, context: context).response(head: head)
        } catch {
            return Self.error(error, logger: logger).response()
        }
    }

    private func route(_ request: Request, context: Context) async throws -> APIResponse {
        let fullPath = request.uri.path
        let tail = fullPath.dropFirst(Self.prefix.count)
        let segments = tail.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        var allowed: [String]? = nil
        var found: (APIOperation, [String: String])? = nil
        let method = request.method == .head ? "GET" : request.method.rawValue
        for (_, operations) in paths {
            guard let any = operations.first?.value, let values = any.match(Array(segments)) else { continue }
            if allowed == nil { allowed = operations.keys.sorted() }
            if let operation = operations[method] {
                found = (operation, values)
                break
            }
        }
        guard let allowed else { throw APIError(.notFound, "no such API path: \(String(tail.prefix(200)))") }
        guard let (operation, values) = found else {
            let allow = (allowed + (allowed.contains("GET") ? ["HEAD"] : []) + ["OPTIONS"]).joined(separator: ", ")
            if request.method == .options { return APIResponse(status: .noContent, headers: [.allow: allow], body: nil) }
            throw APIError(.methodNotAllowed, "\(request.method.rawValue) is not allowed here; use \(allow)", headers: [.allow: allow])
        }
        let caller = try await authenticate(request, context: context)
        if caller.isAnonymous && !operation.allowsAnonymous {
            throw APIError.unauthorized("sign in: Basic credentials or a Bearer application token")
        }
        var issues: [ValidationIssue] = []
        var pathValues: [String: JSONValue] = [:]
        var query: [String: JSONValue] = [:]
        let queryItems = request.uri.queryParameters.map { (String($0.key), String($0.value)) }
        for parameter in operation.parameters {
            let text: String?
            switch parameter.location {
            case .path: text = values[parameter.name]
            case .query: text = queryItems.first(where: { $0.0 == parameter.name })?.1
            case .header: text = HTTPField.Name(parameter.name).flatMap { request.headers[$0] }
            }
            let field = "\(parameter.location.rawValue).\(parameter.name)"
            guard let text else {
                if parameter.required { issues.append(ValidationIssue(field: field, reason: "is required")) }
                continue
            }
            guard let value = typed(text, parameter.schema) else {
                let type = SchemaValidator.types(document.validator.resolve(parameter.schema))?.sorted().joined(separator: " or ") ?? "valid"
                issues.append(ValidationIssue(field: field, reason: "must be \(type)"))
                continue
            }
            issues += document.validator.validate(value, against: parameter.schema, field: field)
            if parameter.location == .path { pathValues[parameter.name] = value } else { query[parameter.name] = value }
        }
        var body: Data? = nil
        if let schema = operation.bodySchema {
            let buffer = try await request.body.collect(upTo: Self.maxBodySize)
            if buffer.readableBytes > 0 {
                let type = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
                guard type == "application/json" else {
                    throw APIError(.unsupportedMediaType, "send the body as application/json")
                }
                let data = Data(buffer.readableBytesView)
                guard let value = JSONValue.parse(data) else { throw APIError(.badRequest, "the body is not valid JSON") }
                issues += document.validator.validate(value, against: schema, field: "body")
                body = data
            } else if operation.bodyRequired {
                issues.append(ValidationIssue(field: "body", reason: "is required"))
            }
        }
        guard issues.isEmpty else { throw APIError.validation(issues) }
        guard let handler = handlers[operation.id] else { throw APIError(.notFound, "no such operation") }
        let apiRequest = APIRequest(
            operation: operation,
            caller: caller,
            pathValues: values,
            query: query,
            body: body,
            headers: request.headers,
            path: String(tail),
            queryItems: queryItems
        )
        return try await handler(apiRequest)
    }

    /// Any error as the API answers it; one that no client can cause is a bug: 500, logged.
    static func error(_ error: any Error, logger: Logger) -> APIError {
        if let mapped = APIError.from(error) { return mapped }
        if error is NIOTooManyBytesError { return APIError(.badRequest, "the body is larger than \(maxBodySize) bytes") }
        logger.error("API request failed", metadata: ["error": "\(error)"])
        return APIError(.internalError, "the server failed to answer; this is a bug, and it is logged")
    }

    /// A query or path value read as its schema's type; nil when it is not of that type.
    private func typed(_ text: String, _ schema: JSONValue) -> JSONValue? {
        let types = SchemaValidator.types(document.validator.resolve(schema)) ?? ["string"]
        if types.contains("integer"), let value = Int64(text) { return .integer(value) }
        if types.contains("boolean") {
            if text == "true" { return .bool(true) }
            if text == "false" { return .bool(false) }
        }
        if types.contains("string") { return .string(text) }
        return nil
    }

    /// The caller from `Authorization`: Basic (a password, or an application token as the password) or Bearer
    /// (an application token); without the header, the portal's session cookie, else anonymous. Wrong credentials
    /// are 401, never anonymous.
    private func authenticate(_ request: Request, context: Context) async throws -> APICaller {
        let address = resolver.clientAddress(request, peer: context.remoteAddress)
        guard request.headers[.authorization] != nil else {
            return try await browserSession?.caller(request, address: address) ?? APICaller(caller: .anonymous, address: address)
        }
        do {
            if let basic = request.headers.basic {
                let caller = try await authenticator.authenticate(username: basic.username, password: basic.password, client: address)
                // A scoped token is for the registry only: what it may do there is all it may do.
                guard caller.subject.restriction == nil else {
                    throw APIError(.forbidden, "a scoped token works with the registry only, not with the API")
                }
                return APICaller(caller: caller, address: address)
            }
            if let bearer = request.headers.bearer {
                return APICaller(caller: try await authenticator.authenticate(applicationToken: bearer.token), address: address)
            }
        } catch let error as AuthError where error.code == .invalidCredentials {
            throw APIError.unauthorized("invalid credentials")
        }
        throw APIError.unauthorized("use Basic credentials or a Bearer application token")
    }
}

/// A request under `/api/v1` that no route takes (a method without a route of its own) goes to the API's
/// dispatch, which answers in its own shape. It looks at nothing but the router's not-found error.
struct APIFallbackMiddleware<Context: WharfContext>: RouterMiddleware {
    let controller: APIController<Context>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound && (request.uri.path == "/api/v1" || request.uri.path.hasPrefix("/api/v1/")) {
            return try await controller.dispatch(request, context: context)
        }
    }
}
