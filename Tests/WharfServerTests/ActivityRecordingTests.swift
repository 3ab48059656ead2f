import Foundation
import Testing
import WharfCore
import WharfDatabase

@testable import WharfAuth
@testable import WharfServer

/// Every change a person makes to users, tokens, teams and namespaces is one activity, recorded in the change's
/// transaction with who made it (id, name, address), on what, and nothing when nothing changes or the change fails.
@Suite struct ActivityRecordingTests {
    /// The admin the changes are made as, from an address, as the portal will record them.
    static func admin(_ accounts: AccountService) async throws -> ActivityActor {
        let root = try await accounts.createUser(name: "root", password: "root-password", isAdmin: true)
        return ActivityActor(id: root.id, name: "root", address: "2001:db8::7")
    }

    /// The activities `change` recorded, oldest first.
    static func recorded(_ pool: DatabasePool, _ change: () async throws -> Void) async throws -> [Activity] {
        let before = try await pool.read { try $0.activities.list(limit: 1) }.first?.id ?? 0
        try await change()
        return try await pool.read { try $0.activities.list(limit: 1000) }.filter { $0.id > before }.reversed()
    }

    /// Expects `change` to record exactly one activity, `action` by `actor` on `kind` `name`, whose details hold
    /// `details` (besides the actor's address as `addr`).
    @discardableResult
    static func expectOne(
        _ pool: DatabasePool,
        _ action: ActivityAction,
        by actor: ActivityActor,
        on kind: String,
        _ name: String,
        details: [String: String] = [:],
        sourceLocation: SourceLocation = #_sourceLocation,
        _ change: () async throws -> Void
    ) async throws -> Activity? {
        let activities = try await recorded(pool, change)
        #expect(activities.map(\.action) == [action.rawValue], sourceLocation: sourceLocation)
        guard let activity = activities.first else { return nil }
        #expect(activity.actorID == actor.id && activity.actorName == actor.name, sourceLocation: sourceLocation)
        #expect(activity.targetKind == kind && activity.targetName == name, sourceLocation: sourceLocation)
        let recorded = try #require(try JSONSerialization.jsonObject(with: Data(activity.details.utf8)) as? [String: Any])
        #expect(recorded["addr"] as? String == actor.address, sourceLocation: sourceLocation)
        for (key, value) in details {
            #expect(recorded[key].map { "\($0)" } == value, "details[\(key)] of \(activity.details)", sourceLocation: sourceLocation)
        }
        return activity
    }

    /// Expects `change` to record nothing (it changes nothing, or fails and is rolled back).
    static func expectNone(_ pool: DatabasePool, sourceLocation: SourceLocation = #_sourceLocation, _ change: () async throws -> Void) async throws {
        let activities = try await recorded(pool) {
            do { try await change() } catch is AccountError {}
        }
        #expect(activities.map(\.action) == [], sourceLocation: sourceLocation)
    }

