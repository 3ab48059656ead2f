import Foundation
import WharfDatabase

/// What the importer reads from a Portus database (SUSE/Portus 2.4/2.5, `db/schema.rb` version 20180612145708):
/// the rows of the tables it maps, read once through a read-only use of a `DatabasePool`, so every later step
/// works on memory and the Portus database is never written.
public struct PortusSnapshot: Sendable {
    /// A row of Portus's `users`.
    public struct User: Sendable, Equatable {
        public var id: Int64
        public var username: String
        public var email: String?
        /// Devise's bcrypt hash (`$2a$…`).
        public var encryptedPassword: String
        public var admin: Bool
        public var enabled: Bool
        public var bot: Bool
        /// Set when Portus created the user at a first LDAP login.
        public var ldapName: String?
        /// Set when the user signed in through OAuth/OpenID (`provider` column).
        public var provider: String?
        public var displayName: String?
        /// The user's personal namespace.
        public var namespaceID: Int64?

        public init(
            id: Int64,
            username: String,
            email: String? = nil,
            encryptedPassword: String = "",
            admin: Bool = false,
            enabled: Bool = true,
            bot: Bool = false,
            ldapName: String? = nil,
            provider: String? = nil,
            displayName: String? = nil,
            namespaceID: Int64? = nil
        ) {
            self.id = id
            self.username = username
            self.email = email
            self.encryptedPassword = encryptedPassword
            self.admin = admin
            self.enabled = enabled
            self.bot = bot
            self.ldapName = ldapName
            self.provider = provider
            self.displayName = displayName
            self.namespaceID = namespaceID
        }
    }

    /// A row of Portus's `teams`; hidden teams own the personal namespaces and the global one.
    public struct Team: Sendable, Equatable {
        public var id: Int64
        public var name: String
        public var hidden: Bool
        public var description: String

        public init(id: Int64, name: String, hidden: Bool = false, description: String = "") {
            self.id = id
            self.name = name
            self.hidden = hidden
            self.description = description
        }
    }

    /// A row of Portus's `team_users`: `role` is Rails' enum integer (0 viewer, 1 contributor, 2 owner).
    public struct Membership: Sendable, Equatable {
        public var teamID: Int64
        public var userID: Int64
        public var role: Int

        public init(teamID: Int64, userID: Int64, role: Int) {
            self.teamID = teamID
            self.userID = userID
            self.role = role
        }
    }

    /// A row of Portus's `namespaces`: `visibility` is Rails' enum integer (0 private, 1 protected, 2 public).
    public struct Namespace: Sendable, Equatable {
        public var id: Int64
        public var name: String
        public var teamID: Int64?
        public var global: Bool
        public var description: String
        public var visibility: Int

        public init(id: Int64, name: String, teamID: Int64?, global: Bool = false, description: String = "", visibility: Int) {
            self.id = id
            self.name = name
            self.teamID = teamID
            self.global = global
            self.description = description
            self.visibility = visibility
        }
    }

    /// A row of Portus's `application_tokens` (the secret itself is not known: only its bcrypt hash).
    public struct Token: Sendable, Equatable {
        public var userID: Int64
        public var application: String
        /// `bcrypt(token)` with the salt of `token_salt` (which the hash contains too).
        public var tokenHash: String

        public init(userID: Int64, application: String, tokenHash: String) {
            self.userID = userID
            self.application = application
            self.tokenHash = tokenHash
        }
    }

    /// A row of Portus's `webhooks` with its `webhook_headers`: `requestMethod` 0 GET, 1 POST; `contentType` 0
    /// JSON, 1 form.
    public struct Webhook: Sendable, Equatable {
        public var namespaceID: Int64?
        public var name: String
        public var url: String
        public var username: String?
        public var password: String?
        public var requestMethod: Int
        public var contentType: Int
        public var enabled: Bool
        public var headers: [Header]

        public struct Header: Sendable, Equatable {
            public var name: String
            public var value: String
        }
    }

    /// A row of Portus's `repositories` (only to name what stars and comments are about).
    public struct Repository: Sendable, Equatable {
        public var id: Int64
        public var name: String
        public var namespaceID: Int64?
    }

