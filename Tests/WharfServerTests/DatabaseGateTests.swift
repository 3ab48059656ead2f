import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import WharfDatabase

@testable import WharfServer

@Suite struct DatabaseGateTests {
    /// The application `wharf serve` runs (auth off) on `location`. `started`: driven after its services started,
    /// so the database service has made its first attempt; otherwise driven as built, before anything started.
    func withGate(
        _ location: DatabaseLocation,
        started: Bool,
        _ test: @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        let folder = temporaryDataFolder("wharf-gate")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var configuration = try testConfiguration(dataDirectory: folder)
        configuration.database = location
        configuration.authEnabled = false
        let assembled = try assembleApplication(configuration: configuration, logger: testLogger)
        let database = assembled.services.database
        if started {
            try await assembled.application.test(.router) { client in
                try await waitForFirstAttempt(database)
                try await test(client)
            }
        } else {
            try await NotStarted(assembled.application).test(.router) { try await test($0) }
        }
    }

    @Test func unreachableDatabaseAnswers503WithTheReason() async throws {
        // Nothing listens on port 1; the password must not show anywhere.
        let location = try DatabaseLocation.parse("mysql://wharf:hunter2@127.0.0.1:1/wharf?connect_timeout=1")
        try await withGate(location, started: true) { client in
            let response = try await client.execute(uri: "/v2/", method: .get)
            #expect(response.status == .serviceUnavailable)
            #expect(errorCode(response) == "UNAVAILABLE")
            #expect(response.headers[.retryAfter] == "5")
            let body = String(buffer: response.body)
            #expect(body.contains("the database is unavailable") && body.contains("127.0.0.1") && !body.contains("hunter2"), "\(body)")

            let head = try await client.execute(uri: "/v2/library/app/manifests/latest", method: .head)
            #expect(head.status == .serviceUnavailable && head.body.readableBytes == 0)

            let page = try await client.execute(uri: "/", method: .get)
            #expect(page.status == .serviceUnavailable && String(buffer: page.body).hasPrefix("Wharf is unavailable: "))

            #expect(try await client.execute(uri: "/health", method: .get).status == .ok)
        }
    }

    @Test func startingDatabaseAnswers503() async throws {
        try await withGate(.sqlite(path: "/nonexistent-\(UUID().uuidString)/wharf.sqlite", poolSize: 1), started: false) { client in
            let response = try await client.execute(uri: "/v2/", method: .get)
            #expect(response.status == .serviceUnavailable && String(buffer: response.body).contains("starting"))
        }
    }

    @Test func readyDatabaseLetsRequestsThrough() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-gate-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        try await withGate(.sqlite(path: path, poolSize: 1), started: true) { client in
            let response = try await client.execute(uri: "/v2/", method: .get)
            #expect(response.status == .ok)
        }
    }

    @Test func databaseURLComesFromTheConfiguration() throws {
        let defaults = try ConfigurationKey.load(file: nil, environment: ["WHARF_DATA": "/srv/w"], flags: [:])
        #expect(defaults.databaseLocation == .sqlite(path: "/srv/w/wharf.sqlite", poolSize: 4))
        let empty = try ConfigurationKey.load(file: nil, environment: ["WHARF_DATA": "/srv/w", "WHARF_DATABASE_URL": ""], flags: [:])
        #expect(empty.databaseLocation == defaults.databaseLocation)
        let environment = ["WHARF_DATABASE_URL": "mariadb://wharf:s3cret@db:3306/wharf?pool=3"]
        let configured = try ConfigurationKey.load(file: nil, environment: environment, flags: [:])
        #expect(configured.databaseLocation.description == "mysql://wharf:***@db:3306/wharf")
        let error = #expect(throws: ConfigurationError.self) {
            try ConfigurationKey.load(file: nil, environment: ["WHARF_DATABASE_URL": "mysql://wharf:s3cret@db/wharf?pool=many"], flags: [:])
        }
        #expect(error?.description.hasPrefix("database.url:") == true && error?.description.contains("s3cret") == false)
    }
}
