import Foundation
import Hummingbird
import WharfAuth
import WharfCore
import WharfDatabase
import WharfStorage

/// `/admin`: the server's status, every user (create, promote, disable, unlock, reset password, delete with what
/// becomes of their repositories), every namespace and team, content in storage without a namespace (adopt), and
/// the portal switches kept in the database. Administrators only; the rules are the API's (UsersAPI), through the
/// same domain calls.
struct AdminPages<Context: WharfContext>: Sendable {
    let portal: Portal

    func addRoutes(to router: some RouterMethods<Context>) {
        router.get("/admin", use: status)
        router.get("/admin/users", use: users)
        router.post("/admin/users", use: createUser)
        router.get("/admin/users/:user", use: user)
        router.post("/admin/users/:user/admin", use: setAdmin)
        router.post("/admin/users/:user/enabled", use: setEnabled)
        router.post("/admin/users/:user/unlock", use: unlock)
        router.post("/admin/users/:user/password", use: resetPassword)
        router.post("/admin/users/:user/delete", use: deleteUser)
        router.get("/admin/namespaces", use: namespaces)
        router.post("/admin/namespaces/adopt", use: adopt)
        router.get("/admin/settings", use: settings)
        router.post("/admin/settings", use: saveSettings)
    }

    private func page(
        _ template: String,
        _ title: String,
        section: String,
        request: Request,
        context: Context,
        status: HTTPResponse.Status = .ok,
        values: [String: Any]
    ) async -> Response {
        await portal.adminPage(template, title: title, section: section, request: request, context: context, status: status, values: values)
    }

    // MARK: Status

    @Sendable func status(_ request: Request, context: Context) async throws -> Response {
        _ = try portal.requireAdmin(context)
        let api = portal.services
        let configuration = api.services.configuration
        let statistics = try await api.reader.statistics(for: context.portal.caller.subject)
        let counts = statistics.counts
        let backlog = try await api.pool.read { transaction in
            try transaction.query("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE state IN ('pending', 'sending')").first?.decode("n") as Int?
                ?? 0
        }
        let sync = await api.services.sync.lastReport
        let syncError = await api.services.sync.lastError
        let uptime = Int(Date().timeIntervalSince(api.startedAt))
        var values: [String: Any] = [
            "version": WharfVersion.string,
            "uptime": Self.duration(uptime),
            "startedISO": PortalFormat.iso(api.startedAt),
            "database": configuration.databaseLocation.description,
            "databaseBackend": configuration.databaseLocation.isSQLite ? "SQLite (embedded)" : "MariaDB/MySQL",
            "databaseHealthy": api.pool.health.isReady,
            "databaseProblem": api.pool.health.unavailableReason ?? "",
            "catalogueCurrent": api.services.catalog.state.isCurrent,
            "syncInterval": "\(configuration.syncInterval.components.seconds) s",
            "webhookBacklog": backlog,
            "counts": [
                "users": counts.users ?? 0, "teams": counts.teams ?? 0, "namespaces": counts.namespaces, "repositories": counts.repositories,
                "tags": counts.tags, "webhooks": counts.webhooks ?? 0, "activities": counts.activities ?? 0,
            ],
        ]
        if let storage = statistics.storage {
            values["storage"] = [
                "bytes": PortalFormat.bytes(storage.bytes), "blobs": storage.blobs, "measured": PortalFormat.relative(storage.measuredAt),
            ]
        }
        if let sync {
            values["sync"] = [
                "repositories": sync.repositories, "tags": sync.tags, "changed": sync.changed,
                "duration": "\(sync.duration.components.seconds * 1000 + sync.duration.components.attoseconds / 1_000_000_000_000_000) ms",
            ]
        }
        if let syncError { values["syncError"] = syncError }
        if configuration.tls, let info = try? CertificateBootstrap.inspect(certsDirectory: configuration.certsDirectory) {
            let days = Int(info.notValidAfter.timeIntervalSinceNow / 86400)
            values["certificate"] = [
                "subject": info.subject, "expires": PortalFormat.day(info.notValidAfter), "days": days, "soon": days < 30,
                "fingerprint": info.sha256Fingerprint,
            ]
        }
        let directory = await DirectoryReport.current(settings: configuration.ldap, logins: api.tokens.authenticator.directory)
        if directory.enabled { values["ldap"] = Self.directoryValues(directory) }
        return await page("admin-status", "Status", section: "status", request: request, context: context, values: values)
    }

