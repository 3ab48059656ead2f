import Foundation
import Hummingbird
import WharfAuth
import WharfCore
import WharfDatabase
import WharfSync

/// `/n/NS`: a namespace's repositories, visibility, team and description, with its settings and deletion for those
/// who manage it; and `/namespaces/new`. The rules are the API's own (``NamespacesAPI/visible(_:caller:)``,
/// ``NamespacesAPI/requireManager(_:caller:)``, ``NamespacesAPI/requireTeamOwner(_:caller:)``): a
/// namespace the visitor may not pull from is a 404 here as there.
struct NamespacePages<Context: WharfContext>: Sendable {
    let portal: Portal

    /// Repositories per page of a namespace.
    static var pageSize: Int { 50 }

    func addRoutes(to router: some RouterMethods<Context>) {
        router.get("/namespaces/new", use: newForm)
        router.post("/namespaces/new", use: create)
        router.get("/n/:namespace", use: show)
        router.post("/n/:namespace", use: update)
        router.post("/n/:namespace/delete", use: delete)
    }

    // MARK: The namespace page

    @Sendable func show(_ request: Request, context: Context) async throws -> Response {
        if let away = ExplorePages<Context>.signInFirst(portal, request: request, context: context) { return away }
        let name = context.parameters.get("namespace") ?? ""
        return try await page(name, request: request, context: context)
    }

    /// Settings: visibility, owning team and description (only what changed is changed).
    @Sendable func update(_ request: Request, context: Context) async throws -> Response {
        let visit = context.portal
        let name = context.parameters.get("namespace") ?? ""
        let api = portal.services
        _ = try visit.caller.requireUser()
        let current = try await NamespacesAPI(api: api).requireManager(name, caller: visit.caller)
        let form = visit.form
        let description = form.raw("description").map(Self.normalizedLines)
        do {
            guard let visibility = Visibility(rawValue: form["visibility"] ?? current.visibility) else {
                throw PortalError(.badRequest, "That did not work", "Choose public, protected or private.")
            }
            var team: String?
            if let chosen = form["team"], !chosen.isEmpty, chosen != current.team {
                try await NamespacesAPI(api: api).requireTeamOwner(chosen, caller: visit.caller)
                team = chosen
            }
            try await api.organizations.updateNamespace(
                name: name,
                visibility: visibility,
                team: team,
                description: description,
                actor: visit.caller.actor
            )
        } catch {
            guard let shown = PortalError.from(error), shown.status.code < 500 else { throw error }
            return try await page(
                name,
                request: request,
                context: context,
                status: shown.status,
                settingsError: shown.message,
                typed: ["visibility": form["visibility"] ?? "", "team": form["team"] ?? "", "description": description ?? ""]
            )
        }
        return portal.redirect(to: PortalFormat.namespaceURL(name), flash: .notice("Namespace \(name) saved."), request: request, context: context)
    }

    /// Deletion, with its repositories only when the form says so (the API's `delete_repositories`).
    @Sendable func delete(_ request: Request, context: Context) async throws -> Response {
        let visit = context.portal
        let name = context.parameters.get("namespace") ?? ""
        let api = portal.services
        _ = try visit.caller.requireUser()
        try await NamespacesAPI(api: api).requireManager(name, caller: visit.caller)
        let withRepositories = visit.form.checked("delete_repositories")
        let gone: [RepositoryName]
        do {
            // Immutable tags are refused here as in every other delete.
            if withRepositories { try await api.services.immutability.checkDeleteNamespace(name) }
            gone = try await api.organizations.deleteNamespace(name: name, deleteRepositories: withRepositories, actor: visit.caller.actor)
        } catch {
            guard let shown = PortalError.from(error), shown.status.code < 500 else { throw error }
            return try await page(name, request: request, context: context, status: shown.status, deleteError: shown.message)
        }
        let message =
            gone.isEmpty
            ? "Namespace \(name) deleted." : "Namespace \(name) deleted with \(gone.count) \(gone.count == 1 ? "repository" : "repositories")."
        return portal.redirect(to: "/explore", flash: .notice(message), request: request, context: context)
    }

