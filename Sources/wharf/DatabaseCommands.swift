import ArgumentParser
import Logging
import WharfDatabase
import WharfServer

/// Opens the configured database for one command and closes it afterwards, whatever happens.
func withDatabase<T>(_ options: ConfigurationOptions, _ body: (DatabasePool) async throws -> T) async throws -> T {
    let configuration = try options.load()
    var logger = Logger(label: "wharf")
    // The command prints its own result; the pool's informational lines would only repeat it.
    logger.logLevel = max(Logger.Level(rawValue: configuration.logLevel) ?? .info, .warning)
    let pool = DatabasePool(location: configuration.databaseLocation, logger: logger)
    do {
        let result = try await body(pool)
        await pool.close()
        return result
    } catch {
        await pool.close()
        throw error
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply pending database migrations and print the schema version.",
        discussion: "Safe to run while other Wharf processes start: migrations are applied once, under a lock."
    )

    @OptionGroup var options: ConfigurationOptions

    func run() async throws {
        try await failing {
            try await withDatabase(options) { pool in
                let versions = try await pool.prepare()
                if versions.from == versions.to {
                    print("schema version \(versions.to) (up to date) in \(pool.backend.displayName)")
                } else {
                    print("schema version \(versions.to) (migrated from \(versions.from)) in \(pool.backend.displayName)")
                }
            }
        }
    }
}

struct Database: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "db", abstract: "Inspect the database.", subcommands: [Check.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Connect and report backend, server version, schema version and pool state.",
            discussion: "Exits 1 when the database cannot be reached or its schema is not at this Wharf's version."
        )

        @OptionGroup var options: ConfigurationOptions

        func run() async throws {
            try await failing {
                let report = try await withDatabase(options) { try await $0.check() }
                print("backend: \(report.backend.rawValue) (\(report.location))")
                print("server: \(report.serverVersion)")
                print("schema: version \(report.schemaVersion) of \(report.latestSchemaVersion)")
                print("pool: \(report.pool)")
                if report.schemaVersion != report.latestSchemaVersion {
                    throw DatabaseError(
                        .migration,
                        report.schemaVersion < report.latestSchemaVersion
                            ? "schema version \(report.schemaVersion) is behind \(report.latestSchemaVersion): run wharf migrate"
                            : "schema version \(report.schemaVersion) is newer than this Wharf (\(report.latestSchemaVersion))"
                    )
                }
            }
        }
    }
}
