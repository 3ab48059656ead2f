import Foundation
import WharfCore
import WharfDatabase

/// Teams and namespaces, as the CLI (and later the portal and the API) manage them: who belongs to which team
/// with which role, and which team owns which namespace with which visibility; and content in storage whose
/// namespace has no owner (a deleted user's repositories, a distribution folder from before Wharf), which an
/// admin adopts for a team or purges. One transaction per operation.
public struct OrganizationService: Sendable {
    let pool: DatabasePool
    let content: any NamespaceStorage

    public init(pool: DatabasePool, content: any NamespaceStorage) {
        self.pool = pool
        self.content = content
    }

    /// Creates a team; `owner` (a user) becomes its first owner (one activity, `team.create`, says both).
    @discardableResult
    public func createTeam(name: String, owner: String?, description: String = "", actor: ActivityActor = .commandLine) async throws -> Team {
        try AccountService.validateName(name, what: "team")
        return try await pool.write { transaction in
            if try transaction.teams.find(name: name) != nil { throw AccountError(.teamExists, "team \(name) already exists") }
            let owner = try owner.map { try Self.user($0, in: transaction) }
            let team = try transaction.teams.create(name: name, description: description)
            if let owner { try transaction.teams.setMember(teamID: team.id, userID: owner.id, role: .owner) }
            try transaction.activities.record(.teamCreate, by: actor, on: .team(team), details: owner.map { ["owner": $0.name] } ?? [:])
            return team
        }
    }

    /// Renames a team; its namespaces and members stay. The new name follows the namespace grammar, like every
    /// team name.
    public func renameTeam(_ name: String, to newName: String, actor: ActivityActor = .commandLine) async throws {
        try AccountService.validateName(newName, what: "team")
        try await pool.write { transaction in
            var team = try Self.team(name, in: transaction)
            guard newName != name else { return }
            if try transaction.teams.find(name: newName) != nil { throw AccountError(.teamExists, "team \(newName) already exists") }
            try transaction.teams.update(id: team.id, name: newName, description: team.description)
            team.name = newName
            try transaction.activities.record(.teamRename, by: actor, on: .team(team), details: ["from": name])
        }
    }

    /// Changes a team's description; recorded when it changes.
    public func describeTeam(_ name: String, description: String, actor: ActivityActor = .commandLine) async throws {
        try await pool.write { transaction in
            let team = try Self.team(name, in: transaction)
            guard team.description != description else { return }
            try transaction.teams.update(id: team.id, name: team.name, description: description)
            try transaction.activities.record(.teamDescriptionChange, by: actor, on: .team(team))
        }
    }

    /// Deletes a team with its memberships. Its namespaces go as `namespaces` says: refused by default while it
    /// owns any, given to another team, or deleted with their repositories (storage first, as
    /// ``deleteNamespace(name:deleteRepositories:actor:)`` does). Returns the namespaces it owned.
    @discardableResult
    public func deleteTeam(
        _ name: String,
        namespaces disposition: TeamNamespaces = .refuse,
        actor: ActivityActor = .commandLine
    ) async throws
        -> [String]
    {
        let owned = try await pool.read { transaction in try transaction.namespaces.list(teamID: Self.team(name, in: transaction).id).map(\.name) }
        if case .delete = disposition {
            for namespace in owned { try await deleteNamespace(name: namespace, deleteRepositories: true, actor: actor) }
        }
        return try await pool.write { transaction in
            let team = try Self.team(name, in: transaction)
            let namespaces = try transaction.namespaces.list(teamID: team.id)
            if !namespaces.isEmpty {
                switch disposition {
                case .refuse, .delete:
                    let names = namespaces.map(\.name).sorted().joined(separator: ", ")
                    throw AccountError(
                        .namespaceNotEmpty,
                        "team \(name) owns namespaces (\(names)): transfer them to another team or delete them with it"
                    )
                case .transfer(let target):
                    let receiver = try Self.team(target, in: transaction)
                    guard receiver.id != team.id else { throw AccountError(.notAllowed, "a team cannot receive its own namespaces") }
                    for namespace in namespaces {
                        try transaction.namespaces.transfer(id: namespace.id, teamID: receiver.id)
                        try transaction.activities.record(
                            .namespaceTeamChange,
                            by: actor,
                            on: .namespace(namespace),
                            details: ["team": receiver.name, "from": team.name]
                        )
                    }
                }
            }
            for member in try transaction.teams.members(teamID: team.id) {
                _ = try transaction.teams.removeMember(teamID: team.id, userID: member.userID)
            }
            _ = try transaction.teams.delete(id: team.id)
            try transaction.activities.record(.teamDelete, by: actor, on: .team(team), details: ["namespaces": owned.count])
            return owned
        }
    }

