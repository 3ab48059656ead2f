import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdAuth
import NIOCore
import WharfAuth
import WharfCore

/// The Docker token endpoint, `/v2/token`: `GET` as the token specification describes it (`service`, repeated
/// `scope`, `account`, `offline_token`; Basic credentials or none) and `POST` with the OAuth2 form
/// (`grant_type=password` or `refresh_token`; `access_type=offline` asks for a refresh token).
///
/// A route of its own, added before the `/v2` group (the router prefers it to the group's wildcard), so
/// `/v2/token` is never read as a repository called `token` nor passes the registry's door. Errors are mapped
/// here only (``render(_:method:)``).
struct TokenController<Context: WharfContext>: Sendable {
    static var path: String { "/v2/token" }
    /// The largest `POST` form read.
    static var maxFormSize: Int { 64 * 1024 }

    let service: TokenService
    let resolver: ExternalURLResolver

    /// Adds `/v2/token` for every method (those it does not take get 405 with `Allow`).
    func addRoutes(to router: Router<Context>) {
        for method in RegistryController<Context>.methods {
            router.on(RouterPath(Self.path), method: method) { request, context in try await respond(request, context: context) }
        }
    }

    func respond(_ request: Request, context: Context) async throws -> Response {
        var request = request
        do {
            switch request.method {
            case .get, .head:
                return try await get(request, client: resolver.clientAddress(request, peer: context.remoteAddress))
            case .post:
                let body = try await request.collectBody(upTo: Self.maxFormSize)
                return try await post(
                    request,
                    form: FormParameters(String(buffer: body)),
                    client: resolver.clientAddress(request, peer: context.remoteAddress)
                )
            default:
                var response = Response(status: .methodNotAllowed)
                response.headers[.allow] = "GET, POST"
                return response
            }
        } catch let error as TokenError {
            return Self.render(error, method: request.method)
        } catch let error as AuthError {
            return Self.render(TokenError(error), method: request.method)
        } catch is NIOTooManyBytesError {
            return Self.render(TokenError(.requestInvalid, "the form is larger than \(Self.maxFormSize) bytes"), method: request.method)
        } catch {
            context.logger.error("token request failed", metadata: ["error": "\(error)"])
            throw error
        }
    }

    /// `GET /v2/token`: Basic credentials (or none) and the specification's query parameters.
    func get(_ request: Request, client: String) async throws -> Response {
        let query = FormParameters(request.uri.query ?? "")
        let scopes = try AccessScope.parseAll(query.all("scope"))
        var caller = Caller.anonymous
        if request.headers[.authorization] != nil {
            let (username, password) = try Self.basicCredentials(request.headers)
            if let account = query.first("account"), !account.isEmpty, account != username {
                throw TokenError(.unauthorized, "the account does not match the credentials")
            }
            caller = try await service.authenticator.authenticate(username: username, password: password, client: client)
        }
        let issued = try service.issue(
            to: caller,
            service: query.first("service"),
            access: try await service.authorizer.grant(scopes, to: caller.subject)
        )
        var response = TokenResponse(issued, scope: nil)
        if query.first("offline_token") == "true", !Self.isRefreshToken(caller.credential) {
            let clientID = try Self.clientID(query.first("client_id").flatMap { $0.isEmpty ? nil : $0 } ?? "docker")
            response.refreshToken = try await service.authenticator.createRefreshToken(for: caller, clientID: clientID)
        }
        return Self.json(response)
    }

    /// `POST /v2/token`: the OAuth2 password and refresh-token grants.
    func post(_ request: Request, form: FormParameters, client: String) async throws -> Response {
        let grantType = try Self.required(form, "grant_type")
        let clientID = try Self.clientID(try Self.required(form, "client_id"))
        let caller: Caller
        switch grantType {
        case "password":
            caller = try await service.authenticator.authenticate(
                username: try Self.required(form, "username"),
                password: try Self.required(form, "password"),
                client: client
            )
        case "refresh_token":
            caller = try await service.authenticator.exchangeRefreshToken(try Self.required(form, "refresh_token"), clientID: clientID)
        default:
            throw TokenError(.unsupportedGrantType, "grant_type \(grantType.prefix(40)) is not supported; use password or refresh_token")
        }
        let scopes = try AccessScope.parseAll(form.all("scope"))
        let granted = try await service.authorizer.grant(scopes, to: caller.subject)
        let issued = try service.issue(to: caller, service: form.first("service"), access: granted)
        var response = TokenResponse(issued, scope: granted.map(\.description).joined(separator: " "))
        if grantType == "password", form.first("access_type") == "offline" {
            response.refreshToken = try await service.authenticator.createRefreshToken(for: caller, clientID: clientID)
        }
        return Self.json(response)
    }

