import Foundation
import WharfCore

/// A stored retention policy: a namespace's own, or the global default (``namespaceID`` nil).
public struct StoredRetentionPolicy: Sendable, Equatable, RowDecodable {
    public var namespaceID: Int64?
    /// The namespace's name now (nil for the global default).
    public var namespace: String?
    public var policy: RetentionPolicy
    /// Who last changed it (`cli` for the command line).
    public var updatedBy: String
    public var updatedAt: Date

    /// How the policy calls itself in activities and reports: `global` or `namespace NAME`.
    public var label: String { namespace.map { "namespace \($0.isEmpty ? "(global namespace)" : $0)" } ?? "global" }

    init(row: SQLRow) throws {
        namespaceID = try row.decode("namespace_id")
        namespace = try row.decode("namespace_name")
        policy = RetentionPolicy(
            enabled: try row.decode("enabled"),
            keepLatest: try row.decode("keep_latest"),
            olderThanDays: try row.decode("older_than_days"),
            tagMatch: try row.decode("tag_match"),
            tagExclude: try row.decode("tag_exclude"),
            untaggedOlderThanDays: try row.decode("untagged_older_than_days"),
            protected: try row.decode("protected"),
            immutable: try row.decode("immutable")
        )
        updatedBy = try row.decode("updated_by")
        updatedAt = try row.decode("updated_at")
    }
}

/// Retention policies by namespace, and the global default.
public struct RetentionPolicyStore: Store {
    let transaction: Transaction
    init(_ transaction: Transaction) { self.transaction = transaction }

    static let select = """
        SELECT p.namespace_id, n.name AS namespace_name, p.enabled, p.keep_latest, p.older_than_days, p.tag_match, p.tag_exclude, \
        p.untagged_older_than_days, p.protected, p.immutable, p.updated_by, p.updated_at \
        FROM retention_policies p LEFT JOIN namespaces n ON n.id = p.namespace_id
        """

    static func scope(_ namespaceID: Int64?) -> String { namespaceID.map { "namespace:\($0)" } ?? "global" }

    /// The namespace's own policy (nil: the global default), not falling back.
    public func find(namespaceID: Int64?) throws -> StoredRetentionPolicy? {
        try transaction.fetchOne("\(Self.select) WHERE p.scope = ?", [Self.scope(namespaceID)])
    }

    /// What applies to a namespace: its own policy, else the global default, else nil; one query.
    public func effective(namespaceID: Int64) throws -> StoredRetentionPolicy? {
        try transaction.fetchOne(
            "\(Self.select) WHERE p.scope IN (?, 'global') ORDER BY CASE WHEN p.namespace_id IS NULL THEN 1 ELSE 0 END LIMIT 1",
            [Self.scope(namespaceID)]
        )
    }

    /// Every policy, the global one first, then by namespace name.
    public func list() throws -> [StoredRetentionPolicy] {
        try transaction.fetch("\(Self.select) ORDER BY CASE WHEN p.namespace_id IS NULL THEN 0 ELSE 1 END, n.name")
    }

    /// Creates or replaces the policy; it is validated first (a ``RetentionError`` names the bad field).
    @discardableResult
    public func set(namespaceID: Int64?, _ policy: RetentionPolicy, updatedBy: String) throws -> StoredRetentionPolicy {
        let valid = try policy.validated()
        let sql = transaction.dialect.upsert(
            into: "retention_policies",
            columns: [
                "scope", "namespace_id", "enabled", "keep_latest", "older_than_days", "tag_match", "tag_exclude",
                "untagged_older_than_days", "protected", "immutable", "updated_by", "updated_at",
            ],
            conflict: ["scope"],
            update: [
                "enabled", "keep_latest", "older_than_days", "tag_match", "tag_exclude", "untagged_older_than_days", "protected",
                "immutable", "updated_by", "updated_at",
            ]
        )
        let binds: [any SQLValueConvertible] = [
            Self.scope(namespaceID), namespaceID, valid.enabled, valid.keepLatest, valid.olderThanDays,
            try Validation.text(valid.tagMatch, "tag_match"), try Validation.text(valid.tagExclude, "tag_exclude"),
            valid.untaggedOlderThanDays, try Validation.text(valid.protected, "protected"),
            try Validation.text(valid.immutable, "immutable"), try Validation.name(updatedBy, "updated by"), now(),
        ]
        try transaction.execute(sql, binds)
        guard let stored = try find(namespaceID: namespaceID) else { throw DatabaseError(.query, "retention policy vanished after writing") }
        return stored
    }

    /// Removes the namespace's own policy (or the global default); false when there was none.
    @discardableResult
    public func delete(namespaceID: Int64?) throws -> Bool {
        try changed("DELETE FROM retention_policies WHERE scope = ?", [Self.scope(namespaceID)])
    }
}
