/// How many of each thing the database holds; the fields a caller may not count are nil.
public struct CatalogCounts: Sendable, Equatable {
    public var users: Int?
    public var teams: Int?
    public var namespaces: Int
    public var repositories: Int
    public var tags: Int
    public var webhooks: Int?
    public var activities: Int?

    public init(users: Int?, teams: Int?, namespaces: Int, repositories: Int, tags: Int, webhooks: Int?, activities: Int?) {
        self.users = users
        self.teams = teams
        self.namespaces = namespaces
        self.repositories = repositories
        self.tags = tags
        self.webhooks = webhooks
        self.activities = activities
    }
}
