import Foundation
import Logging
import NIOConcurrencyHelpers
import Testing

@testable import WharfDatabase

/// The engines every store test runs against.
enum TestBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case mariadb

    var testDescription: String { rawValue }
}

let testLogger = Logger(label: "wharf-database-tests")

/// A fresh, migrated database for one test on `backend` (a temporary SQLite file, or a new database on the test
/// MariaDB server), removed afterwards.
func withDatabase(
    _ backend: TestBackend,
    poolSize: Int? = nil,
    _ body: (DatabasePool) async throws -> Void
) async throws {
    switch backend {
    case .sqlite:
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-db-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let pool = DatabasePool(location: .sqlite(path: folder + "/wharf.sqlite", poolSize: poolSize ?? 4), logger: testLogger)
        try await run(pool, body)
    case .mariadb:
        try await withMariaDBDatabase(server: try await TestMariaDB.shared(), poolSize: poolSize) {
            try await run(DatabasePool(location: .mysql($0), logger: testLogger), body)
        }
    }
}

/// Prepares `pool`, runs `body`, and closes the pool whatever happens.
private func run(_ pool: DatabasePool, _ body: (DatabasePool) async throws -> Void) async throws {
    do {
        try await pool.prepare()
        try await body(pool)
    } catch {
        await pool.close()
        throw error
    }
    await pool.close()
}

/// A new empty database on the server at `server` for one test, dropped afterwards.
func withMariaDBDatabase(
    server: DatabaseLocation.MySQL,
    poolSize: Int? = nil,
    _ body: (DatabaseLocation.MySQL) async throws -> Void
) async throws {
    var location = server
    location.database = "wharf_t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
    if let poolSize { location.poolSize = poolSize }
    let admin = DatabasePool(location: .mysql(server), logger: testLogger)
    let name = location.database
    _ = try await admin.write { try $0.execute("CREATE DATABASE \(name) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin") }
    do {
        try await body(location)
    } catch {
        _ = try? await admin.write { try $0.execute("DROP DATABASE \(name)") }
        await admin.close()
        throw error
    }
    _ = try? await admin.write { try $0.execute("DROP DATABASE \(name)") }
    await admin.close()
}

/// Throwaway MariaDB servers started with `scripts/mariadb-test-server.sh`.
enum TestMariaDB {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/mariadb-test-server.sh").path

    /// The server of the whole test run: `WHARF_TEST_MARIADB_URL` when set (the test command starts one), else one
    /// started here for this process and removed when it exits. Fails (never skips) when neither is possible.
    static func shared() async throws -> DatabaseLocation.MySQL {
        try await sharedServer.value
    }