    /// The status page's LDAP card (missing keys: nothing to say).
    static func directoryValues(_ report: DirectoryReport) -> [String: Any] {
        var values: [String: Any] = [
            "urls": report.urls.joined(separator: ", "), "encryption": report.encryption ?? "", "baseDN": report.baseDN ?? "",
            "bind": report.bind == "search" ? "search as the bind account, then bind as the entry" : "direct bind as the entry",
            "groupSync": report.groupSync ?? "off", "reachable": report.reachable ?? false,
        ]
        if let url = report.url { values["url"] = url }
        if let error = report.lastError {
            values["lastError"] = error
            if let at = report.lastErrorAt { values["lastErrorAt"] = PortalFormat.relative(at) }
        }
        if let sync = report.sync {
            var pass: [String: Any] = [
                "groups": sync.groups, "teams": sync.teamsMatched, "added": sync.membershipsAdded, "removed": sync.membershipsRemoved,
                "checked": sync.usersChecked, "disabled": sync.usersDisabled, "running": sync.running,
            ]
            if let at = sync.lastRunAt { pass["lastRun"] = PortalFormat.relative(at) }
            // Groups seen but none syncs: the next step is a team named like a group.
            if sync.groups > 0, sync.teamsMatched == 0 { pass["noTeams"] = true }
            if let error = sync.lastError { pass["error"] = error }
            values["sync"] = pass
        }
        return values
    }

    static func duration(_ seconds: Int) -> String {
        if seconds < 120 { return "\(seconds) s" }
        if seconds < 7200 { return "\(seconds / 60) min" }
        if seconds < 172_800 { return "\(seconds / 3600) h" }
        return "\(seconds / 86400) days"
    }

    // MARK: Users

    @Sendable func users(_ request: Request, context: Context) async throws -> Response {
        _ = try portal.requireAdmin(context)
        return try await usersPage(request: request, context: context, error: nil, typed: PortalForm(), status: .ok)
    }

    private func usersPage(
        request: Request,
        context: Context,
        error: String?,
        typed: PortalForm,
        status: HTTPResponse.Status
    ) async throws -> Response {
        let text = request.uri.queryParameters.get("q").map { String($0) } ?? ""
        let all = try await portal.services.accounts.listUsers()
        let shown =
            text.isEmpty
            ? all : all.filter { $0.name.localizedCaseInsensitiveContains(text) || ($0.email ?? "").localizedCaseInsensitiveContains(text) }
        let now = Date()
        var values: [String: Any] = [
            "q": text,
            "total": all.count == 1 ? "1 user" : "\(all.count) users",
            "users": shown.prefix(500).map { user -> [String: Any] in
                [
                    "name": user.name, "email": user.email ?? "", "url": "/admin/users/" + Portal.segment(user.name), "isAdmin": user.isAdmin,
                    "isBot": user.isBot, "disabled": !user.enabled, "locked": user.isLocked(at: now),
                    "lastLogin": user.lastLoginAt.map { PortalFormat.relative($0, now: now) } ?? "never",
                ]
            },
            "form": ["name": typed["name"] ?? "", "email": typed["email"] ?? ""],
        ]
        if shown.count > 500 { values["more"] = shown.count - 500 }
        if let error { values["error"] = error }
        return await page("admin-users", "Users", section: "users", request: request, context: context, status: status, values: values)
    }

