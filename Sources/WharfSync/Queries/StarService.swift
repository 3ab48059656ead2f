import Foundation
import WharfAuth
import WharfCore
import WharfDatabase

/// Stars of repositories: a signed-in user stars what they may pull. Starring is idempotent and so is unstarring;
/// only a change records an activity (`repository.star`, `repository.unstar`). The repository's `star_count`
/// (what lists show) changes in the same transaction.
public struct StarService: Sendable {
    public let pool: DatabasePool
    public let rules: PermissionRules

    public init(pool: DatabasePool, rules: PermissionRules) {
        self.pool = pool
        self.rules = rules
    }

    /// Stars `repository` for `subject`; returns whether it was not starred before.
    @discardableResult
    public func star(_ repository: String, by subject: TokenSubject, address: String? = nil) async throws -> Bool {
        try await change(repository, by: subject, address: address, star: true)
    }

    /// Takes `subject`'s star back; returns whether there was one.
    @discardableResult
    public func unstar(_ repository: String, by subject: TokenSubject, address: String? = nil) async throws -> Bool {
        try await change(repository, by: subject, address: address, star: false)
    }

    /// Whether `subject` starred `repository` (false for anonymous callers).
    public func isStarred(_ repository: String, by subject: TokenSubject) async throws -> Bool {
        let scope = PullScope.of(subject, rules: rules)
        return try await pool.read { transaction in
            guard let row = try transaction.catalogQueries.repository(scope: scope, name: repository) else {
                throw CatalogReader.repositoryNotFound(repository)
            }
            guard let userID = subject.userID else { return false }
            return try transaction.stars.isStarred(userID: userID, repositoryID: row.id)
        }
    }

    private func change(_ repository: String, by subject: TokenSubject, address: String?, star: Bool) async throws -> Bool {
        let userID = try Self.signedIn(subject, "star repositories")
        let scope = PullScope.of(subject, rules: rules)
        return try await pool.write { transaction in
            guard let row = try transaction.catalogQueries.repository(scope: scope, name: repository) else {
                throw CatalogReader.repositoryNotFound(repository)
            }
            let starred = try transaction.stars.isStarred(userID: userID, repositoryID: row.id)
            guard starred != star else { return false }
            if star {
                try transaction.stars.star(userID: userID, repositoryID: row.id)
            } else {
                try transaction.stars.unstar(userID: userID, repositoryID: row.id)
            }
            try Self.record(star ? .repositoryStar : .repositoryUnstar, by: subject, on: row, details: [:], address: address, in: transaction)
            return true
        }
    }

    /// The account id of a signed-in person; ``CatalogQueryError/Code/unauthenticated`` for anonymous callers and
    /// the service account.
    static func signedIn(_ subject: TokenSubject, _ what: String) throws -> Int64 {
        guard subject.kind != .anonymous, subject.kind != .service, let userID = subject.userID else {
            throw CatalogQueryError(.unauthenticated, "only a signed-in user may \(what)")
        }
        return userID
    }

    /// Records an activity about a repository, in its namespace's history.
    static func record(
        _ action: ActivityAction,
        by subject: TokenSubject,
        on repository: Repository,
        details: [String: String],
        address: String?,
        in transaction: Transaction
    ) throws {
        var details = details
        if let address { details["addr"] = address }
        let data = (try? JSONSerialization.data(withJSONObject: details, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        let namespace = repository.namespace.isEmpty ? nil : try transaction.namespaces.find(name: repository.namespace)
        try transaction.activities.record(
            NewActivity(
                actorID: subject.userID,
                actorName: subject.name,
                action: action.rawValue,
                targetKind: "repository",
                targetID: repository.id,
                targetName: repository.name,
                namespaceID: namespace?.id,
                details: String(decoding: data, as: UTF8.self)
            )
        )
    }
}
