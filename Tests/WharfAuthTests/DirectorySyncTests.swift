import Crypto
import Foundation
import Logging
import ServiceLifecycle
import Testing
import WharfCore
import WharfDatabase

@testable import WharfAuth

/// Storage that holds nothing: the accounts here have no content.
private struct NoContent: NamespaceStorage {
    func holdsContent(_ namespace: String) async throws -> Bool { false }
    func repositories(in namespace: String) async throws -> [RepositoryName] { [] }
    func namespaces() async throws -> [String] { [] }
    func remove(_ namespace: String) async throws {}
}

/// A migrated SQLite database, a fake directory, and the services sync works with.
private struct SyncFixture {
    let pool: DatabasePool
    let directory: FakeDirectory
    let accounts: AccountService
    let organizations: OrganizationService
    let logger: Logger

    static func with(_ body: (SyncFixture) async throws -> Void) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-ldap-sync-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var logger = Logger(label: "wharf-ldap-sync-tests")
        logger.logLevel = .critical
        let pool = DatabasePool(location: .sqlite(path: folder + "/wharf.sqlite", poolSize: 2), logger: logger)
        try await pool.prepare()
        let accounts = AccountService(
            pool: pool,
            content: NoContent(),
            passwords: PasswordHasher(cost: 4),
            tokens: ApplicationTokenHasher(secret: SymmetricKey(size: .bits256))
        )
        let fixture = SyncFixture(
            pool: pool,
            directory: FakeDirectory(),
            accounts: accounts,
            organizations: OrganizationService(pool: pool, content: NoContent()),
            logger: logger
        )
        do {
            try await body(fixture)
        } catch {
            await pool.close()
            throw error
        }
        await pool.close()
    }

    func sync(_ mode: DirectorySyncMode, role: TeamRole = .viewer) -> DirectorySync {
        DirectorySync(
            pool: pool,
            directory: directory,
            accounts: accounts,
            settings: DirectorySyncSettings(mode: mode, defaultRole: role, interval: .seconds(3600)),
            logger: logger
        )
    }

    static func dn(_ name: String) -> String { "uid=\(name),ou=People,dc=wharf,dc=test" }

    /// A user linked to their directory entry (as a first LDAP sign-in makes one), the entry existing.
    @discardableResult
    func ldapUser(_ name: String) async throws -> User {
        directory.addEntry(Self.dn(name))
        return try await pool.write { transaction in try transaction.users.create(NewUser(name: name, ldapDN: Self.dn(name))) }
    }

    @discardableResult
    func team(_ name: String) async throws -> Team {
        try await organizations.createTeam(name: name, owner: nil)
    }

    /// `name:role:sync|manual` for each member of `team`, by name.
    func members(_ team: String) async throws -> [String] {
        try await pool.read { transaction in
            guard let team = try transaction.teams.find(name: team) else { return [] }
            return try transaction.teams.members(teamID: team.id).map { "\($0.userName):\($0.role.rawValue):\($0.fromDirectory ? "sync" : "manual")" }
        }
    }

    /// `action target user` for each activity `ldap-sync` recorded, oldest first.
    func syncActivities() async throws -> [String] {
        try await pool.read { transaction in
            try transaction.activities.recent(limit: 1000).filter { $0.actorName == "ldap-sync" }.reversed().map { activity in
                let details = try JSONSerialization.jsonObject(with: Data(activity.details.utf8)) as? [String: Any]
                return [activity.action, activity.targetName, details?["user"] as? String].compactMap { $0 }.joined(separator: " ")
            }
        }
    }

    func user(_ name: String) async throws -> User {
        try #require(try await pool.read { transaction in try transaction.users.find(name: name) })
    }
}

@Suite struct DirectorySyncTests {
    @Test(arguments: DirectorySyncMode.allCases)
    func groupMembersWithAnAccountJoinTheTeamOfTheSameName(_ mode: DirectorySyncMode) async throws {
        try await SyncFixture.with { fixture in
            try await fixture.ldapUser("alice")
            try await fixture.ldapUser("bob")
            try await fixture.team("developers")
            // The group's cn in another case, a member in another case, a member without an account, a group
            // without a team.
            fixture.directory.setGroup(
                "Developers",
                members: [SyncFixture.dn("alice"), SyncFixture.dn("bob").uppercased(), SyncFixture.dn("nobody")]
            )
            fixture.directory.setGroup("operations", members: [SyncFixture.dn("alice")])
            let sync = fixture.sync(mode)

            let report = await sync.syncAll()
            #expect(report.error == nil)
            #expect((report.groups, report.teamsMatched, report.membershipsAdded, report.membershipsRemoved) == (2, 1, 2, 0))
            #expect(try await fixture.members("developers") == ["alice:viewer:sync", "bob:viewer:sync"])
            // Teams are not created by sync.
            #expect(try await fixture.pool.read { try $0.teams.find(name: "operations") } == nil)
            #expect(try await fixture.syncActivities() == ["team.member.add developers alice", "team.member.add developers bob"])

            // A second pass finds nothing to do.
            let again = await sync.syncAll()
            #expect((again.membershipsAdded, again.membershipsRemoved, again.error) == (0, 0, nil))
            #expect(try await fixture.syncActivities().count == 2)
        }
    }

