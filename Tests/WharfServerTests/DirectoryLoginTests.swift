import Foundation
import Logging
import Testing
import WharfCore
import WharfDatabase
import WharfStorage

@testable import WharfAuth
@testable import WharfServer

/// A directory in memory, for the unit tests of the login code around the directory (the real one, over
/// libldap against slapd, is tested in WharfAuthTests and the e2e tests).
final class FakeDirectory: Directory, @unchecked Sendable {
    private let lock = NSLock()
    private var people: [String: (password: String, entry: DirectoryEntry)] = [:]
    private var down = false
    private var binds = 0

    func add(_ login: String, password: String, admin: Bool? = nil, email: String? = nil) {
        let entry = DirectoryEntry(
            dn: "uid=\(login),ou=people,dc=wharf,dc=test",
            login: login,
            email: email,
            displayName: "\(login) display",
            isAdmin: admin
        )
        lock.withLock { people[login] = (password, entry) }
    }

    func remove(_ login: String) { _ = lock.withLock { people.removeValue(forKey: login) } }
    func setAdmin(_ login: String, _ admin: Bool) { lock.withLock { people[login]?.entry.isAdmin = admin } }
    func setProfile(_ login: String, email: String?, displayName: String?) {
        lock.withLock {
            people[login]?.entry.email = email
            people[login]?.entry.displayName = displayName
        }
    }
    func setDown(_ isDown: Bool) { lock.withLock { down = isDown } }
    var bindCount: Int { lock.withLock { binds } }

    func authenticate(login: String, password: String) async throws -> DirectoryLogin {
        try lock.withLock {
            if down { throw DirectoryUnavailable("connection refused") }
            binds += 1
            guard let person = people[login], !password.isEmpty, person.password == password else { return .refused(reason: "no") }
            return .accepted(person.entry)
        }
    }

    func entry(dn: String) async throws -> DirectoryEntry? {
        try lock.withLock {
            if down { throw DirectoryUnavailable("connection refused") }
            return people.values.first { $0.entry.dn.lowercased() == dn.lowercased() }?.entry
        }
    }

    func groups() async throws -> [DirectoryGroup] { [] }

    func status() async -> DirectoryStatus { DirectoryStatus(reachable: lock.withLock { !down }) }
}

/// Logins the directory owns, through the ``Authenticator`` as the token endpoint and the portal call it.
@Suite struct DirectoryLoginTests {
    struct Fixture {
        let authenticator: Authenticator
        let accounts: AccountService
        let pool: DatabasePool
        let directory: FakeDirectory

        func user(_ name: String) async throws -> User? { try await pool.read { try $0.users.find(name: name) } }

        func refused(_ code: AuthError.Code, _ login: String, _ password: String, client: String = "192.0.2.1") async {
            do {
                _ = try await authenticator.authenticate(username: login, password: password, client: client)
                Issue.record("\(login) was let in")
            } catch let error as AuthError {
                #expect(error.code == code, "\(login): \(error)")
            } catch {
                Issue.record("\(login): \(error)")
            }
        }
    }

