import Foundation

/// A comment with its author's name (nil once the author is deleted: their comments go with them, so only while
/// a deletion is in flight).
public struct RepositoryComment: Sendable, Equatable {
    public var id: Int64
    public var repositoryID: Int64
    public var authorID: Int64
    public var authorName: String?
    /// Markdown, stored as written.
    public var body: String
    public var createdAt: Date
    public var updatedAt: Date
}
