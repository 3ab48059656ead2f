import Foundation
import Testing

@testable import WharfDatabase

@Suite struct MigrationTests {
    /// Two processes starting at once against one database: both end at the latest version, each migration is
    /// applied once.
    @Test(arguments: TestBackend.allCases)
    func concurrentStartsApplyEachMigrationOnce(_ backend: TestBackend) async throws {
        try await withEmptyLocation(backend) { location in
            let pools = (0..<3).map { _ in DatabasePool(location: location, logger: testLogger) }
            let results = try await withThrowingTaskGroup(of: (from: Int, to: Int).self) { group in
                for pool in pools { group.addTask { try await pool.prepare() } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let latest = Migrator().latestVersion
            #expect(results.allSatisfy { $0.to == latest })
            #expect(results.filter { $0.from == 0 }.count == 1, "\(results)")
            let versions = try await pools[0].read {
                try $0.query("SELECT version FROM schema_migrations ORDER BY version").map { try $0.decode("version", as: Int.self) }
            }
            #expect(versions == Migration.all.map(\.version))
            for pool in pools { await pool.close() }
        }
    }

    /// A later migration applies on top of an existing schema, once.
    @Test(arguments: TestBackend.allCases)
    func aNewMigrationAppliesOnTop(_ backend: TestBackend) async throws {
        try await withEmptyLocation(backend) { location in
            let latest = Migrator().latestVersion
            let first = DatabasePool(location: location, logger: testLogger)
            #expect(try await first.prepare() == (0, latest))
            try await first.write { _ = try $0.users.create(NewUser(name: "kept")) }
            await first.close()

            let extra = Migration(
                version: latest + 1,
                name: "test table",
                changes: [
                    .createTable(Table(name: "test_extra", columns: [.id(), .name("label")], indexes: [.unique("test_extra_label", "label")])),
                    .createIndex(.index("users_created", "created_at"), on: "users"),
                    .addColumn(.name("test_note", null: true), to: "users"),
                ]
            )
            let second = DatabasePool(backend: location.makeBackend(), migrator: Migrator(migrations: Migration.all + [extra]), logger: testLogger)
            #expect(try await second.prepare() == (latest, latest + 1))
            #expect(try await second.prepare() == (latest + 1, latest + 1))
            _ = try await second.write { try $0.execute("INSERT INTO test_extra (label) VALUES (?)", ["x"]) }
            #expect(try await second.read { try $0.users.find(name: "kept") } != nil)
            #expect(try await second.read { try $0.query("SELECT test_note FROM users WHERE name = ?", ["kept"]).count } == 1)
            #expect(try await second.check().schemaVersion == latest + 1)
            await second.close()

            // The older binary refuses a schema it does not know rather than run against it.
            let older = DatabasePool(location: location, logger: testLogger)
            let error = await expectDatabaseError(.migration) { try await older.prepare() }
            #expect(error?.message.contains("version \(latest + 1)") == true)
            #expect(older.health.isReady == false)
            await older.close()
        }
    }

    /// A database written by the first schema (an earlier Wharf) upgrades in place: its users keep their rows and
    /// get the new columns' defaults.
    @Test(arguments: TestBackend.allCases)
    func theTokenAuthMigrationUpgradesAVersionOneDatabase(_ backend: TestBackend) async throws {
        try await withEmptyLocation(backend) { location in
            let old = DatabasePool(backend: location.makeBackend(), migrator: Migrator(migrations: [Migration.portalSchema]), logger: testLogger)
            #expect(try await old.prepare() == (0, 1))
            // The old schema's columns only (today's store would read the new ones back).
            _ = try await old.write {
                try $0.execute(
                    "INSERT INTO users (name, password_hash, is_admin, is_bot, enabled, created_at, updated_at) VALUES (?, ?, 0, 0, 1, 0, 0)",
                    ["veteran", "x"]
                )
            }
            await old.close()

            let upgraded = DatabasePool(location: location, logger: testLogger)
            #expect(try await upgraded.prepare() == (1, Migrator().latestVersion))
            let user = try #require(try await upgraded.read { try $0.users.find(name: "veteran") })
            #expect(user.failedLogins == 0 && user.lockedUntil == nil && user.passwordHash == "x")
            await upgraded.close()
        }
    }

    /// A version-2 database with refresh tokens upgrades in place: the tokens stay, with no recorded source (they
    /// keep working; a password change still ends them), and new ones record theirs.
    @Test(arguments: TestBackend.allCases)
    func refreshTokenSourcesUpgradeAVersionTwoDatabase(_ backend: TestBackend) async throws {
        try await withEmptyLocation(backend) { location in
            let old = DatabasePool(
                backend: location.makeBackend(),
                migrator: Migrator(migrations: [Migration.portalSchema, Migration.tokenAuth]),
                logger: testLogger
            )
            #expect(try await old.prepare() == (0, 2))
            _ = try await old.write { transaction in
                try transaction.execute(
                    "INSERT INTO users (name, password_hash, is_admin, is_bot, enabled, created_at, updated_at) VALUES (?, ?, 0, 0, 1, 0, 0)",
                    ["veteran", "x"]
                )
                try transaction.execute(
                    "INSERT INTO refresh_tokens (user_id, client_id, token_hash, created_at) VALUES ((SELECT id FROM users WHERE name = ?), ?, ?, 0)",
                    ["veteran", "docker", "old-hash"]
                )
            }
            await old.close()

            let upgraded = DatabasePool(location: location, logger: testLogger)
            #expect(try await upgraded.prepare() == (2, Migrator().latestVersion))
            let kept = try #require(try await upgraded.read { try $0.refreshTokens.find(hash: "old-hash") })
            #expect(kept.source == nil && kept.clientID == "docker")
            let fresh = try await upgraded.write {
                try $0.refreshTokens.create(userID: kept.userID, clientID: "ci", tokenHash: "new-hash", source: "app:7")
            }
            #expect(fresh.source == "app:7")
            #expect(try await upgraded.write { try $0.refreshTokens.deleteAll(source: "app:7") } == 1)
            await upgraded.close()
        }
    }

    @Test func bothDialectsRenderTheSameTables() {
        for dialect in [SQLDialect.sqlite, .mysql] {
            let statements = Migration.portalSchema.statements(for: dialect)
            for table in [
                "users", "teams", "team_members", "namespaces", "repositories", "tags", "activities", "application_tokens", "webhooks",
                "webhook_deliveries", "stars", "comments", "sessions", "settings",
            ] {
                #expect(statements.contains { $0.hasPrefix("CREATE TABLE IF NOT EXISTS \(table) (") }, "\(dialect) \(table)")
            }
        }
        let mysql = Migration.portalSchema.statements(for: .mysql)
        #expect(mysql.allSatisfy { $0.hasSuffix("ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin") })
        #expect(mysql.contains { $0.contains("CONSTRAINT fk_tags_pushed_by FOREIGN KEY (pushed_by) REFERENCES users (id) ON DELETE SET NULL") })
        #expect(Migration.portalSchema.statements(for: .sqlite).contains("CREATE UNIQUE INDEX IF NOT EXISTS users_name ON users (name)"))
    }

    func withEmptyLocation(_ backend: TestBackend, _ body: (DatabaseLocation) async throws -> Void) async throws {
        switch backend {
        case .sqlite:
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-migrate-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: folder) }
            try await body(.sqlite(path: folder + "/wharf.sqlite", poolSize: 2))
        case .mariadb:
            try await withMariaDBDatabase(server: try await TestMariaDB.shared()) { try await body(.mysql($0)) }
        }
    }
}

