import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdAuth
import Logging
import WharfAuth
import WharfCore
import WharfDatabase
import WharfStorage

/// The authenticated caller of one `/v2` request, for what the registry decides past the door: which
/// repositories the catalogue lists, whether a mount may read its source. A class, so the request context that
/// carries it through the middlewares copies one reference, not the claims and the service.
final class RegistryAccess: Sendable {
    let caller: Caller
    /// The verified token's claims; nil when the caller sent Basic credentials (access is then computed).
    let claims: TokenClaims?
    let service: TokenService

    init(caller: Caller, claims: TokenClaims?, service: TokenService) {
        self.caller = caller
        self.claims = claims
        self.service = service
    }

    /// Admins and the service account see every repository.
    var isUnrestricted: Bool { caller.subject.kind == .admin || caller.subject.kind == .service }

    /// Whether the caller may pull `name`: from the token when there is one (what the client asked for and was
    /// granted), else from the rules.
    func mayPull(_ name: RepositoryName) async throws -> Bool {
        if let claims { return claims.allows(.pull, on: name) }
        return try await !service.authorizer.grant([AccessScope(.repository(name), actions: [.pull])], to: caller.subject).isEmpty
    }

    /// The subset of `names` the caller may pull (by the rules, whatever the token lists: the catalogue shows
    /// what one could pull).
    func pullable(_ names: [RepositoryName]) async throws -> [RepositoryName] {
        try await service.authorizer.pullable(names, by: caller.subject)
    }
}

/// What a `/v2` request needs.
enum RegistryRequirement: Equatable {
    /// `/v2/`: any valid credentials, anonymous tokens too.
    case authenticated
    case catalog
    case repository(RepositoryName, Set<Action>)

    init(route: RegistryRoute, method: HTTPRequest.Method) {
        switch route {
        case .base: self = .authenticated
        case .catalog: self = .catalog
        case .tags(let name), .referrers(let name, _): self = .repository(name, [.pull])
        case .manifest(let name, _), .blob(let name, _):
            switch method {
            case .get, .head: self = .repository(name, [.pull])
            case .delete: self = .repository(name, [.delete])
            default: self = .repository(name, [.push])
            }
        case .startUpload(let name), .upload(let name, _): self = .repository(name, [.push])
        }
    }

    /// The scope a challenge names: `pull,push` for writes, as clients ask for them.
    var challengeScope: String? {
        switch self {
        case .authenticated: return nil
        case .catalog: return "registry:catalog:*"
        case .repository(let name, let actions):
            let asked: Set<Action> = actions.contains(.push) ? [.pull, .push] : actions
            return AccessScope(.repository(name), actions: asked).description
        }
    }
}

/// The registry's door: every `/v2` request (except `/v2/token`) must carry a Bearer token from `/v2/token` or
/// Basic credentials (a password or an application token) that grant what the request needs; otherwise it gets
/// 401 with `WWW-Authenticate: Bearer realm=…,service=…,scope=…` naming the scope it needed.
///
/// - Tokens are verified by ``TokenIssuer`` (signature, issuer, audience, time; verifications cached), then the
///   account and the credential they came from are checked to be still good (``Authenticator/activeSubject(name:credential:)``, cached
///   for a second), so a disabled user or a revoked application or refresh token stops working at once.
/// - A request continuing an upload session may use a token that expired after the session began, when it is
///   for the same repository with push: a push longer than the token's lifetime finishes.
/// - Basic logins are remembered for ``basicLifetime`` by a hash of the header, so a push with Basic
///   credentials pays for one bcrypt check, not one per chunk; granted actions are remembered for a second.
/// - A valid caller without the access gets 403 `DENIED` when asking again could not help (with the reason, such
///   as a namespace that cannot be created), and 401 `insufficient_scope` when a new token would grant it. A
///   namespace that does not exist and one the caller may not see are refused alike (``AccessDenial``).
/// - An anonymous token without the access gets 401 `insufficient_scope`, as distribution answers: a client that
///   fetched a token and is refused again stops (containerd otherwise fetches tokens and retries five times).
///   `podman search` depends on it: it lists `/v2/_catalog` with a token fetched without a scope and asks for
///   `registry:catalog:*` only when refused with `insufficient_scope` naming it (a plain 401 fails the search).
///   A request without any token gets the plain challenge, no error code (RFC 6750 3.1), as from distribution.
/// - Clients print a refusal's `code: message` and drop `detail`, so the reason is the `message` (and `detail`).
///   A `HEAD` has no body: a refused `HEAD` on a blob (the existence check every push starts with) under a token
///   is answered as distribution does, 401 `insufficient_scope`, with the reason in the challenge's
///   `error_description` (RFC 6750), which skopeo and podman print; a 403 also carries it in its status
///   line, the only text containerd prints.
/// - Before a push starts (upload `POST`, manifest `PUT`) a missing namespace is created for the pusher; content
///   in storage whose namespace has no row stays unowned (admins only) until an admin adopts it.
///
/// The middleware of the `/v2` group (after ``RegistryResponseMiddleware``, which renders what it throws); the token
/// endpoint is a route of its own, outside the group.
struct RegistryAuthorization<Context: WharfContext>: RouterMiddleware {
    static var basicLifetime: Duration { .seconds(10) }