    @Sendable func createUser(_ request: Request, context: Context) async throws -> Response {
        _ = try portal.requireAdmin(context)
        let form = context.portal.form
        let name = form["name"] ?? ""
        let email = form["email"] ?? ""
        do {
            if !email.isEmpty, try await portal.services.pool.read({ transaction in try transaction.users.find(email: email) }) != nil {
                throw AccountError(.userExists, "another user has the email \(email)")
            }
            let user = try await portal.services.accounts.createUser(
                name: name,
                password: form.raw("password") ?? "",
                isAdmin: form.checked("admin"),
                isBot: form.checked("bot"),
                actor: context.portal.caller.actor
            )
            if !email.isEmpty {
                try await portal.services.accounts.updateProfile(name: user.name, email: email, displayName: nil, actor: context.portal.caller.actor)
            }
            return portal.redirect(
                to: "/admin/users/" + Portal.segment(user.name),
                flash: .notice("User \(user.name) created."),
                request: request,
                context: context
            )
        } catch let error as AccountError {
            return try await usersPage(request: request, context: context, error: error.message, typed: form, status: .unprocessableContent)
        } catch let error as AuthError {
            return try await usersPage(request: request, context: context, error: error.message, typed: form, status: .unprocessableContent)
        }
    }

    private func target(_ context: Context) async throws -> User {
        let name = context.parameters.get("user") ?? ""
        guard let user = try await portal.services.pool.read({ transaction in try transaction.users.find(name: name) }) else {
            throw PortalError.notFound("There is no user \(name).")
        }
        return user
    }

    @Sendable func user(_ request: Request, context: Context) async throws -> Response {
        let me = try portal.requireAdmin(context)
        let user = try await target(context)
        return try await userPage(user, me: me, request: request, context: context, error: nil, status: .ok)
    }

    private func userPage(
        _ user: User,
        me: User,
        request: Request,
        context: Context,
        error: String?,
        status: HTTPResponse.Status
    ) async throws -> Response {
        let (memberships, tokens, teams, personal) = try await portal.services.pool.read { transaction in
            (
                try transaction.teams.memberships(userID: user.id), try transaction.tokens.list(userID: user.id),
                try transaction.teams.list(limit: 1000), try transaction.namespaces.find(name: user.name)
            )
        }
        let repositories = try await portal.services.reader.repositories(in: user.name, for: TokenSubject.commandLine, limit: 1).items.count
        let now = Date()
        let base = "/admin/users/" + Portal.segment(user.name)
        var values: [String: Any] = [
            "name": user.name, "email": user.email ?? "", "displayName": user.displayName ?? "", "isAdmin": user.isAdmin, "isBot": user.isBot,
            "enabled": user.enabled, "locked": user.isLocked(at: now), "failedLogins": user.failedLogins, "ldap": user.ldapDN ?? "",
            "created": PortalFormat.day(user.createdAt), "lastLogin": user.lastLoginAt.map { PortalFormat.relative($0, now: now) } ?? "never",
            "isMe": user.id == me.id, "base": base,
            "teams": memberships.filter { !$0.team.isHidden }.map {
                ["name": $0.team.name, "role": $0.role.rawValue, "url": PortalFormat.teamURL($0.team.name)]
            },
            "tokens": tokens.count,
            "hasPersonalNamespace": personal?.ownerID == user.id,
            "personalHasRepositories": repositories > 0,
            "transferTeams": teams.filter { !$0.isHidden }.map { ["name": $0.name] },
        ]
        if let error { values["error"] = error }
        return await page("admin-user", "User \(user.name)", section: "users", request: request, context: context, status: status, values: values)
    }

    /// Runs an administrator's action on a user and goes back to the user's page with what happened; a refusal of
    /// the domain (yourself, a weak password) is shown on the page.
    private func act(_ request: Request, context: Context, _ action: (User, User) async throws -> String) async throws -> Response {
        let me = try portal.requireAdmin(context)
        let user = try await target(context)
        do {
            let message = try await action(user, me)
            return portal.redirect(to: "/admin/users/" + Portal.segment(user.name), flash: .notice(message), request: request, context: context)
        } catch let error as PortalError where error.status == .conflict {
            return try await userPage(user, me: me, request: request, context: context, error: error.message, status: .conflict)
        } catch let error as AccountError {
            return try await userPage(user, me: me, request: request, context: context, error: error.message, status: .unprocessableContent)
        } catch let error as AuthError {
            return try await userPage(user, me: me, request: request, context: context, error: error.message, status: .unprocessableContent)
        }
    }

