import Foundation
import HummingbirdTesting
import Testing
import WharfCore

@testable import WharfServer

/// What `buildApplication` wires beyond the routes, seen from outside: the services it starts.
@Suite struct ApplicationWiringTests {
    /// The upload purger runs with the application: a session abandoned for longer than `uploads.purge_after`
    /// is gone soon after the start, one started just now stays.
    @Test func theRunningApplicationPurgesAbandonedUploads() async throws {
        let folder = temporaryDataFolder("wharf-wiring")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var configuration = try testConfiguration(dataDirectory: folder)
        configuration.authEnabled = false
        let assembled = try assembleApplication(configuration: configuration, logger: testLogger)
        let name = try RepositoryName("library/app")
        let twoDaysAgo = Date().addingTimeInterval(-2 * 24 * 3600)
        let abandoned = try await assembled.services.blobs.startUpload(in: name, now: twoDaysAgo)
        let fresh = try await assembled.services.blobs.startUpload(in: name)
        try await assembled.application.test(.router) { client in
            let deadline = ContinuousClock.now + .seconds(30)
            var status = try await client.execute(uri: "/v2/library/app/blobs/uploads/\(abandoned.id)", method: .get).status
            while status != .notFound && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
                status = try await client.execute(uri: "/v2/library/app/blobs/uploads/\(abandoned.id)", method: .get).status
            }
            #expect(status == .notFound)
            #expect(try await client.execute(uri: "/v2/library/app/blobs/uploads/\(fresh.id)", method: .get).status == .noContent)
        }
    }
}
