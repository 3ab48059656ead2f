import Foundation
import Hummingbird
import WharfCore
import WharfDatabase
import WharfSync

/// `/r/NAME` (a repository: its tags grouped by digest, with platforms and referrers, stars and comments),
/// `/r/NAME/-/tags/TAG` and `/r/NAME/-/manifests/DIGEST` (a manifest's layers, config, platforms and referrers),
/// and their forms (star, comment, delete). The name may contain `/`, so one `**` route per method reads the whole
/// path (``RepositoryPath``). Visibility, deletes and comments follow the API's rules through the same calls
/// (``RepositoriesAPI/visible(_:for:)``, ``RepositoriesAPI/deleteTag(_:in:caller:userAgent:)``, the domain's
/// ``CatalogReader``, ``StarService`` and ``CommentService``).
struct RepositoryPages<Context: WharfContext>: Sendable {
    let portal: Portal
    /// Tag groups on one page: a repository with thousands of tags reads one page's worth at a time.
    static var pageSize: Int { 25 }
    static var commentPageSize: Int { 50 }

    func addRoutes(to router: some RouterMethods<Context>) {
        router.get("/r/**", use: show)
        router.post("/r/**", use: act)
    }

    var repositories: RepositoriesAPI { RepositoriesAPI(api: portal.services) }

    // MARK: Pages

    @Sendable func show(_ request: Request, context: Context) async throws -> Response {
        guard let path = RepositoryPath(context.parameters.getCatchAll()) else { throw PortalError.notFound() }
        switch path.rest.count {
        case 0: return try await repositoryPage(path.repository, request: request, context: context)
        case 2 where path.rest[0] == "tags":
            return try await manifestPage(path.repository, reference: path.rest[1], isTag: true, request: request, context: context)
        case 2 where path.rest[0] == "manifests":
            return try await manifestPage(path.repository, reference: path.rest[1], isTag: false, request: request, context: context)
        default: throw PortalError.notFound()
        }
    }

    /// The repository page; `comment` carries a refused comment back to its form.
    func repositoryPage(
        _ name: String,
        request: Request,
        context: Context,
        comment: (body: String, error: String)? = nil
    ) async throws -> Response {
        let visit = context.portal
        let services = portal.services
        let (repository, permissions) = try await repositories.visible(name, for: visit.caller)
        let after = request.uri.queryParameters["after"].map(String.init)
        let groups = try await services.reader.tagGroups(of: repository.name, for: visit.caller.subject, after: after, limit: Self.pageSize)
        let commentsAfter = request.uri.queryParameters["comments"].map(String.init)
        let comments = try await services.comments.comments(
            of: repository.name,
            for: visit.caller.subject,
            after: commentsAfter,
            limit: Self.commentPageSize
        )
        // The referrers of the page's manifests and of their platforms' images, in one query.
        let subjects = groups.items.flatMap { [$0.digest] + $0.platforms.map(\.digest) }
        let user = visit.user
        let (referrers, starred, ownsNamespace) = try await services.pool.read { transaction in
            let referrers = try transaction.referrers.list(repositoryID: repository.id, subjects: subjects)
            let starred = try user.map { try transaction.stars.isStarred(userID: $0.id, repositoryID: repository.id) } ?? false
            let owns = try user.map { try CommentService.ownsNamespace(repository.namespace, userID: $0.id, in: transaction) } ?? false
            return (Dictionary(grouping: referrers, by: \.subject), starred, owns)
        }
        let host = portal.host(request: request, context: context)
        let now = Date()
        let url = PortalFormat.repositoryURL(repository.name)
        var values: [String: Any] = [:]
        // Only the first page follows pushes live: a later page's contents move as tags arrive.
        if after == nil { values["liveURL"] = "/live?repository=" + Portal.encodeQuery(repository.name) }
        values.merge([
            "name": repository.name,
            "url": url,
            "tagCount": repository.tagCount,
            "size": PortalFormat.bytes(repository.size),
            "starCount": repository.starCount,
            "starred": starred,
            "canDelete": permissions.delete,
            "canPush": permissions.push,
            "starURL": url + "/-/star",
            "commentsURL": url + "/-/comments",
            "groups": groups.items.enumerated().map { index, group in
                Self.group(group, index: index, repository: repository.name, host: host, referrers: referrers, now: now)
            },
            "comments": comments.items.map { item in
                var values: [String: Any] = [
                    "id": item.id, "author": item.authorName ?? "a deleted user", "html": portal.markdown.html(item.body),
                    "time": PortalFormat.relative(item.createdAt, now: now), "timeISO": PortalFormat.iso(item.createdAt),
                ]
                if let user, visit.isAdmin || ownsNamespace || item.authorID == user.id {
                    values["deleteURL"] = url + "/-/comments/\(item.id)/delete"
                }
                return values
            },
            "signedIn": user != nil,
            "signInURL": "/signin?next=" + Portal.encodeQuery(url),
        ]) { _, new in new }
        if !repository.namespace.isEmpty {
            values["namespace"] = ["name": repository.namespace, "url": PortalFormat.namespaceURL(repository.namespace)]
        }
        if !repository.description.isEmpty { values["description"] = portal.markdown.html(repository.description) }
        if let pushedAt = repository.pushedAt { values["repoPushed"] = Self.time(pushedAt, now: now) }
        if let pulledAt = repository.pulledAt { values["repoPulled"] = Self.time(pulledAt, now: now) }
        if let next = groups.next { values["nextURL"] = url + "?after=" + Portal.encodeQuery(next) }
        if after != nil { values["firstURL"] = url }
        values["pager"] = groups.next != nil || after != nil
        if let next = comments.next { values["commentsNextURL"] = url + "?comments=" + Portal.encodeQuery(next) + "#comments" }
        if commentsAfter != nil { values["commentsFirstURL"] = url + "#comments" }
        if let comment {
            values["commentBody"] = comment.body
            values["commentError"] = comment.error
        }
        return await portal.page(
            "repository",
            title: repository.name,
            visit: visit,
            request: request,
            context: context,
            status: comment == nil ? .ok : .unprocessableContent,
            values: values
        )
    }

