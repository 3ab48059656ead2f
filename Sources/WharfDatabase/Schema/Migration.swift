/// One numbered, forward-only step of the schema. Applied migrations are never edited: a change is a new step.
struct Migration: Sendable {
    enum Change: Sendable {
        case createTable(Table)
        case createIndex(Index, on: String)
        case addColumn(Column, to: String)
        /// Only for tables no released Wharf ever wrote (they are empty everywhere).
        case dropTable(String)
    }

    var version: Int
    var name: String
    var changes: [Change]

    func statements(for dialect: SQLDialect) -> [String] {
        changes.flatMap { change -> [String] in
            switch change {
            case .createTable(let table): return dialect.createTable(table)
            case .createIndex(let index, let table): return [dialect.createIndex(index, on: table)]
            case .addColumn(let column, let table): return [dialect.addColumn(column, to: table)]
            case .dropTable(let table): return ["DROP TABLE IF EXISTS \(table)"]
            }
        }
    }
}

extension Migration {
    /// Every migration Wharf knows, in order. The schema version is the last one's number.
    static let all: [Migration] = [
        portalSchema, tokenAuth, credentialSources, catalogueMirror, scopedTokens, catalogueQueries, directoryAccounts, retentionPolicies,
        garbageCollectionRuns,
    ]

