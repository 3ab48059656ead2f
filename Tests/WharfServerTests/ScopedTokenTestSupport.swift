import Foundation
import Testing
import WharfCore
import WharfDatabase
import WharfStorage

@testable import WharfAuth
@testable import WharfServer

/// A fresh database (``AccountBackend``) with the people and namespaces the scoped-token tests share, and the
/// services as `wharf serve` builds them on the same keys:
/// - users alice, bob, carol (passwords `NAME-password`, private personal namespaces) and admin;
/// - team qa (alice owner, bob contributor) with namespaces qa (private) and open (protected);
/// - team ops (carol owner) with namespace ops (private).
struct ScopedTokenFixture {
    let accounts: AccountService
    let organizations: OrganizationService
    let scoped: ScopedTokenService
    let tokens: TokenService
    let pool: DatabasePool

    static let inAMonth = Date().addingTimeInterval(30 * 86400)

    /// The subject `name` logs in as (a user's, as the authenticator makes it).
    func subject(_ name: String) async throws -> TokenSubject {
        let user = try #require(try await pool.read { try $0.users.find(name: name) })
        return Authenticator.subject(user)
    }

    /// A scoped token created by the command line, and the subject a login with it gets.
    func login(
        _ namespace: String,
        _ name: String,
        repositories: String = "*",
        actions: Set<Action> = [.pull]
    ) async throws -> (token: ScopedToken, secret: String, caller: Caller) {
        let (token, secret) = try await scoped.create(
            namespace: namespace,
            name: name,
            repositories: repositories,
            actions: actions,
            expiresAt: Self.inAMonth,
            by: .commandLine
        )
        let caller = try await tokens.authenticator.authenticate(username: token.username.description, password: secret, client: "192.0.2.1")
        return (token, secret, caller)
    }

    static func with(
        _ backend: AccountBackend = .sqlite,
        failuresPerAddress: Int = 0,
        _ body: @Sendable (ScopedTokenFixture) async throws -> Void
    ) async throws {
        try await AccountServiceTests().withAccounts(backend) { _, pool, folder in
            var configuration = ServerConfiguration()
            configuration.dataDirectory = folder
            configuration.failuresPerAddress = failuresPerAddress
            _ = try CertificateBootstrap.ensure(certsDirectory: configuration.certsDirectory, extraHostnames: [], logger: AccountServiceTests.logger)
            let passwords = PasswordHasher(cost: 4)
            let tokens = try makeTokenService(configuration: configuration, database: pool, passwords: passwords)
            let storage = FilesystemDriver(root: folder + "/registry", durable: false)
            let secrets = try ServerSecrets.load(dataDirectory: folder)
            let accounts = AccountService(pool: pool, storage: storage, secrets: secrets, passwords: passwords)
            let organizations = OrganizationService(pool: pool, storage: storage)
            for name in ["alice", "bob", "carol"] { try await accounts.createUser(name: name, password: "\(name)-password") }
            try await accounts.createUser(name: "admin", password: "admin-password", isAdmin: true)
            try await organizations.createTeam(name: "qa", owner: "alice")
            try await organizations.setMember(team: "qa", user: "bob", role: .contributor)
            try await organizations.createNamespace(name: "qa", team: "qa")
            try await organizations.createNamespace(name: "open", team: "qa", visibility: .protected)
            try await organizations.createTeam(name: "ops", owner: "carol")
            try await organizations.createNamespace(name: "ops", team: "ops")
            let scoped = ScopedTokenService(pool: pool, secrets: secrets, rules: tokens.authorizer.rules)
            try await body(ScopedTokenFixture(accounts: accounts, organizations: organizations, scoped: scoped, tokens: tokens, pool: pool))
        }
    }
}

/// Expects `body` to fail with an ``AccountError`` of `code` and a one-line message.
func expectAccountRefusal(
    _ code: AccountError.Code,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> Void
) async {
    do {
        try await body()
        Issue.record("expected \(code), nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as AccountError {
        #expect(error.code == code, "\(error.message)", sourceLocation: sourceLocation)
        #expect(!error.message.contains("\n"), sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(code), got \(error)", sourceLocation: sourceLocation)
    }
}