    /// One group of tags (one digest) as the repository page lists it.
    static func group(
        _ group: TagGroup,
        index: Int,
        repository: String,
        host: String,
        referrers: [String: [Referrer]],
        now: Date
    ) -> [String: Any] {
        var values: [String: Any] = [
            "id": "group-\(index)",
            "digest": group.digest,
            "shortDigest": PortalFormat.shortDigest(group.digest),
            "url": PortalFormat.manifestURL(repository: repository, digest: group.digest),
            "kind": kind(mediaType: group.mediaType, artifactType: group.artifactType),
            "size": PortalFormat.bytes(group.size),
            "tags": group.tags.map { ["name": $0, "url": PortalFormat.tagURL(repository: repository, tag: $0)] },
            "platforms": group.platforms.map { platform in
                [
                    "name": platformName(os: platform.os, architecture: platform.architecture, variant: platform.variant),
                    "digest": platform.digest, "shortDigest": PortalFormat.shortDigest(platform.digest),
                    "url": PortalFormat.manifestURL(repository: repository, digest: platform.digest), "size": PortalFormat.bytes(platform.size),
                ]
            },
            "pushed": time(group.pushedAt, now: now),
            "pullTag": "docker pull \(host)/\(repository):\(group.tags.first ?? "latest")",
            "pullDigest": "docker pull \(host)/\(repository)@\(group.digest)",
        ]
        if let name = group.pushedByName { values["pushedBy"] = name }
        if let pulledAt = group.pulledAt { values["pulled"] = time(pulledAt, now: now) }
        let platformNames = Dictionary(
            group.platforms.map { ($0.digest, platformName(os: $0.os, architecture: $0.architecture, variant: $0.variant)) }
        ) { first, _ in first }
        let described = (referrers[group.digest] ?? []) + group.platforms.flatMap { referrers[$0.digest] ?? [] }
        values["referrers"] = described.map { referrer(repository: repository, $0, platform: platformNames[$0.subject]) }
        return values
    }

    /// A referrer (signature, SBOM, attestation) as the pages list it, under what it describes.
    static func referrer(repository: String, _ row: Referrer, platform: String?) -> [String: Any] {
        Self.referrer(
            repository: repository,
            digest: row.digest,
            mediaType: row.mediaType,
            artifactType: row.artifactType,
            size: row.size,
            platform: platform
        )
    }

    static func referrer(
        repository: String,
        digest: String,
        mediaType: String,
        artifactType: String?,
        size: Int64,
        platform: String?
    )
        -> [String: Any]
    {
        let kind = ReferrerKind(artifactType: artifactType, mediaType: mediaType)
        var values: [String: Any] = [
            "kind": kind.rawValue, "label": kind.label, "type": artifactType ?? mediaType, "digest": digest,
            "shortDigest": PortalFormat.shortDigest(digest), "url": PortalFormat.manifestURL(repository: repository, digest: digest),
            "size": PortalFormat.bytes(size),
        ]
        if let platform { values["platform"] = platform }
        return values
    }