    /// The namespace page, or its form again after a refused change (`status`, the error and what was typed).
    func page(
        _ name: String,
        request: Request,
        context: Context,
        status: HTTPResponse.Status = .ok,
        settingsError: String? = nil,
        deleteError: String? = nil,
        typed: [String: String]? = nil
    ) async throws -> Response {
        let visit = context.portal
        let api = portal.services
        let namespace = try await NamespacesAPI(api: api).visible(name, caller: visit.caller)
        let after = request.uri.queryParameters.get("after").flatMap { $0.isEmpty ? nil : $0 }
        let repositories = try await api.reader.repositories(in: name, for: visit.caller.subject, after: after, limit: Self.pageSize)
        let total = try await api.pool.read { try $0.repositories.counts(namespaces: [name])[name] ?? 0 }
        let now = Date()
        var values: [String: Any] = [
            "name": namespace.name,
            "url": PortalFormat.namespaceURL(namespace.name),
            "visibility": namespace.visibility,
            "kind": namespace.kind,
            "personal": namespace.kind == NamespaceKind.personal.rawValue,
            "descriptionHTML": MarkdownRenderer().html(namespace.description),
            "hasDescription": !namespace.description.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty,
            "created": PortalFormat.day(namespace.createdAt),
            "createdISO": PortalFormat.iso(namespace.createdAt),
            "repositories": repositories.items.map { ExplorePages<Context>.repositoryRow($0, now: now) },
            "repositoryCount": total,
            "repositoryWord": total == 1 ? "repository" : "repositories",
            "hasRepositories": total > 0,
            "manage": namespace.permissions.manage,
            "push": namespace.permissions.push,
        ]
        if let team = namespace.team { values["team"] = ["name": team, "url": PortalFormat.teamURL(team)] }
        if let owner = namespace.owner { values["owner"] = owner }
        if let next = repositories.next { values["next"] = PortalFormat.namespaceURL(name) + "?after=" + Portal.encodeQuery(next) }
        if after != nil { values["first"] = PortalFormat.namespaceURL(name) }
        // The first page follows pushes and deletes in the namespace live.
        if after == nil { values["liveURL"] = "/live?namespace=" + Portal.encodeQuery(name) }
        if namespace.permissions.manage {
            let chosenVisibility = typed?["visibility"] ?? namespace.visibility
            values["visibilities"] = Visibility.allCases.reversed().map { visibility in
                var option: [String: Any] = ["value": visibility.rawValue, "label": Self.label(visibility)]
                if visibility.rawValue == chosenVisibility { option["selected"] = true }
                return option
            }
            values["formDescription"] = typed?["description"] ?? namespace.description
            if namespace.kind == NamespaceKind.team.rawValue {
                let chosenTeam = typed?["team"].flatMap { $0.isEmpty ? nil : $0 } ?? namespace.team
                var teams = try await Self.teamsToGive(portal, visit: visit)
                if let current = namespace.team, !teams.contains(current) { teams.insert(current, at: 0) }
                values["teams"] = teams.map { team in
                    var option: [String: Any] = ["name": team]
                    if team == chosenTeam { option["selected"] = true }
                    return option
                }
            }
            if namespace.kind == NamespaceKind.team.rawValue {
                values["deletable"] = true
                let shown = try await api.reader.repositories(in: name, for: visit.caller.subject, limit: 10).items.map(\.name)
                values["doomed"] = shown
                if total > shown.count { values["doomedMore"] = total - shown.count }
            }
        }
        if visit.caller.subject.userID != nil,
            (try? await api.services.retention.authorize(.view, namespace: name, caller: visit.caller.subject, rules: api.rules)) != nil
        {
            values["retentionURL"] = RetentionPages<Context>.url(name)
        }
        if let settingsError { values["settingsError"] = settingsError }
        if let deleteError { values["deleteError"] = deleteError }
        return await portal.page(
            "namespace",
            title: "Namespace \(namespace.name)",
            visit: visit,
            request: request,
            context: context,
            nav: "explore",
            status: status,
            values: values
        )
    }

    // MARK: New namespace

    @Sendable func newForm(_ request: Request, context: Context) async throws -> Response {
        try await newPage(request: request, context: context)
    }

