import Foundation
import Logging
import Testing
import WharfDatabase

@testable import WharfServer

/// The data folder is created 0700 and the SQLite database 0600 (it holds password and token hashes); existing
/// ones that others may read are reported at start-up, never changed.
@Suite struct DataFolderPermissionsTests {
    static func withFolder(_ body: (String) async throws -> Void) async throws {
        let parent = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-modes-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: parent) }
        try await body(parent + "/data")
    }

    static func mode(_ path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? nil
    }

    @Test func aNewDataFolderIsPrivateAndTheDatabaseFilesToo() async throws {
        try await Self.withFolder { folder in
            var configuration = ServerConfiguration()
            configuration.dataDirectory = folder
            try prepareDataDirectory(configuration)
            #expect(Self.mode(folder) == 0o700)
            let pool = DatabasePool(location: configuration.databaseLocation, logger: Logger(label: "test"))
            do {
                _ = try await pool.prepare()
                for suffix in ["", "-wal", "-shm"] {
                    let path = folder + "/wharf.sqlite" + suffix
                    #expect(Self.mode(path) == 0o600, "\(path)")
                }
                #expect(DataFolderPermissions.warnings(for: configuration).isEmpty)
            } catch {
                await pool.close()
                throw error
            }
            await pool.close()
        }
    }

    @Test func theCommandLineCreatesTheFolderPrivateToo() async throws {
        try await Self.withFolder { folder in
            // `wharf user create` on a fresh folder loads the secrets first, then opens the database.
            _ = try ServerSecrets.load(dataDirectory: folder)
            #expect(Self.mode(folder) == 0o700)
            let other = folder + "-db/nested"
            defer { try? FileManager.default.removeItem(atPath: folder + "-db") }
            let connection = try SQLiteBackend(path: other + "/wharf.sqlite").connect()
            connection.close()
            #expect(Self.mode(other) == 0o700)
            #expect(Self.mode(other + "/wharf.sqlite") == 0o600)
        }
    }

    @Test func existingOpenFilesAreReportedNotChanged() async throws {
        try await Self.withFolder { folder in
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            let database = folder + "/wharf.sqlite"
            #expect(FileManager.default.createFile(atPath: database, contents: nil, attributes: [.posixPermissions: 0o644]))
            var configuration = ServerConfiguration()
            configuration.dataDirectory = folder
            try prepareDataDirectory(configuration)
            let warnings = DataFolderPermissions.warnings(for: configuration)
            #expect(warnings.count == 2)
            #expect(warnings.contains { $0.contains("chmod 700 \(folder)") })
            #expect(warnings.contains { $0.contains("chmod 600 \(database)") })
            #expect(Self.mode(folder) == 0o755)
            #expect(Self.mode(database) == 0o644)
        }
    }
}