    /// The portal's records: people and access (users, teams, members, namespaces, tokens, sessions), the
    /// catalogue mirror (repositories, tags), and what the UI shows around it (activities, stars, comments,
    /// webhooks, settings).
    static let portalSchema = Migration(
        version: 1,
        name: "portal schema",
        changes: [
            .createTable(
                Table(
                    name: "users",
                    columns: [
                        .id(), .name("name"), .name("email", null: true), .name("password_hash", null: true), .name("display_name", null: true),
                        .text("ldap_dn", null: true), .boolean("is_admin"), .boolean("is_bot"), .boolean("enabled"),
                        .timestamp("created_at"), .timestamp("updated_at"), .timestamp("last_login_at", null: true),
                    ],
                    indexes: [.unique("users_name", "name"), .unique("users_email", "email")]
                )
            ),
            .createTable(
                Table(
                    name: "teams",
                    columns: [.id(), .name("name"), .text("description"), .boolean("is_hidden"), .timestamp("created_at")],
                    indexes: [.unique("teams_name", "name")]
                )
            ),
            .createTable(
                Table(
                    name: "team_members",
                    columns: [
                        .reference("team_id", to: "teams"), .reference("user_id", to: "users"), .name("role"), .timestamp("created_at"),
                    ],
                    primaryKey: ["team_id", "user_id"],
                    indexes: [.index("team_members_user", "user_id")]
                )
            ),
            .createTable(
                Table(
                    name: "namespaces",
                    columns: [
                        .id(), .name("name"), .name("kind"), .name("visibility"),
                        .reference("team_id", to: "teams", onDelete: .restrict, null: true),
                        .reference("owner_id", to: "users", onDelete: .restrict, null: true),
                        .text("description"), .timestamp("created_at"),
                    ],
                    indexes: [.unique("namespaces_name", "name"), .index("namespaces_team", "team_id"), .index("namespaces_owner", "owner_id")]
                )
            ),
            .createTable(
                Table(
                    name: "repositories",
                    columns: [
                        .id(), .reference("namespace_id", to: "namespaces"), .name("name"), .text("description"),
                        .timestamp("created_at"), .timestamp("updated_at"),
                    ],
                    indexes: [.unique("repositories_name", "name"), .index("repositories_namespace", "namespace_id", "name")]
                )
            ),
            .createTable(
                Table(
                    name: "tags",
                    columns: [
                        .id(), .reference("repository_id", to: "repositories"), .name("name"), .name("digest"), .name("media_type"),
                        .integer("size"), .name("config_digest", null: true), .text("platforms"),
                        .reference("pushed_by", to: "users", onDelete: .setNull, null: true), .timestamp("pushed_at"),
                        .timestamp("pulled_at", null: true),
                    ],
                    indexes: [
                        .unique("tags_repository_name", "repository_id", "name"), .index("tags_digest", "digest"),
                        .index("tags_repository_pushed", "repository_id", "pushed_at"),
                    ]
                )
            ),
            .createTable(
                Table(
                    name: "activities",
                    columns: [
                        .id(), .timestamp("created_at"), .reference("actor_id", to: "users", onDelete: .setNull, null: true),
                        .name("actor_name"), .name("action"), .name("target_kind"), .integer("target_id", null: true), .name("target_name"),
                        // No foreign key: the audit log outlives what it talks about.
                        .integer("namespace_id", null: true), .text("details"),
                    ],
                    indexes: [
                        .index("activities_time", "created_at"), .index("activities_namespace_time", "namespace_id", "created_at"),
                        .index("activities_actor_time", "actor_id", "created_at"),
                    ]
                )
            ),
            .createTable(
                Table(
                    name: "application_tokens",
                    columns: [
                        .id(), .reference("user_id", to: "users"), .name("application"), .name("token_hash"), .timestamp("created_at"),
                        .timestamp("last_used_at", null: true),
                    ],
                    indexes: [
                        .unique("application_tokens_hash", "token_hash"), .unique("application_tokens_user_application", "user_id", "application"),
                    ]
                )
            ),
            .createTable(
                Table(
                    name: "webhooks",
                    columns: [
                        .id(), .reference("namespace_id", to: "namespaces"), .text("url"), .name("username", null: true),
                        .name("password", null: true), .name("content_type"), .name("events"), .boolean("enabled"), .timestamp("created_at"),
                    ],
                    indexes: [.index("webhooks_namespace", "namespace_id")]
                )
            ),
            .createTable(
                Table(
                    name: "webhook_deliveries",
                    columns: [
                        .id(), .reference("webhook_id", to: "webhooks"), .name("uuid"), .name("event"), .text("request_body"),
                        .integer("response_status", null: true), .text("response_body", null: true), .integer("attempts", default: "0"),
                        .timestamp("created_at"), .timestamp("delivered_at", null: true),
                    ],
                    indexes: [.unique("webhook_deliveries_uuid", "uuid"), .index("webhook_deliveries_webhook_time", "webhook_id", "created_at")]
                )
            ),
            .createTable(
                Table(
                    name: "stars",
                    columns: [.reference("user_id", to: "users"), .reference("repository_id", to: "repositories"), .timestamp("created_at")],
                    primaryKey: ["user_id", "repository_id"],
                    indexes: [.index("stars_repository", "repository_id")]
                )
            ),
            .createTable(
                Table(
                    name: "comments",
                    columns: [
                        .id(), .reference("repository_id", to: "repositories"), .reference("user_id", to: "users"), .text("body"),
                        .timestamp("created_at"), .timestamp("updated_at"),
                    ],
                    indexes: [.index("comments_repository_time", "repository_id", "created_at")]
                )
            ),
            .createTable(
                Table(
                    name: "sessions",
                    columns: [
                        .name("id"), .reference("user_id", to: "users"), .text("data"), .timestamp("created_at"), .timestamp("expires_at"),
                        .timestamp("last_seen_at"),
                    ],
                    primaryKey: ["id"],
                    indexes: [.index("sessions_user", "user_id"), .index("sessions_expiry", "expires_at")]
                )
            ),
            .createTable(
                Table(
                    name: "settings",
                    columns: [.name("name"), .text("value"), .timestamp("updated_at")],
                    primaryKey: ["name"]
                )
            ),
        ]
    )

