import Foundation
import HTTPTypes
import Hummingbird
import WharfAuth
import WharfCore
import WharfDatabase

/// `/teams` and `/teams/TEAM`: the teams a person belongs to (every team for an administrator), a team's members,
/// roles and namespaces, and the changes its owners and administrators make, decided by ``TeamAccess`` exactly as
/// `/api/v1/teams` decides them.
struct TeamPages<Context: WharfContext>: Sendable {
    let portal: Portal

    func addRoutes(to router: some RouterMethods<Context>) {
        router.get("/teams", use: list)
        router.post("/teams", use: create)
        router.get("/teams/:team", use: show)
        router.post("/teams/:team/description", use: describe)
        router.post("/teams/:team/members", use: addMember)
        router.post("/teams/:team/members/:user/role", use: changeRole)
        router.post("/teams/:team/members/:user/remove", use: removeMember)
        router.post("/teams/:team/namespaces", use: createNamespace)
        router.get("/teams/:team/delete", use: confirmDelete)
        router.post("/teams/:team/delete", use: delete)
    }

    /// What a failed post leaves on the page it re-renders: the message by its form, and what was typed.
    struct Typed {
        var section = ""
        var error = ""
        var fields: [String: String] = [:]
    }

    private func access(_ context: Context) throws -> TeamAccess {
        guard context.portal.user != nil else { throw PortalError.signInRequired }
        return TeamAccess(api: portal.services, caller: context.portal.caller)
    }

    private func teamName(_ context: Context) throws -> String {
        guard let name = context.parameters.get("team"), !name.isEmpty else { throw PortalError.notFound() }
        return name
    }

    // MARK: The list

    @Sendable func list(_ request: Request, context: Context) async throws -> Response {
        try await listPage(request: request, context: context, typed: Typed(), status: .ok)
    }

    private func listPage(request: Request, context: Context, typed: Typed, status: HTTPResponse.Status) async throws -> Response {
        let teams = try await access(context).list(after: nil, limit: 10_000)
        let now = Date()
        var values: [String: Any] = [
            "teams": teams.map { team in
                var row: [String: Any] = [
                    "name": team.name, "url": PortalFormat.teamURL(team.name), "description": team.description,
                    "members": Self.members(team.memberCount), "created": PortalFormat.relative(team.createdAt, now: now),
                    "createdISO": PortalFormat.iso(team.createdAt),
                ]
                if let role = team.role { row["role"] = role }
                return row
            },
            "isAdmin": context.portal.isAdmin,
            "name": typed.fields["name"] ?? "",
            "description": typed.fields["description"] ?? "",
        ]
        if !typed.section.isEmpty { values[typed.section + "Error"] = typed.error }
        return await portal.page(
            "teams",
            title: "Teams",
            visit: context.portal,
            request: request,
            context: context,
            nav: "teams",
            status: status,
            values: values
        )
    }

    @Sendable func create(_ request: Request, context: Context) async throws -> Response {
        let access = try access(context)
        let form = context.portal.form
        let name = form["name"] ?? ""
        let description = form["description"] ?? ""
        do {
            guard !name.isEmpty else { throw PortalError(.unprocessableContent, "That did not work", "Choose a name for the team") }
            let team = try await access.create(name: name, description: description, owner: nil)
            return portal.redirect(
                to: PortalFormat.teamURL(team.name),
                flash: .notice("Team \(team.name) is created; you are its owner."),
                request: request,
                context: context
            )
        } catch {
            let (message, status) = try PortalError.refusal(error)
            return try await listPage(
                request: request,
                context: context,
                typed: Typed(section: "create", error: message, fields: ["name": name, "description": description]),
                status: status
            )
        }
    }

    // MARK: One team

    @Sendable func show(_ request: Request, context: Context) async throws -> Response {
        try await teamPage(try teamName(context), request: request, context: context, typed: Typed(), status: .ok)
    }

