import Benchmark
import Foundation
import Logging
import WharfBenchKit
import WharfDatabase

/// The lookups the token endpoint and the registry do on every request (user by name, application token by hash,
/// namespace with the user's team role) and a 10,000-tag listing, one operation per sample, on SQLite and, when
/// `WHARF_BENCH_MARIADB_URL` names a server (`mysql://user:password@127.0.0.1:3306/any`; the user must be allowed
/// to create databases), on MariaDB. Start one with `scripts/mariadb-test-server.sh start /tmp/bench-mariadb`.
func databaseBenchmarks() {
    var backends = ["sqlite"]
    if ProcessInfo.processInfo.environment["WHARF_BENCH_MARIADB_URL"] != nil { backends.append("mariadb") }
    for backend in backends {
        let lookups: [(String, @Sendable (DatabaseBenchFixture, Int) async throws -> Void)] = [
            (
                "user by name",
                { fixture, index in blackHole(try await fixture.pool.read { try $0.users.find(name: "user-\(index % fixture.users)") }) }
            ),
            (
                "token by hash",
                { fixture, index in blackHole(try await fixture.pool.read { try $0.tokens.find(hash: "hash-\(index % fixture.users)") }) }
            ),
            (
                "namespace and team role",
                { fixture, index in
                    blackHole(
                        try await fixture.pool.read {
                            try $0.namespaces.access(name: "team-\(index % fixture.teams)", userID: Int64(1 + index % fixture.users))
                        }
                    )
                }
            ),
        ]
        for (name, lookup) in lookups {
            Benchmark(
                "DB \(backend) \(name)",
                configuration: .init(metrics: [.wallClock, .throughput], maxDuration: .seconds(5), maxIterations: 20_000),
                closure: { benchmark in
                    let fixture = try await DatabaseBenchFixture.shared(backend)
                    let index = Int.random(in: 0..<1_000_000)
                    benchmark.startMeasurement()
                    try await lookup(fixture, index)
                    benchmark.stopMeasurement()
                },
                setup: { _ = try await DatabaseBenchFixture.shared(backend) }
            )
        }
        Benchmark(
            "DB \(backend) list 10000 tags",
            configuration: .init(metrics: [.wallClock, .throughput], maxDuration: .seconds(5), maxIterations: 200),
            closure: { benchmark in
                let fixture = try await DatabaseBenchFixture.shared(backend)
                let repository = fixture.repositoryID
                benchmark.startMeasurement()
                let tags = try await fixture.pool.read { try $0.tags.list(repositoryID: repository, limit: 10_000) }
                benchmark.stopMeasurement()
                if tags.count != 10_000 { throw BenchError("listed \(tags.count) tags") }
            },
            setup: { _ = try await DatabaseBenchFixture.shared(backend) }
        )
    }
}

/// A seeded database per backend, built once per process: 1,000 users with a token each, 100 teams (every user
/// in one) each owning a namespace, and a repository with 10,000 tags.
final class DatabaseBenchFixture: Sendable {
    let pool: DatabasePool
    let repositoryID: Int64
    let users = 1_000
    let teams = 100

    private init(pool: DatabasePool, repositoryID: Int64) {
        self.pool = pool
        self.repositoryID = repositoryID
    }

    private static let fixtures = FixtureCache()

    static func shared(_ backend: String) async throws -> DatabaseBenchFixture { try await fixtures.fixture(backend) }

    private actor FixtureCache {
        var built: [String: Task<DatabaseBenchFixture, any Error>] = [:]

        func fixture(_ backend: String) async throws -> DatabaseBenchFixture {
            if let task = built[backend] { return try await task.value }
            let task = Task { try await DatabaseBenchFixture.build(backend) }
            built[backend] = task
            return try await task.value
        }
    }

    private static func build(_ backend: String) async throws -> DatabaseBenchFixture {
        var logger = Logger(label: "wharf-bench-db")
        logger.logLevel = .warning
        let location: DatabaseLocation
        if backend == "sqlite" {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-bench-db-\(UUID().uuidString)").path
            location = .sqlite(path: folder + "/wharf.sqlite", poolSize: 4)
        } else {
            guard case .mysql(var server) = try DatabaseLocation.parse(ProcessInfo.processInfo.environment["WHARF_BENCH_MARIADB_URL"] ?? "") else {
                throw BenchError("WHARF_BENCH_MARIADB_URL must be a mysql:// URL")
            }
            let admin = DatabasePool(location: .mysql(server), logger: logger)
            server.database = "wharf_bench_\(getpid())"
            let name = server.database
            _ = try await admin.write { try $0.execute("CREATE DATABASE IF NOT EXISTS \(name) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin") }
            await admin.close()
            location = .mysql(server)
        }
        let pool = DatabasePool(location: location, logger: logger)
        try await pool.prepare()
        let repositoryID = try await pool.write { tx -> Int64 in
            if let existing = try tx.repositories.find(name: "bench/app") { return existing.id }
            var teamIDs: [Int64] = []
            for team in 0..<100 {
                let created = try tx.teams.create(name: "team-\(team)")
                _ = try tx.namespaces.create(name: "team-\(team)", kind: .team, visibility: .private, teamID: created.id)
                teamIDs.append(created.id)
            }
            for user in 0..<1_000 {
                let created = try tx.users.create(NewUser(name: "user-\(user)", email: "user-\(user)@example.com", passwordHash: "$2b$12$hash"))
                _ = try tx.tokens.create(userID: created.id, application: "ci", tokenHash: "hash-\(user)")
                try tx.teams.setMember(teamID: teamIDs[user % teamIDs.count], userID: created.id, role: .contributor)
            }
            _ = try tx.namespaces.create(name: "bench", kind: .team, visibility: .public)
            let repository = try tx.repositories.findOrCreate(name: "bench/app")
            for tag in 0..<10_000 {
                _ = try tx.tags.upsert(
                    repositoryID: repository.id,
                    TagRecord(
                        name: "v\(tag)",
                        digest: "sha256:" + String(repeating: String(tag % 10), count: 64),
                        mediaType: "application/vnd.oci.image.manifest.v1+json",
                        size: Int64(tag),
                        os: "linux",
                        architecture: "amd64"
                    )
                )
            }
            return repository.id
        }
        return DatabaseBenchFixture(pool: pool, repositoryID: repositoryID)
    }
}