    /// What the registry's token auth needs: lockout counters on users, expiry on application tokens, and
    /// refresh tokens (`offline_token` / `access_type=offline`), stored as keyed hashes like application tokens;
    /// and the pusher's name on tags, which outlives a deleted user.
    static let tokenAuth = Migration(
        version: 2,
        name: "token auth",
        changes: [
            .addColumn(.integer("failed_logins", default: "0"), to: "users"),
            .addColumn(.timestamp("failed_since", null: true), to: "users"),
            .addColumn(.timestamp("locked_until", null: true), to: "users"),
            .addColumn(.timestamp("expires_at", null: true), to: "application_tokens"),
            .addColumn(.name("pushed_by_name", null: true), to: "tags"),
            .createTable(
                Table(
                    name: "refresh_tokens",
                    columns: [
                        .id(), .reference("user_id", to: "users"), .name("client_id"), .name("token_hash"), .timestamp("created_at"),
                        .timestamp("last_used_at", null: true),
                    ],
                    indexes: [.unique("refresh_tokens_hash", "token_hash"), .index("refresh_tokens_user", "user_id")]
                )
            ),
        ]
    )

    /// Refresh tokens remember the credential they were issued from (`app:ID`, `user:ID`), so revoking or
    /// expiring an application token ends the refresh tokens minted with it.
    static let credentialSources = Migration(
        version: 3,
        name: "refresh token sources",
        changes: [
            .addColumn(.name("source", null: true), to: "refresh_tokens"),
            .createIndex(.index("refresh_tokens_source", "source"), on: "refresh_tokens"),
        ]
    )

    /// The catalogue mirror and outgoing webhooks in the shape the registry fills them. Nothing before this version
    /// wrote repositories, tags, stars, comments or webhooks (they were tables waiting for this issue), so they are
    /// replaced rather than altered:
    /// - a repository no longer needs a namespace row (content written by distribution, with auth off, or in a
    ///   namespace nobody adopted yet is listed too); `namespace` is the name's first component, empty for the
    ///   global namespace, and `sort_key` is the name with `/` as a space, so `ORDER BY sort_key` is the tree order
    ///   of `/v2/_catalog` (`a`, `a/b`, `a-c`);
    /// - a tag carries the facts the portal shows (size of everything it references, config, platforms, who pushed)
    ///   and the modification time of its `current/link`, which is how a sync pass sees a tag moved by another
    ///   writer without reading it;
    /// - `referrers` holds the manifests that describe another one (OCI `subject`, cosign's `sha256-….sig` tags);
    /// - webhooks may be global (no namespace), carry a secret and headers, and their deliveries are a persistent
    ///   queue with one row per attempt.
    static let catalogueMirror = Migration(
        version: 4,
        name: "catalogue mirror and webhooks",
        changes: [
            .dropTable("webhook_deliveries"), .dropTable("webhooks"), .dropTable("comments"), .dropTable("stars"), .dropTable("tags"),
            .dropTable("repositories"),
            .createTable(
                Table(
                    name: "repositories",
                    columns: [
                        .id(), .name("name"), .name("sort_key"), .name("namespace"), .text("description"), .integer("tag_count", default: "0"),
                        .integer("size", default: "0"), .integer("star_count", default: "0"), .timestamp("pushed_at", null: true),
                        .integer("revisions_modified", default: "0"),
                        .timestamp("pulled_at", null: true), .timestamp("created_at"), .timestamp("updated_at"),
                    ],
                    indexes: [
                        .unique("repositories_name", "name"), .unique("repositories_sort", "sort_key"),
                        .index("repositories_namespace", "namespace", "sort_key"),
                    ]
                )
            ),
            .createTable(
                Table(
                    name: "tags",
                    columns: [
                        .id(), .reference("repository_id", to: "repositories"), .name("name"), .name("digest"), .name("media_type"),
                        .integer("size"), .name("config_digest", null: true), .timestamp("created", null: true), .name("os", null: true),
                        .name("architecture", null: true), .text("platforms"), .name("artifact_type", null: true),
                        .reference("pushed_by", to: "users", onDelete: .setNull, null: true), .name("pushed_by_name", null: true),
                        .timestamp("pushed_at"), .timestamp("pulled_at", null: true), .integer("link_modified", default: "0"),
                    ],
                    indexes: [
                        .unique("tags_repository_name", "repository_id", "name"), .index("tags_digest", "digest"),
                        .index("tags_repository_pushed", "repository_id", "pushed_at"),
                    ]
                )
            ),
            .createTable(
                Table(
                    name: "referrers",
                    columns: [
                        .reference("repository_id", to: "repositories"), .name("subject"), .name("digest"), .name("media_type"),
                        .name("artifact_type", null: true), .integer("size"), .name("tag", null: true), .timestamp("created_at"),
                    ],
                    primaryKey: ["repository_id", "subject", "digest"]
                )
            ),
            .createTable(
                Table(
                    name: "stars",
                    columns: [.reference("user_id", to: "users"), .reference("repository_id", to: "repositories"), .timestamp("created_at")],
                    primaryKey: ["user_id", "repository_id"],
                    indexes: [.index("stars_repository", "repository_id")]
                )
            ),
            .createTable(
                Table(
                    name: "comments",
                    columns: [
                        .id(), .reference("repository_id", to: "repositories"), .reference("user_id", to: "users"), .text("body"),
                        .timestamp("created_at"), .timestamp("updated_at"),
                    ],
                    indexes: [.index("comments_repository_time", "repository_id", "created_at")]
                )
            ),
            .createTable(
                Table(
                    name: "webhooks",
                    columns: [
                        .id(), .reference("namespace_id", to: "namespaces", null: true), .name("name"), .text("url"),
                        .name("username", null: true), .name("password", null: true), .name("secret"), .text("headers"),
                        .name("events"), .boolean("enabled"), .timestamp("created_at"), .timestamp("updated_at"),
                    ],
                    indexes: [.unique("webhooks_name", "namespace_id", "name"), .index("webhooks_namespace", "namespace_id")]
                )
            ),
            .createTable(
                Table(
                    name: "webhook_deliveries",
                    columns: [
                        .id(), .reference("webhook_id", to: "webhooks"), .name("uuid"), .name("event"), .text("request_body"),
                        .name("state"), .integer("attempts", default: "0"), .timestamp("next_attempt_at", null: true),
                        .integer("response_status", null: true), .timestamp("created_at"), .timestamp("delivered_at", null: true),
                    ],
                    indexes: [
                        .unique("webhook_deliveries_uuid", "uuid"), .index("webhook_deliveries_webhook_time", "webhook_id", "created_at"),
                        .index("webhook_deliveries_due", "state", "next_attempt_at"),
                    ]
                )
            ),
            .createTable(
                Table(
                    name: "webhook_attempts",
                    columns: [
                        .id(), .reference("delivery_id", to: "webhook_deliveries"), .integer("number"), .timestamp("started_at"),
                        .integer("duration_ms"), .integer("status", null: true), .text("error", null: true), .text("request_headers"),
                        .text("response_headers"), .text("response_body"),
                    ],
                    indexes: [.index("webhook_attempts_delivery", "delivery_id", "number")]
                )
            ),
        ]
    )

