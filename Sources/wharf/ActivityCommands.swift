import ArgumentParser
import Foundation
import WharfAuth
import WharfDatabase

struct ActivityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "activity",
        abstract: "The audit log: who changed what, when, and from which address.",
        subcommands: [List.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List activities, newest first: time (UTC), actor, action, target, address, details.",
            discussion: """
                --since and --until take a duration back from now (90m, 12h, 7d), a day (2026-11-30, midnight UTC) \
                or an ISO 8601 time; --until is exclusive. --action matches whole dotted components: team matches \
                team.create and team.member.add. --user is who acted (cli for the command line).
                """
        )
        @OptionGroup var options: ConfigurationOptions
        @Option(name: .long, help: "From this time on.") var since: String?
        @Option(name: .long, help: "Before this time.") var until: String?
        @Option(name: .long, help: "Only this namespace's history.") var namespace: String?
        @Option(name: .long, help: "Only what this user (or cli) did.") var user: String?
        @Option(name: .long, help: "Only this action or family of actions (team, team.member, user.delete).") var action: String?
        @Option(name: .long, help: "At most this many activities.") var limit = 100
        @Flag(name: .long, help: "Print a JSON array of objects.") var json = false
        @Flag(name: .long, help: "Print CSV: a header, then one row per activity (RFC 4180 quoting).") var csv = false

        func run() async throws {
            try await failing {
                if json && csv { throw ValidationError("give at most one of --json and --csv") }
                guard limit > 0 else { throw ValidationError("--limit: expected a positive number, got \(limit)") }
                let now = Date()
                let since = try since.map { try TimeArgument.parse($0, option: "--since", durations: .back, now: now) }
                let until = try until.map { try TimeArgument.parse($0, option: "--until", durations: .back, now: now) }
                let activities = try await withDatabase(options) { pool in
                    _ = try await pool.prepare()
                    return try await ActivityLog(pool: pool).list(
                        since: since,
                        until: until,
                        action: action,
                        namespace: namespace,
                        user: user,
                        limit: limit
                    )
                }
                let lines = activities.map(ActivityLine.init)
                if json {
                    print(try ActivityLine.json(lines))
                } else if csv {
                    print(ActivityLine.csv(lines), terminator: "")
                } else {
                    print(ActivityLine.table(lines), terminator: "")
                }
            }
        }
    }
}
