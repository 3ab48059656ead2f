import Foundation
import WharfAuth
import WharfCore
import WharfDatabase
import WharfSync

/// The catalogue's reads for the caller (``CatalogReader``: only what they may pull, one query a page): repositories
/// to explore, tags grouped by digest, a manifest's details, stars, comments, search and statistics.
struct CatalogAPI {
    let api: APIServices

    var handlers: [String: APIHandler] {
        [
            "listRepositories": repositories, "listStarredRepositories": starred, "listTagGroups": tagGroups, "getTag": tag,
            "getManifest": manifest, "starRepository": star, "unstarRepository": unstar, "listComments": comments,
            "addComment": addComment, "deleteComment": deleteComment, "search": search, "getStatistics": statistics,
        ]
    }

    var reader: CatalogReader { api.reader }

    func repositories(_ request: APIRequest) async throws -> APIResponse {
        let (size, after) = request.page
        let page = try await reader.repositories(for: request.caller.subject, after: after, limit: size)
        return try await respond(page, request: request)
    }

    func starred(_ request: APIRequest) async throws -> APIResponse {
        _ = try request.requireUser()
        let (size, after) = request.page
        let page = try await reader.starredRepositories(for: request.caller.subject, after: after, limit: size)
        return try await respond(page, request: request, allStarred: true)
    }

    /// A page of repositories with the caller's stars and rights on each (rights decided once per namespace).
    func respond(_ page: CatalogPage<Repository>, request: APIRequest, allStarred: Bool = false) async throws -> APIResponse {
        let subject = request.caller.subject
        let starredIDs: Set<Int64> =
            allStarred
            ? Set(page.items.map(\.id))
            : try await api.pool.read { transaction in Set(try subject.userID.map { try transaction.stars.repositoryIDs(userID: $0) } ?? []) }
        var rights: [String: RepositoryBody.Permissions] = [:]
        var bodies: [RepositoryBody] = []
        for repository in page.items {
            let namespace = repository.namespace
            if rights[namespace] == nil {
                let name = try RepositoryName(repository.name)
                let decision = try await api.tokens.authorizer.decide(AccessScope(.repository(name), actions: [.push, .delete]), for: subject)
                rights[namespace] = .init(pull: true, push: decision.granted.contains(.push), delete: decision.granted.contains(.delete))
            }
            bodies.append(RepositoriesAPI.body(repository, starred: starredIDs.contains(repository.id), permissions: rights[namespace]!))
        }
        return try .page(bodies, nextKey: page.next, request: request)
    }

    struct PlatformBody: Encodable {
        var os: String
        var architecture: String
        var variant: String?
        var digest: String
        var size: Int64

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(os, forKey: .os)
            try container.encode(architecture, forKey: .architecture)
            try container.encode(variant, forKey: .variant)
            try container.encode(digest, forKey: .digest)
            try container.encode(size, forKey: .size)
        }

