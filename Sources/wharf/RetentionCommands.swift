import ArgumentParser
import Foundation
import Logging
import WharfCore
import WharfDatabase
import WharfServer
import WharfStorage
import WharfSync

/// `wharf retention`: the policies that remove old tags and untagged manifests, and their runs.
struct RetentionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention",
        abstract: "Show, set, clear and run retention policies (per namespace, and a global default).",
        discussion: """
            A namespace's own policy applies to it, else the global default. Tags matching `protected` or \
            `immutable` are never removed; cosign signatures and OCI referrers go with what they describe.
            """,
        subcommands: [Show.self, SetPolicy.self, Clear.self, Run.self]
    )

    /// The service on the folder and database the options name; webhook rows are queued for the servers to send.
    static func withService<T>(_ options: ConfigurationOptions, _ body: (RetentionService) async throws -> T) async throws -> T {
        let configuration = try options.load()
        return try await withDatabase(options) { pool in
            _ = try await pool.prepare()
            var logger = Logger(label: "wharf.retention")
            logger.logLevel = .critical
            let driver = FilesystemDriver(root: configuration.registryDirectory, durable: configuration.storageFsync)
            let manifests = ManifestIndex(driver: driver)
            let catalog = CatalogMirror(
                pool: pool,
                driver: driver,
                webhookSource: WebhookEnvelope.Source(addr: ProcessInfo.processInfo.hostName),
                logger: logger
            )
            let service = RetentionService(
                pool: pool,
                driver: driver,
                manifests: manifests,
                catalog: catalog,
                events: EventBus(logger: logger),
                logger: logger
            )
            return try await body(service)
        }
    }

    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// The lines `show` prints for a policy.
    static func describe(_ stored: StoredRetentionPolicy) -> String {
        let policy = stored.policy
        func text(_ value: String?) -> String { value ?? "-" }
        func number(_ value: Int?) -> String { value.map(String.init) ?? "-" }
        return """
            policy: \(stored.label) (\(policy.enabled ? "enabled" : "disabled"); updated by \(stored.updatedBy) at \
            \(stored.updatedAt.formatted(.iso8601)))
            keep_latest: \(number(policy.keepLatest))
            older_than_days: \(number(policy.olderThanDays))
            tag_match: \(text(policy.tagMatch))
            tag_exclude: \(text(policy.tagExclude))
            untagged_older_than_days: \(number(policy.untaggedOlderThanDays))
            protected: \(text(policy.protected))
            immutable: \(text(policy.immutable))
            """
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the policy that applies to a namespace (or the global default).")

        @OptionGroup var options: ConfigurationOptions
        @Option(help: "The namespace; without it, the global default.") var namespace: String?
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await failing {
                let (own, effective) = try await RetentionCommand.withService(options) { try await $0.show(namespace: namespace) }
                if json {
                    struct Shown: Encodable {
                        var namespace: String?
                        var own: RetentionPolicy?
                        var effective: RetentionPolicy?
                        var effectiveSource: String?
                        enum CodingKeys: String, CodingKey {
                            case namespace, own, effective
                            case effectiveSource = "effective_source"
                        }
                    }
                    print(
                        try RetentionCommand.json(
                            Shown(namespace: namespace, own: own?.policy, effective: effective?.policy, effectiveSource: effective?.label)
                        )
                    )
                    return
                }
                guard let effective else {
                    print(namespace.map { "no policy applies to namespace \($0): nothing is removed" } ?? "no global policy: nothing is removed")
                    return
                }
                if let namespace, own == nil { print("namespace \(namespace) has no policy of its own; the global default applies") }
                print(RetentionCommand.describe(effective))
            }
        }
    }

    struct SetPolicy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Create or change a policy; options not given keep their value (`none` clears one).",
            discussion: "Patterns are regular expressions searched in the tag; anchor them (`^v[0-9]+$`) to match whole tags."
        )

        @OptionGroup var options: ConfigurationOptions
        @Option(help: "The namespace; without it, the global default.") var namespace: String?
        @Option(help: "Keep the N most recently pushed candidate tags (`none`: no such rule).") var keepLatest: String?
        @Option(help: "Remove candidate tags pushed more than D days ago (`none`: no such rule).") var olderThanDays: String?
        @Option(help: "Only tags matching this pattern are candidates (`none`: every tag).") var tagMatch: String?
        @Option(help: "Tags matching this pattern are never removed.") var tagExclude: String?
        @Option(help: "Remove untagged manifests stored more than D days ago.") var untaggedOlderThanDays: String?
        @Option(help: "Tags matching this pattern are never removed (default: latest and semver releases).") var protected: String?
        @Option(help: "Tags matching this pattern can be neither moved nor deleted.") var immutable: String?
        @Flag(help: "Whether runs apply the policy (immutable tags are enforced either way).") var state: State?

        enum State: String, EnumerableFlag {
            case enable
            case disable
        }

        func run() async throws {
            try await failing {
                let stored = try await RetentionCommand.withService(options) { service in
                    var policy = try await service.show(namespace: namespace).own?.policy ?? RetentionPolicy()
                    if let keepLatest { policy.keepLatest = try Self.number(keepLatest, "--keep-latest") }
                    if let olderThanDays { policy.olderThanDays = try Self.number(olderThanDays, "--older-than-days") }
                    if let untaggedOlderThanDays {
                        policy.untaggedOlderThanDays = try Self.number(untaggedOlderThanDays, "--untagged-older-than-days")
                    }
                    if let tagMatch { policy.tagMatch = Self.pattern(tagMatch) }
                    if let tagExclude { policy.tagExclude = Self.pattern(tagExclude) }
                    if let protected { policy.protected = Self.pattern(protected) }
                    if let immutable { policy.immutable = Self.pattern(immutable) }
                    if let state { policy.enabled = state == .enable }
                    return try await service.set(namespace: namespace, policy, by: "cli")
                }
                print(RetentionCommand.describe(stored))
            }
        }

        static func number(_ text: String, _ option: String) throws -> Int? {
            if text == "none" || text.isEmpty { return nil }
            guard let value = Int(text) else { throw ValidationError("\(option): expected a whole number or none, got \(text)") }
            return value
        }

        static func pattern(_ text: String) -> String? { text == "none" || text.isEmpty ? nil : text }
    }

    struct Clear: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a namespace's policy (the global default then applies) or the global one.")

        @OptionGroup var options: ConfigurationOptions
        @Option(help: "The namespace; without it, the global default.") var namespace: String?

        func run() async throws {
            try await failing {
                let removed = try await RetentionCommand.withService(options) { try await $0.clear(namespace: namespace) }
                let what = namespace.map { "namespace \($0)" } ?? "the global default"
                print(removed ? "removed the policy of \(what)" : "\(what) had no policy")
            }
        }
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply the policies now; print what was (with --dry-run, would be) removed and why.",
            discussion: "Safe while servers run, and on several hosts at once."
        )

        @OptionGroup var options: ConfigurationOptions
        @Flag(help: "Decide, print, remove nothing.") var dryRun = false
        @Option(help: "Only this namespace's repositories (`\"\"`: the global namespace).") var namespace: String?
        @Flag(help: "Print the report as JSON.") var json = false
        /// For tests: the time policies are measured against.
        @Option(help: .hidden) var now: String?

        func run() async throws {
            try await failing {
                let time = try now.map { try TimeArgument.parse($0, option: "--now", durations: .ahead) } ?? Date()
                let report = try await RetentionCommand.withService(options) { try await $0.run(namespace: namespace, dryRun: dryRun, now: time) }
                if json {
                    print(try RetentionCommand.json(report))
                    return
                }
                let verb = dryRun ? "would remove" : "removed"
                for removal in report.removals { print("\(verb) \(removal.reference): \(removal.reason)") }
                for removal in report.skipped { print("kept \(removal.reference): changed since it was read") }
                print(
                    "\(report.removals.count) \(verb) in \(report.repositories) repositories"
                        + (report.alreadyGone > 0 ? ", \(report.alreadyGone) already gone" : "")
                )
            }
        }
    }
}