    @Sendable func create(_ request: Request, context: Context) async throws -> Response {
        let visit = context.portal
        let api = portal.services
        _ = try visit.caller.requireUser()
        let form = visit.form
        let name = form["name"] ?? ""
        let team = form["team"] ?? ""
        let description = Self.normalizedLines(form.raw("description") ?? "")
        do {
            guard let visibility = Visibility(rawValue: form["visibility"] ?? "private") else {
                throw PortalError(.badRequest, "That did not work", "Choose public, protected or private.")
            }
            guard !team.isEmpty else { throw PortalError(.badRequest, "That did not work", "Choose the team that owns the namespace.") }
            try await NamespacesAPI(api: api).requireTeamOwner(team, caller: visit.caller)
            let namespace = try await api.organizations.createNamespace(
                name: name,
                team: team,
                visibility: visibility,
                description: description,
                actor: visit.caller.actor
            )
            return portal.redirect(
                to: PortalFormat.namespaceURL(namespace.name),
                flash: .notice("Namespace \(namespace.name) created."),
                request: request,
                context: context
            )
        } catch {
            guard let shown = PortalError.from(error), shown.status.code < 500 else { throw error }
            return try await newPage(
                request: request,
                context: context,
                status: shown.status,
                error: shown.message,
                typed: ["name": name, "team": team, "visibility": form["visibility"] ?? "", "description": description]
            )
        }
    }

    func newPage(
        request: Request,
        context: Context,
        status: HTTPResponse.Status = .ok,
        error: String? = nil,
        typed: [String: String] = [:]
    ) async throws -> Response {
        let visit = context.portal
        _ = try visit.caller.requireUser()
        let teams = try await Self.teamsToGive(portal, visit: visit)
        guard visit.isAdmin || !teams.isEmpty else {
            throw PortalError.forbidden("Only owners of a team and administrators create namespaces. Ask an owner of your team.")
        }
        let chosenVisibility = typed["visibility"].flatMap { $0.isEmpty ? nil : $0 } ?? Visibility.private.rawValue
        var values: [String: Any] = [
            "name": typed["name"] ?? "",
            "description": typed["description"] ?? "",
            "teams": teams.map { team in
                var option: [String: Any] = ["name": team]
                if team == typed["team"] { option["selected"] = true }
                return option
            },
            "visibilities": Visibility.allCases.reversed().map { visibility in
                var option: [String: Any] = ["value": visibility.rawValue, "label": Self.label(visibility)]
                if visibility.rawValue == chosenVisibility { option["selected"] = true }
                return option
            },
        ]
        if let error { values["error"] = error }
        return await portal.page(
            "namespace-new",
            title: "New namespace",
            visit: visit,
            request: request,
            context: context,
            status: status,
            values: values
        )
    }

    // MARK: Rules and wording

    /// The teams `visit`'s user may give a namespace (the API's `requireTeamOwner`): every visible team for an
    /// administrator, the visible teams they own for anyone else.
    static func teamsToGive(_ portal: Portal, visit: PortalVisit) async throws -> [String] {
        guard let user = visit.user else { return [] }
        let rules = portal.services.rules
        let kind = visit.caller.subject.kind
        return try await portal.services.pool.read { transaction in
            if visit.isAdmin { return try transaction.teams.list(limit: 1000).map(\.name) }
            return try transaction.teams.memberships(userID: user.id)
                .filter { !$0.team.isHidden && rules.mayManageTeam(kind, role: $0.role) }
                .map(\.team.name)
                .sorted()
        }
    }

    /// Whether the "New namespace" form is for `visit`: administrators and owners of a team.
    static func mayCreateNamespace(_ portal: Portal, visit: PortalVisit) async throws -> Bool {
        guard visit.user != nil else { return false }
        if visit.isAdmin { return true }
        return try await !teamsToGive(portal, visit: visit).isEmpty
    }

    static func label(_ visibility: Visibility) -> String {
        switch visibility {
        case .public: "Public: anyone pulls"
        case .protected: "Protected: signed-in users pull"
        case .private: "Private: team members only"
        }
    }

    /// A textarea's text with the browser's CR LF line ends as LF.
    static func normalizedLines(_ text: String) -> String {
        text.replacingOccurrences(of: "\r\n", with: "\n")
    }
}