    /// The manifest page, of a tag (`isTag`) or of a digest.
    func manifestPage(_ name: String, reference: String, isTag: Bool, request: Request, context: Context) async throws -> Response {
        let visit = context.portal
        let (repository, permissions) = try await repositories.visible(name, for: visit.caller)
        if !isTag, (try? OCIDigest(parsing: reference)) == nil { throw PortalError.notFound("\(reference) is not a digest.") }
        if isTag, (try? Tag(reference)) == nil { throw PortalError.notFound("\(reference) is not a tag name.") }
        let details = try await portal.services.reader.details(of: repository.name, reference: reference, for: visit.caller.subject)
        let host = portal.host(request: request, context: context)
        let now = Date()
        let repositoryURL = PortalFormat.repositoryURL(repository.name)
        let tagNames = details.tags.map(\.name)
        let platformNames = Dictionary(
            details.platforms.map { ($0.digest, Self.platformName(os: $0.os, architecture: $0.architecture, variant: $0.variant)) }
        ) { first, _ in first }
        var values: [String: Any] = [
            "repository": ["name": repository.name, "url": repositoryURL] as [String: Any],
            "isTag": isTag,
            "reference": reference,
            "digest": details.digest,
            "shortDigest": PortalFormat.shortDigest(details.digest),
            "digestURL": PortalFormat.manifestURL(repository: repository.name, digest: details.digest),
            "mediaType": details.mediaType,
            "kind": Self.kind(mediaType: details.mediaType, artifactType: details.artifactType),
            "size": PortalFormat.bytes(details.size),
            "tags": details.tags.map { tag in
                var values: [String: Any] = [
                    "name": tag.name, "url": PortalFormat.tagURL(repository: repository.name, tag: tag.name),
                    "pushed": Self.time(tag.pushedAt, now: now),
                ]
                if let name = tag.pushedByName { values["pushedBy"] = name }
                if let pulledAt = tag.pulledAt { values["pulled"] = Self.time(pulledAt, now: now) }
                return values
            },
            "platforms": details.platforms.map { platform in
                [
                    "name": Self.platformName(os: platform.os, architecture: platform.architecture, variant: platform.variant),
                    "digest": platform.digest, "shortDigest": PortalFormat.shortDigest(platform.digest),
                    "url": PortalFormat.manifestURL(repository: repository.name, digest: platform.digest),
                    "size": PortalFormat.bytes(platform.totalSize ?? platform.size), "mediaType": platform.mediaType ?? "",
                ]
            },
            "layers": details.layers.enumerated().map { index, layer in
                [
                    "number": index + 1, "digest": layer.digest, "shortDigest": PortalFormat.shortDigest(layer.digest),
                    "mediaType": layer.mediaType ?? "", "size": PortalFormat.bytes(layer.size),
                ]
            },
            "referrers": details.referrers.map { Self.referrer(repository: repository.name, $0, platform: platformNames[$0.subject]) },
            "notes": details.notes,
            "pullDigest": "docker pull \(host)/\(repository.name)@\(details.digest)",
            "canDelete": permissions.delete,
        ]
        if !tagNames.isEmpty { values["tagList"] = tagNames.joined(separator: ", ") }
        if let artifactType = details.artifactType { values["artifactType"] = artifactType }
        if let totalSize = details.totalSize { values["totalSize"] = PortalFormat.bytes(totalSize) }
        if !details.layers.isEmpty {
            values["layersTotal"] = PortalFormat.bytes(details.layers.reduce(0) { $0 + $1.size })
        }
        if let config = details.configDescriptor {
            values["configDescriptor"] = ["digest": config.digest, "mediaType": config.mediaType ?? "", "size": PortalFormat.bytes(config.size)]
        }
        if let config = details.config { values["config"] = Self.config(config, now: now) }
        if isTag {
            values["tag"] = reference
            values["pullTag"] = "docker pull \(host)/\(repository.name):\(reference)"
            values["deleteTagURL"] = PortalFormat.tagURL(repository: repository.name, tag: reference) + "/delete"
            let others = tagNames.filter { $0 != reference }
            if !others.isEmpty { values["otherTags"] = others.joined(separator: ", ") }
        }
        values["deleteManifestURL"] = PortalFormat.manifestURL(repository: repository.name, digest: details.digest) + "/delete"
        if let namespace = repository.namespace.isEmpty ? nil : repository.namespace {
            values["namespace"] = ["name": namespace, "url": PortalFormat.namespaceURL(namespace)]
        }
        let title = isTag ? "\(repository.name):\(reference)" : "\(repository.name)@\(PortalFormat.shortDigest(details.digest))"
        values["title"] = title
        return await portal.page("manifest", title: title, visit: visit, request: request, context: context, values: values)
    }

