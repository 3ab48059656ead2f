import Benchmark
import Foundation
import Logging
import WharfAuth
import WharfBenchKit
import WharfCore
import WharfDatabase
import WharfStorage
import WharfSync

/// The reads behind the API's and the portal's catalogue pages (``CatalogReader``), one call per sample, as a
/// logged-in user who belongs to some teams (the visibility joins run): a page of 50 of a namespace of 1,000
/// repositories, a page of 50 digests of a repository with 5,000 tags, and a search as the user types (1 to 4
/// characters) over 10,000 repositories with 35,000 tags. On SQLite, and on MariaDB when `WHARF_BENCH_MARIADB_URL`
/// names a server (see `databaseBenchmarks`). Targets (issue 13): p50 < 5 ms a page on SQLite, < 15 ms on MariaDB,
/// < 10 ms a search.
func catalogQueryBenchmarks() {
    var backends = ["sqlite"]
    if ProcessInfo.processInfo.environment["WHARF_BENCH_MARIADB_URL"] != nil { backends.append("mariadb") }
    let configuration = Benchmark.Configuration(metrics: [.wallClock, .throughput], maxDuration: .seconds(5), maxIterations: 2_000)
    for backend in backends {
        Benchmark(
            "Catalog API \(backend) page of 50 of a namespace of 1000 repositories",
            configuration: configuration,
            closure: { benchmark in
                let fixture = try await CatalogQueryBenchFixture.shared(backend)
                let after = Int.random(in: 0..<5) == 0 ? nil : "big/app-\(String(format: "%04d", Int.random(in: 0..<950)))"
                benchmark.startMeasurement()
                let page = try await fixture.reader.repositories(in: "big", for: fixture.user, after: after, limit: 50)
                benchmark.stopMeasurement()
                if page.items.count != 50 { throw BenchError("a page of \(page.items.count)") }
            },
            setup: { _ = try await CatalogQueryBenchFixture.shared(backend) }
        )
        Benchmark(
            "Catalog API \(backend) page of 50 digests of a repository with 5000 tags",
            configuration: configuration,
            closure: { benchmark in
                let fixture = try await CatalogQueryBenchFixture.shared(backend)
                let after = fixture.groupCursors.randomElement()!
                benchmark.startMeasurement()
                let page = try await fixture.reader.tagGroups(of: "big/tags", for: fixture.user, after: after, limit: 50)
                benchmark.stopMeasurement()
                if page.items.count != 50 { throw BenchError("a page of \(page.items.count)") }
            },
            setup: { _ = try await CatalogQueryBenchFixture.shared(backend) }
        )
        Benchmark(
            "Catalog API \(backend) search of 10000 repositories as typed (1-4 characters)",
            configuration: configuration,
            closure: { benchmark in
                let fixture = try await CatalogQueryBenchFixture.shared(backend)
                let word = CatalogQueryBenchFixture.words.randomElement()!
                let typed = String(word.prefix(Int.random(in: 1...4)))
                benchmark.startMeasurement()
                let found = try await fixture.reader.search(typed, for: fixture.user)
                benchmark.stopMeasurement()
                if found.repositories.isEmpty { throw BenchError("nothing found for \(typed)") }
            },
            setup: { _ = try await CatalogQueryBenchFixture.shared(backend) }
        )
    }
}

/// A seeded database per backend, built once per process: 10 teams (the user in 3 of them), namespaces of each
/// visibility, 10,000 repositories (1,000 in `big`) with 3 tags each, and `big/tags` with 5,000 tags on 2,500
/// digests.
final class CatalogQueryBenchFixture: Sendable {
    let pool: DatabasePool
    let reader: CatalogReader
    let user: TokenSubject
    /// The `after` of every page of `big/tags`' groups (nil: the first page), but the last.
    let groupCursors: [String?]

    static let words = [
        "api", "auth", "billing", "cache", "cart", "catalog", "checkout", "db", "edge", "frontend", "gateway", "image", "ingest", "kafka",
        "ledger", "mail", "metrics", "nginx", "orders", "payments", "proxy", "queue", "redis", "search", "service", "shipping", "static",
        "storage", "users", "web", "worker",
    ]

    private init(pool: DatabasePool, reader: CatalogReader, user: TokenSubject, groupCursors: [String?]) {
        self.pool = pool
        self.reader = reader
        self.user = user
        self.groupCursors = groupCursors
    }

    private static let fixtures = FixtureCache()