    func withDirectory(cacheTTL: Duration = .seconds(60), _ body: (Fixture) async throws -> Void) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-ldap-logins-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let logger = Logger(label: "directory-login-tests")
        let secrets = try ServerSecrets.load(dataDirectory: folder)
        let pool = DatabasePool(location: .sqlite(path: folder + "/wharf.sqlite", poolSize: 2), logger: logger)
        _ = try await pool.prepare()
        let accounts = AccountService(
            pool: pool,
            storage: FilesystemDriver(root: folder + "/registry", durable: false),
            secrets: secrets,
            passwords: PasswordHasher(cost: 4)
        )
        let directory = FakeDirectory()
        let authenticator = Authenticator(
            pool: pool,
            passwords: PasswordHasher(cost: 4),
            applicationTokens: ApplicationTokenHasher(secret: secrets.applicationTokenKey),
            lockout: LockoutPolicy(attempts: 3, window: .seconds(600), duration: .seconds(600)),
            failures: FailureLimiter(limit: 0, window: .seconds(60)),
            directory: DirectoryLogins(directory: directory, accounts: accounts, pool: pool, cacheTTL: cacheTTL, logger: logger),
            logger: logger
        )
        do {
            try await body(Fixture(authenticator: authenticator, accounts: accounts, pool: pool, directory: directory))
        } catch {
            await pool.close()
            throw error
        }
        await pool.close()
    }

    @Test func aFirstLoginCreatesTheAccountLinkedToItsEntryWithASanitisedName() async throws {
        try await withDirectory { fixture in
            fixture.directory.add("John.Smith", password: "secret-1", email: "john@example.com")
            let caller = try await fixture.authenticator.authenticate(username: "John.Smith", password: "secret-1")
            #expect(caller.subject.name == "john.smith")
            let user = try #require(try await fixture.user("john.smith"))
            #expect(user.ldapDN == "uid=John.Smith,ou=people,dc=wharf,dc=test")
            #expect(user.passwordHash == nil && user.email == "john@example.com" && user.displayName == "John.Smith display")
            #expect(!user.isAdmin)
            // A personal namespace, as every person gets.
            #expect(try await fixture.pool.read { try $0.namespaces.find(name: "john.smith") }?.ownerID == user.id)
            // The second login finds the same account (by its entry), whatever case the login is typed in.
            _ = try await fixture.authenticator.authenticate(username: "John.Smith", password: "secret-1")
            #expect(try await fixture.pool.read { try $0.users.count() } == 1)
        }
    }

    @Test func aTakenNameGetsAPredictableSuffixAndLocalAccountsStayLocal() async throws {
        try await withDirectory { fixture in
            try await fixture.accounts.createUser(name: "admin", password: "local-admin-password", isAdmin: true)
            fixture.directory.add("admin", password: "directory-password")
            fixture.directory.add("Admin!", password: "other-password")
            // The local admin (break-glass) is never sent to the directory.
            let local = try await fixture.authenticator.authenticate(username: "admin", password: "local-admin-password")
            #expect(local.subject.kind == .admin)
            await fixture.refused(.invalidCredentials, "admin", "directory-password")
            #expect(fixture.directory.bindCount == 0)
            // A directory login whose sanitised name is taken gets -2, then -3.
            let other = try await fixture.authenticator.authenticate(username: "Admin!", password: "other-password")
            #expect(other.subject.name == "admin-2")
            #expect(AccountService.directoryName("  Ünïcode user__x ") == "n-code-user_x")
            #expect(AccountService.directoryName("***") == "user")
        }
    }

    @Test func theAdminGroupPromotesAndLeavingItDemotes() async throws {
        try await withDirectory(cacheTTL: .zero) { fixture in
            fixture.directory.add("alice", password: "alice-pass", admin: true)
            #expect(try await fixture.authenticator.authenticate(username: "alice", password: "alice-pass").subject.kind == .admin)
            fixture.directory.setAdmin("alice", false)
            #expect(try await fixture.authenticator.authenticate(username: "alice", password: "alice-pass").subject.kind == .user)
            let actions = try await fixture.pool.read { try $0.activities.list(ActivityFilter(), limit: 10) }.map(\.action)
            #expect(actions.contains("user.demote") && actions.contains("user.create"))
        }
    }

    @Test func theFirstPortalSignInOfAnEmptyInstallationBecomesAdminWithoutAnAdminGroup() async throws {
        try await withDirectory { fixture in
            fixture.directory.add("first", password: "first-pass")
            fixture.directory.add("second", password: "second-pass")
            let first = try await fixture.authenticator.authenticate(username: "first", password: "first-pass", portal: true)
            #expect(first.subject.kind == .admin)
            let second = try await fixture.authenticator.authenticate(username: "second", password: "second-pass", portal: true)
            #expect(second.subject.kind == .user)
        }
    }

    @Test func anOutageIsUnavailableNeverAWrongPasswordAndNeverCountsTowardLockout() async throws {
        try await withDirectory { fixture in
            fixture.directory.add("bob", password: "bob-pass")
            _ = try await fixture.authenticator.authenticate(username: "bob", password: "bob-pass")
            fixture.directory.setDown(true)
            // The good bind is remembered: CI keeps pushing through the outage.
            #expect(try await fixture.authenticator.authenticate(username: "bob", password: "bob-pass").subject.name == "bob")
            for attempt in 0..<5 { await fixture.refused(.directoryUnavailable, "bob", "other-\(attempt)") }
            await fixture.refused(.directoryUnavailable, "nobody", "whatever")
            #expect(try await fixture.user("bob")?.failedLogins == 0)
            fixture.directory.setDown(false)
            // Wrong passwords count as usual: three lock the account, even against the right one.
            for attempt in 0..<3 { await fixture.refused(.invalidCredentials, "bob", "wrong-\(attempt)") }
            #expect(try await fixture.user("bob")?.isLocked() == true)
            await fixture.refused(.invalidCredentials, "bob", "bob-pass")
        }
    }

    @Test func anEmptyPasswordIsRefusedBeforeAnyBind() async throws {
        try await withDirectory { fixture in
            fixture.directory.add("carol", password: "")
            await fixture.refused(.invalidCredentials, "carol", "")
            #expect(fixture.directory.bindCount == 0)
        }
    }

    @Test func withoutACacheAPasswordChangedOrAnEntryRemovedTakesEffectAtOnce() async throws {
        try await withDirectory(cacheTTL: .zero) { fixture in
            fixture.directory.add("dave", password: "old-pass")
            _ = try await fixture.authenticator.authenticate(username: "dave", password: "old-pass")
            fixture.directory.add("dave", password: "new-pass")
            await fixture.refused(.invalidCredentials, "dave", "old-pass")
            _ = try await fixture.authenticator.authenticate(username: "dave", password: "new-pass")
            fixture.directory.setDown(true)
            await fixture.refused(.directoryUnavailable, "dave", "new-pass")
        }
    }

    @Test func aRefreshGrantOfAUserWhoseEntryIsGoneIsRefusedAndTheAccountDisabled() async throws {
        try await withDirectory(cacheTTL: .zero) { fixture in
            fixture.directory.add("erin", password: "erin-pass")
            let caller = try await fixture.authenticator.authenticate(username: "erin", password: "erin-pass")
            let refresh = try #require(try await fixture.authenticator.createRefreshToken(for: caller, clientID: "docker"))
            #expect(try await fixture.authenticator.exchangeRefreshToken(refresh, clientID: "docker").subject.name == "erin")
            fixture.directory.setDown(true)
            do {
                _ = try await fixture.authenticator.exchangeRefreshToken(refresh, clientID: "docker")
                Issue.record("a refresh grant passed while the directory was down")
            } catch let error as AuthError {
                #expect(error.code == .directoryUnavailable)
            }
            fixture.directory.setDown(false)
            fixture.directory.remove("erin")
            await #expect(throws: AuthError.self) { try await fixture.authenticator.exchangeRefreshToken(refresh, clientID: "docker") }
            #expect(try await fixture.user("erin")?.enabled == false)
        }
    }
}

