import ArgumentParser
import Foundation
import Logging
import WharfDatabase
import WharfServer
import WharfStorage
import WharfSync

struct GCCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Garbage collection: delete the blobs nothing references any more (or, with --dry-run, list them).",
        discussion: """
            Marks from every repository's tags (and, without --untagged, every manifest revision): index children, \
            referrers (signatures, SBOMs, attestations) of kept manifests, configs and layers. Prints how many blobs \
            and bytes are stored, kept (by reason) and eligible for deletion, and one line per eligible blob. Anything \
            written within --min-age is kept. A dry run deletes nothing (it reads storage and records the run). A real run deletes while servers run and \
            pushes go on: anything a push links meanwhile is kept.

            Every run takes the database's garbage collection lease, so one runs at a time across replicas sharing \
            the database (a run while another holds it is refused, naming it), and is recorded: the portal's \
            Garbage collection page and /api/v1/gc/runs list it.
            """
    )

    @OptionGroup var options: ConfigurationOptions
    @Flag(help: "Only report what would be deleted.") var dryRun = false
    @Flag(help: "Also collect manifests no tag reaches (index children and referrers of kept ones stay).") var untagged = false
    @Option(help: "Keep anything written more recently than this (90s, 15m, 1h, 0; default gc.min_age, 1h).") var minAge: String?
    @Flag(help: "Also list every kept blob with its reason.") var kept = false
    @Flag(help: "Print the report as JSON.") var json = false

    func validate() throws {
        if let minAge { _ = try Self.seconds(minAge) }
    }

    /// `0` or a duration (`90s`, `15m`, `1h`, `7d`) in seconds.
    static func seconds(_ text: String) throws -> Double {
        if text == "0" || text == "0s" { return 0 }
        guard let duration = try? ConfigurationKey.parseDuration(text) else {
            throw ValidationError("--min-age: expected a duration like 1h or 0, got \(text)")
        }
        return Double(duration.components.seconds)
    }

    func run() async throws {
        let outcome = try await failing {
            let configuration = try options.load()
            let grace = try minAge.map(Self.seconds) ?? Double(configuration.gcMinAge.components.seconds)
            return try await withDatabase(options) { pool in
                _ = try await pool.prepare()
                let driver = FilesystemDriver(root: configuration.registryDirectory, durable: configuration.storageFsync)
                var logger = Logger(label: "wharf.gc")
                // The command prints the run (or its failure, as its one line) itself.
                logger.logLevel = .critical
                let catalog = CatalogMirror(
                    pool: pool,
                    driver: driver,
                    webhookSource: WebhookEnvelope.Source(addr: ProcessInfo.processInfo.hostName),
                    logger: logger
                )
                let runner = GCRunner(catalog: catalog, events: EventBus(logger: logger), logger: logger)
                let request = GCRunRequest(trigger: .cli, requestedBy: "cli", dryRun: dryRun, untagged: untagged, minAge: grace, listKept: kept)
                let outcome = try await runner.run(request)
                if outcome.run.status == .failed {
                    throw GCRunError(.failed, "garbage collection failed (run \(outcome.run.id)): \(outcome.run.error ?? "unknown error")")
                }
                return outcome
            }
        }
        guard let report = outcome.report else { return }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            var object = try JSONSerialization.jsonObject(with: try encoder.encode(report)) as? [String: Any] ?? [:]
            object["run_id"] = outcome.run.id
            print(
                String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
            )
            return
        }
        for line in Self.summary(report) { print(line) }
        for blob in report.eligible {
            var line = "eligible \(blob.digest) \(blob.bytes) bytes"
            if !blob.layerLinks.isEmpty { line += " [layer links: \(blob.layerLinks.joined(separator: ", "))]" }
            print(line)
        }
        for manifest in report.eligibleManifests {
            print("eligible manifest \(manifest.repository)@\(manifest.digest) \(manifest.bytes) bytes")
        }
        for blob in report.keptBlobList {
            print("kept \(blob.digest) \(blob.bytes) bytes: \(blob.reason.map { "\($0.kind.rawValue): \($0.detail)" } ?? "")")
        }
        if !report.dryRun {
            for manifest in report.removedManifests {
                print("removed manifest \(manifest.repository)@\(manifest.digest) \(manifest.bytes) bytes")
            }
            print("recorded as garbage collection run \(outcome.run.id)")
        }
    }

    static func summary(_ report: GCReport) -> [String] {
        func size(_ bytes: Int64) -> String { String(format: "%.1f MB", Double(bytes) / 1e6) }
        var lines = [
            "\(report.dryRun ? "dry run" : "collected"): \(report.blobs) blobs, \(size(report.bytes)) in \(report.repositories) repositories, "
                + "\(report.manifests) manifest revisions (\(String(format: "%.2f", report.seconds)) s)",
            "eligible for deletion: \(report.eligibleBlobs) blobs, \(size(report.eligibleBytes)), \(report.eligibleLayerLinks) layer links",
            "kept: \(report.keptBlobs) blobs, \(size(report.keptBytes))"
                + report.kept.map { "; \($0.reason.rawValue) \($0.blobs) (\(size($0.bytes)))" }.joined(),
        ]
        let untaggedBytes = report.untaggedManifests.reduce(Int64(0)) { $0 + $1.bytes }
        lines.append(
            report.untagged
                ? "untagged manifests eligible: \(report.untaggedManifests.count) (\(size(untaggedBytes)))"
                : "untagged manifests: \(report.untaggedManifests.count), kept (eligible with --untagged)"
        )
        if !report.dryRun {
            lines.append(
                "reclaimed: \(report.reclaimedBlobs) blobs, \(size(report.reclaimedBytes)), \(report.removedLayerLinks) layer links, "
                    + "\(report.removedManifests.count) untagged manifests; rescued \(report.rescuedBlobs) blobs a push linked meanwhile"
            )
        }
        if report.missing > 0 { lines.append("missing: \(report.missing) referenced blobs are not in storage (see wharf scrub)") }
        return lines
    }
}
