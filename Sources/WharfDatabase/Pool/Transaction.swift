/// The database as seen from inside `DatabasePool.write` or `read`: typed stores, and plain SQL for queries no
/// store has yet. Only valid during the closure it was given to; its calls block (they run on a pool thread).
public struct Transaction: Sendable {
    let connection: any SQLConnection
    public let dialect: SQLDialect

    /// Runs a query; `?` marks each parameter, and every value goes in `binds`, never into `sql`.
    public func query(_ sql: String, _ binds: [any SQLValueConvertible] = []) throws -> [SQLRow] {
        try connection.query(sql, binds.map(\.sqlValue))
    }

    /// Runs a statement that changes data; returns the affected row count and the generated id.
    @discardableResult
    public func execute(_ sql: String, _ binds: [any SQLValueConvertible] = []) throws -> SQLExecution {
        try connection.execute(sql, binds.map(\.sqlValue))
    }

    /// Rows of `sql` decoded as `Record`.
    func fetch<Record: RowDecodable>(_ sql: String, _ binds: [any SQLValueConvertible] = []) throws -> [Record] {
        try query(sql, binds).map(Record.init(row:))
    }

    func fetchOne<Record: RowDecodable>(_ sql: String, _ binds: [any SQLValueConvertible] = []) throws -> Record? {
        try query(sql, binds).first.map(Record.init(row:))
    }

    /// Inserts a row and returns its generated id.
    func insert(_ sql: String, _ binds: [any SQLValueConvertible]) throws -> Int64 {
        try execute(sql, binds).lastInsertID
    }

    public var users: UserStore { UserStore(self) }
    public var teams: TeamStore { TeamStore(self) }
    public var namespaces: NamespaceStore { NamespaceStore(self) }
    public var repositories: RepositoryStore { RepositoryStore(self) }
    public var tags: TagStore { TagStore(self) }
    public var referrers: ReferrerStore { ReferrerStore(self) }
    public var activities: ActivityStore { ActivityStore(self) }
    public var tokens: ApplicationTokenStore { ApplicationTokenStore(self) }
    public var refreshTokens: RefreshTokenStore { RefreshTokenStore(self) }
    public var scopedTokens: ScopedTokenStore { ScopedTokenStore(self) }
    public var webhooks: WebhookStore { WebhookStore(self) }
    public var stars: StarStore { StarStore(self) }
    public var comments: CommentStore { CommentStore(self) }
    public var sessions: SessionStore { SessionStore(self) }
    public var settings: SettingStore { SettingStore(self) }
    public var retentionPolicies: RetentionPolicyStore { RetentionPolicyStore(self) }
    public var gcRuns: GCRunStore { GCRunStore(self) }
    public var gcLeases: GCLeaseStore { GCLeaseStore(self) }
}

/// A record built from a result row.
protocol RowDecodable {
    init(row: SQLRow) throws
}
