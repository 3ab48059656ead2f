import Foundation

/// A tag as retention sees it: what it points at and when it was last pushed.
public struct RetentionTag: Sendable, Equatable {
    public var name: String
    public var digest: String
    public var pushedAt: Date

    public init(name: String, digest: String, pushedAt: Date) {
        self.name = name
        self.digest = digest
        self.pushedAt = pushedAt
    }
}

/// A manifest revision of a repository as retention sees it: when it was stored, what it describes (`subject`)
/// and which manifests it lists (an index's children).
public struct RetentionManifest: Sendable, Equatable {
    public var digest: String
    public var storedAt: Date
    public var subject: String?
    public var children: [String]

    public init(digest: String, storedAt: Date, subject: String? = nil, children: [String] = []) {
        self.digest = digest
        self.storedAt = storedAt
        self.subject = subject
        self.children = children
    }
}
