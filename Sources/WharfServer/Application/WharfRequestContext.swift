import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import WharfCore

/// What Wharf's middlewares learn about a request and hand on: the peer's address (to trust a proxy's
/// forwarded headers), the URL clients reach Wharf at, and, on `/v2`, who is calling.
protocol WharfContext: RequestContext {
    var remoteAddress: SocketAddress? { get }
    /// `scheme://host[:port]` for absolute URLs (`Location`); empty keeps them relative.
    var externalBase: String { get set }
    /// Set by ``RegistryAuthorization``: the authenticated caller on `/v2`; nil when auth is off.
    var registryAccess: RegistryAccess? { get set }
    /// Set by ``RegistryAuthorization``: the parsed `/v2` route, so the registry does not parse it again.
    var registryRoute: RegistryRoute? { get set }
    /// Set by ``PortalSessionMiddleware`` on the portal's pages: who is visiting.
    var portal: PortalVisit { get set }
}

struct WharfRequestContext: WharfContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?
    var externalBase = ""
    var registryAccess: RegistryAccess? = nil
    var registryRoute: RegistryRoute? = nil
    var portal = PortalVisit(csrf: "", address: "")

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

/// Where clients reach Wharf: `external_url` when configured; else, for a request from a trusted proxy, its
/// `X-Forwarded-Proto` and `X-Forwarded-Host`; else the request's own scheme and `Host`.
struct ExternalURLResolver: Sendable {
    let externalURL: String?
    let trustedProxies: [IPAddressRange]
    /// Whether Wharf itself serves HTTPS (the scheme when nothing else says).
    let tls: Bool

    /// The base for absolute URLs, and whether it was configured or forwarded (relative `Location`s stay
    /// relative otherwise: they are always right for a client that reached us directly).
    func resolve(_ request: Request, peer: SocketAddress?) -> (base: String, explicit: Bool) {
        if let base = explicitBase(request, peer: peer) { return (base, true) }
        let host = request.head.authority.flatMap(Self.sanitize) ?? "localhost"
        return ("\(tls ? "https" : "http")://\(host)", false)
    }

    /// `external_url`, or what a trusted proxy forwarded; nil when neither applies.
    func explicitBase(_ request: Request, peer: SocketAddress?) -> String? {
        if let externalURL { return externalURL }
        guard !trustedProxies.isEmpty, let host = Self.forwarded(request, Self.forwardedHost), let ip = peer?.ipAddress,
            trustedProxies.contains(where: { $0.contains(ip) })
        else { return nil }
        let scheme = Self.forwarded(request, Self.forwardedProto).map { $0.lowercased() == "http" ? "http" : "https" } ?? "https"
        return "\(scheme)://\(host)"
    }

    /// The address a request comes from, for per-client limits: the peer's, or, when the peer is a trusted
    /// proxy, the nearest address in `X-Forwarded-For` that is not itself a trusted proxy (read from the right,
    /// since a client can write anything on the left). Empty when unknown.
    func clientAddress(_ request: Request, peer: SocketAddress?) -> String {
        guard let peerIP = peer?.ipAddress else { return "" }
        guard trustedProxies.contains(where: { $0.contains(peerIP) }), let chain = request.headers[Self.forwardedFor] else { return peerIP }
        let hops = chain.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { IPAddressRange.parseAddress($0) != nil }
        for hop in hops.reversed() where !trustedProxies.contains(where: { $0.contains(hop) }) { return hop }
        return hops.first ?? peerIP
    }

    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!
    static let forwardedHost = HTTPField.Name("X-Forwarded-Host")!
    static let forwardedProto = HTTPField.Name("X-Forwarded-Proto")!

    /// The first value of a forwarded header (a proxy chain appends with commas), when it is a plausible host.
    static func forwarded(_ request: Request, _ field: HTTPField.Name) -> String? {
        guard let value = request.headers[field] else { return nil }
        return sanitize(value.split(separator: ",").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? "")
    }

    /// A host[:port] with only the characters hosts have, so a header cannot inject into a challenge or URL.
    static func sanitize(_ host: String) -> String? {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]_")
        guard !host.isEmpty, host.count <= 255, host.allSatisfy({ allowed.contains($0) }) else { return nil }
        return host
    }
}

/// Sets ``WharfContext/externalBase`` when `external_url` is configured or a trusted proxy forwarded the
/// public scheme and host, so the registry's `Location` headers point where the client can follow them.
struct ExternalURLMiddleware<Context: WharfContext>: RouterMiddleware {
    let resolver: ExternalURLResolver

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let base = resolver.explicitBase(request, peer: context.remoteAddress) else { return try await next(request, context) }
        var context = context
        context.externalBase = base
        return try await next(request, context)
    }
}