    let service: TokenService
    let resolver: ExternalURLResolver
    let blobs: BlobStore
    private let basicLogins = ExpiringCache<String, Caller>(lifetime: Self.basicLifetime)
    private let decisions = ExpiringCache<String, AccessDecision>(lifetime: .seconds(1))

    init(service: TokenService, resolver: ExternalURLResolver, blobs: BlobStore) {
        self.service = service
        self.resolver = resolver
        self.blobs = blobs
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // A path that does not parse gets the registry's own error (NAME_INVALID and the like), which tells nothing.
        guard let route = try? RegistryRoute(path: request.uri.path) else { return try await next(request, context) }
        let requirement = RegistryRequirement(route: route, method: request.method)
        var context = context
        context.registryRoute = route
        do {
            let access = try await authorize(request, route: route, requirement: requirement, context: context)
            context.registryAccess = access
            if case .repository(let name, let actions) = requirement, actions.contains(.push), Self.startsPush(route, request.method) {
                try await service.authorizer.ensureNamespace(for: name, subject: access.caller.subject)
            }
        } catch let failure as Failure {
            // Any other error (a refusal from the Authorizer: 403; a database that did not answer: 503) is
            // rendered by ``OCIErrorResponse``.
            throw challenge(failure, request: request, context: context, requirement: requirement)
        }
        return try await next(request, context)
    }

    /// The request that turns an upload session into a blob (the final `PUT`).
    static func commitsUpload(_ route: RegistryRoute, _ method: HTTPRequest.Method) -> Bool {
        if case .upload = route, method == .put { return true }
        return false
    }

    /// Requests that begin writing into a repository (and so need its namespace to exist).
    static func startsPush(_ route: RegistryRoute, _ method: HTTPRequest.Method) -> Bool {
        switch (route, method) {
        case (.startUpload, .post), (.manifest, .put): true
        default: false
        }
    }

    /// Why a request is refused.
    enum Failure: Error {
        /// No credentials, or credentials that do not verify: authenticate (again).
        case unauthenticated(String)
        /// A token without the access a new token would have: ask again with the scope.
        case insufficientScope
        /// An anonymous token without the access: no anonymous token would have it; the reason says to log in.
        case anonymous(String)
        /// The caller may not do this, whatever they ask for.
        case denied(String)
    }

