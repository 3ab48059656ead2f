import Crypto
import Foundation
import Logging
import Testing
import WharfAuth
import WharfCore
import WharfDatabase
@testable import WharfServer

/// The engines the account tests run on: SQLite always, and MariaDB when `WHARF_TEST_MARIADB_URL` names a server
/// (`make test` starts one and sets it; the store conformance suite in WharfDatabaseTests covers MariaDB always).
enum AccountBackend: String, Sendable, CustomTestStringConvertible {
    case sqlite
    case mariadb

    var testDescription: String { rawValue }

    static let available: [AccountBackend] =
        ProcessInfo.processInfo.environment["WHARF_TEST_MARIADB_URL"].map { _ in [.sqlite, .mariadb] } ?? [.sqlite]
}

/// The account operations behind `wharf user …` and `wharf token …`, each on a fresh database.
@Suite struct AccountServiceTests {
    static let logger = Logger(label: "account-tests")

    /// A migrated, empty database (a temporary SQLite file, or a new database on the test MariaDB server), a
    /// temporary data folder with its secrets, and a cheap bcrypt cost.
    func withAccounts(_ backend: AccountBackend, _ body: (AccountService, DatabasePool, String) async throws -> Void) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-accounts-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let secrets = try ServerSecrets.load(dataDirectory: folder)
        func run(_ location: DatabaseLocation) async throws {
            let pool = DatabasePool(location: location, logger: Self.logger)
            do {
                _ = try await pool.prepare()
                try await body(AccountService(pool: pool, secrets: secrets, passwords: PasswordHasher(cost: 4)), pool, folder)
            } catch {
                await pool.close()
                throw error
            }
            await pool.close()
        }
        switch backend {
        case .sqlite:
            try await run(.sqlite(path: folder + "/wharf.sqlite", poolSize: 2))
        case .mariadb:
            let url = try #require(ProcessInfo.processInfo.environment["WHARF_TEST_MARIADB_URL"])
            guard case .mysql(let server) = try DatabaseLocation.parse(url) else {
                Issue.record("WHARF_TEST_MARIADB_URL must be a mysql:// URL")
                return
            }
            var location = server
            location.database = "wharf_a_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
            let name = location.database
            let admin = DatabasePool(location: .mysql(server), logger: Self.logger)
            _ = try await admin.write { try $0.execute("CREATE DATABASE \(name) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin") }
            do {
                try await run(.mysql(location))
            } catch {
                _ = try? await admin.write { try $0.execute("DROP DATABASE \(name)") }
                await admin.close()
                throw error
            }
            _ = try? await admin.write { try $0.execute("DROP DATABASE \(name)") }
            await admin.close()
        }
    }

    func expectAccountError(_ code: AccountError.Code, _ body: () async throws -> Void) async {
        do {
            try await body()
            Issue.record("expected \(code), nothing was thrown")
        } catch let error as AccountError {
            #expect(error.code == code)
            #expect(!error.message.contains("\n"))
        } catch {
            Issue.record("expected \(code), got \(error)")
        }
    }

    @Test(arguments: AccountBackend.available)
    func aPersonGetsAPrivatePersonalNamespaceABotNone(_ backend: AccountBackend) async throws {
        try await withAccounts(backend) { accounts, pool, _ in
            let alice = try await accounts.createUser(name: "alice", password: "correct horse")
            #expect(!alice.isAdmin && !alice.isBot && alice.enabled)
            let namespace = try #require(try await pool.read { try $0.namespaces.find(name: "alice") })
            #expect(namespace.kind == .personal && namespace.visibility == .private && namespace.ownerID == alice.id)
            #expect(try await PasswordHasher(cost: 4).verify("correct horse", against: alice.passwordHash))

            let bot = try await accounts.createUser(name: "ci-bot", password: "robot-password", isAdmin: true, isBot: true)
            #expect(bot.isBot && bot.isAdmin)
            #expect(try await pool.read { try $0.namespaces.find(name: "ci-bot") } == nil)
            #expect(try await accounts.listUsers().map(\.name) == ["alice", "ci-bot"])
        }
    }

    @Test(arguments: AccountBackend.available)
    func refusedUsersLeaveNothingBehind(_ backend: AccountBackend) async throws {
        try await withAccounts(backend) { accounts, pool, _ in
            try await accounts.createUser(name: "alice", password: "correct horse")
            await expectAccountError(.userExists) { try await accounts.createUser(name: "alice", password: "another one") }
            await expectAccountError(.weakPassword) { try await accounts.createUser(name: "bob", password: "short") }
            for name in ["Bob", "a/b", "", "-x", "x-", "a..b", String(repeating: "a", count: 256)] {
                await expectAccountError(.nameInvalid) { try await accounts.createUser(name: name, password: "correct horse") }
            }
            _ = try await pool.write { try $0.namespaces.create(name: "team1", kind: .team, visibility: .protected) }
            await expectAccountError(.userExists) { try await accounts.createUser(name: "team1", password: "correct horse") }
            #expect(try await accounts.listUsers().map(\.name) == ["alice"])
        }
    }

    @Test(arguments: AccountBackend.available)
    func passwordAdminAndEnabledChange(_ backend: AccountBackend) async throws {
        try await withAccounts(backend) { accounts, pool, _ in
            try await accounts.createUser(name: "alice", password: "correct horse")
            try await accounts.setPassword(name: "alice", password: "battery staple")
            await expectAccountError(.weakPassword) { try await accounts.setPassword(name: "alice", password: "1234567") }
            try await accounts.setAdmin(name: "alice", true)
            try await accounts.setEnabled(name: "alice", false)
            let alice = try #require(try await pool.read { try $0.users.find(name: "alice") })
            #expect(alice.isAdmin && !alice.enabled)
            #expect(try await PasswordHasher(cost: 4).verify("battery staple", against: alice.passwordHash))
            try await accounts.setAdmin(name: "alice", false)
            try await accounts.setEnabled(name: "alice", true)
            let again = try #require(try await pool.read { try $0.users.find(name: "alice") })
            #expect(!again.isAdmin && again.enabled)
            await expectAccountError(.unknownUser) { try await accounts.setAdmin(name: "bob", true) }
            await expectAccountError(.unknownUser) { try await accounts.setEnabled(name: "bob", false) }
            await expectAccountError(.unknownUser) { try await accounts.setPassword(name: "bob", password: "long enough") }
        }
    }

    @Test(arguments: AccountBackend.available)
    func deletingAUserRemovesTheirNamespaceAndTokens(_ backend: AccountBackend) async throws {
        try await withAccounts(backend) { accounts, pool, _ in
            try await accounts.createUser(name: "alice", password: "correct horse")
            let created = try await accounts.createToken(user: "alice", label: "laptop")
            try await accounts.deleteUser(name: "alice")
            #expect(try await accounts.listUsers().isEmpty)
            #expect(try await pool.read { try $0.namespaces.find(name: "alice") } == nil)
            #expect(try await pool.read { try $0.tokens.find(hash: created.token.tokenHash) } == nil)
            await expectAccountError(.unknownUser) { try await accounts.deleteUser(name: "alice") }
            // The name is free again.
            try await accounts.createUser(name: "alice", password: "correct horse")
        }
    }

    @Test(arguments: AccountBackend.available)
    func tokensAreShownOnceStoredHashedAndLimitedToFive(_ backend: AccountBackend) async throws {
        try await withAccounts(backend) { accounts, pool, folder in
            try await accounts.createUser(name: "alice", password: "correct horse")
            let created = try await accounts.createToken(user: "alice", label: "laptop")
            #expect(ApplicationTokenHasher.isWellFormed(created.secret))
            #expect(created.token.tokenHash != created.secret && !created.token.tokenHash.contains(created.secret))
            // The hash is keyed by the data folder's secrets: a second load (another process) finds the token.
            let hasher = ApplicationTokenHasher(secret: try ServerSecrets.load(dataDirectory: folder).applicationTokenKey)
            let found = try #require(try await pool.read { try $0.tokens.find(hash: hasher.hash(created.secret)) })
            #expect(found.user.name == "alice" && found.token.application == "laptop")

            await expectAccountError(.tokenExists) { _ = try await accounts.createToken(user: "alice", label: "laptop") }
            for index in 2...AccountService.maximumTokensPerUser { _ = try await accounts.createToken(user: "alice", label: "t\(index)") }
            await expectAccountError(.tooManyTokens) { _ = try await accounts.createToken(user: "alice", label: "one-more") }
            #expect(try await accounts.listTokens(user: "alice").map(\.application) == ["laptop", "t2", "t3", "t4", "t5"])

            try await accounts.revokeToken(user: "alice", label: "t3")
            await expectAccountError(.unknownToken) { try await accounts.revokeToken(user: "alice", label: "t3") }
            _ = try await accounts.createToken(user: "alice", label: "one-more")
            await expectAccountError(.unknownUser) { _ = try await accounts.createToken(user: "bob", label: "x") }
            await expectAccountError(.unknownUser) { _ = try await accounts.listTokens(user: "bob") }
        }
    }

    @Test func secretsAreCreatedOnceWith0600AndReused() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-secrets-\(UUID().uuidString)/data").path
        defer { try? FileManager.default.removeItem(atPath: (folder as NSString).deletingLastPathComponent) }
        let keys = try await withThrowingTaskGroup(of: SymmetricKey.self) { group in
            for _ in 0..<8 { group.addTask { try ServerSecrets.load(dataDirectory: folder).applicationTokenKey } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(keys.map { $0.withUnsafeBytes { Data($0) } }).count == 1)
        let path = folder + "/secrets"
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect((attributes[.size] as? Int) == ServerSecrets.byteCount)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["secrets"])

        try Data(repeating: 1, count: 5).write(to: URL(fileURLWithPath: path))
        #expect(throws: TLSError.self) { try ServerSecrets.load(dataDirectory: folder) }
    }

    /// Racing first pushes into a new namespace: docker pushes layers in parallel, and on MariaDB the creating
    /// transactions are not serialised. One push creates it; the others by the same user go ahead, and a push by
    /// someone else racing for the same name is denied rather than let into the winner's private namespace.
    @Test(arguments: AccountBackend.available)
    func racingFirstPushesCreateOneNamespace(_ backend: AccountBackend) async throws {
        try await withAccounts(backend) { accounts, pool, folder in
            var configuration = ServerConfiguration()
            configuration.dataDirectory = folder
            _ = try CertificateBootstrap.ensure(certsDirectory: configuration.certsDirectory, extraHostnames: [], logger: Self.logger)
            let service = try makeTokenService(configuration: configuration, database: pool, passwords: PasswordHasher(cost: 4))
            let alice = TokenService.subject(try await accounts.createUser(name: "alice", password: "alice-password"))
            let bob = TokenService.subject(try await accounts.createUser(name: "bob", password: "bob-password"))

            let name = try RepositoryName("fresh/app")
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 { group.addTask { try await service.ensureNamespace(for: name, subject: alice) } }
                try await group.waitForAll()
            }
            #expect(try await pool.read { try $0.namespaces.access(name: "fresh", userID: alice.userID)?.role } == .owner)

            let contested = try RepositoryName("contested/app")
            let outcomes = await withTaskGroup(of: (String, Bool).self) { group in
                for subject in [alice, bob, alice, bob] {
                    group.addTask {
                        do {
                            try await service.ensureNamespace(for: contested, subject: subject)
                            return (subject.name, true)
                        } catch {
                            #expect((error as? RegistryError)?.code == .denied, "\(error)")
                            return (subject.name, false)
                        }
                    }
                }
                return await group.reduce(into: [(String, Bool)]()) { $0.append($1) }
            }
            let winners = Set(outcomes.filter(\.1).map(\.0))
            #expect(winners.count == 1, "\(outcomes)")
            let owner = try #require(winners.first)
            let ownerID = owner == "alice" ? alice.userID : bob.userID
            #expect(try await pool.read { try $0.namespaces.access(name: "contested", userID: ownerID)?.role } == .owner)
        }
    }
}
