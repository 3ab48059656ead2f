import ArgumentParser
import Foundation
import Logging
import WharfDatabase
import WharfServer
import WharfStorage
import WharfSync

struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Compare the catalogue with storage once and repair it; print what changed.",
        discussion: """
            `wharf serve` does this at start-up and every `sync.interval`; run it after restoring or copying a \
            registry folder to see the result at once. Safe while servers run: they share the database.
            """
    )

    @OptionGroup var options: ConfigurationOptions
    @Flag(help: "Print the report as JSON.") var json = false

    func run() async throws {
        try await failing {
            let configuration = try options.load()
            let report = try await withDatabase(options) { pool in
                _ = try await pool.prepare()
                let driver = FilesystemDriver(root: configuration.registryDirectory, durable: configuration.storageFsync)
                var logger = Logger(label: "wharf.sync")
                logger.logLevel = .warning
                let scheduler = SyncScheduler(mirror: CatalogMirror(pool: pool, driver: driver, logger: logger), logger: logger)
                return try await scheduler.syncNow()
            }
            let seconds = Double(report.duration.components.seconds) + Double(report.duration.components.attoseconds) / 1e18
            if json {
                let object: [String: Any] = [
                    "repositories": report.repositories, "tags": report.tags, "repositories_added": report.repositoriesAdded,
                    "repositories_removed": report.repositoriesRemoved, "tags_written": report.tagsWritten, "tags_removed": report.tagsRemoved,
                    "seconds": (seconds * 1000).rounded() / 1000,
                ]
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            } else {
                print(
                    "\(report.repositories) repositories, \(report.tags) tags in storage; "
                        + "repositories +\(report.repositoriesAdded) -\(report.repositoriesRemoved), "
                        + "tags written \(report.tagsWritten), removed \(report.tagsRemoved) "
                        + "in \(String(format: "%.2f", seconds)) s"
                )
            }
        }
    }
}
