import ArgumentParser
import Foundation
import WharfDatabase
import WharfServer

/// Runs `body` with the organisation service of the configured database (migrated first).
func withOrganization<T>(_ options: ConfigurationOptions, _ body: (OrganizationService) async throws -> T) async throws -> T {
    try await withDatabase(options) { pool in
        _ = try await pool.prepare()
        return try await body(OrganizationService(pool: pool))
    }
}

extension TeamRole: ExpressibleByArgument {}
extension Namespace.Visibility: ExpressibleByArgument {}

struct TeamCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "team",
        abstract: "Manage teams: viewers pull, contributors also push, owners also delete and manage (works with or without a running server).",
        subcommands: [Create.self, List.self, Add.self, Remove.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a team, with --owner as its first owner.")
        @OptionGroup var options: ConfigurationOptions
        @Argument var name: String
        @Option(name: .long, help: "A user who owns the team.") var owner: String?
        @Option(name: .long) var description = ""

        func run() async throws {
            try await failing {
                _ = try await withOrganization(options) { try await $0.createTeam(name: name, owner: owner, description: description) }
                print("created team \(name)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List teams and their members with roles.")
        @OptionGroup var options: ConfigurationOptions

        func run() async throws {
            try await failing {
                for (team, members) in try await withOrganization(options, { try await $0.listTeams() }) {
                    print("\(team.name) members=\(members.map { "\($0.userName):\($0.role.rawValue)" }.joined(separator: ","))")
                }
            }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a user to a team, or change their role.")
        @OptionGroup var options: ConfigurationOptions
        @Argument var team: String
        @Argument var user: String
        @Option(name: .long, help: "viewer, contributor or owner.") var role: TeamRole = .viewer

        func run() async throws {
            try await failing {
                try await withOrganization(options) { try await $0.setMember(team: team, user: user, role: role) }
                print("\(user) is \(role.rawValue) of team \(team)")
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a user from a team.")
        @OptionGroup var options: ConfigurationOptions
        @Argument var team: String
        @Argument var user: String

        func run() async throws {
            try await failing {
                try await withOrganization(options) { try await $0.removeMember(team: team, user: user) }
                print("\(user) removed from team \(team)")
            }
        }
    }
}

struct NamespaceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "namespace",
        abstract: "Manage namespaces: private (members), protected (logged-in users pull), public (anyone pulls).",
        subcommands: [Create.self, List.self, Set.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a namespace owned by a team.")
        @OptionGroup var options: ConfigurationOptions
        @Argument var name: String
        @Option(name: .long, help: "The owning team.") var team: String
        @Option(name: .long, help: "private, protected or public.") var visibility: Namespace.Visibility = .private
        @Option(name: .long) var description = ""

        func run() async throws {
            try await failing {
                _ = try await withOrganization(options) {
                    try await $0.createNamespace(name: name, team: team, visibility: visibility, description: description)
                }
                print("created \(visibility.rawValue) namespace \(name) owned by team \(team)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List namespaces: kind, visibility, owning team.")
        @OptionGroup var options: ConfigurationOptions

        func run() async throws {
            try await failing {
                for (namespace, team) in try await withOrganization(options, { try await $0.listNamespaces() }) {
                    print("\(namespace.name) kind=\(namespace.kind.rawValue) visibility=\(namespace.visibility.rawValue) team=\(team ?? "-")")
                }
            }
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change a namespace's visibility.")
        @OptionGroup var options: ConfigurationOptions
        @Argument var name: String
        @Option(name: .long, help: "private, protected or public.") var visibility: Namespace.Visibility

        func run() async throws {
            try await failing {
                try await withOrganization(options) { try await $0.setVisibility(namespace: name, visibility) }
                print("namespace \(name) is \(visibility.rawValue)")
            }
        }
    }
}