    /// Scoped tokens for machines (Harbor's robot accounts, Kubernetes pull secrets): a secret limited to pull, or
    /// pull and push, on the repositories of one namespace that match a pattern, until it expires. Stored as a keyed
    /// hash like application tokens; the namespace's deletion takes its tokens with it, a creator's only blanks
    /// `created_by` (the name stays).
    static let scopedTokens = Migration(
        version: 5,
        name: "scoped tokens",
        changes: [
            .createTable(
                Table(
                    name: "scoped_tokens",
                    columns: [
                        .id(), .reference("namespace_id", to: "namespaces"), .name("name"), .name("repositories"), .name("actions"),
                        .name("token_hash"), .timestamp("expires_at"), .reference("created_by", to: "users", onDelete: .setNull, null: true),
                        .name("created_by_name"), .timestamp("created_at"), .timestamp("last_used_at", null: true),
                    ],
                    indexes: [.unique("scoped_tokens_hash", "token_hash"), .unique("scoped_tokens_namespace_name", "namespace_id", "name")]
                )
            )
        ]
    )

    /// What the API's and the portal's reads of the catalogue need: a repository's tags grouped by digest read one
    /// index in digest order (a page of 5,000 tags groups without a temporary table), and the tag search's prefix
    /// part is a range of an index on tag names instead of a scan of every tag.
    static let catalogueQueries = Migration(
        version: 6,
        name: "catalogue queries",
        changes: [
            .createIndex(.index("tags_repository_digest", "repository_id", "digest", "pushed_at"), on: "tags"),
            .createIndex(.index("tags_name", "name"), on: "tags"),
        ]
    )