    /// A row of `stars`, or of `comments` (with its body).
    public struct Remark: Sendable, Equatable {
        public var userID: Int64
        public var repositoryID: Int64
        public var body: String?
    }

    /// A row of Portus's `activities` (PublicActivity): `parameters` is Ruby's YAML of a hash, kept as text.
    public struct Activity: Sendable, Equatable {
        public var id: Int64
        public var key: String
        public var trackableType: String?
        public var trackableID: Int64?
        public var ownerID: Int64?
        public var parameters: String?
        /// Seconds since 1970, UTC (Rails keeps UTC in DATETIME).
        public var createdAt: Int64
    }

    public var users: [User]
    public var teams: [Team]
    public var memberships: [Membership]
    public var namespaces: [Namespace]
    public var tokens: [Token]
    public var webhooks: [Webhook] = []
    public var repositories: [Repository] = []
    public var stars: [Remark] = []
    public var comments: [Remark] = []
    /// Read only with `--with-activities`.
    public var activities: [Activity] = []

    public init(users: [User], teams: [Team], memberships: [Membership], namespaces: [Namespace], tokens: [Token]) {
        self.users = users
        self.teams = teams
        self.memberships = memberships
        self.namespaces = namespaces
        self.tokens = tokens
    }

    /// The names Portus's namespaces and repositories have in Wharf, by Portus id, computed in one pass over each
    /// table (an import with 100,000 activities names a target for each). A personal namespace is named after its
    /// user (as Wharf names them), a team's keeps its name, the global namespace has none; a repository is
    /// `namespace/name`, or `name` in the global namespace.
    public func wharfNames() -> (namespaces: [Int64: String], repositories: [Int64: String]) {
        var namespaceNames: [Int64: String] = [:]
        var global: Set<Int64> = []
        for namespace in namespaces {
            if namespace.global { global.insert(namespace.id) } else { namespaceNames[namespace.id] = namespace.name }
        }
        for user in users where !user.bot {
            if let id = user.namespaceID, !global.contains(id) { namespaceNames[id] = user.username }
        }
        var repositoryNames: [Int64: String] = [:]
        for repository in repositories {
            guard let namespaceID = repository.namespaceID else { continue }
            if global.contains(namespaceID) {
                repositoryNames[repository.id] = repository.name
            } else if let namespace = namespaceNames[namespaceID] {
                repositoryNames[repository.id] = "\(namespace)/\(repository.name)"
            }
        }
        return (namespaceNames, repositoryNames)
    }

    /// Reads Portus's activities (its history), oldest first, after the one with id `after`.
    public static func readActivities(from pool: DatabasePool, after: Int64 = 0) async throws -> [Activity] {
        try await pool.read { transaction in
            // The difference to the epoch reads DATETIME as UTC whatever the session's time zone.
            try transaction.query(
                "SELECT id, `key`, trackable_type, trackable_id, owner_id, parameters, TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', created_at) AS created FROM activities WHERE id > ? AND `key` IS NOT NULL ORDER BY id",
                [after]
            ).map { row in
                Activity(
                    id: try row.decode("id"),
                    key: try row.decode("key"),
                    trackableType: try row.decode("trackable_type"),
                    trackableID: try row.decode("trackable_id"),
                    ownerID: try row.decode("owner_id"),
                    parameters: try row.decode("parameters"),
                    createdAt: try row.decode("created", as: Int64?.self) ?? 0
                )
            }
        }
    }

