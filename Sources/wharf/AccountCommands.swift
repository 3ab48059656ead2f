import ArgumentParser
import Foundation
import WharfAuth
import WharfCore
import WharfDatabase
import WharfServer
import WharfStorage

/// Runs `body` with the account service of the configured database (migrated first, as `wharf serve` does), the
/// storage folder and the application-token key of the data folder, the same the server uses.
func withAccounts<T>(_ options: ConfigurationOptions, _ body: (AccountService) async throws -> T) async throws -> T {
    let configuration = try options.load()
    let secrets = try ServerSecrets.load(dataDirectory: configuration.dataDirectory)
    return try await withDatabase(options) { pool in
        _ = try await pool.prepare()
        let storage = FilesystemDriver(root: configuration.registryDirectory, durable: configuration.storageFsync)
        return try await body(AccountService(pool: pool, storage: storage, secrets: secrets, reservedNames: [configuration.serviceAccount]))
    }
}

/// `--password P` or `--password-stdin`, exactly one of them.
struct PasswordOptions: ParsableArguments {
    @Option(name: .long, help: "The password (visible in the process list; prefer --password-stdin).")
    var password: String?

    @Flag(name: .long, help: "Read the password from the first line of standard input.")
    var passwordStdin = false

    /// Checked here rather than in `validate()`, so the mistake is one `wharf: …` line like every other error.
    func read() throws -> String {
        guard (password != nil) != passwordStdin else { throw ValidationError("give exactly one of --password and --password-stdin") }
        if let password { return password }
        return try Self.readStandardInput()
    }

    /// The first line of standard input, without its line ending (`\n` or `\r\n`).
    static func readStandardInput() throws -> String {
        guard var line = readLine(strippingNewline: true) else { throw ValidationError("no password on standard input") }
        if line.hasSuffix("\r") { line.removeLast() }
        return line
    }
}

func timestamp(_ date: Date) -> String {
    date.formatted(.iso8601)
}

struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user",
        abstract: "Manage users (works with or without a running server).",
        subcommands: [Create.self, List.self, Passwd.self, Promote.self, Disable.self, Unlock.self, Delete.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a user; a person (not --bot) also gets a private personal namespace of the same name."
        )
        @OptionGroup var options: ConfigurationOptions
        @Argument(help: "The user name (a namespace name: lowercase letters, digits and . _ -).") var name: String
        @OptionGroup var password: PasswordOptions
        @Flag(name: .long, help: "Make the user an administrator.") var admin = false
        @Flag(name: .long, help: "A bot: no personal namespace.") var bot = false
        @Flag(name: .long, help: "Give the user the content storage holds under their name without an owner, as their personal namespace.")
        var adoptNamespace = false

        func run() async throws {
            try await failing {
                let secret = try password.read()
                let (user, adminExists) = try await withAccounts(options) { accounts in
                    let user = try await accounts.createUser(name: name, password: secret, isAdmin: admin, isBot: bot, adoptNamespace: adoptNamespace)
                    return (user, try await accounts.adminExists())
                }
                let adopted = adoptNamespace ? " with the content of namespace \(user.name)" : ""
                print("created \(user.isBot ? "bot" : "user") \(user.name)\(user.isAdmin ? " (admin)" : "")\(adopted)")
                if !adminExists {
                    // Logging in never makes anyone admin: say how to get the first one.
                    print("note: no administrator exists yet; make one with `wharf user promote NAME` or `wharf user create NAME --admin`")
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users by name: admin, bot, disabled, created.")
        @OptionGroup var options: ConfigurationOptions
        @Flag(name: .long, help: "Print a JSON array.") var json = false

        func run() async throws {
            try await failing {
                let users = try await withAccounts(options) { try await $0.listUsers() }
                if json {
                    let objects: [[String: Any]] = users.map {
                        [
                            "name": $0.name, "admin": $0.isAdmin, "bot": $0.isBot, "disabled": !$0.enabled, "locked": $0.isLocked(),
                            "created": timestamp($0.createdAt),
                        ]
                    }
                    let data = try JSONSerialization.data(withJSONObject: objects, options: [.sortedKeys, .withoutEscapingSlashes])
                    print(String(decoding: data, as: UTF8.self))
                } else {
                    func yesNo(_ flag: Bool) -> String { flag ? "yes" : "no" }
                    for user in users {
                        print(
                            "\(user.name) admin=\(yesNo(user.isAdmin)) bot=\(yesNo(user.isBot)) disabled=\(yesNo(!user.enabled)) locked=\(yesNo(user.isLocked())) created=\(timestamp(user.createdAt))"
                        )
                    }
                }
            }
        }
    }

    struct Passwd: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set a user's password.")
        @OptionGroup var options: ConfigurationOptions
        @Argument var name: String
        @OptionGroup var password: PasswordOptions

        func run() async throws {
            try await failing {
                let secret = try password.read()
                try await withAccounts(options) { try await $0.setPassword(name: name, password: secret) }
                print("password of \(name) changed")
            }
        }
    }

    struct Promote: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a user an administrator (--demote: no longer one).")
        @OptionGroup var options: ConfigurationOptions
        @Argument var name: String
        @Flag(name: .long) var demote = false

        func run() async throws {
            try await failing {
                try await withAccounts(options) { try await $0.setAdmin(name: name, !demote) }
                print(demote ? "\(name) is no longer an administrator" : "\(name) is an administrator")
            }
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disable a user: no login, no tokens (--enable: undo).")
        @OptionGroup var options: ConfigurationOptions
        @Argument var name: String
        @Flag(name: .long) var enable = false

        func run() async throws {
            try await failing {
                try await withAccounts(options) { try await $0.setEnabled(name: name, enable) }
                print(enable ? "\(name) enabled" : "\(name) disabled")
            }
        }
    }

    struct Unlock: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lift the lock set after too many failed logins.")
        @OptionGroup var options: ConfigurationOptions
        @Argument var name: String

        func run() async throws {
            try await failing {
                try await withAccounts(options) { try await $0.unlock(name: name) }
                print("\(name) unlocked")
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a user with their personal namespace, team memberships and tokens.",
            discussion:
                "A user whose namespace holds repositories is refused unless --transfer-to or --delete-repositories says what becomes of them."
        )
        @OptionGroup var options: ConfigurationOptions
        @Argument var name: String
        @Option(name: .long, help: "Make the personal namespace a namespace of this team (keeping its visibility and repositories).")
        var transferTo: String?
        @Flag(name: .long, help: "Remove the namespace's repositories (tags and manifests; blobs stay for garbage collection).")
        var deleteRepositories = false

        func run() async throws {
            try await failing {
                if transferTo != nil && deleteRepositories { throw ValidationError("give at most one of --transfer-to and --delete-repositories") }
                let disposition: PersonalRepositories = transferTo.map { .transfer(toTeam: $0) } ?? (deleteRepositories ? .delete : .refuse)
                let repositories = try await withAccounts(options) { try await $0.deleteUser(name: name, repositories: disposition) }
                let names = repositories.map(\.value).joined(separator: ", ")
                switch disposition {
                case .transfer(let team):
                    print("deleted user \(name); namespace \(name) now belongs to team \(team)\(names.isEmpty ? "" : " with \(names)")")
                case .delete where !repositories.isEmpty:
                    print("deleted user \(name) and the repositories \(names)")
                default:
                    print("deleted user \(name)")
                }
            }
        }
    }
}

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Manage application tokens (usable as the password for docker login and the API), and namespaces' scoped tokens.",
        subcommands: [Create.self, List.self, Revoke.self, Scoped.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a token and print it; it is shown only this once (only a keyed hash is stored).",
            discussion: "At most \(AccountService.maximumTokensPerUser) tokens per user."
        )
        @OptionGroup var options: ConfigurationOptions
        @Argument var user: String
        @Option(name: .long, help: "A label for the token, unique per user.") var name: String
        @Option(name: .long, help: "When the token stops working: a duration (90m, 12h, 30d) or a date (2027-01-31 or ISO 8601).")
        var expires: String?

        func run() async throws {
            try await failing {
                let expiry = try expires.map(Self.parseExpiry)
                let created = try await withAccounts(options) { try await $0.createToken(user: user, label: name, expiresAt: expiry) }
                print(created.secret)
            }
        }

        /// A duration from now, or a date (midnight UTC) or ISO 8601 time.
        static func parseExpiry(_ text: String) throws -> Date {
            try TimeArgument.parse(text, option: "--expires", durations: .ahead)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a user's tokens by label: created, last used.")
        @OptionGroup var options: ConfigurationOptions
        @Argument var user: String

        func run() async throws {
            try await failing {
                let (tokens, refreshTokens) = try await withAccounts(options) { accounts in
                    (try await accounts.listTokens(user: user), try await accounts.listRefreshTokens(user: user))
                }
                for token in tokens {
                    let expiry = token.expiresAt.map { " expires=\(timestamp($0))\($0 <= Date() ? " (expired)" : "")" } ?? ""
                    print(
                        "\(token.application) created=\(timestamp(token.createdAt)) last_used=\(token.lastUsedAt.map(timestamp) ?? "never")\(expiry)"
                    )
                }
                for token in refreshTokens {
                    print(
                        "\(CredentialID.refreshToken(token.id)) client=\(token.clientID) created=\(timestamp(token.createdAt)) last_used=\(token.lastUsedAt.map(timestamp) ?? "never")"
                    )
                }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke (delete) a user's token by its label, or a refresh token as refresh:ID (see token list)."
        )
        @OptionGroup var options: ConfigurationOptions
        @Argument var user: String
        @Argument var label: String

        func run() async throws {
            try await failing {
                try await withAccounts(options) { try await $0.revokeToken(user: user, label: label) }
                print("revoked token \(label) of \(user)")
            }
        }
    }
}
