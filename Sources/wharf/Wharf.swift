import ArgumentParser
import Foundation
import Hummingbird
import Logging
import WharfServer

@main
struct Wharf: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wharf",
        abstract: "A container registry with its own portal.",
        version: WharfVersion.string,
        subcommands: [
            Serve.self, Cert.self, Config.self, Migrate.self, Database.self, UserCommand.self, TokenCommand.self, TeamCommand.self,
            NamespaceCommand.self, CatalogCommand.self, SyncCommand.self, ScrubCommand.self, ActivityCommand.self, WebhookCommand.self,
            LDAPCommand.self, ImportCommand.self, GCCommand.self, RetentionCommand.self, Version.self,
        ]
    )
}

/// Options every subcommand that reads the configuration takes, exactly as `wharf serve` does.
struct ConfigurationOptions: ParsableArguments {
    @Option(name: .long, help: .configuration("data"))
    var data: String?

    @Option(name: .long, help: "YAML configuration file (WHARF_CONFIG).")
    var config: String?

    func load(extraFlags: [String: String] = [:]) throws -> ServerConfiguration {
        var flags = extraFlags
        if let data { flags["data"] = data }
        return try ConfigurationKey.load(file: config, environment: ProcessInfo.processInfo.environment, flags: flags)
    }
}

extension ArgumentHelp {
    /// The help of a flag that sets configuration key `key`: the configuration table's summary, environment
    /// variable and default (never a default of the flag's own).
    static func configuration(_ key: String) -> ArgumentHelp {
        guard let entry = ConfigurationKey.named(key) else { preconditionFailure("no configuration key \(key)") }
        return ArgumentHelp(entry.flagHelp)
    }
}

/// Turns a startup failure into a non-zero exit and one line on standard error.
func failing<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as ExitCode {
        throw error
    } catch {
        FileHandle.standardError.write(Data("wharf: \(error)\n".utf8))
        throw ExitCode.failure
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the registry.")

    @OptionGroup var options: ConfigurationOptions

    @Option(name: .long, help: .configuration("listen"))
    var listen: String?

    @Option(name: .long, help: .configuration("tls"))
    var tls: String?

    @Option(name: .long, help: .configuration("auth.enabled"))
    var auth: String?

    @Option(name: .long, help: .configuration("log_level"))
    var logLevel: String?

    func run() async throws {
        try await failing {
            var flags: [String: String] = [:]
            if let listen { flags["listen"] = listen }
            if let tls { flags["tls"] = tls }
            if let auth { flags["auth.enabled"] = auth }
            if let logLevel { flags["log_level"] = logLevel }
            let configuration = try options.load(extraFlags: flags)
            var logger = Logger(label: "wharf")
            logger.logLevel = Logger.Level(rawValue: configuration.logLevel) ?? .info
            let app = try buildApplication(configuration: configuration, logger: logger)
            logger.info(
                "serving",
                metadata: [
                    "listen": "\(configuration.listen)", "tls": "\(configuration.tls)", "auth": "\(configuration.authEnabled)",
                    "data": "\(configuration.dataDirectory)",
                ]
            )
            try await app.runService()
        }
    }
}

struct Cert: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Inspect the server certificate.", subcommands: [Show.self])

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print subject, names, validity and SHA-256 fingerprint.")

        @OptionGroup var options: ConfigurationOptions

        func run() async throws {
            try await failing {
                let configuration = try options.load()
                print(try CertificateBootstrap.inspect(certsDirectory: configuration.certsDirectory).summary)
            }
        }
    }
}

struct Config: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Configuration options.", subcommands: [Keys.self, Check.self])

    struct Keys: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print every option as a Markdown table.")
        func run() async throws { print(ConfigurationKey.markdownTable()) }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Load the configuration and report the first problem.")
        @OptionGroup var options: ConfigurationOptions

        func run() async throws {
            try await failing {
                let configuration = try options.load()
                print("ok: data \(configuration.dataDirectory), listen \(configuration.listen), tls \(configuration.tls ? "on" : "off")")
            }
        }
    }
}

struct Version: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the version.")
    func run() async throws { print("wharf \(WharfVersion.string)") }
}
