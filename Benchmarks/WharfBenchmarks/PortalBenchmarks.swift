import Benchmark
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import WharfAuth
import WharfBenchKit
import WharfCore
import WharfDatabase
import WharfServer
import WharfStorage

/// The portal's pages as a signed-in user sees them, one GET per sample, through the application `wharf serve`
/// builds (``buildApplication(configuration:logger:)``: every middleware, the session, CSRF, the renderer) on
/// SQLite seeded like ``CatalogQueryBenchFixture`` (10,000 repositories, 1,000 of them in `big`, and `big/tags`
/// with 5,000 tags). In-process through the router (server time), and the dashboard over loopback HTTP/1.1 (a
/// kept-alive connection, the whole response: an upper bound of its first byte). Targets (issue 14): p50 < 20 ms
/// a page, < 50 ms the dashboard's first byte.
func portalBenchmarks() {
    let configuration = Benchmark.Configuration(metrics: [.wallClock, .throughput], maxDuration: .seconds(5), maxIterations: 1_000)
    let pages: [(name: String, path: @Sendable () -> String, expect: String)] = [
        ("namespace of 1000 repositories, first page of 50", { "/n/big" }, "big/app-0049"),
        (
            "namespace of 1000 repositories, a later page of 50",
            { "/n/big?after=big%2Fapp-\(String(format: "%04d", Int.random(in: 0..<950)))" }, "big/app-"
        ),
        ("repository of 5000 tags, first page of 25 digests", { "/r/big/tags" }, "v4999"),
        ("dashboard", { "/" }, "/n/big"),
        ("explore", { "/explore" }, "/n/"),
    ]
    for page in pages {
        Benchmark(
            "Portal sqlite \(page.name)",
            configuration: configuration,
            closure: { benchmark in
                let fixture = try await PortalBenchFixture.shared(.router)
                let path = page.path()
                benchmark.startMeasurement()
                let response = try await fixture.get(path)
                benchmark.stopMeasurement()
                try PortalBenchFixture.check(response, path: path, contains: page.expect)
            },
            setup: { _ = try await PortalBenchFixture.shared(.router) }
        )
    }
    Benchmark(
        "Portal sqlite dashboard over loopback HTTP/1.1 (whole response)",
        configuration: configuration,
        closure: { benchmark in
            let fixture = try await PortalBenchFixture.shared(.live)
            benchmark.startMeasurement()
            let response = try await fixture.get("/")
            benchmark.stopMeasurement()
            try PortalBenchFixture.check(response, path: "/", contains: "/n/big")
        },
        setup: { _ = try await PortalBenchFixture.shared(.live) }
    )
}

/// A seeded data folder served by `buildApplication`, and the session cookie of `bench-user` signed in through
/// the portal's own form (as a browser does: the sign-in page's CSRF token and cookie, then the post). Built once
/// per process and mode.
final class PortalBenchFixture: Sendable {
    enum Mode: String, Sendable {
        /// Requests handed to the router in-process: the server's time.
        case router
        /// A started server on a loopback port and one kept-alive HTTP/1.1 connection.
        case live
    }

    let client: any TestClientProtocol
    /// `Cookie:` with the session, as the browser sends it after signing in.
    let cookie: String

    private init(client: any TestClientProtocol, cookie: String) {
        self.client = client
        self.cookie = cookie
    }

    func get(_ path: String) async throws -> TestResponse {
        try await client.executeRequest(uri: path, method: .get, headers: [.cookie: cookie], body: nil)
    }

    static func check(_ response: TestResponse, path: String, contains expected: String) throws {
        guard response.status == .ok else { throw BenchError("GET \(path): \(response.status)") }
        guard String(buffer: response.body).contains(expected) else { throw BenchError("GET \(path) does not show \(expected)") }
    }

    private static let fixtures = FixtureCache()

    static func shared(_ mode: Mode) async throws -> PortalBenchFixture { try await fixtures.fixture(mode) }

    private actor FixtureCache {
        var built: [Mode: Task<PortalBenchFixture, any Error>] = [:]

        func fixture(_ mode: Mode) async throws -> PortalBenchFixture {
            if let task = built[mode] { return try await task.value }
            let task = Task { try await PortalBenchFixture.build(mode) }
            built[mode] = task
            return try await task.value
        }
    }

    static let password = "bench-user-password"

    private static func build(_ mode: Mode) async throws -> PortalBenchFixture {
        var logger = Logger(label: "wharf-bench-portal")
        // The start-up sync pass refuses to touch a catalogue whose storage has no repositories folder, and says
        // so as an error: expected here, where only the database is seeded.
        logger.logLevel = .critical
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-bench-portal-\(UUID().uuidString)").path
        var configuration = ServerConfiguration()
        configuration.dataDirectory = folder
        configuration.listen = "127.0.0.1:\(Int.random(in: 20000...40000))"
        configuration.tls = false
        configuration.storageFsync = false
        configuration.syncInterval = .seconds(86_400)
        try await seed(configuration, logger: logger)
        let application = try buildApplication(configuration: configuration, logger: logger)
        let client = try await running(application, mode: mode)
        // Until the database service's first attempt, every page is a 503.
        var ready = false
        for _ in 0..<600 where !ready {
            ready = (try? await client.executeRequest(uri: "/signin", method: .get, headers: [:], body: nil))?.status == .ok
            if !ready { try await Task.sleep(for: .milliseconds(50)) }
        }
        guard ready else { throw BenchError("the portal did not answer /signin") }
        let cookie = try await signIn(client)
        let fixture = PortalBenchFixture(client: client, cookie: cookie)
        try check(try await fixture.get("/"), path: "/", contains: "bench-user")
        return fixture
    }