    @Test func theDefaultRoleIsTheSettings() async throws {
        try await SyncFixture.with { fixture in
            try await fixture.ldapUser("alice")
            try await fixture.team("developers")
            fixture.directory.setGroup("developers", members: [SyncFixture.dn("alice")])
            #expect(await fixture.sync(.mirror, role: .contributor).syncAll().membershipsAdded == 1)
            #expect(try await fixture.members("developers") == ["alice:contributor:sync"])
        }
    }

    @Test(arguments: DirectorySyncMode.allCases)
    func leavingTheGroupRemovesTheMembershipInMirrorModeOnly(_ mode: DirectorySyncMode) async throws {
        try await SyncFixture.with { fixture in
            try await fixture.ldapUser("alice")
            try await fixture.ldapUser("bob")
            try await fixture.team("developers")
            fixture.directory.setGroup("developers", members: [SyncFixture.dn("alice"), SyncFixture.dn("bob")])
            let sync = fixture.sync(mode)
            #expect(await sync.syncAll().membershipsAdded == 2)

            fixture.directory.setGroup("developers", members: [SyncFixture.dn("alice")])
            let report = await sync.syncAll()
            #expect(report.error == nil)
            switch mode {
            case .mirror:
                #expect(report.membershipsRemoved == 1)
                #expect(try await fixture.members("developers") == ["alice:viewer:sync"])
                #expect(try await fixture.syncActivities().last == "team.member.remove developers bob")
            case .addOnly:
                #expect(report.membershipsRemoved == 0)
                #expect(try await fixture.members("developers") == ["alice:viewer:sync", "bob:viewer:sync"])
                #expect(try await fixture.syncActivities().count == 2)
            }
        }
    }

    @Test(arguments: DirectorySyncMode.allCases)
    func membershipsPeopleMadeAreNeverTouched(_ mode: DirectorySyncMode) async throws {
        try await SyncFixture.with { fixture in
            try await fixture.ldapUser("alice")
            try await fixture.ldapUser("carol")
            try await fixture.ldapUser("dave")
            try await fixture.team("developers")
            // carol is a member by hand and listed by the group; dave is a member by hand and not listed; alice
            // is added by sync, then an owner makes her a contributor, which makes the membership theirs.
            try await fixture.organizations.setMember(team: "developers", user: "carol", role: .contributor)
            try await fixture.organizations.setMember(team: "developers", user: "dave", role: .owner)
            fixture.directory.setGroup("developers", members: [SyncFixture.dn("alice"), SyncFixture.dn("carol")])
            let sync = fixture.sync(mode)
            #expect(await sync.syncAll().membershipsAdded == 1)
            #expect(try await fixture.members("developers") == ["alice:viewer:sync", "carol:contributor:manual", "dave:owner:manual"])
            try await fixture.organizations.setMember(team: "developers", user: "alice", role: .contributor)

            // The group lists none of them any more, then the group goes.
            fixture.directory.setGroup("developers", members: [])
            #expect(await sync.syncAll().membershipsRemoved == 0)
            fixture.directory.removeGroup("developers")
            let report = await sync.syncAll()
            #expect((report.membershipsAdded, report.membershipsRemoved, report.error) == (0, 0, nil))
            #expect(try await fixture.members("developers") == ["alice:contributor:manual", "carol:contributor:manual", "dave:owner:manual"])
        }
    }

    @Test(arguments: DirectorySyncMode.allCases)
    func aGroupThatIsGoneTakesItsSyncMadeMembershipsInMirrorMode(_ mode: DirectorySyncMode) async throws {
        try await SyncFixture.with { fixture in
            try await fixture.ldapUser("alice")
            try await fixture.ldapUser("bob")
            try await fixture.team("developers")
            try await fixture.team("operations")
            try await fixture.organizations.setMember(team: "developers", user: "bob", role: .owner)
            fixture.directory.setGroup("developers", members: [SyncFixture.dn("alice")])
            fixture.directory.setGroup("operations", members: [SyncFixture.dn("alice")])
            let sync = fixture.sync(mode)
            #expect(await sync.syncAll().membershipsAdded == 2)

            fixture.directory.removeGroup("developers")
            let report = await sync.syncAll()
            #expect(report.error == nil)
            #expect(try await fixture.members("operations") == ["alice:viewer:sync"])
            switch mode {
            case .mirror:
                #expect(report.membershipsRemoved == 1)
                #expect(try await fixture.members("developers") == ["bob:owner:manual"])
                #expect(try await fixture.syncActivities().last == "team.member.remove developers alice")
            case .addOnly:
                #expect(report.membershipsRemoved == 0)
                #expect(try await fixture.members("developers") == ["alice:viewer:sync", "bob:owner:manual"])
            }
        }
    }