    @Sendable func setAdmin(_ request: Request, context: Context) async throws -> Response {
        try await act(request, context: context) { user, me in
            let admin = context.portal.form["admin"] == "true"
            if user.id == me.id && !admin { throw PortalError(.conflict, "Not allowed", "You cannot demote yourself; another administrator can.") }
            try await portal.services.accounts.setAdmin(name: user.name, admin, actor: context.portal.caller.actor)
            return admin ? "\(user.name) is an administrator." : "\(user.name) is no longer an administrator."
        }
    }

    @Sendable func setEnabled(_ request: Request, context: Context) async throws -> Response {
        try await act(request, context: context) { user, me in
            let enabled = context.portal.form["enabled"] == "true"
            if user.id == me.id && !enabled { throw PortalError(.conflict, "Not allowed", "You cannot disable yourself; another administrator can.") }
            try await portal.services.accounts.setEnabled(name: user.name, enabled, actor: context.portal.caller.actor)
            return enabled
                ? "\(user.name) is enabled again."
                : "\(user.name) is disabled: signed out everywhere, their tokens stop working."
        }
    }

    @Sendable func unlock(_ request: Request, context: Context) async throws -> Response {
        try await act(request, context: context) { user, _ in
            try await portal.services.accounts.unlock(name: user.name, actor: context.portal.caller.actor)
            return "\(user.name) may sign in again (failed attempts cleared)."
        }
    }

    @Sendable func resetPassword(_ request: Request, context: Context) async throws -> Response {
        try await act(request, context: context) { user, me in
            if user.id == me.id {
                throw PortalError(.conflict, "Not allowed", "Change your own password on your page, which asks for the current one.")
            }
            let form = context.portal.form
            guard form.raw("password") == form.raw("password_confirmation") else {
                throw PortalError(.conflict, "That did not work", "The two passwords differ.")
            }
            try await portal.services.accounts.setPassword(name: user.name, password: form.raw("password") ?? "", actor: context.portal.caller.actor)
            return "\(user.name)'s password is changed; their sessions and refresh tokens ended."
        }
    }

    @Sendable func deleteUser(_ request: Request, context: Context) async throws -> Response {
        let me = try portal.requireAdmin(context)
        let user = try await target(context)
        guard user.id != me.id else {
            return try await userPage(
                user,
                me: me,
                request: request,
                context: context,
                error: "You cannot delete yourself; another administrator can.",
                status: .conflict
            )
        }
        let disposition: PersonalRepositories
        switch Disposition(context.portal.form["repositories"]) {
        case .delete: disposition = .delete
        case .transfer(let team): disposition = .transfer(toTeam: team)
        case .refuse: disposition = .refuse
        }
        do {
            let repositories = try await portal.services.accounts.deleteUser(
                name: user.name,
                repositories: disposition,
                actor: context.portal.caller.actor
            )
            let what = repositories.isEmpty ? "" : " (\(repositories.count) repositories \(disposition.pastTense))"
            return portal.redirect(to: "/admin/users", flash: .notice("User \(user.name) is deleted\(what)."), request: request, context: context)
        } catch let error as AccountError {
            return try await userPage(user, me: me, request: request, context: context, error: error.message, status: .conflict)
        }
    }

    // MARK: Namespaces, teams and content without an owner

    @Sendable func namespaces(_ request: Request, context: Context) async throws -> Response {
        _ = try portal.requireAdmin(context)
        return try await namespacesPage(request: request, context: context, error: nil, status: .ok)
    }

