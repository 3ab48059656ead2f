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

    /// A directory user's application token imported from Portus works before their first directory login (the
    /// token is theirs, not a password the directory should judge), and a refresh grant made from it never reads
    /// the placeholder as an entry that is gone.
    @Test func anImportedDirectoryUsersPortusTokenWorksAndIsNeverTakenForAGoneEntry() async throws {
        try await withDirectory(cacheTTL: .zero) { fixture in
            let token = "Zq3pR8sT1uV2wX4yA5bC"
            let hash = try await PasswordHasher(cost: 4).hash(token)
            let imported = try await fixture.pool.write { transaction in
                let user = try transaction.users.create(NewUser(name: "gail", ldapDN: PortusMapping.pendingDirectoryLink(login: "gail")))
                _ = try transaction.tokens.create(userID: user.id, application: "ci", tokenHash: try #require(PortusToken.storedHash(bcrypt: hash)))
                return user
            }
            let caller = try await fixture.authenticator.authenticate(username: "gail", password: token)
            #expect(caller.subject.name == "gail")
            #expect(fixture.directory.bindCount == 0)
            let refresh = try #require(try await fixture.authenticator.createRefreshToken(for: caller, clientID: "docker"))
            #expect(try await fixture.authenticator.exchangeRefreshToken(refresh, clientID: "docker").subject.name == "gail")
            #expect(try await fixture.user("gail")?.enabled == true)
            // Re-stored as Wharf's keyed hash: found without bcrypt from now on, and still gail's.
            #expect(try await fixture.authenticator.authenticate(username: "gail", password: token).subject.userID == imported.id)
        }
    }
}