    /// Visible teams by name, with their members.
    public func listTeams() async throws -> [(team: Team, members: [TeamMember])] {
        try await pool.read { transaction in
            try transaction.teams.list(limit: 10_000).map { ($0, try transaction.teams.members(teamID: $0.id)) }
        }
    }

    /// Adds `user` to `team` with `role` (`team.member.add`), or changes their role (`team.member.role.change`);
    /// giving a member the role they have changes and records nothing.
    public func setMember(team: String, user: String, role: TeamRole, actor: ActivityActor = .commandLine) async throws {
        try await pool.write { transaction in
            let team = try Self.team(team, in: transaction)
            let user = try Self.user(user, in: transaction)
            let previous = try transaction.teams.role(teamID: team.id, userID: user.id)
            guard previous != role else { return }
            if previous == .owner { try Self.keepAnOwner(team, leaving: user.id, in: transaction) }
            try transaction.teams.setMember(teamID: team.id, userID: user.id, role: role)
            if let previous {
                try transaction.activities.record(
                    .teamMemberRoleChange,
                    by: actor,
                    on: .team(team),
                    details: ["user": user.name, "role": role.rawValue, "from": previous.rawValue]
                )
            } else {
                try transaction.activities.record(.teamMemberAdd, by: actor, on: .team(team), details: ["user": user.name, "role": role.rawValue])
            }
        }
    }

    public func removeMember(team: String, user: String, actor: ActivityActor = .commandLine) async throws {
        try await pool.write { transaction in
            let team = try Self.team(team, in: transaction)
            let user = try Self.user(user, in: transaction)
            let role = try transaction.teams.role(teamID: team.id, userID: user.id)
            if role == .owner { try Self.keepAnOwner(team, leaving: user.id, in: transaction) }
            guard let role, try transaction.teams.removeMember(teamID: team.id, userID: user.id) else {
                throw AccountError(.unknownUser, "\(user.name) is not a member of team \(team.name)")
            }
            try transaction.activities.record(.teamMemberRemove, by: actor, on: .team(team), details: ["user": user.name, "role": role.rawValue])
        }
    }

    /// Creates a namespace owned by `team`.
    @discardableResult
    public func createNamespace(
        name: String,
        team: String,
        visibility: Visibility = .private,
        description: String = "",
        actor: ActivityActor = .commandLine
    )
        async throws -> Namespace
    {
        try AccountService.validateName(name, what: "namespace")
        return try await pool.write { transaction in
            if try transaction.namespaces.find(name: name) != nil { throw AccountError(.namespaceExists, "namespace \(name) already exists") }
            let team = try Self.team(team, in: transaction)
            let namespace = try transaction.namespaces.create(
                name: name,
                kind: .team,
                visibility: visibility,
                teamID: team.id,
                description: description
            )
            try transaction.activities.record(
                .namespaceCreate,
                by: actor,
                on: .namespace(namespace),
                details: ["team": team.name, "visibility": visibility.rawValue]
            )
            return namespace
        }
    }

    public func setVisibility(namespace name: String, _ visibility: Visibility, actor: ActivityActor = .commandLine) async throws {
        try await updateNamespace(name: name, visibility: visibility, actor: actor)
    }

