import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import NIOCore
import WharfAuth
import WharfDatabase

/// Everything the portal's pages are built from: the same domain services as `/api/v1` (the pages never call the
/// API over HTTP), the sessions, the templates, and the URLs of the static files.
struct Portal: Sendable {
    let services: APIServices
    let sessions: SessionService
    let renderer: PageRenderer
    let assets: StaticAssets
    let markdown = MarkdownRenderer()
    let csrf: CSRFGuard
    /// The switches in force: the configuration's, or what an administrator set in the database.
    let settings: PortalSettings
    let resolver: ExternalURLResolver
    let logger: Logger
    /// Whether any user exists, remembered once true (sign-up is offered to the first person before that).
    let usersExist = NIOLockedValueBox(false)

    var policy: PortalPolicy { settings.current }

    static let sessionCookie = "wharf_session"
    static let visitorCookie = "wharf_csrf"
    static let flashCookie = "wharf_flash"

    /// Whether the installation has no user at all: the first person to sign up becomes administrator.
    func isEmptyInstallation() async throws -> Bool {
        if usersExist.withLockedValue({ $0 }) { return false }
        let count = try await services.pool.read { transaction in try transaction.users.count() }
        if count > 0 { usersExist.withLockedValue { $0 = true } }
        return count == 0
    }

    /// Whether logins go to an LDAP directory (`ldap.enabled`): accounts come from there, never from sign-up.
    var directoryLogins: Bool { services.tokens.authenticator.directory != nil }

    /// Whether the sign-up page takes new accounts now: never while LDAP is on.
    func signupOpen() async throws -> Bool {
        if directoryLogins { return false }
        if policy.signup { return true }
        return try await isEmptyInstallation()
    }

    // MARK: Responses