    private func teamPage(_ name: String, request: Request, context: Context, typed: Typed, status: HTTPResponse.Status) async throws -> Response {
        let access = try access(context)
        let detail = try await access.detail(name)
        let manager = access.mayManage(detail)
        let me = context.portal.user?.name ?? ""
        let owners = detail.members.filter { $0.role == TeamRole.owner.rawValue }.count
        let namespaces = try await portal.services.pool.read { transaction in
            try detail.namespaces.compactMap { try transaction.namespaces.find(name: $0) }
        }
        let roles = TeamRole.allCases.map(\.rawValue)
        func options(_ selected: String) -> [[String: Any]] {
            roles.map { role in
                var option: [String: Any] = ["value": role]
                if role == selected { option["selected"] = true }
                return option
            }
        }
        var values: [String: Any] = [
            "team": [
                "name": detail.team.name, "url": PortalFormat.teamURL(detail.team.name), "description": detail.team.description,
                "memberCount": Self.members(detail.team.memberCount), "created": PortalFormat.day(detail.team.createdAt),
                "createdISO": PortalFormat.iso(detail.team.createdAt),
            ] as [String: Any],
            "manage": manager,
            "members": detail.members.enumerated().map { index, member in
                var row: [String: Any] = [
                    "index": index, "user": member.user, "role": member.role, "roles": options(member.role),
                    "action": PortalFormat.teamURL(detail.team.name) + "/members/" + Portal.segment(member.user),
                ]
                if member.user == me { row["isMe"] = true }
                // The domain keeps an owner: the last one can neither leave nor be demoted.
                if member.role == TeamRole.owner.rawValue && owners <= 1 { row["lastOwner"] = true }
                return row
            },
            "namespaces": namespaces.map { namespace in
                [
                    "name": namespace.name, "url": PortalFormat.namespaceURL(namespace.name), "visibility": namespace.visibility.rawValue,
                    "description": namespace.description,
                ] as [String: Any]
            },
            "newRoles": options(typed.fields["role"] ?? TeamRole.contributor.rawValue),
            "visibilities": Visibility.allCases.map { visibility in
                var option: [String: Any] = ["value": visibility.rawValue]
                if visibility.rawValue == (typed.fields["visibility"] ?? Visibility.private.rawValue) { option["selected"] = true }
                return option
            },
            "memberName": typed.fields["user"] ?? "",
            "namespaceName": typed.fields["namespace"] ?? "",
            "namespaceDescription": typed.fields["namespace_description"] ?? "",
            "description": typed.fields["description"] ?? detail.team.description,
        ]
        if let role = detail.team.role { values["myRole"] = role }
        if !typed.section.isEmpty { values[typed.section + "Error"] = typed.error }
        return await portal.page(
            "team",
            title: "Team \(detail.team.name)",
            visit: context.portal,
            request: request,
            context: context,
            nav: "teams",
            status: status,
            values: values
        )
    }

    /// Runs a change of team `name`; a refusal the person can fix re-renders the team page with the message by the
    /// form it came from.
    private func change(
        _ section: String,
        fields: [String: String] = [:],
        request: Request,
        context: Context,
        _ body: (TeamAccess, String) async throws -> Response
    ) async throws -> Response {
        let access = try access(context)
        let name = try teamName(context)
        do {
            return try await body(access, name)
        } catch {
            let (message, status) = try PortalError.refusal(error)
            // A team the caller may not see stays "not found", whatever the form.
            if status == .notFound, (try? await access.detail(name)) == nil { throw error }
            return try await teamPage(
                name,
                request: request,
                context: context,
                typed: Typed(section: section, error: message, fields: fields),
                status: status
            )
        }
    }

    @Sendable func describe(_ request: Request, context: Context) async throws -> Response {
        let description = context.portal.form["description"] ?? ""
        return try await change("description", fields: ["description": description], request: request, context: context) { access, name in
            try await access.requireManager(name)
            guard description.count <= 10_000 else {
                throw PortalError(.unprocessableContent, "That did not work", "The description is longer than 10,000 characters")
            }
            try await portal.services.organizations.describeTeam(name, description: description, actor: access.caller.actor)
            return portal.redirect(to: PortalFormat.teamURL(name), flash: .notice("The description is saved."), request: request, context: context)
        }
    }

    @Sendable func addMember(_ request: Request, context: Context) async throws -> Response {
        let form = context.portal.form
        let user = form["user"] ?? ""
        let roleName = form["role"] ?? ""
        return try await change("member", fields: ["user": user, "role": roleName], request: request, context: context) { access, name in
            try await access.requireManager(name)
            guard !user.isEmpty else { throw PortalError(.unprocessableContent, "That did not work", "Enter the user name of the person to add") }
            guard let role = TeamRole(rawValue: roleName) else { throw PortalError(.unprocessableContent, "That did not work", "Choose a role") }
            if try await access.detail(name).members.contains(where: { $0.user == user }) {
                throw PortalError(.conflict, "That did not work", "\(user) is already a member: change their role in the list")
            }
            try await access.setMember(team: name, user: user, role: role)
            return portal.redirect(
                to: PortalFormat.teamURL(name),
                flash: .notice("\(user) is now a member of \(name) (\(role.rawValue))."),
                request: request,
                context: context
            )
        }
    }

    @Sendable func changeRole(_ request: Request, context: Context) async throws -> Response {
        let user = context.parameters.get("user") ?? ""
        let roleName = context.portal.form["role"] ?? ""
        return try await change("members", request: request, context: context) { access, name in
            guard let role = TeamRole(rawValue: roleName) else { throw PortalError(.unprocessableContent, "That did not work", "Choose a role") }
            try await access.setMember(team: name, user: user, role: role)
            return portal.redirect(
                to: PortalFormat.teamURL(name),
                flash: .notice("\(user) is now \(role == .owner ? "an" : "a") \(role.rawValue) of \(name)."),
                request: request,
                context: context
            )
        }
    }

