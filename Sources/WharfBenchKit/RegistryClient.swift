import AsyncHTTPClient
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOSSL

/// A failure of one benchmark operation, with what the registry answered.
public struct BenchError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A minimal registry client for load generation: raw `/v2` requests, relative and absolute `Location`s, and the
/// Docker token flow (401 challenge, token request with Basic credentials, cached Bearer token per scope).
public final class RegistryClient: Sendable {
    public let baseURL: String
    let http: HTTPClient
    let credentials: (user: String, password: String)?
    let tokens = TokenCache()
    /// The HTTP versions of the responses received since the last ``drainHTTPVersions()``, so a run can show
    /// which protocol it measured (ALPN may settle on HTTP/1.1 even when HTTP/2 was offered).
    let versionsSeen = NIOLockedValueBox<[HTTPVersion]>([])

    /// - Parameters:
    ///   - baseURL: `http://host:port` or `https://host:port`.
    ///   - connections: HTTP/1.1 connections kept per host (the benchmark's concurrency).
    ///   - caFile: PEM certificates to trust, or nil for the system roots; `insecure` skips verification.
    ///   - http2: offer HTTP/2 over https (ALPN; one multiplexed connection per host, as Go clients use)
    ///     instead of HTTP/1.1 only. Plain http stays HTTP/1.1 either way (no h2c).
    public init(
        baseURL: String,
        connections: Int,
        caFile: String? = nil,
        insecure: Bool = false,
        http2: Bool = false,
        credentials: (String, String)? = nil
    ) throws {
        var root = baseURL
        while root.hasSuffix("/") { root.removeLast() }
        self.baseURL = root
        var tls = TLSConfiguration.makeClientConfiguration()
        if insecure {
            tls.certificateVerification = .none
        } else if let caFile {
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
        }
        var pool = HTTPClient.Configuration.ConnectionPool()
        pool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(connections, 1)
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls, timeout: .init(connect: .seconds(10)), connectionPool: pool)
        // By default registries are compared over HTTP/1.1, the protocol every client supports.
        configuration.httpVersion = http2 ? .automatic : .http1Only
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.credentials = credentials.map { (user: $0.0, password: $0.1) }
    }

    /// The HTTP versions seen since the last call (`HTTP/1.1`, `HTTP/2.0`), sorted, and forgets them.
    public func drainHTTPVersions() -> [String] {
        let versions = versionsSeen.withLockedValue { seen in
            defer { seen.removeAll() }
            return seen
        }
        return versions.map(\.description).sorted()
    }

    func noteVersion(_ version: HTTPVersion) {
        versionsSeen.withLockedValue { seen in
            if !seen.contains(version) { seen.append(version) }
        }
    }

    public func shutdown() async throws {
        try await http.shutdown()
    }

    /// The absolute URL of a path or of a `Location` header.
    public func url(_ pathOrURL: String) -> String {
        pathOrURL.hasPrefix("http://") || pathOrURL.hasPrefix("https://") ? pathOrURL : baseURL + pathOrURL
    }

    /// A response with its body either collected (up to a limit) or counted and dropped.
    public struct Reply: Sendable {
        public let status: UInt
        public let headers: HTTPHeaders
        public let body: ByteBuffer
        public let bodyBytes: Int64
    }

    /// Sends a request; on a 401 Bearer challenge, fetches a token and sends it once more (unless `followChallenge`
    /// is false: the token workload reads the challenge itself).
    public func send(
        _ method: HTTPMethod,
        _ pathOrURL: String,
        headers: [(String, String)] = [],
        body: ByteBuffer? = nil,
        scope: String? = nil,
        collectLimit: Int = 1 << 20,
        followChallenge: Bool = true
    ) async throws -> Reply {
        let target = url(pathOrURL)
        var token = scope.flatMap { tokens.get($0) }
        for attempt in 0..<2 {
            var request = HTTPClientRequest(url: target)
            request.method = method
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            if let token { request.headers.replaceOrAdd(name: "Authorization", value: "Bearer \(token)") }
            if let body {
                request.body = .bytes(body)
                request.headers.replaceOrAdd(name: "Content-Length", value: String(body.readableBytes))
            } else if method == .PUT || method == .POST || method == .PATCH {
                request.headers.replaceOrAdd(name: "Content-Length", value: "0")
            }
            let response = try await http.execute(request, timeout: .seconds(600))
            noteVersion(response.version)
            if response.status == .unauthorized, attempt == 0, followChallenge, credentials != nil,
                let challenge = response.headers.first(name: "WWW-Authenticate"), challenge.lowercased().hasPrefix("bearer ")
            {
                _ = try await response.body.collect(upTo: 1 << 20)
                let fetched = try await fetchToken(challenge: challenge)
                if let scope { tokens.set(scope, fetched) }
                token = fetched
                continue
            }
            var collected = ByteBuffer()
            var count: Int64 = 0
            for try await part in response.body {
                count += Int64(part.readableBytes)
                if collected.readableBytes < collectLimit {
                    var part = part
                    collected.writeBuffer(&part)
                }
            }
            return Reply(status: response.status.code, headers: response.headers, body: collected, bodyBytes: count)
        }
        throw BenchError("\(method) \(pathOrURL): still unauthorized after fetching a token")
    }

    /// Follows a `WWW-Authenticate: Bearer realm=…,service=…,scope=…` challenge to the token endpoint.
    public func fetchToken(challenge: String) async throws -> String {
        let parameters = Self.parseChallenge(challenge)
        guard let realm = parameters["realm"] else { throw BenchError("challenge without realm: \(challenge)") }
        var components = URLComponents(string: realm)
        var items = components?.queryItems ?? []
        if let service = parameters["service"] { items.append(URLQueryItem(name: "service", value: service)) }
        if let scope = parameters["scope"] { items.append(URLQueryItem(name: "scope", value: scope)) }
        components?.queryItems = items
        guard let tokenURL = components?.string else { throw BenchError("bad realm \(realm)") }
        var request = HTTPClientRequest(url: tokenURL)
        if let credentials {
            let basic = Data("\(credentials.user):\(credentials.password)".utf8).base64EncodedString()
            request.headers.add(name: "Authorization", value: "Basic \(basic)")
        }
        let response = try await http.execute(request, timeout: .seconds(60))
        noteVersion(response.version)
        let body = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok else { throw BenchError("token endpoint answered \(response.status.code)") }
        struct TokenReply: Decodable {
            let token: String?
            let access_token: String?
        }
        let reply = try JSONDecoder().decode(TokenReply.self, from: Data(body.readableBytesView))
        guard let token = reply.token ?? reply.access_token else { throw BenchError("token endpoint sent no token") }
        return token
    }

    static func parseChallenge(_ header: String) -> [String: String] {
        var result: [String: String] = [:]
        let text = header.dropFirst("Bearer ".count)
        var key = ""
        var value = ""
        var inKey = true
        var quoted = false
        for character in text {
            if inKey {
                if character == "=" { inKey = false } else if character != "," && character != " " { key.append(character) }
            } else if character == "\"" {
                quoted.toggle()
            } else if character == "," && !quoted {
                result[key] = value
                key = ""
                value = ""
                inKey = true
            } else {
                value.append(character)
            }
        }
        if !key.isEmpty { result[key] = value }
        return result
    }
}

/// Tokens by scope, shared by every worker.
final class TokenCache: Sendable {
    private let storage = NIOLockedValueBox<[String: String]>([:])

    func get(_ scope: String) -> String? { storage.withLockedValue { $0[scope] } }
    func set(_ scope: String, _ token: String) { storage.withLockedValue { $0[scope] = token } }
}