    @Test func aUserWhoseEntryIsGoneIsDisabledAndSignedOut() async throws {
        try await SyncFixture.with { fixture in
            let alice = try await fixture.ldapUser("alice")
            try await fixture.ldapUser("bob")
            // A local account (no entry) is never the directory's to judge.
            try await fixture.accounts.createUser(name: "local", password: "local-password-1")
            try await fixture.pool.write { transaction in
                _ = try transaction.sessions.create(id: "alice-browser", userID: alice.id, expiresAt: Date().addingTimeInterval(3600))
            }
            fixture.directory.removeEntry(SyncFixture.dn("alice"))
            let sync = fixture.sync(.addOnly)

            let report = await sync.syncAll()
            #expect((report.usersChecked, report.usersDisabled, report.error) == (2, 1, nil))
            #expect(try await fixture.user("alice").enabled == false)
            #expect(try await fixture.user("bob").enabled)
            #expect(try await fixture.user("local").enabled)
            #expect(try await fixture.pool.read { try $0.sessions.find(id: "alice-browser") } == nil)
            #expect(try await fixture.syncActivities() == ["user.disable alice"])

            // Disabled users are not looked up again.
            #expect(await sync.syncAll().usersChecked == 1)
        }
    }

    /// Without a bind account the directory is read anonymously, where entries that exist look gone: the pass
    /// must not disable anyone then.
    @Test func withoutABindAccountNoOneIsDisabled() async throws {
        try await SyncFixture.with { fixture in
            try await fixture.ldapUser("alice")
            fixture.directory.removeEntry(SyncFixture.dn("alice"))
            let sync = DirectorySync(
                pool: fixture.pool,
                directory: fixture.directory,
                accounts: fixture.accounts,
                settings: DirectorySyncSettings(mode: .mirror, interval: .seconds(3600), checkEntries: false),
                logger: fixture.logger
            )
            let report = await sync.syncAll()
            #expect((report.usersChecked, report.usersDisabled, report.error) == (0, 0, nil))
            #expect(try await fixture.user("alice").enabled)
        }
    }

    @Test func aDisabledUserStaysDisabledAndKeepsTheirGroupsMemberships() async throws {
        try await SyncFixture.with { fixture in
            try await fixture.ldapUser("alice")
            try await fixture.team("developers")
            try await fixture.accounts.setEnabled(name: "alice", false)
            fixture.directory.setGroup("developers", members: [SyncFixture.dn("alice")])
            let report = await fixture.sync(.mirror).syncAll()
            #expect((report.membershipsAdded, report.usersChecked, report.usersDisabled, report.error) == (1, 0, 0, nil))
            #expect(try await fixture.user("alice").enabled == false)
            #expect(try await fixture.members("developers") == ["alice:viewer:sync"])
        }
    }

    @Test func anUnreachableDirectoryChangesNothingAndTheStatusSaysWhy() async throws {
        try await SyncFixture.with { fixture in
            try await fixture.ldapUser("alice")
            try await fixture.ldapUser("bob")
            try await fixture.team("developers")
            fixture.directory.setGroup("developers", members: [SyncFixture.dn("alice"), SyncFixture.dn("bob")])
            let sync = fixture.sync(.mirror)
            let first = await sync.syncAll()
            #expect(first.error == nil)
            let succeeded = try #require(await sync.status().lastSuccessAt)

            // Everything that would change something, while the directory is down: nothing happens.
            fixture.directory.removeGroup("developers")
            fixture.directory.removeEntry(SyncFixture.dn("alice"))
            fixture.directory.set(.down)
            let report = await sync.syncAll()
            #expect(report.error?.contains("directory unavailable") == true)
            #expect((report.membershipsAdded, report.membershipsRemoved, report.usersDisabled) == (0, 0, 0))
            var status = await sync.status()
            #expect(status.lastError == report.error)
            #expect(status.lastSuccessAt == succeeded)
            #expect(status.lastRunAt == report.finishedAt)
            #expect((status.passes, status.isRunning, status.mode) == (2, false, .mirror))

            // Groups listed, then the directory fails on the entries: no one is disabled on an error.
            fixture.directory.setGroup("developers", members: [SyncFixture.dn("alice"), SyncFixture.dn("bob")])
            fixture.directory.set(.entriesDown)
            let halfway = await sync.syncAll()
            #expect(halfway.error?.contains("directory unavailable") == true)
            #expect((halfway.usersDisabled, halfway.membershipsRemoved) == (0, 0))
            #expect(try await fixture.user("alice").enabled)
            #expect(try await fixture.members("developers") == ["alice:viewer:sync", "bob:viewer:sync"])
            #expect(try await fixture.syncActivities().count == 2)

            // Back up: the next pass does what it could not, and the error is gone.
            fixture.directory.set(.up)
            let recovered = await sync.syncAll()
            #expect((recovered.usersDisabled, recovered.error) == (1, nil))
            status = await sync.status()
            #expect(status.lastError == nil)
            #expect(status.lastSuccessAt == recovered.finishedAt)
            #expect(status.usersDisabled == 1)
            #expect(try await fixture.user("alice").enabled == false)
        }
    }

