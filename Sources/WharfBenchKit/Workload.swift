import AsyncHTTPClient
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import WharfCore

/// The zb-style workloads the load generator knows.
public enum WorkloadKind: String, CaseIterable, Sendable, Codable {
    /// POST + monolithic PUT of a fresh blob.
    case push
    /// POST, PATCH chunks with Content-Range, PUT with the digest.
    case pushChunked = "push-chunked"
    /// GET of stored blobs.
    case pull
    /// 75% pull, 25% push.
    case mixed
    /// GET of a manifest by tag.
    case manifestGet = "manifest-get"
    /// PUT of a distinct small image manifest under a new tag (its config and layer stored beforehand): the last
    /// step of every `docker push`, where the registry records the tag.
    case manifestPut = "manifest-put"
    /// HEAD of a stored blob.
    case blobHead = "blob-head"
    /// GET /v2/_catalog.
    case catalog
    /// Token requests following the registry's challenge (needs credentials).
    case token
}

public struct WorkloadOptions: Sendable {
    public var kind: WorkloadKind
    /// Blob size in bytes (push, pull, mixed).
    public var size: Int
    /// Chunk size for push-chunked.
    public var chunkSize: Int
    public var concurrency: Int
    public var count: Int

    public init(kind: WorkloadKind, size: Int, chunkSize: Int = 1 << 20, concurrency: Int, count: Int) {
        self.kind = kind
        self.size = size
        self.chunkSize = chunkSize
        self.concurrency = concurrency
        self.count = count
    }
}

/// What one workload run measured.
public struct WorkloadResult: Codable, Sendable {
    public var workload: String
    public var size: Int
    public var concurrency: Int
    public var operations: Int
    public var errors: Int
    public var seconds: Double
    public var operationsPerSecond: Double
    public var megabytesPerSecond: Double
    public var p50Milliseconds: Double
    public var p99Milliseconds: Double
    public var firstError: String?
    /// The HTTP versions the registry answered with during the workload, e.g. `["HTTP/2.0"]`.
    public var httpVersions: [String]
}

/// Runs one workload against a registry: prepares its content (outside the timing), then `count` operations
/// spread over `concurrency` workers, each with its own latency record.
public struct WorkloadRunner: Sendable {
    public let client: RegistryClient
    let runID = String(UInt32.random(in: 0...UInt32.max), radix: 36)

    public init(client: RegistryClient) {
        self.client = client
    }

    struct Blob: Sendable {
        let bytes: ByteBuffer
        let digest: String
    }