    static func shared(_ backend: String) async throws -> CatalogQueryBenchFixture { try await fixtures.fixture(backend) }

    private actor FixtureCache {
        var built: [String: Task<CatalogQueryBenchFixture, any Error>] = [:]

        func fixture(_ backend: String) async throws -> CatalogQueryBenchFixture {
            if let task = built[backend] { return try await task.value }
            let task = Task { try await CatalogQueryBenchFixture.build(backend) }
            built[backend] = task
            return try await task.value
        }
    }

    private static func build(_ backend: String) async throws -> CatalogQueryBenchFixture {
        var logger = Logger(label: "wharf-bench-queries")
        logger.logLevel = .warning
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-bench-queries-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let location: DatabaseLocation
        if backend == "sqlite" {
            location = .sqlite(path: folder + "/wharf.sqlite", poolSize: 4)
        } else {
            guard case .mysql(var server) = try DatabaseLocation.parse(ProcessInfo.processInfo.environment["WHARF_BENCH_MARIADB_URL"] ?? "") else {
                throw BenchError("WHARF_BENCH_MARIADB_URL must be a mysql:// URL")
            }
            let admin = DatabasePool(location: .mysql(server), logger: logger)
            server.database = "wharf_bench_queries_\(getpid())"
            let name = server.database
            _ = try await admin.write { try $0.execute("CREATE DATABASE IF NOT EXISTS \(name) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin") }
            await admin.close()
            location = .mysql(server)
        }
        let pool = DatabasePool(location: location, logger: logger)
        try await pool.prepare()
        let userID = try await pool.write { tx -> Int64 in
            let user = try tx.users.create(NewUser(name: "bench-user"))
            let visibilities: [Visibility] = [.private, .protected, .public]
            for index in 0..<10 {
                let team = try tx.teams.create(name: "team-\(index)")
                if index < 3 { try tx.teams.setMember(teamID: team.id, userID: user.id, role: .viewer) }
                try tx.namespaces.create(name: "ns-\(index)", kind: .team, visibility: visibilities[index % 3], teamID: team.id)
            }
            let big = try tx.teams.create(name: "big")
            try tx.namespaces.create(name: "big", kind: .team, visibility: .protected, teamID: big.id)
            return user.id
        }
        // 9,000 repositories in the ns-* namespaces and 1,000 in `big`, 3 tags each, written a namespace at a time.
        for namespace in (0..<10).map({ "ns-\($0)" }) + ["big"] {
            try await pool.write { tx in
                for index in 0..<(namespace == "big" ? 1_000 : 900) {
                    let word = words[(index * 7 + namespace.count) % words.count]
                    let name = namespace == "big" ? "big/app-\(String(format: "%04d", index))" : "\(namespace)/\(word)-\(index)"
                    let repository = try tx.repositories.findOrCreate(name: name)
                    for tag in ["latest", "1.\(index % 10)", "\(word)-build-\(index)"] {
                        try tx.tags.write(repositoryID: repository.id, record(tag, digest: index * 3 + tag.count, pushedAt: Int64(index)))
                    }
                }
            }
        }
        let groups = try await pool.write { tx -> Int in
            let repository = try tx.repositories.findOrCreate(name: "big/tags")
            for index in 0..<5_000 {
                try tx.tags.write(repositoryID: repository.id, record("v\(index)", digest: index / 2, pushedAt: Int64(index * 1_000)))
            }
            try tx.repositories.summarize(id: repository.id)
            return 2_500
        }
        let reader = CatalogReader(pool: pool, driver: MemoryDriver(), rules: PermissionRules(), logger: logger)
        let user = TokenSubject(name: "bench-user", kind: .user, userID: userID)
        var cursors: [String?] = [nil]
        var after: String?
        for _ in 0..<(groups / 50 - 1) {
            after = try await reader.tagGroups(of: "big/tags", for: user, after: after, limit: 50).next
            cursors.append(after)
        }
        return CatalogQueryBenchFixture(pool: pool, reader: reader, user: user, groupCursors: cursors)
    }

    private static func record(_ name: String, digest: Int, pushedAt: Int64) -> TagRecord {
        TagRecord(
            name: name,
            digest: "sha256:" + String(format: "%064x", digest),
            mediaType: "application/vnd.oci.image.manifest.v1+json",
            size: Int64(1_000 + digest),
            os: "linux",
            architecture: "amd64",
            pushedByName: "bench-user",
            pushedAt: Date(timeIntervalSince1970: Double(pushedAt))
        )
    }
}
