import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import WharfAuth
import WharfDatabase

@testable import WharfServer

/// The application `wharf serve` runs, with auth and the token endpoint, on a fresh data folder (certificate,
/// secrets, SQLite migrated by the database service's first attempt), driven in-process; and what a test needs
/// to arrange accounts and check tokens, taken from that same application.
struct AuthFixture {
    let client: any TestClientProtocol
    let accounts: AccountService
    let pool: DatabasePool
    let tokens: TokenService
    let services: WharfServices
}

/// Runs `test` against a fresh auth-enabled application with users alice and bob (private personal namespaces)
/// and admin (passwords NAME-password; bcrypt at cost 4 to keep tests quick).
func withAuthServer(configure: (inout ServerConfiguration) -> Void = { _ in }, _ test: @Sendable (AuthFixture) async throws -> Void) async throws {
    let folder = temporaryDataFolder("wharf-auth")
    defer { try? FileManager.default.removeItem(atPath: folder) }
    var configuration = try testConfiguration(dataDirectory: folder)
    configure(&configuration)
    let passwords = PasswordHasher(cost: 4)
    let assembled = try assembleApplication(configuration: configuration, logger: testLogger, passwords: passwords)
    let services = assembled.services
    let tokens = try #require(assembled.tokens, "auth.enabled is on: the application has a token service")
    try await assembled.application.test(.router) { client in
        // Once the database service's first attempt is over, the schema is there.
        let pool = services.database
        try await waitForFirstAttempt(pool)
        let secrets = try ServerSecrets.load(dataDirectory: folder)
        let accounts = AccountService(pool: pool, storage: services.driver, secrets: secrets, passwords: passwords)
        try await accounts.createUser(name: "alice", password: "alice-password")
        try await accounts.createUser(name: "bob", password: "bob-password")
        try await accounts.createUser(name: "admin", password: "admin-password", isAdmin: true)
        try await test(AuthFixture(client: client, accounts: accounts, pool: pool, tokens: tokens, services: services))
    }
}