    /// What LDAP needs: a user is found by the entry it is linked to (`directory_key`, the SHA-256 of the DN in
    /// lower case: a DN may be longer than an indexable name), and a team membership remembers whether group sync
    /// made it (`from_directory`), so that sync removes only what it added and never a manual member.
    static let directoryAccounts = Migration(
        version: 7,
        name: "directory accounts",
        changes: [
            .addColumn(.name("directory_key", null: true), to: "users"),
            .createIndex(.unique("users_directory_key", "directory_key"), on: "users"),
            .addColumn(.boolean("from_directory"), to: "team_members"),
        ]
    )

    /// Retention: one policy per namespace plus the global default (no namespace). `scope` is `global` or
    /// `namespace:<id>` so that the database, not a read before the write, keeps the global row unique (a unique
    /// index lets several NULL namespaces in). Patterns are text: a regular expression may be long.
    static let retentionPolicies = Migration(
        version: 8,
        name: "retention policies",
        changes: [
            .createTable(
                Table(
                    name: "retention_policies",
                    columns: [
                        .id(), .name("scope"), .reference("namespace_id", to: "namespaces", null: true), .boolean("enabled"),
                        .integer("keep_latest", null: true), .integer("older_than_days", null: true), .text("tag_match", null: true),
                        .text("tag_exclude", null: true), .integer("untagged_older_than_days", null: true), .text("protected", null: true),
                        .text("immutable", null: true), .name("updated_by"), .timestamp("updated_at"),
                    ],
                    indexes: [.unique("retention_policies_scope", "scope"), .index("retention_policies_namespace", "namespace_id")]
                )
            )
        ]
    )

    /// Garbage collection's record and its lock: one row per run (whoever started it, what it found and removed,
    /// how it ended), and the lease that lets one replica at a time collect. The lease is a single row per name,
    /// taken by a conditional `UPDATE` (free or expired) so two replicas racing for it cannot both win on either
    /// engine; `expires_at` lets another replica take over from one that crashed.
    static let garbageCollectionRuns = Migration(
        version: 9,
        name: "garbage collection runs",
        changes: [
            .createTable(
                Table(
                    name: "gc_runs",
                    columns: [
                        .id(), .timestamp("started_at"), .timestamp("finished_at", null: true), .name("trigger_kind"), .name("requested_by"),
                        .boolean("dry_run"), .boolean("untagged"), .integer("min_age_seconds", default: "0"), .name("status"), .name("host"),
                        .integer("blobs", default: "0"), .integer("bytes", default: "0"), .integer("eligible_blobs", default: "0"),
                        .integer("eligible_bytes", default: "0"), .integer("kept_blobs", default: "0"), .integer("kept_bytes", default: "0"),
                        .text("kept"), .integer("reclaimed_blobs", default: "0"), .integer("reclaimed_bytes", default: "0"),
                        .integer("removed_layer_links", default: "0"), .integer("removed_manifests", default: "0"),
                        .integer("rescued_blobs", default: "0"), .integer("missing_blobs", default: "0"), .integer("repositories", default: "0"),
                        .integer("manifests", default: "0"), .integer("untagged_manifests", default: "0"), .integer("duration_ms", default: "0"),
                        .text("details"), .text("error", null: true),
                    ],
                    indexes: [.index("gc_runs_started", "started_at"), .index("gc_runs_status", "status")]
                )
            ),
            .createTable(
                Table(
                    name: "gc_leases",
                    columns: [
                        .name("name"), .name("holder"), .name("host"), .integer("run_id", null: true), .timestamp("acquired_at"),
                        .timestamp("renewed_at"), .timestamp("expires_at"),
                    ],
                    primaryKey: ["name"]
                )
            ),
        ]
    )
}
