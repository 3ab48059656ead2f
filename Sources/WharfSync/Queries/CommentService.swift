import Foundation
import WharfAuth
import WharfCore
import WharfDatabase

/// Comments on repositories: whoever may pull a repository reads its comments; a signed-in user who may pull it
/// adds one (markdown, stored as written, at most ``maxBodyBytes``); its author, an owner of the repository's
/// namespace or an admin deletes it. Adding and deleting record `comment.create` and `comment.delete`.
public struct CommentService: Sendable {
    public let pool: DatabasePool
    public let rules: PermissionRules

    /// 64 KiB.
    public static let maxBodyBytes = 64 * 1024

    public init(pool: DatabasePool, rules: PermissionRules) {
        self.pool = pool
        self.rules = rules
    }

    /// A page of the repository's comments, oldest first; `after` is the previous page's `next`.
    public func comments(
        of repository: String,
        for subject: TokenSubject,
        after: String? = nil,
        limit: Int = CatalogPaging.defaultSize
    ) async throws -> CatalogPage<RepositoryComment> {
        let key = try after.map(Self.key)
        let scope = PullScope.of(subject, rules: rules)
        let limit = CatalogPaging.clamp(limit)
        let rows = try await pool.read { transaction in
            guard let row = try transaction.catalogQueries.repository(scope: scope, name: repository) else {
                throw CatalogReader.repositoryNotFound(repository)
            }
            return try transaction.catalogQueries.comments(repositoryID: row.id, after: key, limit: limit + 1)
        }
        return CatalogPaging.page(rows, limit: limit) { "\($0.createdAt.millisecondsSince1970),\($0.id)" }
    }

    /// Adds a comment by `subject`; ``CatalogQueryError/Code/invalid`` for an empty (or white space only) body or
    /// one over ``maxBodyBytes``.
    public func add(_ body: String, to repository: String, by subject: TokenSubject, address: String? = nil) async throws -> RepositoryComment {
        let userID = try StarService.signedIn(subject, "comment")
        guard !body.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw CatalogQueryError(.invalid, "a comment must not be empty")
        }
        guard body.utf8.count <= Self.maxBodyBytes else {
            throw CatalogQueryError(.invalid, "a comment is at most \(Self.maxBodyBytes) bytes; this one is \(body.utf8.count)")
        }
        let scope = PullScope.of(subject, rules: rules)
        return try await pool.write { transaction in
            guard let row = try transaction.catalogQueries.repository(scope: scope, name: repository) else {
                throw CatalogReader.repositoryNotFound(repository)
            }
            let added = try transaction.comments.add(repositoryID: row.id, userID: userID, body: body)
            try StarService.record(
                .commentCreate,
                by: subject,
                on: row,
                details: ["comment_id": String(added.id), "bytes": String(body.utf8.count)],
                address: address,
                in: transaction
            )
            guard let comment = try transaction.catalogQueries.comment(repositoryID: row.id, id: added.id) else {
                throw CatalogQueryError(.notFound, "comment \(added.id) not found")
            }
            return comment
        }
    }

    /// Deletes the comment `id` of `repository`: its author, an owner of the repository's namespace (its team's
    /// owner, or the user of a personal namespace) or an admin may. ``CatalogQueryError/Code/notFound`` when the
    /// caller may not see the repository or the comment is not there; ``CatalogQueryError/Code/denied`` when they
    /// see it but may not delete it.
    public func delete(_ id: Int64, of repository: String, by subject: TokenSubject, address: String? = nil) async throws {
        let userID = try StarService.signedIn(subject, "delete comments")
        let scope = PullScope.of(subject, rules: rules)
        try await pool.write { transaction in
            guard let row = try transaction.catalogQueries.repository(scope: scope, name: repository) else {
                throw CatalogReader.repositoryNotFound(repository)
            }
            guard let comment = try transaction.catalogQueries.comment(repositoryID: row.id, id: id) else {
                throw CatalogQueryError(.notFound, "comment \(id) not found in \(repository)")
            }
            let mayDelete =
                try comment.authorID == userID || subject.kind == .admin || Self.ownsNamespace(row.namespace, userID: userID, in: transaction)
            guard mayDelete else {
                throw CatalogQueryError(.denied, "only its author, an owner of the namespace or an admin may delete this comment")
            }
            try transaction.comments.delete(id: id)
            try StarService.record(
                .commentDelete,
                by: subject,
                on: row,
                details: ["comment_id": String(id), "author": comment.authorName ?? String(comment.authorID)],
                address: address,
                in: transaction
            )
        }
    }

    /// Whether `userID` owns the namespace as the permission rules mean it (`NamespaceFacts.role == .owner`): the
    /// user of a personal namespace, or an owner of its team. The global namespace is the admins'.
    public static func ownsNamespace(_ namespace: String, userID: Int64, in transaction: Transaction) throws -> Bool {
        guard !namespace.isEmpty, let access = try transaction.namespaces.access(name: namespace, userID: userID) else { return false }
        if access.namespace.kind == .personal && access.namespace.ownerID == userID { return true }
        return access.role == .owner
    }

    static func key(_ text: String) throws -> (createdAt: Date, id: Int64) {
        guard let comma = text.firstIndex(of: ","), let milliseconds = Int64(text[..<comma]), let id = Int64(text[text.index(after: comma)...]) else {
            throw CatalogQueryError(.invalid, "not a cursor of this listing")
        }
        return (Date(timeIntervalSince1970: Double(milliseconds) / 1000), id)
    }
}