    private static let sharedServer = Task<DatabaseLocation.MySQL, any Error> {
        if let url = ProcessInfo.processInfo.environment["WHARF_TEST_MARIADB_URL"], !url.isEmpty {
            return try mysql(url)
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-test-mariadb-\(getpid())").path
        return try await start(folder)
    }

    /// Starts (or restarts) the server kept in `folder` and returns its test database. A new server has TLS (its
    /// CA is `folder/tls/ca.pem`) unless `tls` is false.
    static func start(_ folder: String, tls: Bool = true) async throws -> DatabaseLocation.MySQL {
        registerForRemovalAtExit(folder)
        let output = try await runScript("start", folder, tls ? [] : ["--no-tls"])
        return try mysql(output.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    static func stop(_ folder: String) async throws { _ = try await runScript("stop", folder) }

    /// Kills the server with SIGKILL, as a crash or power cut of the database host would.
    static func kill(_ folder: String) async throws { _ = try await runScript("kill", folder) }

    static func remove(_ folder: String) async { _ = try? await runScript("remove", folder) }

    private static func mysql(_ url: String) throws -> DatabaseLocation.MySQL {
        guard case .mysql(let location) = try DatabaseLocation.parse(url) else {
            throw DatabaseError(.configuration, "WHARF_TEST_MARIADB_URL must be a mysql:// URL")
        }
        return location
    }

    private static func runScript(_ action: String, _ folder: String, _ options: [String] = []) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try runScriptNow(action, folder, options) })
            }
        }
    }

    /// Runs the script with posix_spawn and waitpid: Foundation's `Process.waitUntilExit` was seen never to
    /// return here once the script had exited. Output goes through files, not pipes, so the server the script
    /// leaves running cannot hold a pipe of ours open.
    private static func runScriptNow(_ action: String, _ folder: String, _ options: [String] = []) throws -> String {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-mariadb-script-\(UUID().uuidString)").path
        defer {
            try? FileManager.default.removeItem(atPath: log + ".out")
            try? FileManager.default.removeItem(atPath: log + ".err")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log + ".out", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, log + ".err", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let words: [String] = ["/bin/bash", script, action, folder] + options
        let arguments = words.map { strdup($0) }
        defer { for argument in arguments { free(argument) } }
        var pid: pid_t = 0
        // Dispatch's threads block most signals and a spawned process inherits the mask: a mariadbd started from
        // here would not see the script's SIGTERM, and every `stop` would wait out its 30 s and end in SIGKILL (a
        // crash, not the clean stop the fault tests mean). The child starts with no signal blocked.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let spawned = posix_spawn(&pid, "/bin/bash", &actions, &attributes, arguments + [nil], environ)
        guard spawned == 0 else { throw DatabaseError(.unavailable, "cannot run \(script): error \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let output = (try? String(contentsOfFile: log + ".out", encoding: .utf8)) ?? ""
        // Exited normally with status 0 (WIFEXITED and WEXITSTATUS, which are macros).
        guard status & 0x7f == 0 && (status >> 8) & 0xff == 0 else {
            let errors = (try? String(contentsOfFile: log + ".err", encoding: .utf8)) ?? ""
            throw DatabaseError(
                .unavailable,
                "cannot \(action) a test MariaDB server (set WHARF_TEST_MARIADB_URL or install mariadb-server; `make test` does both): "
                    + errors.trimmingCharacters(in: .whitespacesAndNewlines)
            )
        }
        return output
    }

    /// Servers this process started, stopped and deleted when it exits, even when a test failed half-way.
    private static let startedFolders = NIOLockedValueBox<Set<String>>([])

    private static func registerForRemovalAtExit(_ folder: String) {
        let first = startedFolders.withLockedValue { folders in
            defer { folders.insert(folder) }
            return folders.isEmpty
        }
        if first {
            atexit {
                for folder in TestMariaDB.startedFolders.withLockedValue({ $0 }) { _ = try? TestMariaDB.runScriptNow("remove", folder) }
            }
        }
    }
}

/// A MariaDB server of its own for one test (so stopping it disturbs no other test), with a fresh database,
/// removed afterwards. `body` gets the server's folder and the database.
func withOwnMariaDB(tls: Bool = true, _ body: (String, DatabaseLocation.MySQL) async throws -> Void) async throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-own-mariadb-\(UUID().uuidString.prefix(8))").path
    do {
        var server = try await TestMariaDB.start(folder, tls: tls)
        server.connectTimeout = .seconds(2)
        try await withMariaDBDatabase(server: server) { try await body(folder, $0) }
    } catch {
        await TestMariaDB.remove(folder)
        throw error
    }
    await TestMariaDB.remove(folder)
}

/// Expects `body` to throw a `DatabaseError` with `code`, and returns it.
@discardableResult
func expectDatabaseError(
    _ code: DatabaseError.Code,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> Void
) async -> DatabaseError? {
    let error = await #expect(throws: DatabaseError.self, sourceLocation: sourceLocation) { try await body() }
    #expect(error?.code == code, "got \(error.map(String.init(describing:)) ?? "no error")", sourceLocation: sourceLocation)
    return error
}