    /// Changes what is given (nil: kept) of a namespace's visibility, owning team and description, in one
    /// transaction, recording one activity per fact that changes (`namespace.visibility.change`,
    /// `namespace.team.change`, `namespace.description.change`). A personal namespace belongs to its user and
    /// changes no team.
    public func updateNamespace(
        name: String,
        visibility: Visibility? = nil,
        team teamName: String? = nil,
        description: String? = nil,
        actor: ActivityActor = .commandLine
    ) async throws {
        try await pool.write { transaction in
            let namespace = try Self.namespace(name, in: transaction)
            if let visibility, visibility != namespace.visibility {
                try transaction.namespaces.update(id: namespace.id, visibility: visibility, description: namespace.description)
                try transaction.activities.record(
                    .namespaceVisibilityChange,
                    by: actor,
                    on: .namespace(namespace),
                    details: ["visibility": visibility.rawValue, "from": namespace.visibility.rawValue]
                )
            }
            if let teamName {
                let team = try Self.team(teamName, in: transaction)
                guard namespace.kind == .team else {
                    throw AccountError(.notAllowed, "namespace \(name) is user \(name)'s personal namespace: it belongs to no team")
                }
                if team.id != namespace.teamID {
                    let previous = try namespace.teamID.flatMap { try transaction.teams.find(id: $0)?.name }
                    try transaction.namespaces.transfer(id: namespace.id, teamID: team.id)
                    var details: [String: any Sendable] = ["team": team.name]
                    if let previous { details["from"] = previous }
                    try transaction.activities.record(.namespaceTeamChange, by: actor, on: .namespace(namespace), details: details)
                }
            }
            if let description, description != namespace.description {
                let visibility = visibility ?? namespace.visibility
                try transaction.namespaces.update(id: namespace.id, visibility: visibility, description: description)
                try transaction.activities.record(.namespaceDescriptionChange, by: actor, on: .namespace(namespace))
            }
        }
    }

    /// Deletes a team namespace (its webhooks and catalogue rows go with it). One holding repositories in storage
    /// is refused unless `deleteRepositories`, which removes their tags and manifests first (blobs stay for
    /// garbage collection): a namespace is never deleted from under its content, which would be left without an
    /// owner. A personal namespace goes with its user. Returns the repositories it held.
    @discardableResult
    public func deleteNamespace(name: String, deleteRepositories: Bool = false, actor: ActivityActor = .commandLine) async throws -> [RepositoryName]
    {
        @Sendable func check(_ namespace: Namespace) throws {
            guard namespace.kind == .team else {
                throw AccountError(.notAllowed, "namespace \(name) is user \(name)'s personal namespace: it goes with the user (wharf user delete)")
            }
        }
        // Storage is read (and written) outside the transaction: a database transaction never waits on storage.
        let found = try await pool.read { transaction in try Self.namespace(name, in: transaction) }
        try check(found)
        let holdsContent = try await content.holdsContent(name)
        let repositories = holdsContent ? try await content.repositories(in: name) : []
        if holdsContent {
            guard deleteRepositories else {
                throw AccountError(
                    .namespaceNotEmpty,
                    "namespace \(name) holds \(AccountService.describe(repositories)): add --delete-repositories to delete them with it"
                )
            }
            // Storage first: should the removal fail half-way, the namespace is still there to try again.
            try await content.remove(name)
        }
        return try await pool.write { transaction in
            let namespace = try Self.namespace(name, in: transaction)
            try check(namespace)
            try transaction.namespaces.delete(id: namespace.id)
            try transaction.activities.record(.namespaceDelete, by: actor, on: .namespace(namespace), details: ["repositories": repositories.count])
            return repositories
        }
    }

    /// Every namespace by name, with the owning team's name (nil for personal ones).
    public func listNamespaces() async throws -> [(namespace: Namespace, team: String?)] {
        try await pool.read { transaction in
            var result: [(Namespace, String?)] = []
            var after: String? = nil
            while true {
                let page = try transaction.namespaces.list(after: after, limit: 1000)
                for namespace in page { result.append((namespace, try namespace.teamID.flatMap { try transaction.teams.find(id: $0)?.name })) }
                guard page.count == 1000, let last = page.last else { return result }
                after = last.name
            }
        }
    }

    /// Gives content without an owner (repositories in storage under `name`, no namespace row) an owner: a
    /// namespace of `team` with `visibility`. Fails when the namespace exists or storage holds nothing under it.
    /// Returns the repositories adopted.
    @discardableResult
    public func adoptNamespace(
        name: String,
        team: String,
        visibility: Visibility = .private,
        actor: ActivityActor = .commandLine
    )
        async throws -> [RepositoryName]
    {
        try AccountService.validateName(name, what: "namespace")
        // Storage is read before the transaction: a database transaction never waits on storage.
        let holdsContent = try await content.holdsContent(name)
        let repositories = holdsContent ? try await content.repositories(in: name) : []
        return try await pool.write { transaction in
            if try transaction.namespaces.find(name: name) != nil {
                throw AccountError(.namespaceExists, "namespace \(name) already exists and has an owner: nothing to adopt")
            }
            guard holdsContent else {
                throw AccountError(
                    .noContent,
                    "namespace \(name) holds no content in storage: nothing to adopt (wharf namespace create makes a new one)"
                )
            }
            let team = try Self.team(team, in: transaction)
            return try Self.adopt(name, repositories: repositories, team: team, visibility: visibility, actor: actor, in: transaction)
        }
    }