        enum CodingKeys: String, CodingKey { case os, architecture, variant, digest, size }
    }

    struct TagGroupBody: Encodable {
        var digest: String
        var mediaType: String
        var artifactType: String?
        var size: Int64
        var created: Date?
        var platforms: [PlatformBody]
        var tags: [String]
        var pushedBy: String?
        var pushedAt: Date
        var pulledAt: Date?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(digest, forKey: .digest)
            try container.encode(mediaType, forKey: .mediaType)
            try container.encode(artifactType, forKey: .artifactType)
            try container.encode(size, forKey: .size)
            try container.encode(created, forKey: .created)
            try container.encode(platforms, forKey: .platforms)
            try container.encode(tags, forKey: .tags)
            try container.encode(pushedBy, forKey: .pushedBy)
            try container.encode(pushedAt, forKey: .pushedAt)
            try container.encode(pulledAt, forKey: .pulledAt)
        }

        enum CodingKeys: String, CodingKey { case digest, mediaType, artifactType, size, created, platforms, tags, pushedBy, pushedAt, pulledAt }
    }

    /// Tags grouped by the manifest they point at, newest push first. The cursor is the page's last group as
    /// `milliseconds,digest` (the document gives its shape, so any cursor it allows is a place in the list).
    func tagGroups(_ request: APIRequest) async throws -> APIResponse {
        let size = request.int("page_size") ?? 50
        let page = try await reader.tagGroups(
            of: request.path("repository"),
            for: request.caller.subject,
            after: request.string("cursor"),
            limit: size
        )
        let bodies = page.items.map { group in
            TagGroupBody(
                digest: group.digest,
                mediaType: group.mediaType,
                artifactType: group.artifactType,
                size: group.size,
                created: group.created,
                platforms: group.platforms.map {
                    PlatformBody(os: $0.os, architecture: $0.architecture, variant: $0.variant, digest: $0.digest, size: $0.size)
                },
                tags: group.tags,
                pushedBy: group.pushedByName,
                pushedAt: group.pushedAt,
                pulledAt: group.pulledAt
            )
        }
        return try .page(bodies, nextKey: page.next, request: request, rawCursor: true)
    }

    func tag(_ request: APIRequest) async throws -> APIResponse {
        try await details(request, reference: request.path("tag"))
    }

    func manifest(_ request: APIRequest) async throws -> APIResponse {
        try await details(request, reference: request.path("digest"))
    }

    func details(_ request: APIRequest, reference: String) async throws -> APIResponse {
        let details = try await reader.details(of: request.path("repository"), reference: reference, for: request.caller.subject)
        return try .json(ManifestDetailsBody(details))
    }

    func star(_ request: APIRequest) async throws -> APIResponse {
        _ = try request.requireUser()
        try await api.stars.star(request.path("repository"), by: request.caller.subject, address: request.caller.address)
        return .noContent
    }

    func unstar(_ request: APIRequest) async throws -> APIResponse {
        _ = try request.requireUser()
        try await api.stars.unstar(request.path("repository"), by: request.caller.subject, address: request.caller.address)
        return .noContent
    }

    struct CommentBody: Encodable {
        var id: Int64
        var author: String?
        var body: String
        var createdAt: Date
        var updatedAt: Date

        init(_ comment: RepositoryComment) {
            id = comment.id
            author = comment.authorName
            body = comment.body
            createdAt = comment.createdAt
            updatedAt = comment.updatedAt
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(author, forKey: .author)
            try container.encode(body, forKey: .body)
            try container.encode(createdAt, forKey: .createdAt)
            try container.encode(updatedAt, forKey: .updatedAt)
        }

        enum CodingKeys: String, CodingKey { case id, author, body, createdAt, updatedAt }
    }

    func comments(_ request: APIRequest) async throws -> APIResponse {
        let size = request.int("page_size") ?? 50
        let page = try await api.comments.comments(
            of: request.path("repository"),
            for: request.caller.subject,
            after: request.string("cursor"),
            limit: size
        )
        return try .page(page.items.map(CommentBody.init), nextKey: page.next, request: request, rawCursor: true)
    }

    struct CommentCreate: Decodable { var body: String }

    func addComment(_ request: APIRequest) async throws -> APIResponse {
        _ = try request.requireUser()
        let body = try request.decode(CommentCreate.self)
        let repository = request.path("repository")
        let comment = try await api.comments.add(body.body, to: repository, by: request.caller.subject, address: request.caller.address)
        return try APIResponse.json(CommentBody(comment), status: .created)
    }

    func deleteComment(_ request: APIRequest) async throws -> APIResponse {
        _ = try request.requireUser()
        let id = Int64(request.path("id")) ?? 0
        try await api.comments.delete(id, of: request.path("repository"), by: request.caller.subject, address: request.caller.address)
        return .noContent
    }

    struct SearchBody: Encodable {
        struct NamespaceHit: Encodable {
            var name: String
            var kind: String
            var visibility: String
        }
        struct RepositoryHit: Encodable {
            var name: String
            var tagCount: Int
            var size: Int64
        }
        struct TagHit: Encodable {
            var repository: String
            var tag: String
            var digest: String
            var pushedAt: Date
        }
        var namespaces: [NamespaceHit]
        var repositories: [RepositoryHit]
        var tags: [TagHit]
    }

    func search(_ request: APIRequest) async throws -> APIResponse {
        let limit = request.int("limit") ?? CatalogReader.searchLimit
        let results = try await reader.search(request.string("q") ?? "", for: request.caller.subject, limit: limit)
        return try .json(
            SearchBody(
                namespaces: results.namespaces.map { .init(name: $0.name, kind: $0.kind.rawValue, visibility: $0.visibility.rawValue) },
                repositories: results.repositories.map { .init(name: $0.name, tagCount: $0.tagCount, size: $0.size) },
                tags: results.tags.map { .init(repository: $0.repository, tag: $0.tag, digest: $0.digest, pushedAt: $0.pushedAt) }
            )
        )
    }

    struct StatisticsBody: Encodable {
        struct Counts: Encodable {
            var users: Int?
            var teams: Int?
            var namespaces: Int
            var repositories: Int
            var tags: Int
            var webhooks: Int?
            var activities: Int?
        }
        struct Storage: Encodable {
            var bytes: Int64
            var blobs: Int
            var measuredAt: Date
        }
        var counts: Counts
        var storage: Storage?
        var uptimeSeconds: Int64

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(counts, forKey: .counts)
            try container.encode(storage, forKey: .storage)
            try container.encode(uptimeSeconds, forKey: .uptimeSeconds)
        }

        enum CodingKeys: String, CodingKey { case counts, storage, uptimeSeconds }
    }

    func statistics(_ request: APIRequest) async throws -> APIResponse {
        let statistics = try await reader.statistics(for: request.caller.subject)
        let counts = statistics.counts
        return try .json(
            StatisticsBody(
                counts: .init(
                    users: counts.users,
                    teams: counts.teams,
                    namespaces: counts.namespaces,
                    repositories: counts.repositories,
                    tags: counts.tags,
                    webhooks: counts.webhooks,
                    activities: counts.activities
                ),
                storage: statistics.storage.map { .init(bytes: $0.bytes, blobs: $0.blobs, measuredAt: $0.measuredAt) },
                uptimeSeconds: Int64(Date().timeIntervalSince(api.startedAt))
            )
        )
    }
}

