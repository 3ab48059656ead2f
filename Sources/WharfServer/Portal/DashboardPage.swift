import Foundation
import Hummingbird
import WharfCore
import WharfDatabase

/// `/`: a signed-in person's namespaces, teams, starred repositories and the recent activity they may see; a
/// visitor goes to Explore (when anonymous browsing is on) or to the sign-in page.
struct DashboardPage<Context: WharfContext>: Sendable {
    let portal: Portal

    func addRoutes(to router: some RouterMethods<Context>) {
        router.get("/", use: dashboard)
    }

    @Sendable func dashboard(_ request: Request, context: Context) async throws -> Response {
        let visit = context.portal
        guard let user = visit.user else {
            return portal.redirect(to: portal.policy.anonymousBrowsing ? "/explore" : "/signin", request: request, context: context)
        }
        let services = portal.services
        let (memberships, namespaces, activities, counts) = try await services.pool.read { transaction in
            let memberships = try transaction.teams.memberships(userID: user.id)
            var namespaces: [Namespace] = []
            if let personal = try transaction.namespaces.find(name: user.name), personal.ownerID == user.id { namespaces.append(personal) }
            for (team, _) in memberships { namespaces += try transaction.namespaces.list(teamID: team.id) }
            // What I did, and what happened in my namespaces: newest first.
            var activities = try transaction.activities.recent(actorID: user.id, limit: 20)
            for namespace in namespaces.prefix(20) { activities += try transaction.activities.recent(namespaceID: namespace.id, limit: 20) }
            var seen = Set<Int64>()
            activities = activities.filter { seen.insert($0.id).inserted }.sorted { $0.id > $1.id }
            return (memberships, namespaces, Array(activities.prefix(20)), try transaction.repositories.counts(namespaces: namespaces.map(\.name)))
        }
        let starred = try await services.reader.starredRepositories(for: visit.caller.subject, limit: 20).items
        let now = Date()
        return await portal.page(
            "dashboard",
            title: "Dashboard",
            visit: visit,
            request: request,
            context: context,
            nav: "dashboard",
            values: [
                "namespaces": namespaces.map { namespace in
                    [
                        "name": namespace.name, "visibility": namespace.visibility.rawValue, "personal": namespace.kind == .personal,
                        "repositories": counts[namespace.name] ?? 0,
                        "url": PortalFormat.namespaceURL(namespace.name),
                    ] as [String: Any]
                },
                "teams": memberships.filter { !$0.team.isHidden }.map { membership in
                    ["name": membership.team.name, "role": membership.role.rawValue, "url": PortalFormat.teamURL(membership.team.name)]
                },
                "starred": starred.map { repository in
                    [
                        "name": repository.name, "url": PortalFormat.repositoryURL(repository.name), "tags": repository.tagCount,
                        "size": PortalFormat.bytes(repository.size),
                    ] as [String: Any]
                },
                "activities": activities.map { ActivityRow($0, now: now).values },
            ]
        )
    }
}

/// One line of an activity list as the templates show it.
struct ActivityRow {
    let activity: Activity
    let now: Date

    init(_ activity: Activity, now: Date) {
        self.activity = activity
        self.now = now
    }

    var values: [String: Any] {
        [
            "time": PortalFormat.relative(activity.createdAt, now: now), "timeISO": PortalFormat.iso(activity.createdAt),
            "actor": activity.actorName, "action": activity.action, "target": activity.targetName, "url": url,
        ]
    }

    /// Where the target lives in the portal, when it has a page.
    var url: String {
        switch activity.targetKind {
        case "repository", "tag", "manifest":
            let repository = activity.targetName.split(separator: ":", maxSplits: 1).first.map(String.init) ?? activity.targetName
            return repository.contains("@") ? "" : PortalFormat.repositoryURL(repository)
        case "namespace": return PortalFormat.namespaceURL(activity.targetName)
        case "team": return PortalFormat.teamURL(activity.targetName)
        default: return ""
        }
    }
}