    /// Adopts every namespace in storage that holds content and has no row, for `team`, in one transaction.
    /// Repositories without a slash are in the global namespace and adopt nothing. Returns what was adopted, by
    /// namespace (empty when every namespace has an owner).
    public func adoptUnknownNamespaces(
        team: String,
        visibility: Visibility = .private,
        actor: ActivityActor = .commandLine
    )
        async throws -> [(namespace: String, repositories: [RepositoryName])]
    {
        var found: [(name: String, repositories: [RepositoryName])] = []
        for name in try await content.namespaces() {
            found.append((name, try await content.repositories(in: name)))
        }
        let candidates = found
        return try await pool.write { transaction in
            let team = try Self.team(team, in: transaction)
            var adopted: [(String, [RepositoryName])] = []
            for candidate in candidates where try transaction.namespaces.find(name: candidate.name) == nil {
                let repositories = try Self.adopt(
                    candidate.name,
                    repositories: candidate.repositories,
                    team: team,
                    visibility: visibility,
                    actor: actor,
                    in: transaction
                )
                adopted.append((candidate.name, repositories))
            }
            return adopted
        }
    }

    /// Removes content without an owner under `name` from storage: its repositories' tags and manifests (blobs
    /// stay for garbage collection). A namespace with an owner is refused: its repositories are deleted through
    /// the registry by those allowed to. Returns the repositories removed.
    @discardableResult
    public func purgeNamespace(name: String, actor: ActivityActor = .commandLine) async throws -> [RepositoryName] {
        try AccountService.validateName(name, what: "namespace")
        let ownerMessage = "namespace \(name) has an owner: purge removes only content without an owner"
        // Storage is read and written outside the transaction (a database transaction never waits on storage),
        // once the namespace is known to have no owner; the transaction checks that again as it records.
        if try await pool.read({ transaction in try transaction.namespaces.find(name: name) != nil }) {
            throw AccountError(.namespaceExists, ownerMessage)
        }
        guard try await content.holdsContent(name) else {
            throw AccountError(.noContent, "namespace \(name) holds no content in storage: nothing to purge")
        }
        let repositories = try await content.repositories(in: name)
        try await content.remove(name)
        return try await pool.write { transaction in
            if try transaction.namespaces.find(name: name) != nil { throw AccountError(.namespaceExists, ownerMessage) }
            try transaction.activities.record(.namespacePurge, by: actor, on: .namespace(named: name), details: ["repositories": repositories.count])
            return repositories
        }
    }

    private static func adopt(
        _ name: String,
        repositories: [RepositoryName],
        team: Team,
        visibility: Visibility,
        actor: ActivityActor,
        in transaction: Transaction
    ) throws -> [RepositoryName] {
        let namespace = try transaction.namespaces.create(name: name, kind: .team, visibility: visibility, teamID: team.id)
        try transaction.activities.record(
            .namespaceAdopt,
            by: actor,
            on: .namespace(namespace),
            details: ["team": team.name, "repositories": repositories.count]
        )
        return repositories
    }

    private static func keepAnOwner(_ team: Team, leaving userID: Int64, in transaction: Transaction) throws {
        let owners = try transaction.teams.members(teamID: team.id).filter { $0.role == .owner && $0.userID != userID }
        guard !owners.isEmpty else { throw AccountError(.notAllowed, "team \(team.name) would have no owner left; make someone else owner first") }
    }

    private static func namespace(_ name: String, in transaction: Transaction) throws -> Namespace {
        guard let namespace = try transaction.namespaces.find(name: name) else { throw AccountError(.unknownNamespace, "unknown namespace \(name)") }
        return namespace
    }

    private static func team(_ name: String, in transaction: Transaction) throws -> Team {
        guard let team = try transaction.teams.find(name: name) else { throw AccountError(.unknownTeam, "unknown team \(name)") }
        return team
    }

    private static func user(_ name: String, in transaction: Transaction) throws -> User {
        guard let user = try transaction.users.find(name: name) else { throw AccountError(.unknownUser, "unknown user \(name)") }
        return user
    }
}
