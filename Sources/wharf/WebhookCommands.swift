import ArgumentParser
import Foundation
import WharfCore
import WharfDatabase
import WharfServer
import WharfSync

/// Runs `body` with the webhook service of the configured database (migrated first), with the server's
/// `webhooks.allowed_networks` and `webhooks.timeout`.
func withWebhooks<T>(_ options: ConfigurationOptions, _ body: (WebhookService) async throws -> T) async throws -> T {
    let configuration = try options.load()
    return try await withDatabase(options) { pool in
        _ = try await pool.prepare()
        let service = WebhookService(
            pool: pool,
            targets: WebhookTargetGuard(allowedNetworks: configuration.webhookAllowedNetworks),
            timeout: configuration.webhookTimeout,
            source: WebhookEnvelope.Source(addr: ProcessInfo.processInfo.hostName)
        )
        return try await body(service)
    }
}

/// Which webhook a command is about: its name, in a namespace or global.
struct WebhookName: ParsableArguments {
    @Argument(help: "The webhook's name.") var name: String
    @Option(name: .long, help: "The webhook's namespace; without it, a global webhook (all namespaces).") var namespace: String?
}

struct WebhookCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhook",
        abstract: "Manage outgoing webhooks: distribution's notification envelope, signed, POSTed on push, delete and pull.",
        discussion: """
            A webhook belongs to a namespace (--namespace) or is global and gets every namespace's events. Each request \
            carries X-Wharf-Signature: sha256=<hex HMAC-SHA256(secret, body)>, X-Wharf-Delivery and X-Wharf-Event. \
            Deliveries are queued in the database and sent by the running server; failures are tried again after 1 s, \
            2 s, 4 s … (10 tries). Works with or without a running server.
            """,
        subcommands: [Create.self, List.self, Update.self, Delete.self, Enable.self, Disable.self, Test.self, Deliveries.self, Resend.self]
    )

    /// Settings shared by create and update.
    struct SettingOptions: ParsableArguments {
        @Option(name: .long, help: "push, delete and pull, comma-separated (default: all).") var events: String?
        @Option(name: .long, help: "Basic user name.") var username: String?
        @Option(name: .long, help: "Basic password (visible in the process list; prefer --password-stdin).") var password: String?
        @Flag(name: .long, help: "Read the Basic password from the first line of standard input.") var passwordStdin = false
        @Option(name: .long, help: "A custom header, Name: value (repeatable).") var header: [String] = []
        @Option(name: .long, help: "The signing secret (16 bytes at least); default: generated and shown once.") var secret: String?

        func readPassword() throws -> String? {
            guard !(password != nil && passwordStdin) else { throw ValidationError("give --password or --password-stdin, not both") }
            guard passwordStdin else { return password }
            guard var line = readLine(strippingNewline: true) else { throw ValidationError("no password on standard input") }
            if line.hasSuffix("\r") { line.removeLast() }
            return line
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a webhook; prints its secret once.")
        @OptionGroup var options: ConfigurationOptions
        @OptionGroup var webhook: WebhookName
        @Option(name: .long, help: "Where to POST (http:// or https://).") var url: String
        @OptionGroup var settings: SettingOptions
        @Flag(name: .long, help: "Create it disabled.") var disabled = false

        func run() async throws {
            try await failing {
                let values = WebhookService.Settings(
                    url: url,
                    events: settings.events ?? "",
                    username: settings.username,
                    password: try settings.readPassword(),
                    headers: settings.header,
                    secret: settings.secret,
                    enabled: !disabled
                )
                let (hook, secret) = try await withWebhooks(options) {
                    try await $0.create(namespace: webhook.namespace, name: webhook.name, settings: values)
                }
                print("created webhook \(hook.name) (\(webhook.namespace.map { "namespace \($0)" } ?? "global")) -> \(hook.url)")
                print("secret: \(secret)")
                if settings.secret == nil { print("(shown once: give it to the receiver to check X-Wharf-Signature)") }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List webhooks: all of them, or those of --namespace (or --global).")
        @OptionGroup var options: ConfigurationOptions
        @Option(name: .long, help: "Only this namespace's webhooks.") var namespace: String?
        @Flag(name: .long, help: "Only the global webhooks.") var global = false

        func run() async throws {
            try await failing {
                guard !(global && namespace != nil) else { throw ValidationError("give --namespace or --global, not both") }
                let all = namespace == nil && !global
                for item in try await withWebhooks(options, { try await $0.list(namespace: namespace, all: all) }) {
                    let hook = item.webhook
                    let counts = WebhookDelivery.State.allCases.map { "\($0.rawValue)=\(item.deliveries[$0] ?? 0)" }.joined(separator: " ")
                    print(
                        "\(hook.name) namespace=\(item.namespace ?? "-") url=\(hook.url) events=\(hook.events.isEmpty ? "all" : hook.events) "
                            + "enabled=\(hook.enabled ? "yes" : "no") \(counts)"
                    )
                }
            }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change a webhook's URL, events, credentials, headers or secret.")
        @OptionGroup var options: ConfigurationOptions
        @OptionGroup var webhook: WebhookName
        @Option(name: .long, help: "Where to POST.") var url: String?
        @OptionGroup var settings: SettingOptions
        @Flag(name: .long, help: "Remove every custom header (with --header: replace them).") var clearHeaders = false
        @Flag(name: .long, help: "Generate a new secret (printed once).") var rotateSecret = false

        func run() async throws {
            try await failing {
                let changes = WebhookService.Changes(
                    url: url,
                    events: settings.events,
                    username: settings.username,
                    password: try settings.readPassword(),
                    headers: clearHeaders || !settings.header.isEmpty ? settings.header : nil,
                    rotateSecret: rotateSecret,
                    secret: settings.secret
                )
                let (hook, secret) = try await withWebhooks(options) {
                    try await $0.update(namespace: webhook.namespace, name: webhook.name, changes: changes)
                }
                print("updated webhook \(hook.name) -> \(hook.url) events=\(hook.events.isEmpty ? "all" : hook.events)")
                if let secret, settings.secret == nil { print("secret: \(secret)") }
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a webhook with its queued deliveries and log.")
        @OptionGroup var options: ConfigurationOptions
        @OptionGroup var webhook: WebhookName

        func run() async throws {
            try await failing {
                try await withWebhooks(options) { try await $0.delete(namespace: webhook.namespace, name: webhook.name) }
                print("deleted webhook \(webhook.name)")
            }
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enable a webhook; its waiting deliveries are sent.")
        @OptionGroup var options: ConfigurationOptions
        @OptionGroup var webhook: WebhookName

        func run() async throws {
            try await failing {
                try await withWebhooks(options) { try await $0.setEnabled(namespace: webhook.namespace, name: webhook.name, true) }
                print("webhook \(webhook.name) is enabled")
            }
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disable a webhook: no new deliveries; queued ones wait.")
        @OptionGroup var options: ConfigurationOptions
        @OptionGroup var webhook: WebhookName

        func run() async throws {
            try await failing {
                try await withWebhooks(options) { try await $0.setEnabled(namespace: webhook.namespace, name: webhook.name, false) }
                print("webhook \(webhook.name) is disabled")
            }
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send a ping event to the webhook now (from this command) and print the answer; logged as a delivery."
        )
        @OptionGroup var options: ConfigurationOptions
        @OptionGroup var webhook: WebhookName

        func run() async throws {
            try await failing {
                let (delivery, attempt) = try await withWebhooks(options) { try await $0.test(namespace: webhook.namespace, name: webhook.name) }
                print("delivered ping \(delivery.uuid): status \(attempt.status.map(String.init) ?? "-") in \(attempt.durationMilliseconds) ms")
            }
        }
    }

    struct Deliveries: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a webhook's latest deliveries with their attempts.")
        @OptionGroup var options: ConfigurationOptions
        @OptionGroup var webhook: WebhookName
        @Option(name: .long, help: "How many deliveries.") var limit = 20
        @Flag(name: .long, help: "Also print each attempt's headers and response body.") var verbose = false

        func run() async throws {
            try await failing {
                let deliveries = try await withWebhooks(options) {
                    try await $0.deliveries(namespace: webhook.namespace, name: webhook.name, limit: limit)
                }
                for (delivery, attempts) in deliveries {
                    print(
                        "delivery \(delivery.id) \(delivery.uuid) event=\(delivery.event) state=\(delivery.state.rawValue) "
                            + "attempts=\(delivery.attempts) status=\(delivery.responseStatus.map(String.init) ?? "-") "
                            + "created=\(timestamp(delivery.createdAt)) delivered=\(delivery.deliveredAt.map(timestamp) ?? "-")"
                            + (delivery.state == .pending ? " next=\(delivery.nextAttemptAt.map(timestamp) ?? "-")" : "")
                    )
                    for attempt in attempts {
                        print(
                            "  attempt \(attempt.number) at=\(timestamp(attempt.startedAt)) status=\(attempt.status.map(String.init) ?? "-") "
                                + "duration=\(attempt.durationMilliseconds)ms\(attempt.error.map { " error=\($0)" } ?? "")"
                        )
                        if verbose {
                            print("    request headers:\n" + indent(attempt.requestHeaders))
                            print("    response headers:\n" + indent(attempt.responseHeaders))
                            print("    response body:\n" + indent(attempt.responseBody))
                        }
                    }
                }
            }
        }

        func indent(_ text: String) -> String {
            text.split(separator: "\n", omittingEmptySubsequences: false).map { "      " + $0 }.joined(separator: "\n")
        }
    }

    struct Resend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Queue a delivery's body again as a new delivery (new id, tries start over); the running server sends it."
        )
        @OptionGroup var options: ConfigurationOptions
        @Argument(help: "The delivery's number (from deliveries) or uuid.") var delivery: String

        func run() async throws {
            try await failing {
                let copy = try await withWebhooks(options) { try await $0.resend(delivery: delivery) }
                print("queued delivery \(copy.id) \(copy.uuid) (a copy of \(delivery))")
            }
        }
    }
}
