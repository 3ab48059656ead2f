import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import WharfAuth
import WharfDatabase
@testable import WharfServer

/// A router with auth and the token endpoint on a fresh data folder (certificate, secrets, migrated SQLite),
/// and what a test needs to arrange accounts and check tokens.
struct AuthFixture {
    let client: any TestClientProtocol
    let accounts: AccountService
    let pool: DatabasePool
    let tokens: TokenService
    let services: WharfServices
}

/// Runs `test` against a fresh auth-enabled router with users alice and bob (private personal namespaces) and
/// admin (passwords NAME-password; bcrypt at cost 4 to keep tests quick).
func withAuthServer(configure: (inout ServerConfiguration) -> Void = { _ in }, _ test: @Sendable (AuthFixture) async throws -> Void) async throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-auth-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: folder) }
    var configuration = ServerConfiguration()
    configuration.dataDirectory = folder
    configuration.storageFsync = false
    configure(&configuration)
    try prepareDataDirectory(configuration)
    let logger = Logger(label: "auth-tests")
    _ = try CertificateBootstrap.ensure(certsDirectory: configuration.certsDirectory, extraHostnames: [], logger: logger)
    let services = WharfServices(configuration: configuration, logger: logger)
    let pool = services.database
    do {
        _ = try await pool.prepare()
        let passwords = PasswordHasher(cost: 4)
        let tokens = try makeTokenService(configuration: configuration, database: pool, passwords: passwords)
        let accounts = AccountService(pool: pool, storage: services.driver, secrets: try ServerSecrets.load(dataDirectory: folder), passwords: passwords)
        try await accounts.createUser(name: "alice", password: "alice-password")
        try await accounts.createUser(name: "bob", password: "bob-password")
        try await accounts.createUser(name: "admin", password: "admin-password", isAdmin: true)
        let app = Application(router: buildRouter(services: services, tokens: tokens))
        try await app.test(.router) { client in
            try await test(AuthFixture(client: client, accounts: accounts, pool: pool, tokens: tokens, services: services))
        }
    } catch {
        await pool.close()
        throw error
    }
    await pool.close()
}
