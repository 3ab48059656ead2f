import Testing
import WharfDatabase

@testable import WharfAuth

/// LDAP users imported from Portus (which kept their login, not their DN) are linked at their first LDAP login.
extension DirectoryLoginTests {
    @Test func anImportedDirectoryUserIsLinkedByLoginAtTheFirstLDAPLogin() async throws {
        try await withDirectory { fixture in
            let imported = try await fixture.pool.write { transaction in
                try transaction.users.create(NewUser(name: "erin", ldapDN: PortusMapping.pendingDirectoryLink(login: "Erin")))
            }
            fixture.directory.add("Erin", password: "directory-password")
            // The account is the directory's: a wrong password is refused there and links nothing.
            await fixture.refused(.invalidCredentials, "Erin", "wrong-password")
            #expect(try await fixture.user("erin")?.ldapDN == PortusMapping.pendingDirectoryLink(login: "Erin"))
            let caller = try await fixture.authenticator.authenticate(username: "Erin", password: "directory-password")
            #expect(caller.subject.name == "erin")
            let user = try #require(try await fixture.user("erin"))
            #expect(user.id == imported.id)
            #expect(user.ldapDN == "uid=Erin,ou=people,dc=wharf,dc=test")
            #expect(try await fixture.pool.read { try $0.users.count() } == 1)
            // Later logins find it by its DN.
            _ = try await fixture.authenticator.authenticate(username: "Erin", password: "directory-password")
            #expect(try await fixture.pool.read { try $0.users.count() } == 1)
        }
    }
}