    func authorize(_ request: Request, route: RegistryRoute, requirement: RegistryRequirement, context: Context) async throws -> RegistryAccess {
        guard let authorization = request.headers[.authorization] else { throw Failure.unauthenticated("authentication required") }
        if let bearer = request.headers.bearer {
            let (claims, subject) = try await verify(bearer.token, route: route)
            let access = RegistryAccess(caller: Caller(subject: subject, credential: claims.credential), claims: claims, service: service)
            if try await !tokenAllows(claims, requirement) {
                // Would a new token carry it? Then say so; otherwise the caller simply may not.
                if access.caller.subject.kind == .anonymous { throw Failure.anonymous(Self.anonymousReason(requirement)) }
                try await explainDenial(access.caller, requirement)
                throw Failure.insufficientScope
            }
            if Self.startsPush(route, request.method) || Self.commitsUpload(route, request.method) || request.method == .delete
                || service.issuer.isExpired(claims)
            {
                // A write starts, and an upload is committed, only under today's rules, not under those the token
                // saw: a namespace created since, or a role taken away, counts now rather than when the token
                // expires; and an upload continued with an expired token is checked on every request.
                try await explainDenial(access.caller, requirement)
            }
            return access
        }
        if let basic = request.headers.basic {
            let caller = try await basicCaller(authorization, basic, client: resolver.clientAddress(request, peer: context.remoteAddress))
            let access = RegistryAccess(caller: caller, claims: nil, service: service)
            try await explainDenial(caller, requirement)
            return access
        }
        // Credentials that are not Basic's `user:password` in base64 are refused like wrong ones.
        throw Failure.unauthenticated(authorization.hasPrefix("Basic ") ? "invalid username or password" : "unsupported authorization scheme")
    }

    /// A token's claims after all checks, allowing an expired one only to continue an upload session that began
    /// while it was valid.
    func verify(_ token: String, route: RegistryRoute) async throws -> (TokenClaims, TokenSubject) {
        let continuing: (RepositoryName, UploadID)? = if case .upload(let name, let id) = route { (name, id) } else { nil }
        let claims: TokenClaims
        do {
            claims = try await service.issuer.verify(token, audience: service.defaultService, acceptingExpired: continuing != nil)
        } catch {
            throw Failure.unauthenticated("invalid token")
        }
        if let (name, id) = continuing, service.issuer.isExpired(claims) {
            // The session must have started while this token was valid, and the token must allow pushing here.
            guard claims.allows(.push, on: name), let session = try? await blobs.status(of: id, in: name) else {
                throw Failure.unauthenticated("the token has expired")
            }
            let started = Int(session.startedAt)
            guard started >= claims.nbf, started < claims.exp else { throw Failure.unauthenticated("the token has expired") }
        }
        guard let subject = try await service.authenticator.activeSubject(name: claims.sub, credential: claims.credential) else {
            throw Failure.unauthenticated("the account or credential is no longer valid")
        }
        return (claims, subject)
    }

    func tokenAllows(_ claims: TokenClaims, _ requirement: RegistryRequirement) async throws -> Bool {
        switch requirement {
        case .authenticated: return true
        case .catalog: return claims.allowsCatalog
        case .repository(let name, let actions): return actions.allSatisfy { claims.allows($0, on: name) }
        }
    }

    /// Throws ``Failure/denied`` when `caller` may not do what `requirement` asks under the current rules.
    func explainDenial(_ caller: Caller, _ requirement: RegistryRequirement) async throws {
        let scope: AccessScope
        switch requirement {
        case .authenticated: return
        case .catalog: scope = AccessScope(.catalog, actions: [.catalog])
        case .repository(let name, let actions): scope = AccessScope(.repository(name), actions: actions)
        }
        let key = "\(caller.subject.name)|\(caller.subject.kind)|\(scope)"
        let decision: AccessDecision
        if let known = decisions.value(for: key) {
            decision = known
        } else {
            decision = try await service.authorizer.decide(scope, for: caller.subject)
            decisions.set(decision, for: key)
        }
        guard let reason = decision.reason else { return }
        if caller.subject.kind == .anonymous { throw Failure.anonymous(Self.anonymousReason(requirement)) }
        throw Failure.denied(reason)
    }

    /// Why an anonymous caller is refused: only the names it sent, so nothing about namespaces.
    static func anonymousReason(_ requirement: RegistryRequirement) -> String {
        switch requirement {
        case .authenticated: return "authentication required"
        case .catalog: return "authentication required to list the catalogue"
        case .repository(let name, let actions):
            return "authentication required to \(actions.sorted().map(\.rawValue).joined(separator: ",")) \(name.value)"
        }
    }