extension DirectoryLoginTests {
    @Test func aDirectoryUsersPasswordCannotBeSetInWharf() async throws {
        try await withDirectory { fixture in
            fixture.directory.add("frank", password: "frank-pass")
            _ = try await fixture.authenticator.authenticate(username: "frank", password: "frank-pass")
            await #expect(throws: AccountError.self) { try await fixture.accounts.setPassword(name: "frank", password: "a-local-password-1") }
            #expect(try await fixture.user("frank")?.passwordHash == nil)
        }
    }
}

extension DirectoryLoginTests {
    /// A directory's odd attributes (a display name with spaces and a bell around it, an "email" that is none, or
    /// one far too long) never refuse the person's login: what the database cannot hold is left out.
    @Test func oddDirectoryAttributesAreCleanedNotFatal() async throws {
        try await withDirectory(cacheTTL: .zero) { fixture in
            fixture.directory.add("hank", password: "hank-pass", email: "not an email")
            fixture.directory.setProfile("hank", email: "not an email", displayName: "  Hank\u{7} Hill \n")
            _ = try await fixture.authenticator.authenticate(username: "hank", password: "hank-pass")
            var user = try #require(try await fixture.user("hank"))
            #expect(user.displayName == "Hank Hill" && user.email == nil)
            fixture.directory.setProfile(
                "hank",
                email: String(repeating: "h", count: 300) + "@example.com",
                displayName: String(repeating: "x", count: 400)
            )
            _ = try await fixture.authenticator.authenticate(username: "hank", password: "hank-pass")
            user = try #require(try await fixture.user("hank"))
            #expect(user.displayName?.count == 100 && user.email == nil)
            fixture.directory.setProfile("hank", email: "hank@example.com", displayName: " ")
            _ = try await fixture.authenticator.authenticate(username: "hank", password: "hank-pass")
            user = try #require(try await fixture.user("hank"))
            #expect(user.email == "hank@example.com")
        }
    }
}