    /// Whether a login used a refresh token (which gets no new refresh token: it already is one).
    static func isRefreshToken(_ credential: String?) -> Bool {
        if case .refreshToken = credential.flatMap(CredentialID.init) { return true }
        return false
    }

    /// The most bytes of a `client_id` (it labels refresh tokens in `wharf token list`).
    static var maxClientIDBytes: Int { 100 }

    /// A `client_id` checked before it reaches the database: short, printable.
    static func clientID(_ value: String) throws(TokenError) -> String {
        guard value.utf8.count <= maxClientIDBytes, !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw TokenError(.requestInvalid, "client_id must be at most \(maxClientIDBytes) bytes without control characters")
        }
        return value
    }

    static func required(_ form: FormParameters, _ name: String) throws(TokenError) -> String {
        guard let value = form.first(name), !value.isEmpty else { throw TokenError(.requestInvalid, "\(name) is required") }
        return value
    }

    /// `Basic base64(user:password)` (as hummingbird-auth reads it); anything else is refused like wrong credentials.
    static func basicCredentials(_ headers: HTTPFields) throws(TokenError) -> (String, String) {
        guard let basic = headers.basic else { throw TokenError(.unauthorized, "invalid username or password") }
        return (basic.username, basic.password)
    }

    /// The token endpoint's answer: `token` and `access_token` both, for old and new clients.
    struct TokenResponse: Encodable {
        var token: String
        var accessToken: String
        var expiresIn: Int
        var issuedAt: String
        /// The granted scopes (`POST` only, as OAuth2 reports them).
        var scope: String?
        /// Issued on `offline_token=true` (`GET`) or `access_type=offline` (`POST`), for a user.
        var refreshToken: String?

        enum CodingKeys: String, CodingKey {
            case token, scope
            case refreshToken = "refresh_token"
            case accessToken = "access_token"
            case expiresIn = "expires_in"
            case issuedAt = "issued_at"
        }

        init(_ issued: IssuedToken, scope: String?) {
            token = issued.token
            accessToken = issued.token
            expiresIn = issued.expiresIn
            issuedAt = issued.issuedAt.formatted(.iso8601)
            self.scope = scope
        }
    }

    static func json(_ body: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(body)) ?? Data("{}".utf8)
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// The one mapping of ``TokenError`` to HTTP.
    static func render(_ error: TokenError, method: HTTPRequest.Method) -> Response {
        // OAuth2 answers a refused grant with 400 `invalid_grant` (RFC 6749 §5.2); the registry's GET with 401.
        let status = HTTPResponse.Status(code: method == .post && error.code == .unauthorized ? 400 : error.code.status)
        var response =
            method == .post
            ? json(OAuthErrorBody(error: error.code.oauthCode, description: error.message), status: status)
            : json(RegistryErrorBody(errors: [.init(code: error.code.registryCode, message: error.message)]), status: status)
        if error.code == .unauthorized, method != .post { response.headers[.wwwAuthenticate] = #"Basic realm="wharf""# }
        if let seconds = error.retryAfterSeconds { response.headers[.retryAfter] = String(seconds) }
        return response
    }
}

/// A `GET` error, in the registry's shape.
private struct RegistryErrorBody: Encodable {
    struct Entry: Encodable {
        let code: String
        let message: String
    }
    let errors: [Entry]
}

/// A `POST` error, in OAuth2's shape (RFC 6749 §5.2).
private struct OAuthErrorBody: Encodable {
    let error: String
    let description: String

    enum CodingKeys: String, CodingKey {
        case error
        case description = "error_description"
    }
}

/// `application/x-www-form-urlencoded` pairs (a query string or a `POST` body), in order, repeats kept.
struct FormParameters: Sendable {
    var pairs: [(name: String, value: String)]

    init(_ text: String) {
        pairs = text.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (Self.decode(parts[0]), parts.count > 1 ? Self.decode(parts[1]) : "")
        }
    }

    func all(_ name: String) -> [String] { pairs.filter { $0.name == name }.map(\.value) }
    func first(_ name: String) -> String? { pairs.first { $0.name == name }?.value }

    /// `+` is a space; a malformed percent escape is kept as written (it then fails whatever parses the value).
    static func decode(_ text: Substring) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }
}
