import Foundation
import Logging
import WharfAuth
import WharfCore
import WharfDatabase
import WharfStorage

/// The read side of the catalogue for the API and the portal: repositories, tags grouped by digest, a tag's
/// details, search and statistics, each for one caller and showing only what that caller may pull under the
/// permission rules (``PullScope/of(_:rules:)``), filtered in the page's own query.
///
/// Pages are keyset pages (``CatalogPage``): pass a page's `next` as the next call's `after`. Nothing here changes
/// the database; stars and comments are ``StarService`` and ``CommentService``.
public struct CatalogReader: Sendable {
    public let pool: DatabasePool
    public let driver: any StorageDriver
    public let rules: PermissionRules
    /// The bytes in storage, for ``statistics(for:)``.
    public let usage: StorageUsage
    let logger: Logger

    /// The largest manifest and image config read for ``details(of:reference:for:)``; a larger one is left out with
    /// a note, never an error.
    public static let manifestLimit = 4 * 1024 * 1024
    public static let configLimit = 4 * 1024 * 1024
    /// Results per kind of a search.
    public static let searchLimit = 20
    /// The longest search text looked up: no name is longer (a longer text finds nothing, without a query).
    public static let maxSearchBytes = 255

    public init(
        pool: DatabasePool,
        driver: any StorageDriver,
        rules: PermissionRules,
        usage: StorageUsage? = nil,
        logger: Logger = Logger(label: "wharf.catalog")
    ) {
        self.pool = pool
        self.driver = driver
        self.rules = rules
        self.usage = usage ?? StorageUsage(driver: driver)
        self.logger = logger
    }

    /// A reader under the authorizer's rules.
    public init(pool: DatabasePool, driver: any StorageDriver, authorizer: Authorizer, logger: Logger = Logger(label: "wharf.catalog")) {
        self.init(pool: pool, driver: driver, rules: authorizer.rules, logger: logger)
    }

    /// What `subject` may see.
    public func scope(for subject: TokenSubject) -> PullScope { .of(subject, rules: rules) }

    // MARK: Repositories

    /// The repositories of `namespace` (empty: the global one) that `subject` may pull, in tree order (`a`, `a/b`,
    /// `a-c`); `after` is the previous page's `next` (a repository name). One query.
    public func repositories(
        in namespace: String,
        for subject: TokenSubject,
        after: String? = nil,
        limit: Int = CatalogPaging.defaultSize
    ) async throws -> CatalogPage<Repository> {
        try await repositoryPage(namespace: namespace, for: subject, after: after, limit: limit)
    }

    /// Every repository `subject` may pull (all of them for admins: the explore page), in tree order.
    public func repositories(
        for subject: TokenSubject,
        after: String? = nil,
        limit: Int = CatalogPaging.defaultSize
    ) async throws
        -> CatalogPage<Repository>
    {
        try await repositoryPage(namespace: nil, for: subject, after: after, limit: limit)
    }

    private func repositoryPage(namespace: String?, for subject: TokenSubject, after: String?, limit: Int) async throws -> CatalogPage<Repository> {
        let scope = scope(for: subject)
        let limit = CatalogPaging.clamp(limit)
        let rows = try await pool.read { try $0.catalogQueries.repositories(scope: scope, namespace: namespace, after: after, limit: limit + 1) }
        return CatalogPaging.page(rows, limit: limit, key: \.name)
    }

    /// The repository called `name`; ``CatalogQueryError/Code/notFound`` when it does not exist or `subject` may
    /// not pull it.
    public func repository(_ name: String, for subject: TokenSubject) async throws -> Repository {
        let scope = scope(for: subject)
        guard let row = try await pool.read({ try $0.catalogQueries.repository(scope: scope, name: name) }) else {
            throw Self.repositoryNotFound(name)
        }
        return row
    }

