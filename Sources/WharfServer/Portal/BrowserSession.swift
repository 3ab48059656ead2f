import HTTPTypes
import Hummingbird
import WharfAuth

/// The portal's session as a credential of `/api/v1`, so the pages' scripts (search as you type) call the API as
/// the person signed in. Like every portal form, an unsafe method needs the session's CSRF token, here in the
/// `X-CSRF-Token` header: a cross-site page can make the browser send the cookie, never the header's value.
struct BrowserSession: Sendable {
    let sessions: SessionService
    let csrf: CSRFGuard

    /// The signed-in caller, nil without a session cookie or with one that ended (the request is then anonymous,
    /// as it would be without the cookie).
    func caller(_ request: Request, address: String) async throws -> APICaller? {
        guard let secret = request.cookies[Portal.sessionCookie]?.value, !secret.isEmpty,
            let resumed = try await sessions.resume(secret: secret)
        else { return nil }
        let safe: Set<HTTPRequest.Method> = [.get, .head, .options]
        if !safe.contains(request.method) {
            guard csrf.verify(request.headers[.csrfToken], session: resumed.id, visitor: nil) else {
                throw APIError(.forbidden, "a request made with a browser session needs its CSRF token in the X-CSRF-Token header")
            }
        }
        return APICaller(caller: resumed.caller, address: address)
    }
}
