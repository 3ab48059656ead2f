import Foundation
import Hummingbird
import WharfAuth
import WharfDatabase
import WharfSync

/// `/explore` and `/search`: what a person may pull, browsed (the newest pushes, the namespaces with their
/// repository counts, every repository in pages) or searched. Both read through ``CatalogReader``, so they show
/// exactly what `GET /api/v1/repositories` and `GET /api/v1/search` give the same caller. Visitors who are not
/// signed in see public namespaces only when `portal.anonymous_browsing` is on; otherwise they go to sign in.
struct ExplorePages<Context: WharfContext>: Sendable {
    let portal: Portal

    /// Repositories per page of the list; namespaces per page of theirs; the newest pushes shown.
    static var pageSize: Int { 50 }
    static var namespacePageSize: Int { 30 }
    static var recentCount: Int { 8 }
    /// Results per kind on the search page (the search-as-you-type list shows fewer).
    static var searchLimit: Int { 50 }

    func addRoutes(to router: some RouterMethods<Context>) {
        router.get("/explore", use: explore)
        router.get("/search", use: search)
    }

    /// The sign-in page for a visitor when anonymous browsing is off, nil when the page may be shown.
    static func signInFirst(_ portal: Portal, request: Request, context: Context) -> Response? {
        guard context.portal.user == nil, !portal.policy.anonymousBrowsing else { return nil }
        return portal.redirect(to: "/signin?next=" + Portal.encodeQuery(request.uri.description), request: request, context: context)
    }

    @Sendable func explore(_ request: Request, context: Context) async throws -> Response {
        if let away = Self.signInFirst(portal, request: request, context: context) { return away }
        let visit = context.portal
        let subject = visit.caller.subject
        let reader = portal.services.reader
        let query = request.uri.queryParameters
        let after = query.get("after").flatMap { $0.isEmpty ? nil : $0 }
        let namespacesAfter = query.get("namespaces_after").flatMap { $0.isEmpty ? nil : $0 }
        let repositories = try await reader.repositories(for: subject, after: after, limit: Self.pageSize)
        let namespaces = try await reader.namespaces(for: subject, after: namespacesAfter, limit: Self.namespacePageSize)
        let recent = try await reader.recentlyPushed(for: subject, limit: Self.recentCount)
        let counts = try await reader.statistics(for: subject).counts
        let now = Date()
        var values: [String: Any] = [
            "repositories": repositories.items.map { Self.repositoryRow($0, now: now) },
            "namespaces": namespaces.items.map { summary in
                [
                    "name": summary.namespace.name, "url": PortalFormat.namespaceURL(summary.namespace.name),
                    "visibility": summary.namespace.visibility.rawValue,
                    "repositories": Self.count(summary.repositoryCount, "repository", "repositories"),
                ] as [String: Any]
            },
            "recent": recent.map { Self.repositoryRow($0, now: now) },
            "summary":
                "\(Self.count(counts.repositories, "repository", "repositories")) with \(Self.count(counts.tags, "tag", "tags")) in "
                + Self.count(counts.namespaces, "namespace", "namespaces"),
            "signedIn": visit.user != nil,
            "mayCreateNamespace": try await NamespacePages<Context>.mayCreateNamespace(portal, visit: visit),
        ]
        if let next = repositories.next {
            values["next"] =
                "/explore?after=" + Portal.encodeQuery(next) + (namespacesAfter.map { "&namespaces_after=" + Portal.encodeQuery($0) } ?? "")
        }
        if after != nil || namespacesAfter != nil { values["first"] = "/explore" }
        if let next = namespaces.next {
            values["nextNamespaces"] =
                "/explore?namespaces_after=" + Portal.encodeQuery(next) + (after.map { "&after=" + Portal.encodeQuery($0) } ?? "")
        }
        return await portal.page("explore", title: "Explore", visit: visit, request: request, context: context, nav: "explore", values: values)
    }

    @Sendable func search(_ request: Request, context: Context) async throws -> Response {
        if let away = Self.signInFirst(portal, request: request, context: context) { return away }
        let visit = context.portal
        let text = request.uri.queryParameters.get("q") ?? ""
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        // The domain call of GET /api/v1/search: the same caller sees the same results.
        let results = try await portal.services.reader.search(trimmed, for: visit.caller.subject, limit: Self.searchLimit)
        let now = Date()
        let namespaces = results.namespaces.map { namespace in
            [
                "name": namespace.name, "url": PortalFormat.namespaceURL(namespace.name), "visibility": namespace.visibility.rawValue,
                "personal": namespace.kind == .personal,
            ] as [String: Any]
        }
        let repositories = results.repositories.map { Self.repositoryRow($0, now: now) }
        let tags = results.tags.map { tag in
            [
                "repository": tag.repository, "tag": tag.tag, "url": PortalFormat.tagURL(repository: tag.repository, tag: tag.tag),
                "repositoryURL": PortalFormat.repositoryURL(tag.repository), "digest": tag.digest,
                "shortDigest": PortalFormat.shortDigest(tag.digest), "pushed": PortalFormat.relative(tag.pushedAt, now: now),
                "pushedISO": PortalFormat.iso(tag.pushedAt),
            ] as [String: Any]
        }
        var values: [String: Any] = [
            "q": text, "namespaces": namespaces, "repositories": repositories, "tags": tags,
            "total": Self.count(namespaces.count + repositories.count + tags.count, "result", "results"), "searched": !trimmed.isEmpty,
        ]
        if !namespaces.isEmpty || !repositories.isEmpty || !tags.isEmpty { values["found"] = true }
        if !trimmed.isEmpty,
            results.namespaces.count == Self.searchLimit || results.repositories.count == Self.searchLimit
                || results.tags.count == Self.searchLimit
        {
            values["limited"] = Self.searchLimit
        }
        let title = trimmed.isEmpty ? "Search" : "Search: \(trimmed)"
        return await portal.page("search", title: title, visit: visit, request: request, context: context, nav: "explore", values: values)
    }

    /// One repository as the lists show it: name, link, tags, size and last push.
    static func repositoryRow(_ repository: Repository, now: Date) -> [String: Any] {
        var row: [String: Any] = [
            "name": repository.name, "url": PortalFormat.repositoryURL(repository.name), "tags": repository.tagCount,
            "tagCount": count(repository.tagCount, "tag", "tags"),
            "size": PortalFormat.bytes(repository.size), "stars": repository.starCount,
        ]
        if let pushed = repository.pushedAt {
            row["pushed"] = PortalFormat.relative(pushed, now: now)
            row["pushedISO"] = PortalFormat.iso(pushed)
        }
        if !repository.description.isEmpty { row["description"] = repository.description }
        return row
    }

    /// `1 tag`, `2 tags`.
    static func count(_ number: Int, _ one: String, _ many: String) -> String { "\(number) \(number == 1 ? one : many)" }
}
