import ArgumentParser
import Foundation
import Logging
import WharfDatabase
import WharfServer
import WharfStorage
import WharfSync

struct CatalogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalog",
        abstract: "Show the catalogue: repositories, tags, sizes, platforms, referrers, who pushed and when.",
        subcommands: [List.self, Show.self]
    )

    /// The mirror over the configured database and storage, for one command.
    static func withMirror<T>(_ options: ConfigurationOptions, _ body: (CatalogMirror) async throws -> T) async throws -> T {
        let configuration = try options.load()
        return try await withDatabase(options) { pool in
            _ = try await pool.prepare()
            let driver = FilesystemDriver(root: configuration.registryDirectory, durable: configuration.storageFsync)
            return try await body(CatalogMirror(pool: pool, driver: driver))
        }
    }

    static func print(json object: Any) throws {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted])
        Swift.print(String(decoding: data, as: UTF8.self))
    }

    static func time(_ date: Date?) -> Any {
        guard let date else { return NSNull() }
        return ISO8601DateFormatter().string(from: date)
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List repositories with tag count, size, last push and pull.")

        @OptionGroup var options: ConfigurationOptions
        @Option(help: "Only this namespace (an empty string: the global namespace).") var namespace: String?
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await failing {
                let repositories = try await CatalogCommand.withMirror(options) { mirror in
                    var all: [Repository] = []
                    var after: String? = nil
                    while true {
                        let page = try await mirror.repositories(namespace: namespace, after: after, limit: 1000)
                        all += page
                        guard page.count == 1000, let last = page.last else { break }
                        after = last.name
                    }
                    return all
                }
                if json {
                    try CatalogCommand.print(
                        json: repositories.map {
                            [
                                "name": $0.name, "namespace": $0.namespace, "tags": $0.tagCount, "size": $0.size, "stars": $0.starCount,
                                "pushed_at": CatalogCommand.time($0.pushedAt), "pulled_at": CatalogCommand.time($0.pulledAt),
                            ] as [String: Any]
                        }
                    )
                    return
                }
                for repository in repositories {
                    Swift.print(
                        "\(repository.name)\t\(repository.tagCount) tags\t\(repository.size) bytes\tpushed \(CatalogCommand.time(repository.pushedAt))"
                    )
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a repository's tags with their facts and referrers.")

        @OptionGroup var options: ConfigurationOptions
        @Argument(help: "The repository, as `team/app`.") var repository: String
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await failing {
                guard let (row, entries) = try await CatalogCommand.withMirror(options, { try await $0.entries(of: repository) }) else {
                    throw ValidationError("no repository \(repository) in the catalogue (wharf sync picks up what storage holds)")
                }
                if json {
                    try CatalogCommand.print(
                        json: [
                            "name": row.name, "tags_count": row.tagCount, "size": row.size, "pushed_at": CatalogCommand.time(row.pushedAt),
                            "pulled_at": CatalogCommand.time(row.pulledAt), "tags": entries.map(Self.object),
                        ] as [String: Any]
                    )
                    return
                }
                for entry in entries {
                    let tag = entry.tag
                    let platforms =
                        tag.platforms.isEmpty
                        ? [tag.os, tag.architecture].compactMap { $0 }.joined(separator: "/") : tag.platforms.map(\.name).joined(separator: ", ")
                    Swift.print(
                        "\(tag.name)\t\(tag.digest)\t\(tag.size) bytes\t\(platforms)\t\(entry.referrers.count) referrers\tpushed by \(tag.pushedByName ?? "-")"
                    )
                }
            }
        }

        static func object(_ entry: CatalogEntry) -> [String: Any] {
            let tag = entry.tag
            return [
                "name": tag.name, "digest": tag.digest, "media_type": tag.mediaType, "size": tag.size,
                "config_digest": tag.configDigest ?? NSNull(), "created": CatalogCommand.time(tag.created), "os": tag.os ?? NSNull(),
                "architecture": tag.architecture ?? NSNull(), "artifact_type": tag.artifactType ?? NSNull(),
                "platforms": tag.platforms.map {
                    ["os": $0.os, "architecture": $0.architecture, "variant": $0.variant ?? NSNull(), "digest": $0.digest, "size": $0.size]
                        as [String: Any]
                },
                "referrers": entry.referrers.map {
                    [
                        "subject": $0.subject, "digest": $0.digest, "media_type": $0.mediaType, "artifact_type": $0.artifactType ?? NSNull(),
                        "size": $0.size, "tag": $0.tag ?? NSNull(),
                    ] as [String: Any]
                },
                "pushed_by": tag.pushedByName ?? NSNull(), "pushed_at": CatalogCommand.time(tag.pushedAt),
                "pulled_at": CatalogCommand.time(tag.pulledAt),
            ]
        }
    }
}