    private func namespacesPage(request: Request, context: Context, error: String?, status: HTTPResponse.Status) async throws -> Response {
        let api = portal.services
        let listed = try await api.organizations.listNamespaces()
        let teams = try await api.organizations.listTeams()
        let known = Set(listed.map(\.namespace.name))
        let content = NamespaceContent(driver: api.services.driver)
        var orphans: [[String: Any]] = []
        for name in try await content.namespaces() where !known.contains(name) {
            let repositories = try await content.repositories(in: name)
            orphans.append([
                "name": name, "repositories": repositories.count, "examples": repositories.prefix(3).map(\.description).joined(separator: ", "),
            ])
        }
        var values: [String: Any] = [
            "namespaces": listed.map { item -> [String: Any] in
                [
                    "name": item.namespace.name, "url": PortalFormat.namespaceURL(item.namespace.name),
                    "visibility": item.namespace.visibility.rawValue,
                    "team": item.team ?? "", "teamURL": item.team.map(PortalFormat.teamURL) ?? "", "personal": item.namespace.kind == .personal,
                ]
            },
            "teams": teams.filter { !$0.team.isHidden }.map { item -> [String: Any] in
                [
                    "name": item.team.name, "url": PortalFormat.teamURL(item.team.name), "members": item.members.count,
                    "description": item.team.description,
                ]
            },
            "orphans": orphans,
            "teamChoices": teams.filter { !$0.team.isHidden }.map { ["name": $0.team.name] },
        ]
        if let error { values["error"] = error }
        return await page(
            "admin-namespaces",
            "Namespaces and teams",
            section: "namespaces",
            request: request,
            context: context,
            status: status,
            values: values
        )
    }

    @Sendable func adopt(_ request: Request, context: Context) async throws -> Response {
        _ = try portal.requireAdmin(context)
        let form = context.portal.form
        let name = form["namespace"] ?? ""
        guard let visibility = Visibility(rawValue: form["visibility"] ?? "private") else {
            return try await namespacesPage(request: request, context: context, error: "Choose a visibility.", status: .unprocessableContent)
        }
        do {
            let repositories = try await portal.services.organizations.adoptNamespace(
                name: name,
                team: form["team"] ?? "",
                visibility: visibility,
                actor: context.portal.caller.actor
            )
            return portal.redirect(
                to: PortalFormat.namespaceURL(name),
                flash: .notice("Namespace \(name) now belongs to team \(form["team"] ?? ""), with its \(repositories.count) repositories."),
                request: request,
                context: context
            )
        } catch let error as AccountError {
            return try await namespacesPage(request: request, context: context, error: error.message, status: .unprocessableContent)
        }
    }

    // MARK: Settings

    @Sendable func settings(_ request: Request, context: Context) async throws -> Response {
        _ = try portal.requireAdmin(context)
        let stored = try await portal.settings.stored()
        let configured = portal.settings.configured
        let effective = portal.policy
        func choice(_ stored: Bool?, _ configured: Bool) -> [[String: Any]] {
            [
                ["value": "default", "label": "As configured (\(configured ? "on" : "off"))", "selected": stored == nil],
                ["value": "on", "label": "On", "selected": stored == true],
                ["value": "off", "label": "Off", "selected": stored == false],
            ]
        }
        return await page(
            "admin-settings",
            "Settings",
            section: "settings",
            request: request,
            context: context,
            values: [
                "signupChoices": choice(stored.signup, configured.signup),
                "anonymousChoices": choice(stored.anonymousBrowsing, configured.anonymousBrowsing),
                "signup": effective.signup, "anonymous": effective.anonymousBrowsing,
                "sessionIdle": "\(configured.sessionIdle.components.seconds / 60) min",
                "sessionLifetime": "\(configured.sessionLifetime.components.seconds / 3600) h",
            ]
        )
    }

    @Sendable func saveSettings(_ request: Request, context: Context) async throws -> Response {
        _ = try portal.requireAdmin(context)
        let form = context.portal.form
        func value(_ name: String) -> Bool? {
            switch form[name] {
            case "on": true
            case "off": false
            default: nil
            }
        }
        try await portal.settings.set(signup: value("signup"), anonymousBrowsing: value("anonymous_browsing"))
        return portal.redirect(
            to: "/admin/settings",
            flash: .notice("Settings saved; every replica follows within seconds."),
            request: request,
            context: context
        )
    }
}

extension PersonalRepositories {
    fileprivate var pastTense: String {
        switch self {
        case .delete: "deleted"
        case .transfer(let team): "given to team \(team)"
        case .refuse: "kept"
        }
    }
}

extension DatabaseLocation {
    fileprivate var isSQLite: Bool {
        if case .sqlite = self { return true }
        return false
    }
}