    /// Reads the tables from Portus's database. Only `SELECT`s are sent; the pool is never migrated.
    public static func read(from pool: DatabasePool) async throws -> PortusSnapshot {
        try await pool.read { transaction in
            func text(_ row: SQLRow, _ column: String) throws -> String? {
                let value: String? = try row.decode(column)
                return value
            }
            let users = try transaction.query(
                "SELECT id, username, email, encrypted_password, admin, enabled, bot, ldap_name, provider, display_name, namespace_id FROM users ORDER BY id"
            ).map { row in
                User(
                    id: try row.decode("id"),
                    username: try row.decode("username"),
                    email: try text(row, "email"),
                    encryptedPassword: try text(row, "encrypted_password") ?? "",
                    admin: try row.decode("admin", as: Bool?.self) ?? false,
                    enabled: try row.decode("enabled", as: Bool?.self) ?? true,
                    bot: try row.decode("bot", as: Bool?.self) ?? false,
                    ldapName: try text(row, "ldap_name"),
                    provider: try text(row, "provider"),
                    displayName: try text(row, "display_name"),
                    namespaceID: try row.decode("namespace_id")
                )
            }
            let teams = try transaction.query("SELECT id, name, hidden, description FROM teams ORDER BY id").map { row in
                Team(
                    id: try row.decode("id"),
                    name: try text(row, "name") ?? "",
                    hidden: try row.decode("hidden", as: Bool?.self) ?? false,
                    description: try text(row, "description") ?? ""
                )
            }
            let memberships = try transaction.query(
                "SELECT team_id, user_id, role FROM team_users WHERE team_id IS NOT NULL AND user_id IS NOT NULL ORDER BY id"
            )
            .map { row in
                Membership(teamID: try row.decode("team_id"), userID: try row.decode("user_id"), role: try row.decode("role", as: Int?.self) ?? 0)
            }
            let namespaces = try transaction.query("SELECT id, name, team_id, global, description, visibility FROM namespaces ORDER BY id").map {
                row in
                Namespace(
                    id: try row.decode("id"),
                    name: try text(row, "name") ?? "",
                    teamID: try row.decode("team_id"),
                    global: try row.decode("global", as: Bool?.self) ?? false,
                    description: try text(row, "description") ?? "",
                    visibility: try row.decode("visibility", as: Int?.self) ?? 0
                )
            }
            let tokens = try transaction.query("SELECT user_id, application, token_hash FROM application_tokens ORDER BY id").map { row in
                Token(userID: try row.decode("user_id"), application: try row.decode("application"), tokenHash: try row.decode("token_hash"))
            }
            var headers: [Int64: [Webhook.Header]] = [:]
            for row in try transaction.query("SELECT webhook_id, name, value FROM webhook_headers WHERE webhook_id IS NOT NULL ORDER BY id") {
                let header = Webhook.Header(name: try text(row, "name") ?? "", value: try text(row, "value") ?? "")
                headers[try row.decode("webhook_id"), default: []].append(header)
            }
            let webhooks = try transaction.query(
                "SELECT id, namespace_id, name, url, username, password, request_method, content_type, enabled FROM webhooks ORDER BY id"
            ).map { row in
                Webhook(
                    namespaceID: try row.decode("namespace_id"),
                    name: try row.decode("name"),
                    url: try text(row, "url") ?? "",
                    username: try text(row, "username").flatMap { $0.isEmpty ? nil : $0 },
                    password: try text(row, "password").flatMap { $0.isEmpty ? nil : $0 },
                    requestMethod: try row.decode("request_method", as: Int?.self) ?? 1,
                    contentType: try row.decode("content_type", as: Int?.self) ?? 0,
                    enabled: try row.decode("enabled", as: Bool?.self) ?? false,
                    headers: headers[try row.decode("id")] ?? []
                )
            }
            var snapshot = PortusSnapshot(users: users, teams: teams, memberships: memberships, namespaces: namespaces, tokens: tokens)
            snapshot.webhooks = webhooks
            snapshot.repositories = try transaction.query("SELECT id, name, namespace_id FROM repositories ORDER BY id").map { row in
                Repository(id: try row.decode("id"), name: try row.decode("name"), namespaceID: try row.decode("namespace_id"))
            }
            snapshot.stars = try transaction.query(
                "SELECT user_id, repository_id FROM stars WHERE user_id IS NOT NULL AND repository_id IS NOT NULL ORDER BY id"
            ).map { row in Remark(userID: try row.decode("user_id"), repositoryID: try row.decode("repository_id"), body: nil) }
            snapshot.comments = try transaction.query(
                "SELECT user_id, repository_id, body FROM comments WHERE user_id IS NOT NULL AND repository_id IS NOT NULL ORDER BY id"
            ).map { row in
                Remark(userID: try row.decode("user_id"), repositoryID: try row.decode("repository_id"), body: try text(row, "body") ?? "")
            }
            return snapshot
        }
    }
}