    /// Runs the application for the rest of the process and hands out its test client.
    private static func running(_ application: some ApplicationProtocol, mode: Mode) async throws -> any TestClientProtocol {
        let (clients, continuation) = AsyncThrowingStream<any TestClientProtocol, any Error>.makeStream()
        Task {
            do {
                try await application.test(mode == .router ? .router : .live) { client in
                    continuation.yield(client)
                    while true { try await Task.sleep(for: .seconds(3_600)) }
                }
            } catch {
                continuation.finish(throwing: error)
            }
        }
        for try await client in clients { return client }
        throw BenchError("the application stopped before serving")
    }

    /// The sign-in form as a browser submits it; returns the cookies it ends with.
    private static func signIn(_ client: any TestClientProtocol) async throws -> String {
        var cookies: [String: String] = [:]
        func remember(_ response: TestResponse) {
            for line in response.headers[values: .setCookie] {
                let pair = line.split(separator: ";", maxSplits: 1)[0].split(separator: "=", maxSplits: 1)
                guard let name = pair.first else { continue }
                cookies[String(name)] = pair.count == 2 ? String(pair[1]) : nil
            }
        }
        func header() -> String { cookies.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "; ") }
        let form = try await client.executeRequest(uri: "/signin", method: .get, headers: [:], body: nil)
        remember(form)
        let html = String(buffer: form.body)
        guard let start = html.range(of: "<meta name=\"csrf-token\" content=\"")?.upperBound,
            let end = html[start...].firstIndex(of: "\"")
        else { throw BenchError("the sign-in page has no CSRF token") }
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let fields = [("name", "bench-user"), ("password", password), ("_csrf", String(html[start..<end]))]
        let body = fields.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }.joined(separator: "&")
        let signedIn = try await client.executeRequest(
            uri: "/signin",
            method: .post,
            headers: [.contentType: "application/x-www-form-urlencoded", .cookie: header()],
            body: ByteBuffer(string: body)
        )
        guard signedIn.status == .seeOther else { throw BenchError("sign-in answered \(signedIn.status)") }
        remember(signedIn)
        return header()
    }

    /// The catalogue of ``CatalogQueryBenchFixture`` written through the same stores, and `bench-user` (a member
    /// of 3 of the 10 teams and of `big`'s) created as `wharf user create` does.
    private static func seed(_ configuration: ServerConfiguration, logger: Logger) async throws {
        try FileManager.default.createDirectory(atPath: configuration.registryDirectory, withIntermediateDirectories: true)
        let pool = DatabasePool(location: configuration.databaseLocation, logger: logger)
        try await pool.prepare()
        let accounts = AccountService(
            pool: pool,
            storage: FilesystemDriver(root: configuration.registryDirectory, durable: false),
            secrets: try ServerSecrets.load(dataDirectory: configuration.dataDirectory),
            passwords: PasswordHasher(cost: 4)
        )
        let user = try await accounts.createUser(name: "bench-user", password: password)
        try await pool.write { tx in
            let visibilities: [Visibility] = [.private, .protected, .public]
            for index in 0..<10 {
                let team = try tx.teams.create(name: "team-\(index)")
                if index < 3 { try tx.teams.setMember(teamID: team.id, userID: user.id, role: .viewer) }
                try tx.namespaces.create(name: "ns-\(index)", kind: .team, visibility: visibilities[index % 3], teamID: team.id)
            }
            let big = try tx.teams.create(name: "big")
            try tx.teams.setMember(teamID: big.id, userID: user.id, role: .viewer)
            try tx.namespaces.create(name: "big", kind: .team, visibility: .protected, teamID: big.id)
        }
        let words = CatalogQueryBenchFixture.words
        for namespace in (0..<10).map({ "ns-\($0)" }) + ["big"] {
            try await pool.write { tx in
                for index in 0..<(namespace == "big" ? 1_000 : 900) {
                    let word = words[(index * 7 + namespace.count) % words.count]
                    let name = namespace == "big" ? "big/app-\(String(format: "%04d", index))" : "\(namespace)/\(word)-\(index)"
                    let repository = try tx.repositories.findOrCreate(name: name)
                    for tag in ["latest", "1.\(index % 10)", "\(word)-build-\(index)"] {
                        try tx.tags.write(repositoryID: repository.id, record(tag, digest: index * 3 + tag.count, pushedAt: Int64(index)))
                    }
                    try tx.repositories.summarize(id: repository.id)
                }
            }
        }
        try await pool.write { tx in
            let repository = try tx.repositories.findOrCreate(name: "big/tags")
            for index in 0..<5_000 {
                try tx.tags.write(repositoryID: repository.id, record("v\(index)", digest: index / 2, pushedAt: Int64(index * 1_000)))
            }
            try tx.repositories.summarize(id: repository.id)
        }
        await pool.close()
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
