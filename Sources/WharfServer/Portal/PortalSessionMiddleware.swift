import HTTPTypes
import Hummingbird
import NIOCore

/// Runs before every portal page: resumes the browser's session, refuses unsafe requests without the CSRF token
/// (read from the `X-CSRF-Token` header or the form's `_csrf` field, so no page can forget the check), turns
/// errors into error pages, and adds the headers every page carries (CSP without inline script, no framing).
struct PortalSessionMiddleware<Context: WharfContext>: RouterMiddleware {
    let portal: Portal
    /// The largest form the portal reads (descriptions and comments are the long fields).
    static var maxFormSize: Int { 256 * 1024 }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        var request = request
        var newNonce: String?
        var visit = PortalVisit(csrf: "", address: portal.resolver.clientAddress(request, peer: context.remoteAddress))
        var endedSession = false
        await portal.settings.refreshIfStale()
        do {
            if let secret = request.cookies[Portal.sessionCookie]?.value, !secret.isEmpty {
                if let resumed = try await portal.sessions.resume(secret: secret) {
                    visit.user = resumed.user
                    visit.sessionID = resumed.id
                    visit.sessionSecret = secret
                } else {
                    endedSession = true
                }
            }
        } catch {
            // The database is down: the page says so rather than treating the browser as signed out.
            var response = await portal.errorPage(error, visit: visit, request: request, context: context)
            Self.secure(&response)
            return response
        }
        let nonce = request.cookies[Portal.visitorCookie]?.value
        if let id = visit.sessionID {
            visit.csrf = portal.csrf.token(session: id)
        } else if let nonce, nonce.utf8.count == 43 {
            visit.csrf = portal.csrf.token(visitor: nonce)
        } else {
            let fresh = CSRFGuard.newNonce()
            newNonce = fresh
            visit.csrf = portal.csrf.token(visitor: fresh)
        }
        if request.method != .get && request.method != .head {
            var presented = request.headers[Self.csrfHeader]
            if let type = request.headers[.contentType], type.lowercased().hasPrefix("application/x-www-form-urlencoded") {
                do {
                    let body = try await request.collectBody(upTo: Self.maxFormSize)
                    visit.form = PortalForm(urlencoded: String(buffer: body))
                } catch {
                    context.portal = visit
                    var response = await portal.errorPage(
                        PortalError(.contentTooLarge, "Too long", "The form is longer than Wharf accepts (\(Self.maxFormSize / 1024) KiB)."),
                        visit: visit,
                        request: request,
                        context: context
                    )
                    Self.secure(&response)
                    return response
                }
                presented = presented ?? visit.form.raw("_csrf")
            }
            let session = visit.sessionID
            guard portal.csrf.verify(presented, session: session, visitor: session == nil ? nonce : nil) else {
                context.portal = visit
                var response = await portal.errorPage(
                    PortalError(
                        .forbidden,
                        "The form expired",
                        "The form was sent without its security token, or from another site. Go back, reload the page and try again."
                    ),
                    visit: visit,
                    request: request,
                    context: context
                )
                Self.secure(&response)
                return response
            }
        }
        if let flash = request.cookies[Portal.flashCookie]?.value { visit.flash = Flash(cookieValue: flash) }
        context.portal = visit
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            response = await portal.errorPage(error, visit: visit, request: request, context: context)
        }
        if let newNonce {
            response.setCookie(portal.cookie(Portal.visitorCookie, value: newNonce, maxAge: nil, request: request, context: context))
        }
        if endedSession && response.headers[values: .setCookie].allSatisfy({ !$0.hasPrefix(Portal.sessionCookie + "=") }) {
            response.setCookie(portal.expiredCookie(Portal.sessionCookie, request: request, context: context))
        }
        Self.secure(&response)
        return response
    }

    static var csrfHeader: HTTPField.Name { .csrfToken }

    /// The headers of every portal response. Scripts and styles come only from Wharf's own files (no inline
    /// script or style), pages cannot be framed, and nothing about the page leaks to other sites.
    static func secure(_ response: inout Response) {
        response.headers[.contentSecurityPolicy] =
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; "
            + "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        response.headers[.xFrameOptions] = "DENY"
        response.headers[.referrerPolicy] = "same-origin"
        response.headers[.xContentTypeOptions] = "nosniff"
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
    }
}

extension HTTPField.Name {
    static let csrfToken = HTTPField.Name("X-CSRF-Token")!
    static let xFrameOptions = HTTPField.Name("X-Frame-Options")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
}