    @Test(arguments: DirectorySyncMode.allCases)
    func aSignInSyncsThatUserAlone(_ mode: DirectorySyncMode) async throws {
        try await SyncFixture.with { fixture in
            let alice = try await fixture.ldapUser("alice")
            try await fixture.ldapUser("bob")
            try await fixture.team("developers")
            try await fixture.team("operations")
            try await fixture.organizations.setMember(team: "operations", user: "alice", role: .owner)
            fixture.directory.setGroup("developers", members: [SyncFixture.dn("alice"), SyncFixture.dn("bob")])
            let sync = fixture.sync(mode)

            // The DN as the sign-in found it, in another case than stored.
            try await sync.syncUser(id: alice.id, dn: SyncFixture.dn("alice").lowercased())
            #expect(try await fixture.members("developers") == ["alice:viewer:sync"])
            #expect(try await fixture.members("operations") == ["alice:owner:manual"])
            #expect(try await fixture.syncActivities() == ["team.member.add developers alice"])

            fixture.directory.setGroup("developers", members: [SyncFixture.dn("bob")])
            try await sync.syncUser(id: alice.id, dn: SyncFixture.dn("alice"))
            switch mode {
            case .mirror: #expect(try await fixture.members("developers") == [])
            case .addOnly: #expect(try await fixture.members("developers") == ["alice:viewer:sync"])
            }
            #expect(try await fixture.members("operations") == ["alice:owner:manual"])

            // The directory down: the caller hears it, and nothing changes.
            fixture.directory.setGroup("developers", members: [SyncFixture.dn("alice")])
            fixture.directory.set(.down)
            let before = try await fixture.members("developers")
            await #expect(throws: DirectoryUnavailable.self) { try await sync.syncUser(id: alice.id, dn: SyncFixture.dn("alice")) }
            #expect(try await fixture.members("developers") == before)
            // A sign-in is no pass.
            #expect(await sync.status().passes == 0)
        }
    }

    @Test func passesNeverOverlap() async throws {
        try await SyncFixture.with { fixture in
            for index in 0..<5 { try await fixture.ldapUser("user\(index)") }
            try await fixture.team("developers")
            fixture.directory.setGroup("developers", members: (0..<5).map { SyncFixture.dn("user\($0)") })
            let sync = fixture.sync(.mirror)
            let reports = await withTaskGroup(of: DirectorySyncReport.self) { group in
                for _ in 0..<4 { group.addTask { await sync.syncAll() } }
                return await group.reduce(into: []) { $0.append($1) }
            }
            #expect(fixture.directory.listings == 4)
            #expect(fixture.directory.mostListingsInFlight == 1)
            // Each membership was added once, by whichever pass came first.
            #expect(reports.map(\.membershipsAdded).reduce(0, +) == 5)
            #expect(reports.allSatisfy { $0.error == nil })
            #expect(await sync.status().passes == 4)
        }
    }

    @Test func theServiceSyncsAtStartAndStopsAtShutdown() async throws {
        try await SyncFixture.with { fixture in
            try await fixture.ldapUser("alice")
            try await fixture.team("developers")
            fixture.directory.setGroup("developers", members: [SyncFixture.dn("alice")])
            let sync = fixture.sync(.mirror)
            let group = ServiceGroup(services: [sync], logger: fixture.logger)
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                let deadline = ContinuousClock.now + .seconds(30)
                while await sync.status().passes == 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
            let status = await sync.status()
            #expect(status.passes == 1)
            #expect(status.lastError == nil)
            #expect(try await fixture.members("developers") == ["alice:viewer:sync"])
        }
    }
}
