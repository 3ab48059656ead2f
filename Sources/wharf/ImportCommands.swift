import ArgumentParser
import Foundation
import Logging
import WharfAuth
import WharfDatabase
import WharfServer
import WharfStorage
import WharfSync

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import people and settings from another registry's portal.",
        subcommands: [Portus.self, PortusConfig.self]
    )

    struct Portus: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "portus",
            abstract: "Import Portus's users, teams with their members and namespaces from its MySQL/MariaDB database.",
            discussion: """
                Portus's database is only read. Records are matched by name, so running the import again changes \
                nothing; --dry-run prints what would be created, changed or skipped without writing. Repositories and \
                tags come from storage (point registry/ at the old registry's folder), not from Portus; namespaces there \
                that end up without an owner are listed with the command that adopts them.
                """
        )

        @OptionGroup var options: ConfigurationOptions

        @Option(name: .long, help: "Portus's database: mysql://user:password@host:3306/portus_production.")
        var database: String

        @Flag(name: .long, help: "Print what would be imported; write nothing.")
        var dryRun = false

        @Flag(name: .long, help: "Also import Portus's activities as history (dated as in Portus; each once).")
        var withActivities = false

        func run() async throws {
            try await failing {
                let location: DatabaseLocation
                do {
                    location = try DatabaseLocation.parse(database)
                } catch let error as DatabaseError {
                    // The parser names the setting it usually reads; here the URL came from --database.
                    throw ValidationError("--database: " + error.message.replacingOccurrences(of: "database.url: ", with: ""))
                }
                guard case .mysql = location else { throw ValidationError("--database must be a mysql:// URL (Portus runs on MySQL or MariaDB)") }
                var logger = Logger(label: "wharf")
                logger.logLevel = .warning
                let started = ContinuousClock.now
                let portus = DatabasePool(location: location, logger: logger)
                let snapshot: PortusSnapshot
                do {
                    var read = try await PortusSnapshot.read(from: portus)
                    if withActivities { read.activities = try await PortusSnapshot.readActivities(from: portus) }
                    snapshot = read
                    await portus.close()
                } catch {
                    await portus.close()
                    throw ValidationError("reading Portus's database \(location): \(error)")
                }
                let configuration = try options.load()
                let report = try await withDatabase(options) { pool in
                    _ = try await pool.prepare()
                    let storage = FilesystemDriver(root: configuration.registryDirectory, durable: configuration.storageFsync)
                    var report = try await PortusImporter(
                        pool: pool,
                        reservedNames: [configuration.serviceAccount],
                        content: NamespaceContent(driver: storage)
                    ).run(snapshot, dryRun: dryRun)
                    let webhooks = WebhookService(
                        pool: pool,
                        targets: WebhookTargetGuard(allowedNetworks: configuration.webhookAllowedNetworks),
                        timeout: configuration.webhookTimeout,
                        source: WebhookEnvelope.Source(addr: ProcessInfo.processInfo.hostName)
                    )
                    report.append(contentsOf: try await PortusWebhookImport(pool: pool, webhooks: webhooks).run(snapshot, dryRun: dryRun))
                    return report
                }
                print(report.text)
                let elapsed = ContinuousClock.now - started
                print("took \(elapsed.formatted(.units(allowed: [.seconds, .milliseconds], width: .narrow)))")
            }
        }
    }

    struct PortusConfig: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "portus-config",
            abstract: "Print Portus's settings (config.yml, config-local.yml, PORTUS_* variables) as Wharf configuration.",
            discussion: """
                Give Portus's config/config.yml, then config/config-local.yml if it has one (later files win; settings a \
                file leaves out keep Portus's defaults). The output is a YAML file for wharf --config: each value says \
                which Portus setting it comes from, and the end lists the settings Wharf has no equivalent for, with \
                what to do. Check the LDAP part with wharf ldap check.
                """
        )

        @Argument(help: "Portus's config.yml, then config-local.yml.")
        var paths: [String]

        @Flag(name: .long, help: "Also apply this process's PORTUS_* environment variables over the files, as Portus does.")
        var environment = false

        func validate() throws {
            guard !paths.isEmpty else { throw ValidationError("give Portus's config.yml (and config-local.yml)") }
        }

        func run() async throws {
            try await failing {
                let settings = try PortusSettings.read(files: paths, environment: environment ? ProcessInfo.processInfo.environment : nil)
                print(PortusConfigTranslation(settings).yaml, terminator: "")
            }
        }
    }
}
