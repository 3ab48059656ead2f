import Foundation
import HTTPTypes
import Hummingbird
import WharfAuth
import WharfCore
import WharfDatabase

/// `/me`: the signed-in person's profile, password, application tokens and refresh tokens, with the rules of
/// `/api/v1/me` (``AccountSelfService``). A new token's secret is shown once, on the page that answers the post
/// (never after a redirect, so it is in no URL, history entry or cookie).
struct MePages<Context: WharfContext>: Sendable {
    let portal: Portal

    func addRoutes(to router: some RouterMethods<Context>) {
        router.get("/me", use: me)
        router.post("/me/profile", use: updateProfile)
        router.post("/me/password", use: changePassword)
        router.post("/me/tokens", use: createToken)
        router.post("/me/tokens/:id/revoke", use: revokeToken)
        router.post("/me/refresh-tokens/:id/revoke", use: revokeRefreshToken)
    }

    /// What the forms of the page held when a post failed: the message shown by the form it came from, and the
    /// values typed (never passwords).
    struct Typed {
        var section = ""
        var error = ""
        var fields: [String: String] = [:]
    }

    @Sendable func me(_ request: Request, context: Context) async throws -> Response {
        try await page(request: request, context: context, typed: Typed(), status: .ok)
    }

    private func page(request: Request, context: Context, typed: Typed, status: HTTPResponse.Status) async throws -> Response {
        let visit = context.portal
        guard let signedIn = visit.user else { throw PortalError.signInRequired }
        let accounts = portal.services.accounts
        let user = try await portal.services.pool.read { transaction in try transaction.users.find(id: signedIn.id) } ?? signedIn
        let tokens = try await accounts.listTokens(user: user.name)
        let refreshTokens = try await accounts.listRefreshTokens(user: user.name)
        let now = Date()
        var values: [String: Any] = [
            "user": [
                "name": user.name,
                "email": typed.fields["email"] ?? user.email ?? "",
                "displayName": typed.fields["display_name"] ?? user.displayName ?? "",
                "isAdmin": user.isAdmin,
            ] as [String: Any],
            "tokens": tokens.map { Self.tokenValues($0, now: now) },
            "refreshTokens": refreshTokens.map { token in
                var row: [String: Any] = [
                    "id": String(token.id), "client": token.clientID, "created": PortalFormat.relative(token.createdAt, now: now),
                    "createdISO": PortalFormat.iso(token.createdAt), "source": Self.source(token.source),
                ]
                if let used = token.lastUsedAt {
                    row["lastUsed"] = PortalFormat.relative(used, now: now)
                    row["lastUsedISO"] = PortalFormat.iso(used)
                }
                return row
            },
            "tokenLimit": AccountService.maximumTokensPerUser,
            // A directory user's password is the directory's: no form to change it here.
            "passwordLocal": user.ldapDN == nil,
            "tokensFull": tokens.count >= AccountService.maximumTokensPerUser,
            "label": typed.fields["label"] ?? "",
            "expiries": Self.expiries.map { choice in
                var option: [String: Any] = ["value": choice.value, "label": choice.label]
                if choice.value == (typed.fields["expires"] ?? "90") { option["selected"] = true }
                return option
            },
        ]
        if !typed.section.isEmpty { values[typed.section + "Error"] = typed.error }
        return await portal.page(
            "me",
            title: "Your account",
            visit: visit,
            request: request,
            context: context,
            nav: "me",
            status: status,
            values: values
        )
    }

    static var expiries: [(value: String, label: String)] {
        [
            ("7", "7 days"), ("30", "30 days"), ("90", "90 days"), ("365", "1 year"), ("never", "Never"),
        ]
    }

    static func tokenValues(_ token: ApplicationToken, now: Date) -> [String: Any] {
        var row: [String: Any] = [
            "id": String(token.id), "label": token.application, "created": PortalFormat.relative(token.createdAt, now: now),
            "createdISO": PortalFormat.iso(token.createdAt),
        ]
        if let used = token.lastUsedAt {
            row["lastUsed"] = PortalFormat.relative(used, now: now)
            row["lastUsedISO"] = PortalFormat.iso(used)
        }
        if let expires = token.expiresAt {
            row["expires"] = PortalFormat.day(expires)
            row["expiresISO"] = PortalFormat.iso(expires)
            if token.isExpired(at: now) { row["expired"] = true }
        }
        return row
    }

    /// Where a refresh token came from (`docker login` with a password or with an application token).
    static func source(_ source: String?) -> String {
        switch source.flatMap(CredentialID.init) {
        case .applicationToken: "an application token"
        case .password: "your password"
        default: "a login"
        }
    }

