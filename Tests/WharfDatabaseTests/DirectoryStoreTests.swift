import Foundation
import Testing

@testable import WharfDatabase

/// What LDAP keeps in the database, on every backend: users found by the entry they are linked to, and team
/// memberships that group sync made (and may remove) apart from those people made (never touched by sync).
@Suite struct DirectoryStoreTests {
    @Test(arguments: TestBackend.allCases)
    func usersAreFoundByTheirEntryWhateverItsCase(_ backend: TestBackend) async throws {
        try await withDatabase(backend) { pool in
            let dn = "uid=Alice,ou=People,dc=wharf,dc=test"
            let alice = try await pool.write { try $0.users.create(NewUser(name: "alice", ldapDN: dn)) }
            try await pool.write { _ = try $0.users.create(NewUser(name: "local", passwordHash: "$2b$12$x")) }
            #expect(try await pool.read { try $0.users.find(ldapDN: "UID=alice,ou=people,DC=wharf,dc=test") } == alice)
            #expect(try await pool.read { try $0.users.find(ldapDN: "uid=bob,ou=people,dc=wharf,dc=test") } == nil)
            #expect(try await pool.read { try $0.users.find(ldapDN: "") } == nil)
            #expect(try await pool.read { try $0.users.directoryUsers().map(\.name) } == ["alice"])

            // One account per entry: a second user linked to the same entry is refused.
            let twice = await expectDatabaseError(.conflict) {
                try await pool.write { _ = try $0.users.create(NewUser(name: "alice-2", ldapDN: dn.uppercased())) }
            }
            #expect(twice?.message.contains("linked to") == true)

            // Unlinking (an update without a DN) takes the user out of the directory's users.
            var unlinked = alice
            unlinked.ldapDN = nil
            try await pool.write { [unlinked] in try $0.users.update(unlinked) }
            #expect(try await pool.read { try $0.users.find(ldapDN: dn) } == nil)
            #expect(try await pool.read { try $0.users.directoryUsers() }.isEmpty)
        }
    }

    @Test(arguments: TestBackend.allCases)
    func syncTouchesOnlyTheMembershipsItMade(_ backend: TestBackend) async throws {
        try await withDatabase(backend) { pool in
            let (team, synced, manual) = try await pool.write { tx in
                (
                    try tx.teams.create(name: "developers"), try tx.users.create(NewUser(name: "synced", ldapDN: "uid=synced,dc=test")),
                    try tx.users.create(NewUser(name: "manual", ldapDN: "uid=manual,dc=test"))
                )
            }
            try await pool.write { tx in try tx.teams.setMember(teamID: team.id, userID: manual.id, role: .owner) }
            let added = try await pool.write { tx in
                (
                    try tx.teams.addDirectoryMember(teamID: team.id, userID: synced.id, role: .viewer),
                    try tx.teams.addDirectoryMember(teamID: team.id, userID: manual.id, role: .viewer),
                    try tx.teams.addDirectoryMember(teamID: team.id, userID: synced.id, role: .contributor)
                )
            }
            #expect(added == (true, false, false))
            let members = try await pool.read { try $0.teams.members(teamID: team.id) }
            #expect(members.map { "\($0.userName):\($0.role.rawValue):\($0.fromDirectory)" } == ["manual:owner:false", "synced:viewer:true"])
            #expect(try await pool.read { try $0.teams.directoryMembers().map(\.userName) } == ["synced"])

            // Sync never removes a manual member; it removes its own.
            #expect(try await pool.write { try $0.teams.removeDirectoryMember(teamID: team.id, userID: manual.id) } == false)
            #expect(try await pool.write { try $0.teams.removeDirectoryMember(teamID: team.id, userID: synced.id) } == true)
            #expect(try await pool.read { try $0.teams.members(teamID: team.id).map(\.userName) } == ["manual"])

            // A person changing a synced membership makes it theirs: sync leaves it alone from then on.
            try await pool.write { tx in _ = try tx.teams.addDirectoryMember(teamID: team.id, userID: synced.id, role: .viewer) }
            try await pool.write { tx in try tx.teams.setMember(teamID: team.id, userID: synced.id, role: .contributor) }
            #expect(try await pool.write { try $0.teams.removeDirectoryMember(teamID: team.id, userID: synced.id) } == false)
            #expect(try await pool.read { try $0.teams.directoryMembers() }.isEmpty)
        }
    }
}
