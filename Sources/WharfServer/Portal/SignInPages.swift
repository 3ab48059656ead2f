import Hummingbird
import WharfAuth
import WharfCore
import WharfDatabase

/// Sign in, sign up and sign out. Sign-in goes through the same ``Authenticator`` as `docker login` and
/// `/v2/token`, so it shares their lockout and per-address limits and says the same thing for an unknown user and a
/// wrong password. Only a password opens a browser session (tokens are for machines).
struct SignInPages<Context: WharfContext>: Sendable {
    let portal: Portal

    func addRoutes(to router: some RouterMethods<Context>) {
        router.get("/signin", use: signInForm)
        router.post("/signin", use: signIn)
        router.get("/signup", use: signUpForm)
        router.post("/signup", use: signUp)
        router.post("/signout", use: signOut)
    }

    @Sendable func signInForm(_ request: Request, context: Context) async throws -> Response {
        let visit = context.portal
        let next = request.uri.queryParameters.get("next").flatMap(Portal.localPath) ?? "/"
        if visit.user != nil { return portal.redirect(to: next, request: request, context: context) }
        return try await form(request: request, context: context, next: next, name: "", error: nil, status: .ok)
    }

    private func form(
        request: Request,
        context: Context,
        next: String,
        name: String,
        error: String?,
        status: HTTPResponse.Status
    ) async throws -> Response {
        let first = try await portal.isEmptyInstallation()
        return await portal.page(
            "signin",
            title: "Sign in",
            visit: context.portal,
            request: request,
            context: context,
            status: status,
            values: [
                "next": next, "name": name, "error": error as Any, "firstUser": first && !portal.directoryLogins,
                "firstDirectoryUser": first && portal.directoryLogins, "ldap": portal.directoryLogins,
                "signup": try await portal.signupOpen(),
            ]
        )
    }

    @Sendable func signIn(_ request: Request, context: Context) async throws -> Response {
        let visit = context.portal
        let name = visit.form["name"] ?? ""
        let password = visit.form.raw("password") ?? ""
        let next = visit.form["next"].flatMap(Portal.localPath) ?? "/"
        guard !name.isEmpty, !password.isEmpty else {
            return try await form(
                request: request,
                context: context,
                next: next,
                name: name,
                error: "Enter your user name and password.",
                status: .unprocessableContent
            )
        }
        let caller: Caller
        do {
            caller = try await portal.services.tokens.authenticator.authenticate(
                username: name,
                password: password,
                client: visit.address,
                portal: true
            )
        } catch let error as AuthError where error.code == .invalidCredentials {
            return try await form(
                request: request,
                context: context,
                next: next,
                name: name,
                error: "Wrong user name or password.",
                status: .unauthorized
            )
        } catch let error as AuthError where error.code == .directoryUnavailable {
            return try await form(
                request: request,
                context: context,
                next: next,
                name: name,
                error:
                    "The directory (LDAP) is unavailable, so your password cannot be checked. Try again in a few minutes; local accounts still work.",
                status: .serviceUnavailable
            )
        } catch let error as AuthError where error.code == .passwordChecksThrottled || error.code == .passwordChecksBusy {
            let wait = error.retryAfter.map { " Try again in \(max(1, $0.components.seconds)) s." } ?? " Try again shortly."
            return try await form(
                request: request,
                context: context,
                next: next,
                name: name,
                error: "Too many sign-in attempts." + wait,
                status: .tooManyRequests
            )
        }
        guard case .password(let userID) = caller.credential.flatMap(CredentialID.init),
            let user = try await portal.services.pool.read({ transaction in try transaction.users.find(id: userID) })
        else {
            return try await form(
                request: request,
                context: context,
                next: next,
                name: name,
                error: "Wrong user name or password. (Application tokens are for docker login and scripts; sign in with your password.)",
                status: .unauthorized
            )
        }
        return try await startSession(user: user, request: request, context: context, next: next, flash: Flash?.none)
    }