    @Test(arguments: AccountBackend.available)
    func userAndTokenChangesAreOneActivityEach(_ backend: AccountBackend) async throws {
        try await AccountServiceTests().withAccounts(backend) { accounts, pool, _ in
            let admin = try await Self.admin(accounts)
            let bob = try #require(
                try await Self.expectOne(pool, .userCreate, by: admin, on: "user", "bob") {
                    try await accounts.createUser(name: "bob", password: "bob-password", actor: admin)
                }
            )
            #expect(try await pool.read { try $0.users.find(name: "bob") }?.id == bob.targetID)
            try await Self.expectNone(pool) { try await accounts.createUser(name: "bob", password: "bob-password", actor: admin) }
            try await Self.expectOne(pool, .userPasswordChange, by: admin, on: "user", "bob") {
                try await accounts.setPassword(name: "bob", password: "new-password", actor: admin)
            }
            try await Self.expectNone(pool) { try await accounts.setPassword(name: "bob", password: "short", actor: admin) }

            try await Self.expectOne(pool, .userPromote, by: admin, on: "user", "bob") {
                try await accounts.setAdmin(name: "bob", true, actor: admin)
            }
            try await Self.expectNone(pool) { try await accounts.setAdmin(name: "bob", true, actor: admin) }
            try await Self.expectOne(pool, .userDemote, by: admin, on: "user", "bob") {
                try await accounts.setAdmin(name: "bob", false, actor: admin)
            }
            try await Self.expectOne(pool, .userDisable, by: admin, on: "user", "bob") {
                try await accounts.setEnabled(name: "bob", false, actor: admin)
            }
            try await Self.expectNone(pool) { try await accounts.setEnabled(name: "bob", false, actor: admin) }
            try await Self.expectOne(pool, .userEnable, by: admin, on: "user", "bob") {
                try await accounts.setEnabled(name: "bob", true, actor: admin)
            }

            try await Self.expectNone(pool) { try await accounts.unlock(name: "bob", actor: admin) }
            let bobID = try #require(bob.targetID)
            _ = try await pool.write { try $0.users.recordFailedLogin(id: bobID, window: .seconds(60), limit: 1, lockFor: .seconds(600)) }
            try await Self.expectOne(pool, .userUnlock, by: admin, on: "user", "bob") { try await accounts.unlock(name: "bob", actor: admin) }

            let token = try await Self.expectOne(pool, .tokenCreate, by: admin, on: "token", "ci, \"main\"", details: ["user": "bob"]) {
                _ = try await accounts.createToken(user: "bob", label: "ci, \"main\"", actor: admin)
            }
            #expect(try await accounts.listTokens(user: "bob").map(\.id) == [try #require(token?.targetID)])
            try await Self.expectNone(pool) { _ = try await accounts.createToken(user: "bob", label: "ci, \"main\"", actor: admin) }
            try await Self.expectOne(pool, .tokenRevoke, by: admin, on: "token", "ci, \"main\"", details: ["user": "bob"]) {
                try await accounts.revokeToken(user: "bob", label: "ci, \"main\"", actor: admin)
            }
            let refresh = try await pool.write { try $0.refreshTokens.create(userID: bobID, clientID: "docker", tokenHash: "refresh-hash") }
            let refreshLabel = CredentialID.refreshToken(refresh.id).description
            try await Self.expectOne(pool, .tokenRevoke, by: admin, on: "token", refreshLabel, details: ["user": "bob"]) {
                try await accounts.revokeToken(user: "bob", label: refreshLabel, actor: admin)
            }
            try await Self.expectNone(pool) { try await accounts.revokeToken(user: "bob", label: refreshLabel, actor: admin) }

            // The personal namespace, empty, goes with the user: one change, one activity.
            try await Self.expectOne(pool, .userDelete, by: admin, on: "user", "bob") { try await accounts.deleteUser(name: "bob", actor: admin) }
            try await Self.expectNone(pool) { try await accounts.deleteUser(name: "bob", actor: admin) }

            // The command line records itself as `cli`, without an id or an address.
            try await Self.expectOne(pool, .userCreate, by: .commandLine, on: "user", "carol") {
                try await accounts.createUser(name: "carol", password: "carol-password")
            }
        }
    }

    @Test(arguments: AccountBackend.available)
    func teamAndNamespaceChangesAreOneActivityEach(_ backend: AccountBackend) async throws {
        try await AccountServiceTests().withAccounts(backend) { accounts, pool, folder in
            let organization = AccountServiceTests.organization(pool, folder)
            let admin = try await Self.admin(accounts)
            try await accounts.createUser(name: "alice", password: "alice-password")
            try await accounts.createUser(name: "bob", password: "bob-password")

            try await Self.expectOne(pool, .teamCreate, by: admin, on: "team", "devs", details: ["owner": "alice"]) {
                try await organization.createTeam(name: "devs", owner: "alice", actor: admin)
            }
            try await Self.expectNone(pool) { try await organization.createTeam(name: "devs", owner: nil, actor: admin) }
            try await Self.expectOne(pool, .teamCreate, by: admin, on: "team", "ops") {
                try await organization.createTeam(name: "ops", owner: nil, actor: admin)
            }
            try await Self.expectOne(pool, .teamMemberAdd, by: admin, on: "team", "devs", details: ["user": "bob", "role": "viewer"]) {
                try await organization.setMember(team: "devs", user: "bob", role: .viewer, actor: admin)
            }
            try await Self.expectNone(pool) { try await organization.setMember(team: "devs", user: "bob", role: .viewer, actor: admin) }
            try await Self.expectOne(
                pool,
                .teamMemberRoleChange,
                by: admin,
                on: "team",
                "devs",
                details: ["user": "bob", "role": "contributor", "from": "viewer"]
            ) {
                try await organization.setMember(team: "devs", user: "bob", role: .contributor, actor: admin)
            }
            try await Self.expectOne(pool, .teamMemberRemove, by: admin, on: "team", "devs", details: ["user": "bob", "role": "contributor"]) {
                try await organization.removeMember(team: "devs", user: "bob", actor: admin)
            }
            // The last owner stays: refused, nothing recorded.
            try await Self.expectNone(pool) { try await organization.removeMember(team: "devs", user: "alice", actor: admin) }
            try await Self.expectOne(pool, .teamRename, by: admin, on: "team", "dev-team", details: ["from": "devs"]) {
                try await organization.renameTeam("devs", to: "dev-team", actor: admin)
            }
            try await Self.expectNone(pool) { try await organization.renameTeam("dev-team", to: "ops", actor: admin) }
            try await Self.expectNone(pool) { try await organization.renameTeam("dev-team", to: "Bad/Name", actor: admin) }
            #expect(try await organization.listTeams().map(\.team.name) == ["dev-team", "ops"])

            let created = try #require(
                try await Self.expectOne(pool, .namespaceCreate, by: admin, on: "namespace", "acme", details: ["team": "dev-team"]) {
                    try await organization.createNamespace(name: "acme", team: "dev-team", actor: admin)
                }
            )
            #expect(created.namespaceID != nil && created.namespaceID == created.targetID)
            try await Self.expectOne(pool, .namespaceVisibilityChange, by: admin, on: "namespace", "acme", details: ["visibility": "public"]) {
                try await organization.setVisibility(namespace: "acme", .public, actor: admin)
            }
            try await Self.expectNone(pool) { try await organization.setVisibility(namespace: "acme", .public, actor: admin) }
            try await Self.expectOne(pool, .namespaceTeamChange, by: admin, on: "namespace", "acme", details: ["team": "ops", "from": "dev-team"]) {
                try await organization.updateNamespace(name: "acme", team: "ops", actor: admin)
            }
            try await Self.expectOne(pool, .namespaceDescriptionChange, by: admin, on: "namespace", "acme") {
                try await organization.updateNamespace(name: "acme", team: "ops", description: "Acme's images", actor: admin)
            }
            let acme = try #require(try await pool.read { try $0.namespaces.find(name: "acme") })
            #expect(acme.visibility == .public && acme.teamID != nil && acme.description == "Acme's images")

            // Two facts in one call: two activities in one transaction; a failure rolls back both change and record.
            let both = try await Self.recorded(pool) {
                try await organization.updateNamespace(name: "acme", visibility: .protected, description: "", actor: admin)
            }
            #expect(both.map(\.action) == ["namespace.visibility.change", "namespace.description.change"])
            try await Self.expectNone(pool) {
                try await organization.updateNamespace(name: "acme", visibility: .private, team: "nobody", actor: admin)
            }
            #expect(try await pool.read { try $0.namespaces.find(name: "acme") }?.visibility == .protected)
            try await Self.expectNone(pool) { try await organization.updateNamespace(name: "alice", team: "ops", actor: admin) }

            // A namespace holding repositories is deleted only with them.
            try AccountServiceTests.storeRepository(folder, "acme/app")
            try await Self.expectNone(pool) { try await organization.deleteNamespace(name: "acme", actor: admin) }
            try await Self.expectNone(pool) { try await organization.deleteNamespace(name: "alice", actor: admin) }
            var removed: [RepositoryName] = []
            try await Self.expectOne(pool, .namespaceDelete, by: admin, on: "namespace", "acme", details: ["repositories": "1"]) {
                removed = try await organization.deleteNamespace(name: "acme", deleteRepositories: true, actor: admin)
            }
            #expect(removed.map(\.value) == ["acme/app"])
            #expect(!AccountServiceTests.storageExists(folder, "repositories/acme"))
            #expect(try await pool.read { try $0.namespaces.find(name: "acme") } == nil)
            try await Self.expectNone(pool) { try await organization.deleteNamespace(name: "acme", actor: admin) }

            // The deleted namespace's history is still found by its name; who acted, by name.
            let log = ActivityLog(pool: pool)
            #expect(
                try await log.list(namespace: "acme").map(\.action) == [
                    "namespace.delete", "namespace.description.change", "namespace.visibility.change", "namespace.description.change",
                    "namespace.team.change", "namespace.visibility.change", "namespace.create",
                ]
            )
            #expect(try await log.list(user: "root", limit: 2).map(\.action) == ["namespace.delete", "namespace.description.change"])
            #expect(try await log.list(user: "cli").map(\.targetName) == ["bob", "alice", "root"])
            #expect(
                try await log.list(action: "team.member", user: "root").map(\.action) == [
                    "team.member.remove", "team.member.role.change", "team.member.add",
                ]
            )
            await AccountServiceTests().expectAccountError(.unknownNamespace) { _ = try await log.list(namespace: "nowhere") }
        }
    }

    /// A first push into a new namespace makes a team and a namespace: both are recorded, by the pusher.
    @Test(arguments: AccountBackend.available)
    func aFirstPushRecordsTheTeamAndNamespaceItCreates(_ backend: AccountBackend) async throws {
        try await AccountServiceTests().withAccounts(backend) { accounts, pool, folder in
            let authorizer = try AccountServiceTests.tokenService(folder, pool).authorizer
            let alice = try await accounts.createUser(name: "alice", password: "alice-password")
            let activities = try await Self.recorded(pool) {
                try await authorizer.ensureNamespace(for: try RepositoryName("fresh/app"), subject: Authenticator.subject(alice))
            }
            #expect(activities.map(\.action) == ["team.create", "namespace.create"])
            #expect(activities.allSatisfy { $0.actorID == alice.id && $0.actorName == "alice" && $0.targetName == "fresh" })
        }
    }

    /// The README's list of actions is the list the code records.
    @Test func theReadmeListsEveryAction() throws {
        let readme = try String(
            contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("README.md"),
            encoding: .utf8
        )
        for action in ActivityAction.all {
            #expect(readme.contains("`\(action)`"), "README does not list \(action)")
        }
        #expect(Set(ActivityAction.all).count == ActivityAction.all.count)
    }
}
