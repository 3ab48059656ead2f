import Foundation

/// The tags of a repository that point at one manifest, as the API's tag list shows them: the manifest's facts
/// once, and the names pointing at it.
public struct TagGroup: Sendable, Equatable {
    public var digest: String
    public var mediaType: String
    /// The manifest with everything it references, each digest once.
    public var size: Int64
    public var configDigest: String?
    /// When the image was built, from its config.
    public var created: Date?
    public var os: String?
    public var architecture: String?
    public var platforms: [CatalogPlatform]
    public var artifactType: String?
    /// Who pushed the group's newest tag (the name is kept when the user is deleted).
    public var pushedBy: Int64?
    public var pushedByName: String?
    /// The newest push of any of its tags: the group's place in the list.
    public var pushedAt: Date
    /// The newest pull of any of its tags.
    public var pulledAt: Date?
    /// The tag names, newest push first, then by name.
    public var tags: [String]

    /// The group of `tags` (all pointing at one digest, newest push first).
    init(_ tags: [CatalogTag]) {
        let newest = tags[0]
        digest = newest.digest
        mediaType = newest.mediaType
        size = newest.size
        configDigest = newest.configDigest
        created = newest.created
        os = newest.os
        architecture = newest.architecture
        platforms = newest.platforms
        artifactType = newest.artifactType
        pushedBy = newest.pushedBy
        pushedByName = newest.pushedByName
        pushedAt = newest.pushedAt
        pulledAt = tags.compactMap(\.pulledAt).max()
        self.tags = tags.map(\.name)
    }
}

/// Where a page of ``TagGroup``s starts: after the group with this newest push and digest (newest push first,
/// then digest).
public struct TagGroupKey: Sendable, Hashable {
    public var pushedAt: Date
    public var digest: String

    public init(pushedAt: Date, digest: String) {
        self.pushedAt = pushedAt
        self.digest = digest
    }
}
