// Wharf's package-benchmark suites. Run: swift package --disable-sandbox benchmark
// Other suites register themselves from their own files through functions called below.
import Benchmark
import Foundation
import NIOCore
import WharfCore
import WharfStorage

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .peakMemoryResident],
        warmupIterations: 1,
        maxDuration: .seconds(10),
        maxIterations: 20
    )
    digestBenchmarks()
    blobStoreBenchmarks()
    httpBenchmarks()
    databaseBenchmarks()
    tokenBenchmarks()
    catalogueBenchmarks()
    catalogQueryBenchmarks()
    portalBenchmarks()
}

/// Incremental SHA-256 over 64 MiB fed in buffers of different sizes: the single-core limit of digest verification.
func digestBenchmarks() {
    let total = 64 << 20
    let content = [UInt8](repeating: 0x5a, count: 1 << 20)
    for bufferSize in [16 << 10, 64 << 10, 256 << 10, 1 << 20] {
        Benchmark("SHA-256 64 MiB in \(bufferSize >> 10) KiB buffers") { benchmark in
            for _ in benchmark.scaledIterations {
                var hasher = ContentHasher()
                content.withUnsafeBytes { pointer in
                    let slice = UnsafeRawBufferPointer(rebasing: pointer[0..<bufferSize])
                    for _ in 0..<(total / bufferSize) { hasher.update(bufferPointer: slice) }
                }
                blackHole(hasher.finalize())
            }
        }
    }
}

/// Uploads through `BlobStore` in-process (no HTTP): start, append, commit, `concurrency` at once.
func blobStoreBenchmarks() {
    for (size, concurrencies) in [(1 << 20, [1, 4, 16, 64]), (64 << 20, [1, 4, 16, 64])] {
        for concurrency in concurrencies {
            let name = "BlobStore upload \(concurrency) x \(size >> 20) MiB"
            Benchmark(name, configuration: .init(maxIterations: size > 1 << 20 ? 3 : 20)) { benchmark in
                let folder = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-bench-\(UUID().uuidString)").path
                defer { try? FileManager.default.removeItem(atPath: folder) }
                let store = BlobStore(driver: FilesystemDriver(root: folder, durable: false))
                let repository = try RepositoryName("bench/blobs")
                let chunk = 256 << 10
                // Every upload shares the body after its first chunk, and has a unique first chunk: distinct digests
                // without holding concurrency x size bytes in memory.
                let shared = ByteBuffer(repeating: 0x42, count: chunk)
                let bodies: [(chunks: [ByteBuffer], digest: OCIDigest)] = (0..<concurrency).map { index in
                    var first = ByteBuffer(repeating: 0x42, count: chunk)
                    first.setInteger(UInt64(index), at: 0)
                    let chunks = [first] + Array(repeating: shared, count: size / chunk - 1)
                    var hasher = ContentHasher()
                    for part in chunks { part.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) } }
                    return (chunks, hasher.finalize())
                }
                benchmark.startMeasurement()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for body in bodies {
                        group.addTask {
                            var session = try await store.startUpload(in: repository)
                            session = try await store.checkOut(session.id, in: repository)
                            try await store.append(BufferSequence(buffers: body.chunks), to: &session)
                            _ = try await store.commit(session, expected: body.digest)
                        }
                    }
                    try await group.waitForAll()
                }
                benchmark.stopMeasurement()
            }
        }
    }
}

/// An async sequence over buffers already in memory, standing in for a request body.
struct BufferSequence: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let buffers: [ByteBuffer]

    struct AsyncIterator: AsyncIteratorProtocol {
        var index = 0
        let buffers: [ByteBuffer]
        mutating func next() async -> ByteBuffer? {
            guard index < buffers.count else { return nil }
            defer { index += 1 }
            return buffers[index]
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(buffers: buffers) }
}
