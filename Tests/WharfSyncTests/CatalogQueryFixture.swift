import Foundation
import Logging
import Testing
import WharfAuth
import WharfCore
import WharfDatabase
import WharfStorage

@testable import WharfSync

/// The engines the catalogue query tests run on: SQLite always, and MariaDB when `WHARF_TEST_MARIADB_URL` names a
/// server (`make test` starts one and sets it).
enum QueryBackend: String, Sendable, CustomTestStringConvertible {
    case sqlite
    case mariadb

    var testDescription: String { rawValue }

    static let available: [QueryBackend] =
        ProcessInfo.processInfo.environment["WHARF_TEST_MARIADB_URL"].map { _ in [.sqlite, .mariadb] } ?? [.sqlite]
}

/// A migrated, empty database on one engine, an in-memory storage, and the readers over them; helpers write
/// users, teams, namespaces, repositories and tags straight into the stores.
struct QueryFixture {
    let pool: DatabasePool
    let driver: MemoryDriver
    let rules: PermissionRules
    let reader: CatalogReader
    let stars: StarService
    let comments: CommentService
    let authorizer: Authorizer

    static let logger: Logger = {
        var logger = Logger(label: "catalog-query-tests")
        logger.logLevel = .critical
        return logger
    }()

    static func with(
        _ backend: QueryBackend,
        policy: PermissionPolicy = PermissionPolicy(),
        _ body: (QueryFixture) async throws -> Void
    ) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-queries-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var admin: DatabasePool?
        var databaseName = ""
        let location: DatabaseLocation
        switch backend {
        case .sqlite:
            location = .sqlite(path: folder + "/wharf.sqlite", poolSize: 2)
        case .mariadb:
            let url = try #require(ProcessInfo.processInfo.environment["WHARF_TEST_MARIADB_URL"])
            guard case .mysql(let server) = try DatabaseLocation.parse(url) else { throw CatalogQueryError(.invalid, "not a mysql:// URL") }
            var database = server
            databaseName = "wharf_q_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
            database.database = databaseName
            let name = databaseName
            let pool = DatabasePool(location: .mysql(server), logger: logger)
            _ = try await pool.write { try $0.execute("CREATE DATABASE \(name) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin") }
            admin = pool
            location = .mysql(database)
        }
        let pool = DatabasePool(location: location, logger: logger)
        let driver = MemoryDriver()
        let rules = PermissionRules(policy: policy)
        let fixture = QueryFixture(
            pool: pool,
            driver: driver,
            rules: rules,
            reader: CatalogReader(pool: pool, driver: driver, rules: rules, logger: logger),
            stars: StarService(pool: pool, rules: rules),
            comments: CommentService(pool: pool, rules: rules),
            authorizer: Authorizer(pool: pool, rules: rules, content: nil, logger: logger)
        )
        var failure: (any Error)?
        do {
            _ = try await pool.prepare()
            try await body(fixture)
        } catch {
            failure = error
        }
        await pool.close()
        if let admin {
            let name = databaseName
            _ = try? await admin.write { try $0.execute("DROP DATABASE IF EXISTS \(name)") }
            await admin.close()
        }
        if let failure { throw failure }
    }

    // MARK: Writing

    /// A user and the subject they authenticate as.
    @discardableResult
    func user(_ name: String, admin: Bool = false, bot: Bool = false) async throws -> TokenSubject {
        let id = try await pool.write { try $0.users.create(NewUser(name: name, isAdmin: admin, isBot: bot)).id }
        return TokenSubject(name: name, kind: admin ? .admin : bot ? .bot : .user, userID: id)
    }

    /// A team namespace; `members` join its team with their role.
    func namespace(_ name: String, _ visibility: Visibility, members: [(TokenSubject, TeamRole)] = []) async throws {
        try await pool.write { transaction in
            let team = try transaction.teams.create(name: name)
            for (member, role) in members { try transaction.teams.setMember(teamID: team.id, userID: member.userID!, role: role) }
            try transaction.namespaces.create(name: name, kind: .team, visibility: visibility, teamID: team.id)
        }
    }

    func personalNamespace(of owner: TokenSubject, _ visibility: Visibility) async throws {
        _ = try await pool.write { try $0.namespaces.create(name: owner.name, kind: .personal, visibility: visibility, ownerID: owner.userID) }
    }

    func globalNamespace(_ name: String, _ visibility: Visibility) async throws {
        _ = try await pool.write { try $0.namespaces.create(name: name, kind: .global, visibility: visibility) }
    }

    /// A repository with tags: each tag name pointing at its digest, pushed at its time (milliseconds).
    @discardableResult
    func repository(_ name: String, tags: [(name: String, digest: String, pushedAt: Int64)] = []) async throws -> Repository {
        try await pool.write { transaction in
            let repository = try transaction.repositories.findOrCreate(name: name)
            for tag in tags {
                try transaction.tags.write(
                    repositoryID: repository.id,
                    TagRecord(
                        name: tag.name,
                        digest: tag.digest,
                        mediaType: MediaType.ociManifest,
                        size: 100,
                        os: "linux",
                        architecture: "amd64",
                        pushedByName: "pusher",
                        pushedAt: Date(timeIntervalSince1970: Double(tag.pushedAt) / 1000)
                    )
                )
            }
            try transaction.repositories.summarize(id: repository.id)
            return try transaction.repositories.find(id: repository.id)!
        }
    }

    /// Stores `bytes` as a blob and returns its digest.
    @discardableResult
    func blob(_ bytes: [UInt8]) async throws -> OCIDigest {
        let digest = OCIDigest.of(bytes)
        try await driver.write(RegistryPaths.blobData(digest), contents: bytes)
        return digest
    }

    /// `sha256:` and 64 times `character`.
    static func digest(_ character: Character) -> String { "sha256:" + String(repeating: character, count: 64) }

    // MARK: Reading

    /// Every repository `subject` sees, page after page.
    func allRepositories(for subject: TokenSubject, pageSize: Int = 7) async throws -> [String] {
        var names: [String] = []
        var after: String?
        repeat {
            let page = try await reader.repositories(for: subject, after: after, limit: pageSize)
            names += page.items.map(\.name)
            after = page.next
        } while after != nil
        return names
    }
}