    /// Runs a change; a refusal the person can fix (4xx) re-renders the page with the message next to the form
    /// it came from and what they typed.
    private func attempt(
        _ section: String,
        fields: [String: String] = [:],
        request: Request,
        context: Context,
        _ change: () async throws -> Response
    ) async throws -> Response {
        do {
            return try await change()
        } catch {
            let refusal = try PortalError.refusal(error)
            return try await page(
                request: request,
                context: context,
                typed: Typed(section: section, error: refusal.message, fields: fields),
                status: refusal.status
            )
        }
    }

    private func caller(_ context: Context) throws -> APICaller {
        guard context.portal.user != nil else { throw PortalError.signInRequired }
        return context.portal.caller
    }

    @Sendable func updateProfile(_ request: Request, context: Context) async throws -> Response {
        let caller = try caller(context)
        let form = context.portal.form
        let email = form["email"] ?? ""
        let displayName = form["display_name"] ?? ""
        return try await attempt("profile", fields: ["email": email, "display_name": displayName], request: request, context: context) {
            if !email.isEmpty, !email.contains("@") || email.count > 254 {
                throw PortalError(.unprocessableContent, "That did not work", "That email address does not look right")
            }
            guard displayName.count <= 100 else {
                throw PortalError(.unprocessableContent, "That did not work", "The display name is longer than 100 characters")
            }
            try await portal.services.accounts.updateProfile(name: caller.subject.name, email: email, displayName: displayName, actor: caller.actor)
            return portal.redirect(to: "/me", flash: .notice("Your profile is saved."), request: request, context: context)
        }
    }

    @Sendable func changePassword(_ request: Request, context: Context) async throws -> Response {
        let caller = try caller(context)
        let form = context.portal.form
        let current = form.raw("current_password") ?? ""
        let new = form.raw("new_password") ?? ""
        let confirmation = form.raw("new_password_confirmation") ?? ""
        return try await attempt("password", request: request, context: context) {
            guard !current.isEmpty, !new.isEmpty else {
                throw PortalError(.unprocessableContent, "That did not work", "Enter your current password and a new one")
            }
            guard new == confirmation else { throw PortalError(.unprocessableContent, "That did not work", "The two new passwords differ") }
            try await AccountSelfService(api: portal.services, caller: caller).changePassword(current: current, new: new)
            // Every session of the user ended with the old password; this browser gets a new one.
            guard let user = try await portal.services.pool.read({ transaction in try transaction.users.find(name: caller.subject.name) }) else {
                throw PortalError.signInRequired
            }
            return try await SignInPages<Context>(portal: portal).startSession(
                user: user,
                request: request,
                context: context,
                next: "/me",
                flash: .notice("Your password is changed. Other browsers and docker logins with the old password are signed out.")
            )
        }
    }

    @Sendable func createToken(_ request: Request, context: Context) async throws -> Response {
        let caller = try caller(context)
        let form = context.portal.form
        let label = form["label"] ?? ""
        let expires = form["expires"] ?? "90"
        return try await attempt("token", fields: ["label": label, "expires": expires], request: request, context: context) {
            guard !label.isEmpty else { throw PortalError(.unprocessableContent, "That did not work", "Name the token (for example ci or laptop)") }
            var expiry: Date?
            if expires != "never" {
                guard let days = Int(expires), (1...3650).contains(days) else {
                    throw PortalError(.unprocessableContent, "That did not work", "Choose when the token expires")
                }
                expiry = Date().addingTimeInterval(Double(days) * 86_400)
            }
            let created = try await portal.services.accounts.createToken(
                user: caller.subject.name,
                label: label,
                expiresAt: expiry,
                actor: caller.actor
            )
            var values = Self.tokenValues(created.token, now: Date())
            values["secret"] = created.secret
            values["user"] = caller.subject.name
            return await portal.page(
                "me-token-created",
                title: "Token created",
                visit: context.portal,
                request: request,
                context: context,
                nav: "me",
                status: .created,
                values: ["token": values]
            )
        }
    }

    @Sendable func revokeToken(_ request: Request, context: Context) async throws -> Response {
        let caller = try caller(context)
        guard let id = context.parameters.get("id", as: Int64.self) else { throw PortalError.notFound() }
        return try await attempt("tokens", request: request, context: context) {
            let label = try await portal.services.pool.read { transaction in try transaction.tokens.find(id: id) }?.application ?? ""
            try await AccountSelfService(api: portal.services, caller: caller).revokeToken(id: id)
            return portal.redirect(to: "/me", flash: .notice("The token \(label) is revoked."), request: request, context: context)
        }
    }

    @Sendable func revokeRefreshToken(_ request: Request, context: Context) async throws -> Response {
        let caller = try caller(context)
        guard let id = context.parameters.get("id", as: Int64.self) else { throw PortalError.notFound() }
        return try await attempt("refresh", request: request, context: context) {
            try await AccountSelfService(api: portal.services, caller: caller).revokeRefreshToken(id: id)
            return portal.redirect(to: "/me", flash: .notice("The login is revoked."), request: request, context: context)
        }
    }
}
