import Foundation
import Testing

@testable import WharfAuth

/// ``LDAPDirectory`` against the real slapd of the test run (`WHARF_TEST_LDAP_*`, seeded by
/// scripts/slapd-test-server.sh). Every test only reads the seed or adds and deletes entries of its own.
@Suite struct LDAPDirectoryTests {
    // MARK: Transports and bind modes

    @Test func searchThenBindOverPlainLDAP() async throws {
        let slapd = try TestSlapd.shared()
        let login = try await withDirectory(slapd.configuration()) { try await $0.authenticate(login: "alice", password: "alice-password") }
        #expect(
            login == .accepted(DirectoryEntry(dn: slapd.person("alice"), login: "alice", email: "alice@wharf.test", displayName: "Alice Liddell"))
        )
    }

    @Test func directBind() async throws {
        let slapd = try TestSlapd.shared()
        let login = try await withDirectory(slapd.directBindConfiguration()) { try await $0.authenticate(login: "bob", password: "bob-password") }
        #expect(login == .accepted(DirectoryEntry(dn: slapd.person("bob"), login: "bob", email: "bob@wharf.test", displayName: "Bob Builder")))
    }

    @Test func ldaps() async throws {
        let slapd = try TestSlapd.shared()
        var configuration = slapd.configuration()
        configuration.urls = [slapd.ldapsURL]
        configuration.encryption = .ldaps
        configuration.caFile = slapd.caFile
        try await withDirectory(configuration) { directory async throws in
            let login = try await directory.authenticate(login: "carol", password: "carol-password")
            #expect(
                login == .accepted(DirectoryEntry(dn: slapd.person("carol"), login: "carol", email: "carol@wharf.test", displayName: "Carol Danvers"))
            )
            #expect(await directory.status().url == slapd.ldapsURL)
        }
    }

    @Test func startTLS() async throws {
        let slapd = try TestSlapd.shared()
        var configuration = slapd.directBindConfiguration()
        configuration.encryption = .starttls
        configuration.caFile = slapd.caFile
        let login = try await withDirectory(configuration) { try await $0.authenticate(login: "alice", password: "alice-password") }
        #expect(
            login == .accepted(DirectoryEntry(dn: slapd.person("alice"), login: "alice", email: "alice@wharf.test", displayName: "Alice Liddell"))
        )
    }

    @Test(arguments: [LDAPConfiguration.Encryption.ldaps, .starttls])
    func aServerCertificateFromAnotherCAIsUnavailableNotRefused(encryption: LDAPConfiguration.Encryption) async throws {
        let slapd = try TestSlapd.shared()
        var configuration = slapd.configuration()
        configuration.urls = [encryption == .ldaps ? slapd.ldapsURL : slapd.url]
        configuration.encryption = encryption
        configuration.caFile = slapd.otherCAFile
        try await withDirectory(configuration) { directory async throws in
            await #expect(throws: DirectoryUnavailable.self) { try await directory.authenticate(login: "alice", password: "alice-password") }
            let status = await directory.status()
            #expect(!status.reachable)
            #expect(status.lastError != nil && status.lastErrorAt != nil)
        }
    }

    @Test func insecureSkipVerifyAcceptsAnyCertificate() async throws {
        let slapd = try TestSlapd.shared()
        var configuration = slapd.configuration()
        configuration.urls = [slapd.ldapsURL]
        configuration.encryption = .ldaps
        configuration.caFile = slapd.otherCAFile
        configuration.insecureSkipVerify = true
        let login = try await withDirectory(configuration) { try await $0.authenticate(login: "bob", password: "bob-password") }
        #expect(login.entry?.dn == slapd.person("bob"))
    }

    // MARK: Refusals

    @Test(arguments: [true, false])
    func wrongPasswordIsRefused(searchFirst: Bool) async throws {
        let slapd = try TestSlapd.shared()
        let configuration = searchFirst ? slapd.configuration() : slapd.directBindConfiguration()
        try await withDirectory(configuration) { directory async throws in
            #expect(try await directory.authenticate(login: "alice", password: "bob-password").isRefused)
            #expect(try await directory.authenticate(login: "alice", password: "Alice-password").isRefused)
            // Refusals are no failure of the directory.
            #expect(await directory.status().reachable)
        }
    }

    @Test(arguments: [true, false])
    func unknownLoginIsRefused(searchFirst: Bool) async throws {
        let slapd = try TestSlapd.shared()
        let configuration = searchFirst ? slapd.configuration() : slapd.directBindConfiguration()
        try await withDirectory(configuration) { directory async throws in
            #expect(try await directory.authenticate(login: "mallory", password: "mallory-password").isRefused)
        }
    }

    @Test(arguments: [true, false])
    func emptyPasswordIsRefused(searchFirst: Bool) async throws {
        let slapd = try TestSlapd.shared()
        let configuration = searchFirst ? slapd.configuration() : slapd.directBindConfiguration()
        try await withDirectory(configuration) { directory async throws in
            #expect(try await directory.authenticate(login: "alice", password: "") == .refused(reason: "empty password"))
            #expect(try await directory.authenticate(login: "", password: "alice-password").isRefused)
        }
    }

    /// Each is tried with alice's password: a login that the filter or the DN let through to alice's entry (or to
    /// any entry) would be accepted. (" alice" and "ALICE" are no injection: uid's matching rule ignores case and
    /// surrounding spaces, so the directory itself calls them alice.)
    @Test(arguments: [true, false])
    func injectionAttemptsFindNobody(searchFirst: Bool) async throws {
        let slapd = try TestSlapd.shared()
        let configuration = searchFirst ? slapd.configuration() : slapd.directBindConfiguration()
        let attempts = [
            "*", "a*", "*e", ")(uid=*", "alice)(uid=*", "*)(|(uid=*", "alice)(|(uid=*)", "\\00", "alice\u{0}", "alice\\00",
            "alice,ou=people", "alice,ou=people,dc=wharf,dc=test", "uid=alice", "alice+cn=Alice Liddell", "alice\"", "#alice",
            "alice;", "(uid=alice)", "dan*",
        ]
        try await withDirectory(configuration) { directory async throws in
            for attempt in attempts {
                let login = try await directory.authenticate(login: attempt, password: "alice-password")
                #expect(login.isRefused, "\(attempt.debugDescription) got in: \(login)")
            }
        }
    }

    /// The other side of escaping: a login full of specials is found, and binds, exactly.
    @Test(arguments: [true, false])
    func aLoginWithSpecialsWorksWhenEscapedRight(searchFirst: Bool) async throws {
        let slapd = try TestSlapd.shared()
        let configuration = searchFirst ? slapd.configuration() : slapd.directBindConfiguration()
        let login = try await withDirectory(configuration) { try await $0.authenticate(login: "dan, jr (*)", password: "dan-password") }
        #expect(login.entry?.login == "dan, jr (*)")
        #expect(login.entry?.email == "dan@wharf.test")
    }

    @Test func theConfiguredFilterMustMatch() async throws {
        let slapd = try TestSlapd.shared()
        var configuration = slapd.configuration()
        configuration.filter = "(objectClass=inetOrgPerson)"
        try await withDirectory(configuration) { directory async throws in
            #expect(try await directory.authenticate(login: "alice", password: "alice-password").entry != nil)
        }
        configuration.filter = "mail=nobody@wharf.test"
        try await withDirectory(configuration) { directory async throws in
            #expect(try await directory.authenticate(login: "alice", password: "alice-password").isRefused)
            #expect(try await directory.entry(dn: slapd.person("alice")) == nil)
        }
    }

    // MARK: The bind account

    @Test func aRefusedBindAccountIsUnavailableAndItsPasswordIsNeverShown() async throws {
        let slapd = try TestSlapd.shared()
        var configuration = slapd.configuration()
        configuration.bindPassword = "wrong-bind-secret-4711"
        try await withDirectory(configuration) { directory async throws in
            let error = await #expect(throws: DirectoryUnavailable.self) {
                try await directory.authenticate(login: "alice", password: "alice-password")
            }
            #expect(error?.message.contains("bind account") == true, "\(error.map(String.init(describing:)) ?? "")")
            #expect(error?.message.contains("wrong-bind-secret-4711") == false)
            #expect(await directory.status().lastError?.contains("wrong-bind-secret-4711") == false)
        }
    }

    /// One connection for everything: after a refused and an accepted login bound it as those people, it searches
    /// as the reader again (as anyone else, alice could not find bob).
    @Test func aLoginLeavesTheConnectionBoundAsTheReader() async throws {
        let slapd = try TestSlapd.shared()
        var configuration = slapd.configuration()
        configuration.poolSize = 1
        try await withDirectory(configuration) { directory async throws in
            #expect(try await directory.authenticate(login: "alice", password: "wrong").isRefused)
            #expect(try await directory.authenticate(login: "bob", password: "bob-password").entry != nil)
            #expect(try await directory.authenticate(login: "alice", password: "alice-password").entry != nil)
            #expect(try await directory.authenticate(login: "carol", password: "carol-password").entry != nil)
            #expect(try await directory.entry(dn: slapd.person("bob"))?.login == "bob")
        }
    }

    @Test func manyLoginsAtOnceShareTheBoundedPool() async throws {
        let slapd = try TestSlapd.shared()
        var configuration = slapd.configuration()
        configuration.poolSize = 2
        try await withDirectory(configuration) { directory async throws in
            let accepted = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<24 {
                    let (user, password) = index.isMultiple(of: 3) ? ("carol", "wrong") : (["alice", "bob"][index % 2], "")
                    group.addTask {
                        try await directory.authenticate(login: user, password: password.isEmpty ? "\(user)-password" : password).entry != nil
                    }
                }
                return try await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
            }
            #expect(accepted == 16)
        }
    }

    // MARK: Fail-over

    @Test func failsOverToTheNextURL() async throws {
        let slapd = try TestSlapd.shared()
        var configuration = slapd.configuration()
        configuration.urls = ["ldap://127.0.0.1:\(try closedPort())", slapd.url]
        try await withDirectory(configuration) { directory async throws in
            #expect(try await directory.authenticate(login: "alice", password: "alice-password").entry != nil)
            let status = await directory.status()
            #expect(status.reachable)
            #expect(status.url == slapd.url)
        }
    }

    @Test func noURLAnsweringIsUnavailable() async throws {
        let slapd = try TestSlapd.shared()
        var configuration = slapd.configuration()
        configuration.urls = ["ldap://127.0.0.1:\(try closedPort())", "ldap://127.0.0.1:\(try closedPort())"]
        try await withDirectory(configuration) { directory async throws in
            await #expect(throws: DirectoryUnavailable.self) { try await directory.authenticate(login: "alice", password: "alice-password") }
            await #expect(throws: DirectoryUnavailable.self) { try await directory.entry(dn: slapd.person("alice")) }
            await #expect(throws: DirectoryUnavailable.self) { try await directory.probe() }
            #expect(await !directory.status().reachable)
        }
    }

    // MARK: Admin group

    @Test func adminGroupMembership() async throws {
        let slapd = try TestSlapd.shared()
        for searchFirst in [true, false] {
            var configuration = searchFirst ? slapd.configuration() : slapd.directBindConfiguration()
            configuration.adminGroup = slapd.group("admins")
            try await withDirectory(configuration) { directory async throws in
                #expect(try await directory.authenticate(login: "alice", password: "alice-password").entry?.isAdmin == true)
                #expect(try await directory.authenticate(login: "bob", password: "bob-password").entry?.isAdmin == false)
            }
        }
        var configuration = slapd.configuration()
        configuration.adminGroup = slapd.group("admins")
        try await withDirectory(configuration) { directory async throws in
            #expect(try await directory.entry(dn: slapd.person("alice"))?.isAdmin == true)
            #expect(try await directory.entry(dn: slapd.person("carol"))?.isAdmin == false)
        }
        // A posixGroup lists logins; a groupOfUniqueNames, DNs in uniqueMember.
        configuration.adminGroup = slapd.group("ops")
        try await withDirectory(configuration) { directory async throws in
            #expect(try await directory.authenticate(login: "bob", password: "bob-password").entry?.isAdmin == true)
            #expect(try await directory.authenticate(login: "alice", password: "alice-password").entry?.isAdmin == false)
        }
        configuration.adminGroup = slapd.group("qa")
        try await withDirectory(configuration) { directory async throws in
            #expect(try await directory.entry(dn: slapd.person("carol"))?.isAdmin == true)
        }
        // Without an admin group the directory says nothing about admin status.
        try await withDirectory(slapd.configuration()) { directory async throws in
            #expect(try await directory.authenticate(login: "alice", password: "alice-password").entry?.isAdmin == nil)
        }
    }

    // MARK: Entries

    @Test func entryOfADeletedPersonIsNil() async throws {
        let slapd = try TestSlapd.shared()
        let uid = "gone-\(UUID().uuidString.prefix(8).lowercased())"
        let dn = try await slapd.addPerson(uid, password: "\(uid)-password")
        try await withDirectory(slapd.configuration()) { directory async throws in
            #expect(try await directory.entry(dn: dn) == DirectoryEntry(dn: dn, login: uid, email: "\(uid)@wharf.test", displayName: "\(uid) Test"))
            #expect(try await directory.authenticate(login: uid, password: "\(uid)-password").entry?.dn == dn)
            try await slapd.delete(dn)
            #expect(try await directory.entry(dn: dn) == nil)
            #expect(try await directory.authenticate(login: uid, password: "\(uid)-password").isRefused)
        }
    }

    @Test func entryOfSomethingThatIsNoDNIsNil() async throws {
        let slapd = try TestSlapd.shared()
        try await withDirectory(slapd.configuration()) { directory async throws in
            #expect(try await directory.entry(dn: "not a dn") == nil)
            #expect(try await directory.entry(dn: slapd.person("alice") + "\u{0}junk") == nil)
            #expect(try await directory.entry(dn: "") == nil)
            #expect(try await directory.entry(dn: "uid=nobody,ou=people,\(slapd.baseDN)") == nil)
            #expect(try await directory.entry(dn: "uid=alice,ou=nowhere,\(slapd.baseDN)") == nil)
        }
    }

    // MARK: Groups

    @Test func groupsListingMembersByDN() async throws {
        let slapd = try TestSlapd.shared()
        var configuration = slapd.configuration()
        configuration.groupBaseDN = "ou=groups,\(slapd.baseDN)"
        // Only the seeded groups: groupsFollowTheDirectory adds one of its own meanwhile.
        configuration.groupFilter = "(&(objectClass=groupOfNames)(|(cn=developers)(cn=admins)))"
        configuration.memberAttribute = .member
        let groups = try await withDirectory(configuration) { try await $0.groups() }
        #expect(
            Set(groups.map { $0.name }) == ["developers", "admins"]
        )
        let developers = try #require(groups.first { $0.name == "developers" })
        #expect(developers.dn == slapd.group("developers"))
        #expect(Set(developers.memberDNs) == [slapd.person("alice"), slapd.person("bob")])

        configuration.groupFilter = "(objectClass=groupOfUniqueNames)"
        configuration.memberAttribute = .uniqueMember
        let qa = try await withDirectory(configuration) { try await $0.groups() }
        #expect(qa == [DirectoryGroup(name: "qa", dn: slapd.group("qa"), memberDNs: [slapd.person("carol")])])
    }

    @Test func groupsListingMembersByLogin() async throws {
        let slapd = try TestSlapd.shared()
        var configuration = slapd.configuration()
        configuration.groupBaseDN = "ou=groups,\(slapd.baseDN)"
        configuration.groupFilter = "(objectClass=posixGroup)"
        configuration.memberAttribute = .memberUid
        let groups = try await withDirectory(configuration) { try await $0.groups() }
        #expect(groups == [DirectoryGroup(name: "ops", dn: slapd.group("ops"), memberDNs: [slapd.person("bob"), slapd.person("carol")])])
    }

    @Test func groupsFollowTheDirectory() async throws {
        let slapd = try TestSlapd.shared()
        let name = "team-\(UUID().uuidString.prefix(8).lowercased())"
        var configuration = slapd.configuration()
        configuration.groupBaseDN = "ou=groups,\(slapd.baseDN)"
        configuration.groupFilter = "(&(objectClass=groupOfNames)(cn=\(name)))"
        try await withDirectory(configuration) { directory async throws in
            #expect(try await directory.groups().isEmpty)
            try await slapd.add(
                """
                dn: \(slapd.group(name))
                objectClass: groupOfNames
                cn: \(name)
                member: \(slapd.person("carol"))

                """
            )
            #expect(try await directory.groups() == [DirectoryGroup(name: name, dn: slapd.group(name), memberDNs: [slapd.person("carol")])])
            try await slapd.delete(slapd.group(name))
            #expect(try await directory.groups().isEmpty)
        }
    }

    @Test func noGroupBaseMeansNoGroups() async throws {
        let slapd = try TestSlapd.shared()
        #expect(try await withDirectory(slapd.configuration()) { try await $0.groups() }.isEmpty)
    }

    // MARK: Status

    @Test func statusAfterAProbe() async throws {
        let slapd = try TestSlapd.shared()
        try await withDirectory(slapd.configuration()) { directory async throws in
            #expect(await directory.status() == DirectoryStatus(reachable: false))
            try await directory.probe()
            let status = await directory.status()
            #expect(status.reachable && status.url == slapd.url && status.lastError == nil)
        }
    }
}

extension DirectoryLogin {
    var isRefused: Bool {
        if case .refused = self { return true }
        return false
    }

    var entry: DirectoryEntry? {
        if case .accepted(let entry) = self { return entry }
        return nil
    }
}
