import ArgumentParser
import Foundation
import WharfAuth
import WharfDatabase
import WharfServer

/// Runs `body` with the scoped-token service of the configured database (migrated first, as `wharf serve` does),
/// keyed by the data folder's application-token key and deciding with the configured permission rules.
func withScopedTokens<T>(_ options: ConfigurationOptions, _ body: (ScopedTokenService) async throws -> T) async throws -> T {
    let configuration = try options.load()
    let secrets = try ServerSecrets.load(dataDirectory: configuration.dataDirectory)
    return try await withDatabase(options) { pool in
        _ = try await pool.prepare()
        return try await body(ScopedTokenService(pool: pool, secrets: secrets, rules: PermissionRules(policy: configuration.permissions)))
    }
}

extension TokenCommand {
    /// `wharf token scoped …`: a namespace's tokens for machines. The command line acts as an admin.
    struct Scoped: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "scoped",
            abstract: "Manage a namespace's scoped tokens for machines (docker login -u 'robot$NAMESPACE+NAME').",
            discussion: """
                A scoped token pulls, or pulls and pushes, the repositories of one namespace that match a pattern, \
                until it expires (at most a year ahead); it never deletes, lists the catalogue or creates namespaces.
                """,
            subcommands: [Create.self, List.self, Revoke.self]
        )

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Create a scoped token and print its secret; it is shown only this once (only a keyed hash is stored)."
            )
            @OptionGroup var options: ConfigurationOptions
            @Argument(help: "The namespace.") var namespace: String
            @Argument(help: "A label, unique in the namespace (lowercase letters, digits and . _ -).") var name: String
            @Option(help: "The repositories below the namespace: *, a glob such as app-* or tools/*, or a path such as tools/cli.")
            var repositories: String
            @Option(help: "pull or pull,push.") var actions: String
            @Option(help: "When the token stops working: a duration (12h, 30d, at most 365d) or a date (2027-01-31 or ISO 8601).")
            var expires: String

            func run() async throws {
                try await failing {
                    let expiry = try TimeArgument.parse(expires, option: "--expires", durations: .ahead)
                    let actions = try ScopedTokenService.actions(parsing: actions)
                    let (token, secret) = try await withScopedTokens(options) { service in
                        try await service.create(
                            namespace: namespace,
                            name: name,
                            repositories: repositories,
                            actions: actions,
                            expiresAt: expiry,
                            by: .commandLine
                        )
                    }
                    // The secret alone on standard output, for `$(wharf token scoped create …)`; what it is on the side.
                    FileHandle.standardError.write(
                        Data(
                            "created \(token.username) (id \(token.id)): \(token.actions) on \(token.namespace)/\(token.repositories), expires \(timestamp(token.expiresAt))\n"
                                .utf8
                        )
                    )
                    print(secret)
                }
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "List a namespace's scoped tokens by name: id, login, actions, pattern, expiry, creator, last use."
            )
            @OptionGroup var options: ConfigurationOptions
            @Argument(help: "The namespace.") var namespace: String
            @Flag(help: "Print JSON.") var json = false

            func run() async throws {
                try await failing {
                    let tokens = try await withScopedTokens(options) { try await $0.list(namespace: namespace, by: .commandLine) }
                    if json {
                        try CatalogCommand.print(json: tokens.map(Self.object))
                        return
                    }
                    for token in tokens {
                        let expired = token.isExpired() ? " (expired)" : ""
                        print(
                            "\(token.id)\t\(token.username)\t\(token.actions) \(token.repositories)\texpires=\(timestamp(token.expiresAt))\(expired)\t"
                                + "created=\(timestamp(token.createdAt)) by \(token.createdByName)\tlast_used=\(token.lastUsedAt.map(timestamp) ?? "never")"
                        )
                    }
                }
            }

            /// Times to the millisecond, as stored (and as `wharf activity list --json` prints them).
            static func object(_ token: ScopedToken) -> [String: Any] {
                func time(_ date: Date?) -> Any { date?.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)) ?? NSNull() }
                return [
                    "id": token.id, "namespace": token.namespace, "name": token.name, "username": token.username.description,
                    "repositories": token.repositories, "actions": token.actions.split(separator: ",").map(String.init),
                    "expires_at": time(token.expiresAt), "expired": token.isExpired(),
                    "created_at": time(token.createdAt), "created_by": token.createdByName,
                    "last_used_at": time(token.lastUsedAt),
                ]
            }
        }

        struct Revoke: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Revoke (delete) a namespace's scoped token by its id (see token scoped list); it stops working within a second."
            )
            @OptionGroup var options: ConfigurationOptions
            @Argument(help: "The namespace.") var namespace: String
            @Argument(help: "The token's id.") var id: Int64

            func run() async throws {
                try await failing {
                    let token = try await withScopedTokens(options) { try await $0.revoke(namespace: namespace, id: id, by: .commandLine) }
                    print("revoked scoped token \(token.username) (id \(token.id))")
                }
            }
        }
    }
}