    /// A page: `template` inheriting the layout, with `values` and the layout's `site`.
    func page(
        _ template: String,
        title: String,
        visit: PortalVisit,
        request: Request,
        context: some WharfContext,
        nav: String? = nil,
        status: HTTPResponse.Status = .ok,
        values: [String: Any] = [:]
    ) async -> Response {
        // A nil in the values would render as "nil": a missing key is what templates test for.
        var root = values.filter { _, value in
            let mirror = Mirror(reflecting: value)
            return mirror.displayStyle != .optional || !mirror.children.isEmpty
        }
        root["site"] = await site(title: title, visit: visit, request: request, context: context, nav: nav)
        guard let html = renderer.render(template, root) else {
            logger.error("portal template missing", metadata: ["template": "\(template)"])
            return Response(
                status: .internalServerError,
                headers: [.contentType: "text/plain; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: "template \(template) is missing"))
            )
        }
        var response = Response(
            status: status,
            headers: [.contentType: "text/html; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: html))
        )
        if visit.flash != nil { response.setCookie(expiredCookie(Self.flashCookie, request: request, context: context)) }
        return response
    }

    /// The error page for `error`; unexpected errors are logged and shown as a 500 without their details.
    func errorPage(_ error: any Error, visit: PortalVisit, request: Request, context: some WharfContext) async -> Response {
        let shown: PortalError
        if let known = PortalError.from(error) {
            shown = known
        } else {
            logger.error("portal page failed", metadata: ["path": "\(request.uri.path)", "error": "\(String(reflecting: error))"])
            shown = PortalError(.internalServerError, "Something went wrong", "Wharf could not show this page. The error was logged; try again.")
        }
        if shown.status == .unauthorized && visit.user == nil {
            return redirect(to: "/signin?next=" + Self.encodeQuery(request.uri.description), request: request, context: context)
        }
        return await page(
            "error",
            title: shown.heading,
            visit: visit,
            request: request,
            context: context,
            status: shown.status,
            values: ["status": Int(shown.status.code), "heading": shown.heading, "message": shown.message]
        )
    }

    /// A 303 to a local path (after a post), with a message for the next page.
    func redirect(to path: String, flash: Flash? = nil, request: Request, context: some WharfContext) -> Response {
        var response = Response(status: .seeOther, headers: [.location: Self.localPath(path) ?? "/"])
        if let flash {
            response.setCookie(
                cookie(Self.flashCookie, value: flash.cookieValue, maxAge: 60, request: request, context: context)
            )
        }
        return response
    }

    // MARK: Cookies

    /// A cookie of the portal: `HttpOnly`, `SameSite=Lax`, path `/`, and `Secure` whenever clients reach Wharf
    /// over HTTPS (always, unless TLS is off and no proxy says otherwise).
    func cookie(_ name: String, value: String, maxAge: Int?, request: Request, context: some WharfContext) -> Cookie {
        Cookie(name: name, value: value, maxAge: maxAge, path: "/", secure: isSecure(request, context: context), httpOnly: true, sameSite: .lax)
    }

    func expiredCookie(_ name: String, request: Request, context: some WharfContext) -> Cookie {
        cookie(name, value: "", maxAge: 0, request: request, context: context)
    }

    func isSecure(_ request: Request, context: some WharfContext) -> Bool {
        resolver.resolve(request, peer: context.remoteAddress).base.hasPrefix("https:")
    }

    // MARK: The layout's values

    private func site(title: String, visit: PortalVisit, request: Request, context: some WharfContext, nav: String?) async -> [String: Any] {
        var site: [String: Any] = [
            "title": title,
            "csrf": visit.csrf,
            "css": assets.css,
            "js": assets.js,
            "favicon": assets.favicon ?? "",
            "version": WharfVersion.string,
            "host": host(request: request, context: context),
            "signup": visit.user == nil ? ((try? await signupOpen()) ?? false) : false,
            "nav": ["dashboard", "explore", "teams", "me", "admin", "activity"].reduce(into: [String: Bool]()) { $0[$1] = $1 == nav },
        ]
        if let user = visit.user {
            site["user"] = ["name": user.name, "displayName": user.displayName ?? user.name, "isAdmin": user.isAdmin] as [String: Any]
        }
        if let flash = visit.flash { site["flash"] = ["kind": flash.kind.rawValue, "message": flash.message] }
        return site
    }

    /// The registry's `host[:port]` as clients reach it, for `docker pull` lines.
    func host(request: Request, context: some WharfContext) -> String {
        let base = resolver.resolve(request, peer: context.remoteAddress).base
        guard let range = base.range(of: "://") else { return base }
        return String(base[range.upperBound...])
    }

    // MARK: Paths

    /// `path` when it is a path on this site (`/x`, never `//host` or `/\host`), for `next=` parameters.
    static func localPath(_ path: String) -> String? {
        guard path.hasPrefix("/"), !path.hasPrefix("//"), !path.hasPrefix("/\\"),
            !path.unicodeScalars.contains(where: { $0.value < 0x20 || $0 == "\\" })
        else { return nil }
        return path
    }

    static func encodeQuery(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~/")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    /// A path segment for URLs the pages build (`/n/NAME`): names are already limited to the namespace grammar,
    /// tags too; this only guards against anything else.
    static func segment(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }
}

/// A one-time message shown on the next page (after a redirect).
struct Flash: Sendable, Equatable {
    enum Kind: String, Sendable { case notice, error }
    var kind: Kind
    var message: String

    static func notice(_ message: String) -> Flash { Flash(kind: .notice, message: message) }
    static func error(_ message: String) -> Flash { Flash(kind: .error, message: message) }

    var cookieValue: String { kind.rawValue + "." + Data(message.prefix(500).utf8).base64URLEncoded }

    init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }

    init?(cookieValue: String) {
        let parts = cookieValue.split(separator: ".", maxSplits: 1)
        guard parts.count == 2, let kind = Kind(rawValue: String(parts[0])) else { return nil }
        var base64 = parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let message = String(data: data, encoding: .utf8) else { return nil }
        self.init(kind: kind, message: String(message.prefix(500)))
    }
}