    /// A new session (a new secret, the old cookie's session ended): the id a browser had before signing in is
    /// never the one it has after. Also after a password change, which ends every session of the user but keeps
    /// the browser that made it signed in.
    func startSession(user: User, request: Request, context: Context, next: String, flash: Flash?) async throws -> Response {
        let visit = context.portal
        let started = try await portal.sessions.start(
            user: user,
            address: visit.address,
            userAgent: request.headers[.userAgent] ?? "",
            replacing: request.cookies[Portal.sessionCookie]?.value
        )
        var response = portal.redirect(to: next, flash: flash, request: request, context: context)
        response.setCookie(
            portal.cookie(
                Portal.sessionCookie,
                value: started.secret,
                maxAge: Int(portal.sessions.lifetime.components.seconds),
                request: request,
                context: context
            )
        )
        return response
    }

    @Sendable func signUpForm(_ request: Request, context: Context) async throws -> Response {
        if context.portal.user != nil { return portal.redirect(to: "/", request: request, context: context) }
        guard try await portal.signupOpen() else {
            throw PortalError(.notFound, "Sign-up is closed", "This server does not take new accounts here: ask an administrator for one.")
        }
        return try await signUpPage(request: request, context: context, name: "", email: "", error: nil, status: .ok)
    }

    private func signUpPage(
        request: Request,
        context: Context,
        name: String,
        email: String,
        error: String?,
        status: HTTPResponse.Status
    ) async throws
        -> Response
    {
        await portal.page(
            "signup",
            title: "Sign up",
            visit: context.portal,
            request: request,
            context: context,
            status: status,
            values: ["name": name, "email": email, "error": error as Any, "firstUser": try await portal.isEmptyInstallation()]
        )
    }

    @Sendable func signUp(_ request: Request, context: Context) async throws -> Response {
        let visit = context.portal
        let name = visit.form["name"] ?? ""
        let email = visit.form["email"] ?? ""
        let password = visit.form.raw("password") ?? ""
        let confirmation = visit.form.raw("password_confirmation") ?? ""
        func again(_ message: String, _ status: HTTPResponse.Status = .unprocessableContent) async throws -> Response {
            try await signUpPage(request: request, context: context, name: name, email: email, error: message, status: status)
        }
        guard try await portal.signupOpen() else {
            throw PortalError(.forbidden, "Sign-up is closed", "This server does not take new accounts here: ask an administrator for one.")
        }
        guard !name.isEmpty else { return try await again("Choose a user name.") }
        guard password == confirmation else { return try await again("The two passwords differ.") }
        if !email.isEmpty, !email.contains("@") || email.count > 254 { return try await again("That email address does not look right.") }
        let created: (user: User, isAdmin: Bool)
        do {
            created = try await portal.services.accounts.signUp(
                name: name,
                password: password,
                email: email.isEmpty ? nil : email,
                open: portal.policy.signup,
                actor: ActivityActor(id: nil, name: name, address: visit.address)
            )
        } catch let error as AccountError {
            return try await again(
                error.message,
                error.code == .notAllowed ? .forbidden : error.code == .userExists ? .conflict : .unprocessableContent
            )
        } catch let error as AuthError {
            return try await again(error.message)
        }
        portal.usersExist.withLockedValue { $0 = true }
        let welcome =
            created.isAdmin
            ? "Welcome, \(created.user.name). You are the first user, so you are this server's administrator."
            : "Welcome, \(created.user.name). Your account is ready."
        return try await startSession(user: created.user, request: request, context: context, next: "/", flash: Flash.notice(welcome))
    }

    @Sendable func signOut(_ request: Request, context: Context) async throws -> Response {
        if let secret = context.portal.sessionSecret { try await portal.sessions.end(secret: secret) }
        var response = portal.redirect(to: "/signin", flash: .notice("You are signed out."), request: request, context: context)
        response.setCookie(portal.expiredCookie(Portal.sessionCookie, request: request, context: context))
        return response
    }
}
