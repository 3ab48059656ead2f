import Crypto
import Foundation
import Logging
import Testing
import WharfCore
import WharfDatabase
import WharfStorage

@testable import WharfAuth
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
                let storage = FilesystemDriver(root: folder + "/registry", durable: false)
                try await body(AccountService(pool: pool, storage: storage, secrets: secrets, passwords: PasswordHasher(cost: 4)), pool, folder)
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

    /// Writes a repository into the storage folder as distribution would (a tag link), and a blob beside it.
    static func storeRepository(_ folder: String, _ name: String) throws {
        let v2 = folder + "/registry/docker/registry/v2"
        let digest = OCIDigest.of(Array(name.utf8))
        let link = "\(v2)/repositories/\(name)/_manifests/tags/latest/current/link"
        try FileManager.default.createDirectory(atPath: (link as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(digest.description.utf8).write(to: URL(fileURLWithPath: link))
        let blob = "\(v2)/blobs/sha256/\(digest.hex.prefix(2))/\(digest.hex)/data"
        try FileManager.default.createDirectory(atPath: (blob as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(name.utf8).write(to: URL(fileURLWithPath: blob))
    }

    static func storageExists(_ folder: String, _ path: String) -> Bool {
        FileManager.default.fileExists(atPath: folder + "/registry/docker/registry/v2/" + path)
    }

    static func organization(_ pool: DatabasePool, _ folder: String) -> OrganizationService {
        OrganizationService(pool: pool, storage: FilesystemDriver(root: folder + "/registry", durable: false))
    }

    /// A user whose namespace holds repositories is deleted only with a decision about them; without one the
    /// refusal lists them and changes nothing.
    @Test(arguments: AccountBackend.available)
    func deletingAUserWithRepositoriesIsExplicit(_ backend: AccountBackend) async throws {
        try await withAccounts(backend) { accounts, pool, folder in
            let organization = Self.organization(pool, folder)
            try await accounts.createUser(name: "dave", password: "correct horse")
            try await organization.setVisibility(namespace: "dave", .protected)
            try Self.storeRepository(folder, "dave/secret")
            try Self.storeRepository(folder, "dave/a")
            do {
                try await accounts.deleteUser(name: "dave")
                Issue.record("a user with repositories was deleted without a decision")
            } catch let error as AccountError {
                #expect(error.code == .namespaceNotEmpty)
                #expect(
                    error.message
                        == "user dave's namespace holds 2 repositories (dave/a, dave/secret): add --transfer-to TEAM or --delete-repositories"
                )
            }
            #expect(try await accounts.listUsers().map(\.name) == ["dave"])
            #expect(try await pool.read { try $0.namespaces.find(name: "dave") }?.kind == .personal)
            await expectAccountError(.unknownTeam) { try await accounts.deleteUser(name: "dave", repositories: .transfer(toTeam: "nobody")) }
            #expect(try await accounts.listUsers().map(\.name) == ["dave"])

            // --transfer-to: the namespace becomes the team's, with its visibility and repositories.
            let ops = try await organization.createTeam(name: "ops", owner: nil)
            let moved = try await accounts.deleteUser(name: "dave", repositories: .transfer(toTeam: "ops"))
            #expect(moved.map(\.value) == ["dave/a", "dave/secret"])
            #expect(try await accounts.listUsers().isEmpty)
            let namespace = try #require(try await pool.read { try $0.namespaces.find(name: "dave") })
            #expect(namespace.kind == .team && namespace.teamID == ops.id && namespace.ownerID == nil && namespace.visibility == .protected)
            #expect(Self.storageExists(folder, "repositories/dave/secret/_manifests"))
            let actions = try await pool.read { try $0.activities.recent(limit: 10) }.map(\.action)
            #expect(actions.contains("namespace.transfer") && actions.contains("user.delete"))

            // --delete-repositories: tags and manifests go, blobs stay for garbage collection.
            try await accounts.createUser(name: "erin", password: "correct horse")
            try Self.storeRepository(folder, "erin/app")
            let digest = OCIDigest.of(Array("erin/app".utf8))
            let removed = try await accounts.deleteUser(name: "erin", repositories: .delete)
            #expect(removed.map(\.value) == ["erin/app"])
            #expect(!Self.storageExists(folder, "repositories/erin"))
            #expect(Self.storageExists(folder, "blobs/sha256/\(digest.hex.prefix(2))/\(digest.hex)/data"))
            #expect(try await pool.read { try $0.namespaces.find(name: "erin") } == nil)
            // Nothing is left under the name: it is free again, as for a user who never pushed.
            try await accounts.createUser(name: "erin", password: "correct horse")
        }
    }

    /// Content left under a name (a deleted user's, from an older Wharf) is not handed to a new user of that name
    /// unless the admin says so; the refusal names the three ways out.
    @Test(arguments: AccountBackend.available)
    func creatingAUserOverContentWithoutAnOwnerIsExplicit(_ backend: AccountBackend) async throws {
        try await withAccounts(backend) { accounts, pool, folder in
            try Self.storeRepository(folder, "dave/secret")
            do {
                try await accounts.createUser(name: "dave", password: "correct horse")
                Issue.record("a new user inherited content without an owner")
            } catch let error as AccountError {
                #expect(error.code == .unownedContent)
                #expect(
                    error.message
                        == "namespace dave holds content without an owner (1 repository (dave/secret)): give it to the new user (wharf user create dave --adopt-namespace), to a team (wharf namespace adopt dave --team TEAM), or delete it (wharf namespace purge dave)"
                )
            }
            #expect(try await accounts.listUsers().isEmpty)
            #expect(try await pool.read { try $0.namespaces.find(name: "dave") } == nil)
            let dave = try await accounts.createUser(name: "dave", password: "correct horse", adoptNamespace: true)
            let namespace = try #require(try await pool.read { try $0.namespaces.find(name: "dave") })
            #expect(namespace.kind == .personal && namespace.ownerID == dave.id && namespace.visibility == .private)
            #expect(
                try await pool.read { try $0.activities.recent(limit: 10) }.contains { $0.action == "namespace.adopt" && $0.targetName == "dave" }
            )
            await expectAccountError(.noContent) { try await accounts.createUser(name: "frank", password: "correct horse", adoptNamespace: true) }
            // A bot has no personal namespace: content under its name stays as it is.
            try Self.storeRepository(folder, "robot/app")
            try await accounts.createUser(name: "robot", password: "correct horse", isBot: true)
            #expect(try await pool.read { try $0.namespaces.find(name: "robot") } == nil)
        }
    }

    /// `wharf namespace adopt` and `purge`: only content without an owner, one line when there is none.
    @Test(arguments: AccountBackend.available)
    func adoptingAndPurgingContentWithoutAnOwner(_ backend: AccountBackend) async throws {
        try await withAccounts(backend) { accounts, pool, folder in
            let organization = Self.organization(pool, folder)
            try await organization.createTeam(name: "ops", owner: nil)
            for name in ["legacy/app", "legacy/tools/cli", "old/web", "stale/x", "toplevel"] { try Self.storeRepository(folder, name) }
            try await accounts.createUser(name: "alice", password: "correct horse")
            try Self.storeRepository(folder, "alice/mine")

            let adopted = try await organization.adoptNamespace(name: "legacy", team: "ops", visibility: .protected)
            #expect(adopted.map(\.value) == ["legacy/app", "legacy/tools/cli"])
            let legacy = try #require(try await pool.read { try $0.namespaces.find(name: "legacy") })
            #expect(legacy.kind == .team && legacy.visibility == .protected)
            await expectAccountError(.namespaceExists) { try await organization.adoptNamespace(name: "legacy", team: "ops") }
            await expectAccountError(.namespaceExists) { try await organization.adoptNamespace(name: "alice", team: "ops") }
            await expectAccountError(.noContent) { try await organization.adoptNamespace(name: "nothing", team: "ops") }
            await expectAccountError(.unknownTeam) { try await organization.adoptNamespace(name: "old", team: "nobody") }
            await expectAccountError(.nameInvalid) { try await organization.adoptNamespace(name: "../x", team: "ops") }

            try await organization.purgeNamespace(name: "stale")
            #expect(!Self.storageExists(folder, "repositories/stale"))
            await expectAccountError(.noContent) { try await organization.purgeNamespace(name: "stale") }
            await expectAccountError(.namespaceExists) { try await organization.purgeNamespace(name: "alice") }
            #expect(Self.storageExists(folder, "repositories/alice/mine/_manifests"))

            // --unknown: every namespace without a row; the global repository `toplevel` is no namespace.
            let rest = try await organization.adoptUnknownNamespaces(team: "ops")
            #expect(rest.map(\.namespace) == ["old"])
            #expect(rest.first?.repositories.map(\.value) == ["old/web"])
            #expect(try await pool.read { try $0.namespaces.find(name: "toplevel") } == nil)
            #expect(try await organization.adoptUnknownNamespaces(team: "ops").isEmpty)
            let recorded = try await pool.read { try $0.activities.recent(limit: 20) }
            #expect(Set(recorded.filter { $0.action == "namespace.adopt" }.map(\.targetName)) == ["legacy", "old"])
            #expect(recorded.contains { $0.action == "namespace.purge" && $0.targetName == "stale" })
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

    /// The token service as `wharf serve` wires it on `folder` (a signing key made there) and `pool`, hashing at
    /// bcrypt's lowest cost.
    static func tokenService(_ folder: String, _ pool: DatabasePool) throws -> TokenService {
        var configuration = ServerConfiguration()
        configuration.dataDirectory = folder
        _ = try CertificateBootstrap.ensure(certsDirectory: configuration.certsDirectory, extraHostnames: [], logger: logger)
        return try makeTokenService(configuration: configuration, database: pool, passwords: PasswordHasher(cost: 4))
    }

    /// Racing first pushes into a new namespace: docker pushes layers in parallel, and on MariaDB the creating
    /// transactions are not serialised. One push creates it; the others by the same user go ahead, and a push by
    /// someone else racing for the same name is denied rather than let into the winner's private namespace.
    @Test(arguments: AccountBackend.available)
    func racingFirstPushesCreateOneNamespace(_ backend: AccountBackend) async throws {
        try await withAccounts(backend) { accounts, pool, folder in
            let service = try Self.tokenService(folder, pool)
            let alice = Authenticator.subject(try await accounts.createUser(name: "alice", password: "alice-password"))
            let bob = Authenticator.subject(try await accounts.createUser(name: "bob", password: "bob-password"))

            let name = try RepositoryName("fresh/app")
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 { group.addTask { try await service.authorizer.ensureNamespace(for: name, subject: alice) } }
                try await group.waitForAll()
            }
            #expect(try await pool.read { try $0.namespaces.access(name: "fresh", userID: alice.userID)?.role } == .owner)

            let contested = try RepositoryName("contested/app")
            let outcomes = await withTaskGroup(of: (String, Bool).self) { group in
                for subject in [alice, bob, alice, bob] {
                    group.addTask {
                        do {
                            try await service.authorizer.ensureNamespace(for: contested, subject: subject)
                            return (subject.name, true)
                        } catch {
                            #expect((error as? AuthError)?.code == .denied, "\(error)")
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

    /// The Authorizer answers with what is granted and, for the rest, the reason a person sees: it never tells
    /// a stranger whether a namespace exists, and tells a would-be creator what to do.
    @Test(arguments: AccountBackend.available)
    func authorizerDecisionsCarryTheirReason(_ backend: AccountBackend) async throws {
        try await withAccounts(backend) { accounts, pool, folder in
            let authorizer = try Self.tokenService(folder, pool).authorizer
            let alice = Authenticator.subject(try await accounts.createUser(name: "alice", password: "alice-password"))
            let bob = Authenticator.subject(try await accounts.createUser(name: "bob", password: "bob-password"))

            let own = try await authorizer.decide(AccessScope(.repository(try RepositoryName("alice/app")), actions: [.pull, .push]), for: alice)
            #expect(own == AccessDecision(granted: [.pull, .push], reason: nil))
            let foreign = try await authorizer.decide(AccessScope(.repository(try RepositoryName("alice/app")), actions: [.push]), for: bob)
            #expect(foreign.granted.isEmpty)
            #expect(
                foreign.reason
                    == "bob may not push alice/app: no namespace alice that bob may push to; ask an admin to create it or to give bob access"
            )
            // bob could create a missing namespace by pushing, so he may learn that it does not exist.
            let missing = try await authorizer.decide(AccessScope(.repository(try RepositoryName("ghost/app")), actions: [.delete]), for: bob)
            #expect(missing == AccessDecision(granted: [], reason: "bob may not delete ghost/app: namespace ghost does not exist"))
            let global = try await authorizer.decide(AccessScope(.repository(try RepositoryName("base")), actions: [.pull, .push]), for: bob)
            #expect(global == AccessDecision(granted: [.pull], reason: "bob may not pull,push base"))
            let catalog = try await authorizer.decide(AccessScope(.catalog, actions: [.catalog]), for: .anonymous)
            #expect(catalog.isAllowed)
        }
    }

}
