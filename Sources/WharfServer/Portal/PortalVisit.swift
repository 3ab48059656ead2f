import WharfAuth
import WharfDatabase

/// Who is visiting the portal, learned by ``PortalSessionMiddleware`` before any page runs: the signed-in user
/// (nil for a visitor), the CSRF token their forms carry, the client's address, and, for a post, its form.
struct PortalVisit: Sendable {
    var user: User?
    /// The session's id (the hash of the cookie's secret); nil for a visitor.
    var sessionID: String?
    /// The cookie's secret, so that sign-out and sign-in can end this very session.
    var sessionSecret: String?
    var csrf: String
    /// The client's address (behind a trusted proxy, the forwarded one).
    var address: String
    /// The posted form, read (and its CSRF token checked) before the page runs; empty for other requests.
    var form = PortalForm()
    /// The message the previous page left (after a redirect), shown once.
    var flash: Flash?

    /// The caller as the domain services know it: the user with a password login, or anonymous.
    var caller: APICaller {
        guard let user else { return APICaller(caller: .anonymous, address: address) }
        return APICaller(caller: SessionService.Resumed(user: user, id: sessionID ?? "").caller, address: address)
    }

    var isAdmin: Bool { user?.isAdmin == true }
}
