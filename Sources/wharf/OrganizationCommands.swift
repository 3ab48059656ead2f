import ArgumentParser
import Foundation
import WharfAuth
import WharfCore
import WharfDatabase
import WharfServer
import WharfStorage

/// Runs `body` with the organisation service of the configured database (migrated first) and storage folder.
func withOrganization<T>(_ options: ConfigurationOptions, _ body: (OrganizationService) async throws -> T) async throws -> T {
    let configuration = try options.load()
    return try await withDatabase(options) { pool in
        _ = try await pool.prepare()
        let storage = FilesystemDriver(root: configuration.registryDirectory, durable: configuration.storageFsync)
        return try await body(OrganizationService(pool: pool, storage: storage))
    }
}

extension TeamRole: ExpressibleByArgument {}
extension Visibility: ExpressibleByArgument {}

struct TeamCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "team",
        abstract: "Manage teams: viewers pull, contributors also push, owners also delete and manage (works with or without a running server).",
        subcommands: [Create.self, List.self, Add.self, Remove.self, Rename.self]
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

    struct Rename: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Rename a team; its members and namespaces stay.")
        @OptionGroup var options: ConfigurationOptions
        @Argument var team: String
        @Argument var newName: String

        func run() async throws {
            try await failing {
                try await withOrganization(options) { try await $0.renameTeam(team, to: newName) }
                print("team \(team) is now \(newName)")
            }
        }
    }
}

struct NamespaceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "namespace",
        abstract: "Manage namespaces: private (members), protected (logged-in users pull), public (anyone pulls).",
        subcommands: [Create.self, List.self, Set.self, Delete.self, Adopt.self, Purge.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a namespace owned by a team.")
        @OptionGroup var options: ConfigurationOptions
        @Argument var name: String
        @Option(name: .long, help: "The owning team.") var team: String
        @Option(name: .long, help: "private, protected or public.") var visibility: Visibility = .private
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
        static let configuration = CommandConfiguration(abstract: "Change a namespace's visibility, owning team or description.")
        @OptionGroup var options: ConfigurationOptions
        @Argument var name: String
        @Option(name: .long, help: "private, protected or public.") var visibility: Visibility?
        @Option(name: .long, help: "The owning team (a team namespace only).") var team: String?
        @Option(name: .long) var description: String?

        func run() async throws {
            try await failing {
                guard visibility != nil || team != nil || description != nil else {
                    throw ValidationError("give at least one of --visibility, --team and --description")
                }
                try await withOrganization(options) {
                    try await $0.updateNamespace(name: name, visibility: visibility, team: team, description: description)
                }
                var changes: [String] = []
                if let visibility { changes.append("is \(visibility.rawValue)") }
                if let team { changes.append("belongs to team \(team)") }
                if description != nil { changes.append("has its new description") }
                print("namespace \(name) \(changes.joined(separator: ", "))")
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a team namespace with its webhooks.",
            discussion: "A namespace holding repositories is refused unless --delete-repositories removes them with it."
        )
        @OptionGroup var options: ConfigurationOptions
        @Argument var name: String
        @Flag(name: .long, help: "Remove the namespace's repositories (tags and manifests; blobs stay for garbage collection).")
        var deleteRepositories = false

        func run() async throws {
            try await failing {
                let removed = try await withOrganization(options) { try await $0.deleteNamespace(name: name, deleteRepositories: deleteRepositories) }
                print("deleted namespace \(name)\(removed.isEmpty ? "" : " and the repositories \(removed.map(\.value).joined(separator: ", "))")")
            }
        }
    }

    struct Adopt: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give content without an owner (repositories in storage whose namespace has no owner) to a team.",
            discussion: """
                Such content (a deleted user's repositories, or a distribution folder from before Wharf) is readable and \
                writable by admins only (the service account reads it) until adopted. --unknown adopts every such \
                namespace; repositories without a slash are in the global namespace and need no adopting.
                """
        )
        @OptionGroup var options: ConfigurationOptions
        @Argument(help: "The namespace (omit with --unknown).") var name: String?
        @Flag(name: .long, help: "Adopt every namespace in storage that has no owner.") var unknown = false
        @Option(name: .long, help: "The owning team.") var team: String
        @Option(name: .long, help: "private, protected or public.") var visibility: Visibility = .private

        func run() async throws {
            try await failing {
                guard (name != nil) != unknown else { throw ValidationError("give a namespace name or --unknown, not both") }
                let adopted: [(namespace: String, repositories: [String])] = try await withOrganization(options) { organization in
                    if let name {
                        return [(name, try await organization.adoptNamespace(name: name, team: team, visibility: visibility).map(\.value))]
                    }
                    return try await organization.adoptUnknownNamespaces(team: team, visibility: visibility).map {
                        ($0.namespace, $0.repositories.map(\.value))
                    }
                }
                if adopted.isEmpty { print("nothing to adopt: every namespace in storage has an owner") }
                for (namespace, repositories) in adopted {
                    print("adopted \(visibility.rawValue) namespace \(namespace) for team \(team): \(repositories.joined(separator: " "))")
                }
            }
        }
    }

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete content without an owner: the repositories' tags and manifests (blobs stay for garbage collection)."
        )
        @OptionGroup var options: ConfigurationOptions
        @Argument var name: String

        func run() async throws {
            try await failing {
                let removed = try await withOrganization(options) { try await $0.purgeNamespace(name: name) }
                print("purged namespace \(name): \(removed.map(\.value).joined(separator: " "))")
            }
        }
    }
}
