import Foundation
import WharfCore
import WharfStorage

/// Deletes manifests and tags the one way every surface does (the registry's `DELETE`, the API, the portal):
/// storage first, then the catalogue mirror with its activity and webhook rows in one transaction, then the
/// event for whoever listens. The caller has checked that deletes are allowed; with ``immutability`` the deleter
/// also refuses what an immutable tag forbids (``RetentionError`` `immutableTag`), whichever surface asks.
public struct ContentDeleter: Sendable {
    let manifests: ManifestIndex
    let catalog: CatalogMirror
    let events: EventBus
    let immutability: TagImmutability?

    public init(manifests: ManifestIndex, catalog: CatalogMirror, events: EventBus, immutability: TagImmutability? = nil) {
        self.manifests = manifests
        self.catalog = catalog
        self.events = events
        self.immutability = immutability
    }

    /// Deletes a manifest by digest (with every tag pointing at it), or a tag only, as `reference` says; throws
    /// `ContentError` `MANIFEST_UNKNOWN` when there is no such manifest or tag. Returns the event it published.
    @discardableResult
    public func delete(
        _ reference: Reference,
        in name: RepositoryName,
        request: RegistryEvent.Request,
        actor: RegistryEvent.Actor
    ) async throws -> RegistryEvent {
        try await immutability?.checkDelete(reference, in: name)
        let target: RegistryEvent.Target
        switch reference {
        case .digest(let digest):
            try await manifests.delete(digest, in: name)
            target = RegistryEvent.Target(repository: name.value, digest: digest.description)
        case .tag(let tag):
            try await manifests.deleteTag(tag, in: name)
            target = RegistryEvent.Target(repository: name.value, tag: tag.value)
        }
        var deleted = RegistryEvent(id: request.id, action: .delete, target: target, request: request, actor: actor)
        deleted.webhooksQueued = await catalog.recordDelete(deleted)
        events.publish(deleted)
        return deleted
    }

    /// Deletes every manifest of a repository (its tags go with them; blobs stay for garbage collection), one
    /// event each. Returns how many manifests went.
    @discardableResult
    public func deleteRepository(_ name: RepositoryName, request: RegistryEvent.Request, actor: RegistryEvent.Actor) async throws -> Int {
        // Refused before anything goes, not half-way through.
        try await immutability?.checkDeleteRepository(name)
        var count = 0
        for digest in try await manifests.revisions(in: name) {
            do {
                var each = request
                each.id = UUIDText.make()
                try await delete(.digest(digest), in: name, request: each, actor: actor)
                count += 1
            } catch let error as ContentError where error.code == .manifestUnknown {
                // Deleted meanwhile by someone else: gone either way.
                continue
            }
        }
        return count
    }
}

/// A new lower-case UUID, as event ids are written.
enum UUIDText {
    static func make() -> String { UUID().uuidString.lowercased() }
}
