import Foundation

/// A tag found by a search, with its repository.
public struct TagMatch: Sendable, Equatable {
    public var repository: String
    public var tag: String
    public var digest: String
    public var pushedAt: Date
}
