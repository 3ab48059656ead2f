import ArgumentParser
import Foundation
import WharfCore
import WharfServer
import WharfStorage

struct ScrubCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scrub",
        abstract: "Re-hash stored blobs against their digests; report missing and corrupt ones.",
        discussion: """
            Reads every blob under the data folder's registry/ (with --repository, only those the repository's \
            manifests and layer links name) and compares its hash with its digest. --deep also decompresses each \
            image's gzip layers and compares them with the config's rootfs.diff_ids (zstd layers, foreign layers and \
            artifacts are reported as skipped). Exits 1 when anything is missing or corrupt.

            Safe while servers run: it only reads, and a blob being uploaded is never in blobs/ until it is complete \
            and verified. --quarantine moves each corrupt blob's data to <data>/quarantine/<digest>-<time> (one \
            rename; nothing is ever deleted), after which the registry answers BLOB_UNKNOWN for it and clients fail \
            cleanly; push the image again to repair it.
            """
    )

    @OptionGroup var options: ConfigurationOptions
    @Option(help: "Only the blobs this repository references.") var repository: String?
    @Flag(help: "Also check that gzip layers decompress to their config's diff_ids.") var deep = false
    @Flag(help: "Move corrupt blobs to <data>/quarantine (never deletes).") var quarantine = false
    @Flag(help: "Print the report as JSON.") var json = false

    func validate() throws {
        if let repository, (try? RepositoryName(repository)) == nil {
            throw ValidationError("'\(repository)' is not a repository name")
        }
    }

    func run() async throws {
        let report = try await failing {
            let configuration = try options.load()
            let driver = FilesystemDriver(root: configuration.registryDirectory, durable: configuration.storageFsync)
            let scrubber = Scrubber(
                driver: driver,
                quarantine: BlobQuarantine(storageRoot: configuration.registryDirectory, folder: configuration.dataDirectory + "/quarantine")
            )
            return try await scrubber.run(ScrubOptions(repository: try repository.map { try RepositoryName($0) }, deep: deep, quarantine: quarantine))
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(Self.summary(report, deep: deep))
            for finding in report.findings { print(Self.line(finding)) }
        }
        guard report.isClean else {
            FileHandle.standardError.write(Data("wharf: scrub found \(report.missing) missing and \(report.corrupt) corrupt blobs\n".utf8))
            throw ExitCode.failure
        }
    }

    static func summary(_ report: ScrubReport, deep: Bool) -> String {
        let megabytes = Double(report.bytes) / 1e6
        var text = "\(report.blobsChecked) blobs, \(String(format: "%.1f", megabytes)) MB checked in \(String(format: "%.2f", report.seconds)) s"
        if deep {
            let uncompressed = Double(report.uncompressedBytes) / 1e6
            text += " (\(report.layersDecompressed) gzip layers decompressed, \(String(format: "%.1f", uncompressed)) MB)"
        } else if report.seconds > 0 {
            text += " (\(String(format: "%.0f", megabytes / report.seconds)) MB/s)"
        }
        return text
            + ": \(report.ok) ok, \(report.missing) missing, \(report.corrupt) corrupt, \(report.skipped) skipped, "
            + "\(report.quarantined) quarantined"
    }

    /// One line per finding: kind, digest, what is wrong, who references it.
    static func line(_ finding: ScrubFinding) -> String {
        var text = "\(finding.kind.rawValue) \(finding.digest): \(finding.detail)"
        if let moved = finding.quarantinedTo { text += "; moved to \(moved)" }
        if !finding.references.isEmpty {
            let shown = finding.references.prefix(5).joined(separator: ", ")
            text += " [\(shown)\(finding.references.count > 5 ? ", and \(finding.references.count - 5) more" : "")]"
        }
        return text
    }
}