    @Sendable func removeMember(_ request: Request, context: Context) async throws -> Response {
        let user = context.parameters.get("user") ?? ""
        return try await change("members", request: request, context: context) { access, name in
            try await access.removeMember(team: name, user: user)
            if user == access.caller.subject.name, (try? await access.detail(name)) == nil {
                return portal.redirect(to: "/teams", flash: .notice("You left team \(name)."), request: request, context: context)
            }
            return portal.redirect(
                to: PortalFormat.teamURL(name),
                flash: .notice("\(user) is removed from \(name)."),
                request: request,
                context: context
            )
        }
    }

    @Sendable func createNamespace(_ request: Request, context: Context) async throws -> Response {
        let form = context.portal.form
        let namespace = form["namespace"] ?? ""
        let visibilityName = form["visibility"] ?? Visibility.private.rawValue
        let description = form["namespace_description"] ?? ""
        let fields = ["namespace": namespace, "visibility": visibilityName, "namespace_description": description]
        return try await change("namespace", fields: fields, request: request, context: context) { access, name in
            // Only the team's owners and administrators give it namespaces (as POST /api/v1/namespaces decides).
            try await access.requireManager(name)
            guard !namespace.isEmpty else { throw PortalError(.unprocessableContent, "That did not work", "Choose a name for the namespace") }
            guard let visibility = Visibility(rawValue: visibilityName) else {
                throw PortalError(.unprocessableContent, "That did not work", "Choose a visibility")
            }
            let created = try await portal.services.organizations.createNamespace(
                name: namespace,
                team: name,
                visibility: visibility,
                description: description,
                actor: access.caller.actor
            )
            return portal.redirect(
                to: PortalFormat.teamURL(name),
                flash: .notice("Namespace \(created.name) is created for \(name)."),
                request: request,
                context: context
            )
        }
    }

    // MARK: Deleting a team

    @Sendable func confirmDelete(_ request: Request, context: Context) async throws -> Response {
        try await deletePage(try teamName(context), request: request, context: context, error: nil, status: .ok)
    }

    private func deletePage(_ name: String, request: Request, context: Context, error: String?, status: HTTPResponse.Status) async throws -> Response
    {
        let access = try access(context)
        let detail = try await access.requireManager(name)
        // Teams that may receive the namespaces: any other team for an administrator, else the others the caller manages.
        let targets = try await access.list(after: nil, limit: 10_000).filter { team in
            team.name != name
                && (access.caller.isAdmin
                    || portal.services.rules.mayManageTeam(access.caller.subject.kind, role: team.role.flatMap(TeamRole.init(rawValue:))))
        }
        var values: [String: Any] = [
            "team": ["name": detail.team.name, "url": PortalFormat.teamURL(detail.team.name), "memberCount": Self.members(detail.team.memberCount)]
                as [String: Any],
            "namespaces": detail.namespaces.map { ["name": $0, "url": PortalFormat.namespaceURL($0)] },
            "hasNamespaces": !detail.namespaces.isEmpty,
            "targets": targets.map { ["name": $0.name] },
            "hasTargets": !targets.isEmpty,
        ]
        if let error { values["error"] = error }
        return await portal.page(
            "team-delete",
            title: "Delete team \(detail.team.name)",
            visit: context.portal,
            request: request,
            context: context,
            nav: "teams",
            status: status,
            values: values
        )
    }

    @Sendable func delete(_ request: Request, context: Context) async throws -> Response {
        let access = try access(context)
        let name = try teamName(context)
        let form = context.portal.form
        let disposition: Disposition =
            switch form["namespaces"] ?? "refuse" {
            case "delete": .delete
            case "transfer": .transfer(form["target"] ?? "")
            default: .refuse
            }
        do {
            if case .transfer(let target) = disposition, target.isEmpty {
                throw PortalError(.unprocessableContent, "That did not work", "Choose the team that receives the namespaces")
            }
            if form["confirm"] != name {
                throw PortalError(.unprocessableContent, "That did not work", "Type the team's name, \(name), to confirm")
            }
            try await access.delete(name, namespaces: disposition)
            return portal.redirect(to: "/teams", flash: .notice("Team \(name) is deleted."), request: request, context: context)
        } catch {
            let (message, status) = try PortalError.refusal(error)
            return try await deletePage(name, request: request, context: context, error: message, status: status)
        }
    }

    /// `1 member`, `3 members`.
    static func members(_ count: Int) -> String { count == 1 ? "1 member" : "\(count) members" }
}