    /// An image config's facts: environment variables by name only (their values may be secrets).
    static func config(_ config: ImageConfigDetails, now: Date) -> [String: Any] {
        var values: [String: Any] = [
            "envNames": config.envNames,
            "exposedPorts": config.exposedPorts,
            "labels": config.labels.sorted { $0.key < $1.key }.map { ["name": $0.key, "value": $0.value] },
            "history": config.history.map { entry in
                var values: [String: Any] = ["emptyLayer": entry.emptyLayer, "createdBy": entry.createdBy ?? ""]
                if let created = entry.created { values["when"] = time(created, now: now) }
                if let comment = entry.comment, !comment.isEmpty { values["comment"] = comment }
                return values
            },
        ]
        if let os = config.os, let architecture = config.architecture {
            values["platform"] = platformName(os: os, architecture: architecture, variant: config.variant)
        }
        if let created = config.created { values["created"] = time(created, now: now) }
        if let author = config.author, !author.isEmpty { values["author"] = author }
        if let entrypoint = config.entrypoint, !entrypoint.isEmpty { values["entrypoint"] = command(entrypoint) }
        if let cmd = config.cmd, !cmd.isEmpty { values["cmd"] = command(cmd) }
        if let workingDir = config.workingDir, !workingDir.isEmpty { values["workingDir"] = workingDir }
        if let user = config.user, !user.isEmpty { values["user"] = user }
        return values
    }

    // MARK: Forms

    @Sendable func act(_ request: Request, context: Context) async throws -> Response {
        guard let path = RepositoryPath(context.parameters.getCatchAll()) else { throw PortalError.notFound() }
        let visit = context.portal
        guard visit.user != nil else { throw PortalError.signInRequired }
        let url = PortalFormat.repositoryURL(path.repository)
        let userAgent = request.headers[.userAgent] ?? ""
        switch path.rest {
        case ["star"]:
            let star = visit.form["star"] != "0"
            if star {
                try await portal.services.stars.star(path.repository, by: visit.caller.subject, address: visit.address)
            } else {
                try await portal.services.stars.unstar(path.repository, by: visit.caller.subject, address: visit.address)
            }
            return portal.redirect(
                to: url,
                flash: .notice(star ? "Starred \(path.repository)." : "Unstarred \(path.repository)."),
                request: request,
                context: context
            )
        case ["comments"]:
            let body = visit.form.raw("body") ?? ""
            do {
                _ = try await portal.services.comments.add(body, to: path.repository, by: visit.caller.subject, address: visit.address)
            } catch let error as CatalogQueryError where error.code == .invalid {
                return try await repositoryPage(path.repository, request: request, context: context, comment: (body, error.message))
            }
            return portal.redirect(to: url + "#comments", flash: .notice("Comment added."), request: request, context: context)
        case let rest where rest.count == 3 && rest[0] == "comments" && rest[2] == "delete":
            guard let id = Int64(rest[1]) else { throw PortalError.notFound() }
            try await portal.services.comments.delete(id, of: path.repository, by: visit.caller.subject, address: visit.address)
            return portal.redirect(to: url + "#comments", flash: .notice("Comment deleted."), request: request, context: context)
        case let rest where rest.count == 3 && rest[0] == "tags" && rest[2] == "delete":
            try await repositories.deleteTag(rest[1], in: path.repository, caller: visit.caller, userAgent: userAgent)
            return portal.redirect(to: url, flash: .notice("Deleted the tag \(path.repository):\(rest[1])."), request: request, context: context)
        case let rest where rest.count == 3 && rest[0] == "manifests" && rest[2] == "delete":
            try await repositories.deleteManifest(rest[1], in: path.repository, caller: visit.caller, userAgent: userAgent)
            return portal.redirect(
                to: url,
                flash: .notice("Deleted the manifest \(PortalFormat.shortDigest(rest[1])) of \(path.repository) and every tag pointing at it."),
                request: request,
                context: context
            )
        default:
            throw PortalError.notFound()
        }
    }

    // MARK: Formatting

    /// `image`, `index` or `artifact`: the badge of a manifest.
    static func kind(mediaType: String, artifactType: String?) -> String {
        if mediaType.contains("index") || mediaType.contains("manifest.list") { return "index" }
        if artifactType != nil { return "artifact" }
        return "image"
    }

    static func platformName(os: String, architecture: String, variant: String?) -> String {
        [os, architecture, variant].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: "/")
    }

    static func time(_ date: Date, now: Date) -> [String: String] {
        ["text": PortalFormat.relative(date, now: now), "iso": PortalFormat.iso(date)]
    }

    /// A command in exec form, as a Dockerfile writes it: `["nginx", "-g", "daemon off;"]`.
    static func command(_ words: [String]) -> String {
        let quoted = words.map { word in
            (try? JSONSerialization.data(withJSONObject: word, options: [.fragmentsAllowed, .withoutEscapingSlashes]))
                .map { String(decoding: $0, as: UTF8.self) } ?? "\"\(word)\""
        }
        return "[" + quoted.joined(separator: ", ") + "]"
    }
}