    /// `count` distinct blobs of `size` bytes (a shared random body with a unique prefix each).
    static func makeBlobs(count: Int, size: Int) -> [Blob] {
        var generator = SystemRandomNumberGenerator()
        var base = [UInt8](repeating: 0, count: size)
        base.withUnsafeMutableBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let random = generator.next() as UInt64
                withUnsafeBytes(of: random) { word in
                    let length = min(8, bytes.count - offset)
                    bytes.baseAddress!.advanced(by: offset).copyMemory(from: word.baseAddress!, byteCount: length)
                }
                offset += 8
            }
        }
        return (0..<count).map { index in
            var buffer = ByteBuffer(bytes: base)
            if size >= 8 { buffer.setInteger(UInt64(index) ^ (generator.next() as UInt64), at: buffer.readerIndex) }
            var hasher = ContentHasher()
            buffer.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
            return Blob(bytes: buffer, digest: hasher.finalize().description)
        }
    }

    /// A workload with its content made and stored, ready to be timed.
    public struct Prepared: Sendable {
        let options: WorkloadOptions
        let repository: String
        let pushes: [Blob]
        let stored: [Blob]
        let manifestTag: String
        let perOperationBytes: Int64
    }

    /// Makes and stores what the workload needs, outside any timing.
    public func prepare(_ options: WorkloadOptions) async throws -> Prepared {
        let repository = "bench/\(runID)/\(options.kind.rawValue)"
        var perOperationBytes = Int64(options.size)
        let pushes: [Blob]
        var stored: [Blob] = []
        var manifestTag = ""
        switch options.kind {
        case .push, .pushChunked:
            pushes = Self.makeBlobs(count: options.count, size: options.size)
        case .mixed:
            pushes = Self.makeBlobs(count: options.count / 4 + 1, size: options.size)
            stored = Self.makeBlobs(count: min(8, options.count), size: options.size)
        case .pull, .blobHead:
            pushes = []
            stored = Self.makeBlobs(count: options.kind == .pull ? min(8, options.count) : 1, size: options.size)
        case .manifestGet:
            pushes = []
            manifestTag = try await pushImage(repository)
            perOperationBytes = 0
        case .manifestPut:
            let (config, layer) = try await pushImageBlobs(repository)
            pushes = (0..<options.count).map { index in
                let text = Self.manifest(config: config, layer: layer, annotation: "\(runID)-\(index)")
                return Blob(bytes: ByteBuffer(string: text), digest: OCIDigest.of(Array(text.utf8)).description)
            }
            perOperationBytes = 0
        case .catalog, .token:
            pushes = []
            perOperationBytes = 0
        }
        for blob in stored { try await pushBlob(blob, repository: repository) }
        if options.kind == .blobHead { perOperationBytes = 0 }
        // With credentials, fetch the read, push and catalogue tokens now, as a client does once per scope: otherwise
        // every worker's first request would fetch one (a bcrypt check each) inside the timed part.
        _ = try await client.send(.GET, "/v2/\(repository)/tags/list", scope: "repository:\(repository):pull")
        if !pushes.isEmpty {
            // The push token: start an upload and cancel it.
            let start = try await client.send(.POST, "/v2/\(repository)/blobs/uploads/", scope: scope(repository))
            if let location = start.headers.first(name: "Location") { _ = try await client.send(.DELETE, location, scope: scope(repository)) }
        }
        if options.kind == .catalog { _ = try await client.send(.GET, "/v2/_catalog?n=1", scope: "registry:catalog:*") }
        return Prepared(
            options: options,
            repository: repository,
            pushes: pushes,
            stored: stored,
            manifestTag: manifestTag,
            perOperationBytes: perOperationBytes
        )
    }

    public func run(_ options: WorkloadOptions, progress: (@Sendable (Int) -> Void)? = nil) async throws -> WorkloadResult {
        try await execute(try await prepare(options), progress: progress)
    }

    /// Runs the timed part: `count` operations over `concurrency` workers.
    public func execute(_ prepared: Prepared, progress: (@Sendable (Int) -> Void)? = nil) async throws -> WorkloadResult {
        let options = prepared.options
        let repository = prepared.repository
        let concurrency = max(1, options.concurrency)
        let pushes = prepared.pushes
        let perOperationBytes = prepared.perOperationBytes
        let counter = ProgressCounter()
        let storedBlobs = prepared.stored
        let tag = prepared.manifestTag
        let started = ContinuousClock.now
        let outcomes = try await withThrowingTaskGroup(of: WorkerOutcome.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var outcome = WorkerOutcome()
                    for index in stride(from: worker, to: options.count, by: concurrency) {
                        let begin = ContinuousClock.now
                        do {
                            switch options.kind {
                            case .push:
                                try await pushBlob(pushes[index], repository: repository)
                            case .pushChunked:
                                try await pushChunked(pushes[index], chunkSize: options.chunkSize, repository: repository)
                            case .pull:
                                try await pull(storedBlobs[index % storedBlobs.count], repository: repository, size: options.size)
                            case .mixed:
                                if index % 4 == 0 {
                                    try await pushBlob(pushes[index / 4], repository: repository)
                                } else {
                                    try await pull(storedBlobs[index % storedBlobs.count], repository: repository, size: options.size)
                                }
                            case .blobHead:
                                try await head(storedBlobs[0], repository: repository)
                            case .manifestGet:
                                try await getManifest(repository: repository, tag: tag)
                            case .manifestPut:
                                let put = try await client.send(
                                    .PUT,
                                    "/v2/\(repository)/manifests/t\(index)",
                                    headers: [("Content-Type", "application/vnd.oci.image.manifest.v1+json")],
                                    body: pushes[index].bytes,
                                    scope: scope(repository)
                                )
                                try expect(put, 201)
                            case .catalog:
                                try expect(try await client.send(.GET, "/v2/_catalog?n=100", scope: "registry:catalog:*"), 200)
                            case .token:
                                try await requestToken(repository: repository)
                            }
                            outcome.latencies.append((ContinuousClock.now - begin).seconds)
                        } catch {
                            outcome.errors += 1
                            if outcome.firstError == nil { outcome.firstError = "\(error)" }
                        }
                        progress?(counter.increment())
                    }
                    return outcome
                }
            }
            var all: [WorkerOutcome] = []
            for try await outcome in group { all.append(outcome) }
            return all
        }
        let seconds = (ContinuousClock.now - started).seconds
        let latencies = outcomes.flatMap(\.latencies).sorted()
        let succeeded = latencies.count
        return WorkloadResult(
            workload: options.kind.rawValue,
            size: options.size,
            concurrency: concurrency,
            operations: succeeded,
            errors: outcomes.map(\.errors).reduce(0, +),
            seconds: seconds,
            operationsPerSecond: Double(succeeded) / seconds,
            megabytesPerSecond: Double(Int64(succeeded) * perOperationBytes) / seconds / 1e6,
            p50Milliseconds: Self.percentile(latencies, 0.50) * 1000,
            p99Milliseconds: Self.percentile(latencies, 0.99) * 1000,
            firstError: outcomes.compactMap(\.firstError).first,
            httpVersions: client.drainHTTPVersions()
        )
    }

    static func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((fraction * Double(sorted.count)).rounded(.up)) - 1
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }

    // MARK: Operations

    func expect(_ reply: RegistryClient.Reply, _ statuses: UInt...) throws {
        guard statuses.contains(reply.status) else {
            let body = String(buffer: reply.body).prefix(200)
            throw BenchError("status \(reply.status): \(body)")
        }
    }

    func scope(_ repository: String) -> String { "repository:\(repository):pull,push" }

    func pushBlob(_ blob: Blob, repository: String) async throws {
        let start = try await client.send(.POST, "/v2/\(repository)/blobs/uploads/", scope: scope(repository))
        try expect(start, 202)
        guard let location = start.headers.first(name: "Location") else { throw BenchError("POST without Location") }
        let put = try await client.send(
            .PUT,
            Self.appending(location, "digest=\(blob.digest)"),
            headers: [("Content-Type", "application/octet-stream")],
            body: blob.bytes,
            scope: scope(repository)
        )
        try expect(put, 201)
    }

    func pushChunked(_ blob: Blob, chunkSize: Int, repository: String) async throws {
        let start = try await client.send(.POST, "/v2/\(repository)/blobs/uploads/", scope: scope(repository))
        try expect(start, 202)
        guard var location = start.headers.first(name: "Location") else { throw BenchError("POST without Location") }
        var offset = 0
        let total = blob.bytes.readableBytes
        while offset < total {
            let length = min(chunkSize, total - offset)
            let chunk = blob.bytes.getSlice(at: blob.bytes.readerIndex + offset, length: length)!
            let patch = try await client.send(
                .PATCH,
                location,
                headers: [("Content-Type", "application/octet-stream"), ("Content-Range", "\(offset)-\(offset + length - 1)")],
                body: chunk,
                scope: scope(repository)
            )
            try expect(patch, 202)
            location = patch.headers.first(name: "Location") ?? location
            offset += length
        }
        let put = try await client.send(.PUT, Self.appending(location, "digest=\(blob.digest)"), scope: scope(repository))
        try expect(put, 201)
    }

    func pull(_ blob: Blob, repository: String, size: Int) async throws {
        let reply = try await client.send(.GET, "/v2/\(repository)/blobs/\(blob.digest)", scope: "repository:\(repository):pull", collectLimit: 0)
        try expect(reply, 200)
        guard reply.bodyBytes == Int64(size) else { throw BenchError("pulled \(reply.bodyBytes) bytes, expected \(size)") }
    }

    func head(_ blob: Blob, repository: String) async throws {
        try expect(try await client.send(.HEAD, "/v2/\(repository)/blobs/\(blob.digest)", scope: "repository:\(repository):pull"), 200)
    }

    func getManifest(repository: String, tag: String) async throws {
        let reply = try await client.send(
            .GET,
            "/v2/\(repository)/manifests/\(tag)",
            headers: [("Accept", "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json")],
            scope: "repository:\(repository):pull"
        )
        try expect(reply, 200)
    }

    func requestToken(repository: String) async throws {
        // Without following the challenge: with credentials, send() would fetch a token itself and answer 200.
        let ping = try await client.send(.GET, "/v2/", followChallenge: false)
        guard ping.status == 401, let challenge = ping.headers.first(name: "WWW-Authenticate") else {
            throw BenchError("the registry does not ask for a token (status \(ping.status))")
        }
        let withScope = challenge + ",scope=\"repository:\(repository):pull,push\""
        _ = try await client.fetchToken(challenge: withScope)
    }

    /// Pushes a small image (config, one layer, manifest) and returns its tag.
    func pushImage(_ repository: String) async throws -> String {
        let (config, layer) = try await pushImageBlobs(repository)
        let put = try await client.send(
            .PUT,
            "/v2/\(repository)/manifests/bench",
            headers: [("Content-Type", "application/vnd.oci.image.manifest.v1+json")],
            body: ByteBuffer(string: Self.manifest(config: config, layer: layer)),
            scope: scope(repository)
        )
        try expect(put, 201)
        return "bench"
    }

    /// Pushes a small image's config and layer.
    func pushImageBlobs(_ repository: String) async throws -> (config: Blob, layer: Blob) {
        let config = Blob(
            bytes: ByteBuffer(string: #"{"architecture":"amd64","os":"linux"}"#),
            digest: OCIDigest.of(Array(#"{"architecture":"amd64","os":"linux"}"#.utf8)).description
        )
        let layer = Self.makeBlobs(count: 1, size: 1024)[0]
        try await pushBlob(config, repository: repository)
        try await pushBlob(layer, repository: repository)
        return (config, layer)
    }

    /// An image manifest of `config` and `layer`, made distinct by `annotation`.
    static func manifest(config: Blob, layer: Blob, annotation: String? = nil) -> String {
        let annotations = annotation.map { #","annotations":{"bench":"\#($0)"}"# } ?? ""
        return """
            {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",\
            "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\(config.digest)","size":\(config.bytes.readableBytes)},\
            "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"\(layer.digest)","size":\(layer.bytes.readableBytes)}]\(annotations)}
            """
    }

    static func appending(_ location: String, _ query: String) -> String {
        location + (location.contains("?") ? "&" : "?") + query
    }
}

struct WorkerOutcome: Sendable {
    var latencies: [Double] = []
    var errors = 0
    var firstError: String?
}

final class ProgressCounter: Sendable {
    private let value = NIOLockedValueBox(0)
    func increment() -> Int {
        value.withLockedValue {
            $0 += 1
            return $0
        }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