@Suite struct DatabaseLocationTests {
    @Test func parsesSQLiteAndMySQLURLs() throws {
        #expect(try DatabaseLocation.parse("sqlite:///srv/wharf/wharf.sqlite") == .sqlite(path: "/srv/wharf/wharf.sqlite", poolSize: 4))
        #expect(try DatabaseLocation.parse("sqlite://data/w.sqlite?pool=2") == .sqlite(path: "data/w.sqlite", poolSize: 2))
        let parsed = try DatabaseLocation.parse(
            "mariadb://wharf:p%40ss%3Aw0rd@db.example.com:3307/wharf?pool=20&tls=verify&tls_ca=/etc/ca.pem&connect_timeout=3s&read_timeout=60"
        )
        guard case .mysql(let mysql) = parsed else {
            Issue.record("not mysql")
            return
        }
        #expect(mysql.host == "db.example.com" && mysql.port == 3307 && mysql.user == "wharf" && mysql.password == "p@ss:w0rd")
        #expect(mysql.database == "wharf" && mysql.poolSize == 20 && mysql.tls == .verify && mysql.tlsCA == "/etc/ca.pem")
        #expect(mysql.connectTimeout == .seconds(3) && mysql.readTimeout == .seconds(60) && mysql.writeTimeout == .seconds(30))
        #expect(parsed.description == "mysql://wharf:***@db.example.com:3307/wharf")
        guard case .mysql(let defaults) = try DatabaseLocation.parse("mysql://root@localhost/db") else { return }
        #expect(defaults.port == 3306 && defaults.password == nil && defaults.poolSize == 10 && defaults.tls == .off)
    }

    @Test func errorsNeverRepeatThePassword() {
        let bad = [
            "postgres://u:s3cret@h/db", "mysql://u:s3cret@h", "mysql://:s3cret@h/db", "mysql://u:s3cret@h/db?pool=0",
            "mysql://u:s3cret@h/db?colour=blue",
            "mysql://u:s3cret@h/db?tls=maybe", "s3cret", "sqlite://", "mysql://u:s3cret@h:99999/db",
        ]
        for url in bad {
            let error = #expect(throws: DatabaseError.self) { try DatabaseLocation.parse(url) }
            #expect(error?.code == .configuration)
            #expect(error?.message.hasPrefix("database.url:") == true, "\(error?.message ?? "")")
            #expect(error?.message.contains("s3cret") == false, "\(error?.message ?? "")")
        }
    }
}