    /// The repositories `subject` starred that they may still pull, in tree order.
    public func starredRepositories(
        for subject: TokenSubject,
        after: String? = nil,
        limit: Int = CatalogPaging.defaultSize
    ) async throws
        -> CatalogPage<Repository>
    {
        guard let userID = subject.userID else { return CatalogPage(items: [], next: nil) }
        let scope = scope(for: subject)
        let limit = CatalogPaging.clamp(limit)
        let rows = try await pool.read { try $0.catalogQueries.starred(scope: scope, userID: userID, after: after, limit: limit + 1) }
        return CatalogPaging.page(rows, limit: limit, key: \.name)
    }

    // MARK: Tags

    /// The tags of a repository grouped by the manifest they point at: newest push first (a group's push is its
    /// newest tag's), then by digest. `after` is the previous page's `next` (`<milliseconds>,<digest>`). Three
    /// queries in one read: the repository (visibility), the page's digests, their tags.
    public func tagGroups(
        of repository: String,
        for subject: TokenSubject,
        after: String? = nil,
        limit: Int = CatalogPaging.defaultSize
    ) async throws -> CatalogPage<TagGroup> {
        let key = try after.map(Self.tagGroupKey)
        let scope = scope(for: subject)
        let limit = CatalogPaging.clamp(limit)
        let rows = try await pool.read { transaction -> [TagGroup]? in
            guard let row = try transaction.catalogQueries.repository(scope: scope, name: repository) else { return nil }
            return try transaction.catalogQueries.tagGroups(repositoryID: row.id, after: key, limit: limit + 1)
        }
        guard let rows else { throw Self.repositoryNotFound(repository) }
        return CatalogPaging.page(rows, limit: limit) { "\($0.pushedAt.millisecondsSince1970),\($0.digest)" }
    }

    /// The tags of a repository one by one, by name; `after` is the previous page's `next` (a tag name).
    public func tags(
        of repository: String,
        for subject: TokenSubject,
        after: String? = nil,
        limit: Int = CatalogPaging.defaultSize
    ) async throws -> CatalogPage<CatalogTag> {
        let scope = scope(for: subject)
        let limit = CatalogPaging.clamp(limit)
        let rows = try await pool.read { transaction -> [CatalogTag]? in
            guard let row = try transaction.catalogQueries.repository(scope: scope, name: repository) else { return nil }
            return try transaction.tags.list(repositoryID: row.id, after: after, limit: limit + 1)
        }
        guard let rows else { throw Self.repositoryNotFound(repository) }
        return CatalogPaging.page(rows, limit: limit, key: \.name)
    }

    static func tagGroupKey(_ text: String) throws -> TagGroupKey {
        guard let comma = text.firstIndex(of: ","), let milliseconds = Int64(text[..<comma]) else {
            throw CatalogQueryError(.invalid, "not a cursor of this listing")
        }
        return TagGroupKey(
            pushedAt: Date(timeIntervalSince1970: Double(milliseconds) / 1000),
            digest: String(text[text.index(after: comma)...])
        )
    }

    static func repositoryNotFound(_ name: String) -> CatalogQueryError {
        CatalogQueryError(.notFound, "repository \(name) not found")
    }

    // MARK: Statistics

    /// Counts and storage used. Admins and the service account get every count and the bytes of every blob in
    /// storage (``StorageUsage``: measured by a walk at most once a ``StorageUsage/lifetime``; nil when storage
    /// cannot be walked); anyone else gets the namespaces, repositories and tags they may pull, and nil for the
    /// rest.
    public func statistics(for subject: TokenSubject) async throws -> CatalogStatistics {
        let scope = scope(for: subject)
        let counts = try await pool.read { try $0.catalogQueries.counts(scope: scope) }
        guard scope == .everything else { return CatalogStatistics(counts: counts, storage: nil) }
        do {
            return CatalogStatistics(counts: counts, storage: try await usage.current())
        } catch {
            // Storage that cannot be walked leaves the figure out; the counts are still worth showing.
            logger.warning("could not measure the storage used", metadata: ["error": "\(error)"])
            return CatalogStatistics(counts: counts, storage: nil)
        }
    }
}

extension Date {
    /// Milliseconds since 1970, as the database stores times and the cursors carry them.
    var millisecondsSince1970: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }
}
