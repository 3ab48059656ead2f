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
                try Validation.name(activity.targetKind, "target kind"), activity.targetID,
                try Validation.shortened(activity.targetName, "target name"),
                activity.namespaceID, try Validation.text(activity.details, "activity details"),
            ]
        )
    }

    /// The newest activities first, older than `beforeID` (for paging), optionally of one namespace or actor.
    public func recent(namespaceID: Int64? = nil, actorID: Int64? = nil, beforeID: Int64? = nil, limit: Int = 50) throws -> [Activity] {
        try list(ActivityFilter(namespaceID: namespaceID, actorID: actorID), beforeID: beforeID, limit: limit)
    }

    /// The activities `filter` wants, newest first (by time, then id), after `beforeID`: the next page starts
    /// after the last activity of the previous one, even when times and ids disagree (clocks of several servers).
    ///
    /// Each query reads one index in order and stops at `limit`: the namespace's or the actor's
    /// (`namespace_id, created_at`, `actor_id, created_at`), else the time index; a time range bounds the scan,
    /// and the action and actor name are checked on the rows the index yields (the id that breaks ties is part
    /// of every secondary index, in SQLite and InnoDB alike). MariaDB 10.11 sorts a small table instead when that
    /// is cheaper (a whole listing of 20,000 activities here); from 200,000 on it reads `activities_time` in order.
    /// No index has the action: `--action` on a long log of other actions reads back until it has `limit`.
    public func list(_ filter: ActivityFilter = ActivityFilter(), beforeID: Int64? = nil, limit: Int = 50) throws -> [Activity] {
        var page: Page? = nil
        if let beforeID {
            let last = try transaction.query("SELECT created_at FROM activities WHERE id = ?", [beforeID]).first
            // Pruned meanwhile: ids follow time closely enough to go on from there.
            page = try last.map { .after(time: try $0.decode("created_at"), id: beforeID) } ?? .belowID(beforeID)
        }
        let query = Self.listQuery(filter, page: page, limit: limit)
        return try transaction.fetch(query.sql, query.binds)
    }

    /// Where a page starts: after a given activity (its time and id), or below an id.
    enum Page {
        case after(time: Date, id: Int64)
        case belowID(Int64)
    }

    /// The statement `list` runs (apart, so a test can ask each engine how it plans it).
    static func listQuery(_ filter: ActivityFilter, page: Page?, limit: Int) -> (sql: String, binds: [any SQLValueConvertible]) {
        var conditions: [String] = []
        var binds: [any SQLValueConvertible] = []
        func require(_ condition: String, _ values: any SQLValueConvertible...) {
            conditions.append(condition)
            binds += values
        }
        if let namespaceID = filter.namespaceID { require("namespace_id = ?", namespaceID) }
        if let actorID = filter.actorID { require("actor_id = ?", actorID) }
        if let since = filter.since { require("created_at >= ?", since) }
        if let until = filter.until { require("created_at < ?", until) }
        if let action = filter.action {
            // `x.` up to `x/` (the next character after the dot) is every action below `x`: a comparison of the
            // binary collations both engines use, where LIKE would ignore case in SQLite only.
            let family = action.hasSuffix(".") ? String(action.dropLast()) : action
            require("(action = ? OR (action > ? AND action < ?))", family, family + ".", family + "/")
        }
        if let actorName = filter.actorName { require("actor_name = ?", actorName) }
        switch page {
        case .after(let time, let id): require("created_at <= ? AND (created_at < ? OR id < ?)", time, time, id)
        case .belowID(let id): require("id < ?", id)
        case nil: break
        }
        binds.append(pageSize(limit))
        let clause = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        return ("SELECT \(columns) FROM activities\(clause) ORDER BY created_at DESC, id DESC LIMIT ?", binds)
    }

    /// The id of the last namespace called `name` that an activity names as its target: how a deleted namespace's
    /// history is found by name. Reads the log from the newest activity back (no index on names); meant for a
    /// name that no namespace has any more.
    public func lastNamespaceID(named name: String) throws -> Int64? {
        try transaction.query(
            "SELECT target_id FROM activities WHERE target_kind = 'namespace' AND target_name = ? AND target_id IS NOT NULL ORDER BY id DESC LIMIT 1",
            [name]
        ).first?.decode("target_id")
    }

    /// Removes activities older than `date`; returns how many.
    @discardableResult
    public func prune(before date: Date) throws -> Int {
        try transaction.execute("DELETE FROM activities WHERE created_at < ?", [date]).affectedRows
    }
}