/// A manifest's details as the API shows them: platforms of an index, layers and config of an image (environment
/// variable names only), referrers, and notes on what could not be read.
struct ManifestDetailsBody: Encodable {
    struct Descriptor: Encodable {
        var digest: String
        var mediaType: String?
        var size: Int64
    }
    struct Platform: Encodable {
        var os: String
        var architecture: String
        var variant: String?
        var digest: String
        var mediaType: String?
        var size: Int64
    }
    struct Config: Encodable {
        struct History: Encodable {
            var created: Date?
            var createdBy: String?
            var comment: String?
            var emptyLayer: Bool
        }
        var os: String?
        var architecture: String?
        var variant: String?
        var created: Date?
        var author: String?
        var entrypoint: [String]?
        var cmd: [String]?
        var workingDir: String?
        var user: String?
        var envNames: [String]
        var exposedPorts: [String]
        var labels: [String: String]
        var history: [History]
    }
    struct ReferrerBody: Encodable {
        var digest: String
        var mediaType: String
        var artifactType: String?
        var size: Int64
    }

    var repository: String
    var digest: String
    var mediaType: String
    var size: Int64
    var totalSize: Int64?
    var artifactType: String?
    var tags: [String]
    var platforms: [Platform]
    var config: Config?
    var configDescriptor: Descriptor?
    var layers: [Descriptor]
    var referrers: [ReferrerBody]
    var notes: [String]

    init(_ details: ManifestDetails) {
        repository = details.repository
        digest = details.digest
        mediaType = details.mediaType
        size = details.size
        totalSize = details.totalSize
        artifactType = details.artifactType
        tags = details.tags.map(\.name)
        platforms = details.platforms.map {
            Platform(os: $0.os, architecture: $0.architecture, variant: $0.variant, digest: $0.digest, mediaType: $0.mediaType, size: $0.size)
        }
        config = details.config.map { config in
            Config(
                os: config.os,
                architecture: config.architecture,
                variant: config.variant,
                created: config.created,
                author: config.author,
                entrypoint: config.entrypoint,
                cmd: config.cmd,
                workingDir: config.workingDir,
                user: config.user,
                envNames: config.envNames,
                exposedPorts: config.exposedPorts,
                labels: config.labels,
                history: config.history.map {
                    Config.History(created: $0.created, createdBy: $0.createdBy, comment: $0.comment, emptyLayer: $0.emptyLayer)
                }
            )
        }
        configDescriptor = details.configDescriptor.map { Descriptor(digest: $0.digest, mediaType: $0.mediaType, size: $0.size) }
        layers = details.layers.map { Descriptor(digest: $0.digest, mediaType: $0.mediaType, size: $0.size) }
        referrers = details.referrers.map { ReferrerBody(digest: $0.digest, mediaType: $0.mediaType, artifactType: $0.artifactType, size: $0.size) }
        notes = details.notes
    }
}
