import Foundation

/// One line of the audit log.
public struct Activity: Sendable, Equatable, RowDecodable {
    public var id: Int64
    public var createdAt: Date
    public var actorID: Int64?
    /// The actor's name at the time (kept when the user is removed).
    public var actorName: String
    /// What happened, as `repository.push`, `team.member.add`, `user.login`.
    public var action: String
    public var targetKind: String
    public var targetID: Int64?
    public var targetName: String
    public var namespaceID: Int64?
    /// Extra facts, as JSON text.
    public var details: String

    init(row: SQLRow) throws {
        id = try row.decode("id")
        createdAt = try row.decode("created_at")
        actorID = try row.decode("actor_id")
        actorName = try row.decode("actor_name")
        action = try row.decode("action")
        targetKind = try row.decode("target_kind")
        targetID = try row.decode("target_id")
        targetName = try row.decode("target_name")
        namespaceID = try row.decode("namespace_id")
        details = try row.decode("details")
    }
}

public struct NewActivity: Sendable {
    public var actorID: Int64?
    public var actorName: String
    public var action: String
    public var targetKind: String
    public var targetID: Int64?
    public var targetName: String
    public var namespaceID: Int64?
    public var details: String
    public var createdAt: Date

    public init(
        actorID: Int64?,
        actorName: String,
        action: String,
        targetKind: String,
        targetID: Int64? = nil,
        targetName: String,
        namespaceID: Int64? = nil,
        details: String = "{}",
        createdAt: Date = Date()
    ) {
        self.actorID = actorID
        self.actorName = actorName
        self.action = action
        self.targetKind = targetKind
        self.targetID = targetID
        self.targetName = targetName
        self.namespaceID = namespaceID
        self.details = details
        self.createdAt = createdAt
    }
}

public struct ActivityStore: Store {
    let transaction: Transaction
    init(_ transaction: Transaction) { self.transaction = transaction }

    static let columns = "id, created_at, actor_id, actor_name, action, target_kind, target_id, target_name, namespace_id, details"

    @discardableResult
    public func record(_ activity: NewActivity) throws -> Int64 {
        try transaction.insert(
            "INSERT INTO activities (created_at, actor_id, actor_name, action, target_kind, target_id, target_name, namespace_id, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                Date(millisecondsSince1970: activity.createdAt.millisecondsSince1970), activity.actorID,
                try Validation.name(activity.actorName, "actor name"), try Validation.name(activity.action, "action"),
                try Validation.name(activity.targetKind, "target kind"), activity.targetID, try Validation.name(activity.targetName, "target name"),
                activity.namespaceID, try Validation.text(activity.details, "activity details"),
            ]
        )
    }

    /// The newest activities first, older than `beforeID` (for paging), optionally of one namespace or actor.
    public func recent(namespaceID: Int64? = nil, actorID: Int64? = nil, beforeID: Int64? = nil, limit: Int = 50) throws -> [Activity] {
        var conditions = ["id < ?"]
        var binds: [any SQLValueConvertible] = [beforeID ?? Int64.max]
        if let namespaceID {
            conditions.append("namespace_id = ?")
            binds.append(namespaceID)
        }
        if let actorID {
            conditions.append("actor_id = ?")
            binds.append(actorID)
        }
        binds.append(pageSize(limit))
        return try transaction.fetch(
            "SELECT \(Self.columns) FROM activities WHERE \(conditions.joined(separator: " AND ")) ORDER BY created_at DESC, id DESC LIMIT ?",
            binds
        )
    }

    /// Removes activities older than `date`; returns how many.
    @discardableResult
    public func prune(before date: Date) throws -> Int {
        try transaction.execute("DELETE FROM activities WHERE created_at < ?", [date]).affectedRows
    }
}
