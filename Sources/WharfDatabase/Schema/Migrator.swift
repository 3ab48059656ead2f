/// Applies the pending migrations under the backend's migration lock, so that when two processes start at once
/// against one database, one applies and the other waits, then finds nothing left to do.
struct Migrator: Sendable {
    var migrations: [Migration] = Migration.all

    var latestVersion: Int { migrations.last?.version ?? 0 }

    static let versionTable = Table(
        name: "schema_migrations",
        columns: [.integer("version"), .name("name"), .timestamp("applied_at")],
        primaryKey: ["version"]
    )

    /// Brings the schema up to `latestVersion`; returns the version before and after. Blocking.
    func migrate(_ connection: any SQLConnection, backend: any SQLBackend, now: Int64) throws -> (from: Int, to: Int) {
        try backend.withMigrationLock(on: connection) {
            for statement in backend.dialect.createTable(Self.versionTable) { try connection.execute(statement, []) }
            let current = try appliedVersion(connection)
            guard current <= latestVersion else {
                throw DatabaseError(.migration, "the database schema is at version \(current), newer than this Wharf knows (\(latestVersion))")
            }
            for migration in migrations where migration.version > current {
                do {
                    for statement in migration.statements(for: backend.dialect) { try connection.execute(statement, []) }
                } catch let error as DatabaseError where error.code != .unavailable {
                    throw DatabaseError(.migration, "migration \(migration.version) (\(migration.name)) failed: \(error.message)")
                }
                try connection.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    [.integer(Int64(migration.version)), .text(migration.name), .integer(now)]
                )
            }
            return (current, max(current, latestVersion))
        }
    }

    /// The version recorded in the database; 0 for an empty database.
    func schemaVersion(_ connection: any SQLConnection, dialect: SQLDialect) throws -> Int {
        guard try !connection.query(dialect.tableExists, [.text(Self.versionTable.name)]).isEmpty else { return 0 }
        return try appliedVersion(connection)
    }

    private func appliedVersion(_ connection: any SQLConnection) throws -> Int {
        let rows = try connection.query("SELECT MAX(version) AS version FROM schema_migrations", [])
        return try rows.first?.decode("version", as: Int?.self) ?? 0
    }
}
