import Foundation
import WharfAuth
import WharfCore
import WharfDatabase
import WharfStorage
import WharfSync

/// A repository of the catalogue as the API shows it, with what the caller may do to it.
struct RepositoryBody: Encodable {
    struct Permissions: Encodable {
        var pull: Bool
        var push: Bool
        var delete: Bool
    }

    var name: String
    var namespace: String
    var description: String
    var tagCount: Int
    var size: Int64
    var starCount: Int
    var starred: Bool
    var pushedAt: Date?
    var pulledAt: Date?
    var permissions: Permissions

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(namespace, forKey: .namespace)
        try container.encode(description, forKey: .description)
        try container.encode(tagCount, forKey: .tagCount)
        try container.encode(size, forKey: .size)
        try container.encode(starCount, forKey: .starCount)
        try container.encode(starred, forKey: .starred)
        try container.encode(pushedAt, forKey: .pushedAt)
        try container.encode(pulledAt, forKey: .pulledAt)
        try container.encode(permissions, forKey: .permissions)
    }

    enum CodingKeys: String, CodingKey { case name, namespace, description, tagCount, size, starCount, starred, pushedAt, pulledAt, permissions }
}

/// `/repositories/{repository}` (the full name, its slashes written `%2F`) and `/namespaces/{namespace}/repositories`:
/// the catalogue as the caller may see it (what they may pull), and deletes for those the permission table lets
/// delete, through the registry's own delete path (``ContentDeleter``).
struct RepositoriesAPI {
    let api: APIServices

    var handlers: [String: APIHandler] {
        [
            "listNamespaceRepositories": listOfNamespace, "getRepository": get, "deleteRepository": delete, "deleteTag": deleteTag,
            "deleteManifest": deleteManifest,
        ]
    }

    func listOfNamespace(_ request: APIRequest) async throws -> APIResponse {
        let namespace = request.path("namespace")
        _ = try await NamespacesAPI(api: api).visible(namespace, request: request)
        let (size, after) = request.page
        let page = try await api.reader.repositories(in: namespace, for: request.caller.subject, after: after, limit: size)
        return try await CatalogAPI(api: api).respond(page, request: request)
    }

    func get(_ request: APIRequest) async throws -> APIResponse {
        let (repository, permissions) = try await visible(request)
        let userID = request.caller.subject.userID
        let starred = try await api.pool.read { transaction in
            try userID.map { try transaction.stars.isStarred(userID: $0, repositoryID: repository.id) } ?? false
        }
        return try .json(Self.body(repository, starred: starred, permissions: permissions))
    }

    func delete(_ request: APIRequest) async throws -> APIResponse {
        let (repository, permissions) = try await visible(request)
        try requireDelete(permissions, repository.name)
        let name = try RepositoryName(repository.name)
        try await deleter.deleteRepository(name, request: eventRequest(request), actor: eventActor(request))
        return .noContent
    }

    func deleteTag(_ request: APIRequest) async throws -> APIResponse {
        try await deleteTag(request.path("tag"), in: request.path("repository"), caller: request.caller, userAgent: request.headers[.userAgent] ?? "")
        return .noContent
    }

    func deleteManifest(_ request: APIRequest) async throws -> APIResponse {
        try await deleteManifest(
            request.path("digest"),
            in: request.path("repository"),
            caller: request.caller,
            userAgent: request.headers[.userAgent] ?? ""
        )
        return .noContent
    }

    /// Deletes a tag when `caller` may delete in the repository (the API's and the portal's one rule).
    func deleteTag(_ text: String, in repositoryName: String, caller: APICaller, userAgent: String) async throws {
        let (repository, permissions) = try await visible(repositoryName, for: caller)
        try requireDelete(permissions, repository.name)
        let tag = try Tag(text)
        do {
            try await deleter.delete(
                .tag(tag),
                in: RepositoryName(repository.name),
                request: eventRequest(caller, userAgent: userAgent),
                actor: eventActor(caller)
            )
        } catch let error as ContentError where error.code == .manifestUnknown {
            throw APIError(.tagNotFound, "\(repository.name) has no tag \(tag)")
        }
    }

    /// Deletes a manifest, and so every tag pointing at it, when `caller` may delete in the repository.
    func deleteManifest(_ text: String, in repositoryName: String, caller: APICaller, userAgent: String) async throws {
        let (repository, permissions) = try await visible(repositoryName, for: caller)
        try requireDelete(permissions, repository.name)
        let digest = try OCIDigest(parsing: text)
        do {
            try await deleter.delete(
                .digest(digest),
                in: RepositoryName(repository.name),
                request: eventRequest(caller, userAgent: userAgent),
                actor: eventActor(caller)
            )
        } catch let error as ContentError where error.code == .manifestUnknown {
            throw APIError(.manifestNotFound, "\(repository.name) has no manifest \(digest)")
        }
    }

    var deleter: ContentDeleter {
        ContentDeleter(
            manifests: api.services.manifests,
            catalog: api.services.catalog,
            events: api.services.events,
            immutability: api.services.immutability
        )
    }

    func eventRequest(_ request: APIRequest) -> RegistryEvent.Request {
        eventRequest(request.caller, userAgent: request.headers[.userAgent] ?? "")
    }

    func eventActor(_ request: APIRequest) -> RegistryEvent.Actor { eventActor(request.caller) }

    func eventRequest(_ caller: APICaller, userAgent: String) -> RegistryEvent.Request {
        RegistryEvent.Request(addr: caller.address, method: "DELETE", userAgent: userAgent)
    }

    func eventActor(_ caller: APICaller) -> RegistryEvent.Actor {
        RegistryEvent.Actor(name: caller.subject.name, userID: caller.subject.userID)
    }

    func requireDelete(_ permissions: RepositoryBody.Permissions, _ name: String) throws {
        guard permissions.delete else {
            throw APIError(.forbidden, api.rules.policy.deleteEnabled ? "you may not delete in \(name)" : "deletes are disabled on this registry")
        }
    }

    /// The repository of the path when the caller may pull from it (the catalogue's row), with what they may do;
    /// otherwise it does not exist for them (404).
    func visible(_ request: APIRequest) async throws -> (Repository, RepositoryBody.Permissions) {
        try await visible(request.path("repository"), for: request.caller)
    }

    /// ``visible(_:)`` by name, for the portal's pages as well.
    func visible(_ text: String, for caller: APICaller) async throws -> (Repository, RepositoryBody.Permissions) {
        let unknown = APIError(.repositoryNotFound, "unknown repository \(text)")
        guard let name = try? RepositoryName(text) else { throw unknown }
        let subject = caller.subject
        let decision = try await api.tokens.authorizer.decide(AccessScope(.repository(name), actions: [.pull, .push, .delete]), for: subject)
        guard decision.granted.contains(.pull) else { throw unknown }
        guard let repository = try await api.pool.read({ transaction in try transaction.repositories.find(name: name.value) }) else { throw unknown }
        return (
            repository,
            RepositoryBody.Permissions(pull: true, push: decision.granted.contains(.push), delete: decision.granted.contains(.delete))
        )
    }

    static func body(_ repository: Repository, starred: Bool, permissions: RepositoryBody.Permissions) -> RepositoryBody {
        RepositoryBody(
            name: repository.name,
            namespace: repository.namespace,
            description: repository.description,
            tagCount: repository.tagCount,
            size: repository.size,
            starCount: repository.starCount,
            starred: starred,
            pushedAt: repository.pushedAt,
            pulledAt: repository.pulledAt,
            permissions: permissions
        )
    }
}