    /// The caller behind Basic credentials, remembered briefly by a hash of the header; the account's status is
    /// still checked on every request.
    func basicCaller(_ header: String, _ credentials: BasicAuthentication, client: String) async throws -> Caller {
        let key = SHA256.hash(data: Data(header.utf8)).map { String(format: "%02x", $0) }.joined()
        if let known = basicLogins.value(for: key) {
            guard let subject = try await service.authenticator.activeSubject(name: known.subject.name, credential: known.credential) else {
                throw Failure.unauthenticated("the account is no longer valid")
            }
            return Caller(subject: subject, credential: known.credential)
        }
        let caller: Caller
        do {
            caller = try await service.authenticator.authenticate(username: credentials.username, password: credentials.password, client: client)
        } catch let error as AuthError {
            let refusal = TokenError(error)
            switch refusal.code {
            case .tooManyRequests, .unavailable:
                let code: RegistryError.Code = refusal.code == .unavailable ? .unavailable : .tooManyRequests
                throw RegistryError(
                    code,
                    refusal.message,
                    detail: nil,
                    headers: refusal.retryAfterSeconds.map { [("Retry-After", String($0))] } ?? []
                )
            default:
                throw Failure.unauthenticated("invalid username or password")
            }
        }
        basicLogins.set(caller, for: key)
        return caller
    }

    /// The 401 or 403 for `failure`, with the challenge that tells a client where to get a token.
    func challenge(_ failure: Failure, request: Request, context: Context, requirement: RegistryRequirement) -> RegistryError {
        let base = resolver.resolve(request, peer: context.remoteAddress).base
        var parameters = [#"realm="\#(base)\#(TokenController<Context>.path)""#, #"service="\#(Self.quoted(service.defaultService))""#]
        if var scope = requirement.challengeScope {
            // A mount also reads its source: name it, so a client that follows the challenge asks for both.
            if request.method == .post, let from = request.uri.queryParameters["from"], let source = try? RepositoryName(String(from)) {
                scope += " " + AccessScope(.repository(source), actions: [.pull]).description
            }
            parameters.append(#"scope="\#(scope)""#)
        }
        var error: RegistryError
        switch failure {
        case .unauthenticated(let reason):
            error = RegistryError(.unauthorized, reason, detail: reason)
        case .insufficientScope:
            parameters.append(#"error="insufficient_scope""#)
            error = RegistryError(.unauthorized, "insufficient scope", detail: requirement.challengeScope)
        case .anonymous(let reason):
            parameters += [#"error="insufficient_scope""#, #"error_description="\#(Self.descriptionParameter(reason))""#]
            error = RegistryError(.unauthorized, reason, detail: reason)
        case .denied(let reason) where Self.challengesDenial(request, route: context.registryRoute):
            parameters += [#"error="insufficient_scope""#, #"error_description="\#(Self.descriptionParameter(reason))""#]
            error = RegistryError(.unauthorized, reason, detail: reason)
        case .denied(let reason):
            error = RegistryError(.denied, reason, detail: reason)
        }
        if error.code == .unauthorized { error.headers.append(("WWW-Authenticate", "Bearer " + parameters.joined(separator: ","))) }
        return error
    }

    /// Whether a denial is answered 401 `insufficient_scope` rather than 403: a `HEAD` on a blob under a token.
    /// Pushes start with it; it has no body, and skopeo and podman print only the status of a 403 there but a
    /// 401's `error_description`. Distribution answers every token without the access so; Wharf keeps its 403
    /// with a body wherever a body can carry the reason.
    static func challengesDenial(_ request: Request, route: RegistryRoute?) -> Bool {
        guard request.method == .head, case .blob = route else { return false }
        return request.headers.bearer != nil
    }

    /// `text` as an RFC 6750 `error_description`: printable ASCII without `"` and `\`, anything else a `?`.
    static func descriptionParameter(_ text: String) -> String {
        String(
            String.UnicodeScalarView(
                text.unicodeScalars.map { scalar in
                    (0x20...0x7E).contains(scalar.value) && scalar != "\"" && scalar != "\\" ? scalar : "?"
                }
            )
        )
    }

    static func quoted(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }
}
