import Benchmark
import Foundation
import Hummingbird
import Logging
import WharfBenchKit
import WharfServer

/// End-to-end pushes and pulls over loopback HTTP against an in-process `wharf serve` (TLS off, fsync off),
/// driven by the same client as `wharf-bench`.
func httpBenchmarks() {
    let cases: [(WorkloadKind, Int, Int)] = [
        (.push, 1 << 20, 8), (.push, 64 << 20, 4), (.pull, 64 << 20, 4), (.push, 4 << 10, 16), (.manifestGet, 0, 16),
    ]
    for (kind, size, concurrency) in cases {
        let sizeText = size > 0 ? " \(ResultTable.formatSize(size))" : ""
        Benchmark("HTTP \(kind.rawValue)\(sizeText) x\(concurrency)", configuration: .init(maxIterations: 5)) { benchmark in
            try await withServer { url in
                let client = try RegistryClient(baseURL: url, connections: concurrency)
                let runner = WorkloadRunner(client: client)
                let count = size >= 64 << 20 ? concurrency * 2 : concurrency * 16
                let prepared = try await runner.prepare(WorkloadOptions(kind: kind, size: max(size, 1), concurrency: concurrency, count: count))
                benchmark.startMeasurement()
                let result = try await runner.execute(prepared)
                benchmark.stopMeasurement()
                try await client.shutdown()
                if result.errors > 0 { throw BenchError(result.firstError ?? "errors") }
            }
        }
    }
}

/// Runs a Wharf server on a free loopback port for the duration of `body`.
func withServer(_ body: (String) async throws -> Void) async throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-bench-http-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let port = Int.random(in: 20000...40000)
    var configuration = ServerConfiguration()
    configuration.dataDirectory = folder
    configuration.listen = "127.0.0.1:\(port)"
    configuration.tls = false
    configuration.storageFsync = false
    var logger = Logger(label: "wharf-bench")
    logger.logLevel = .warning
    let app = try buildApplication(configuration: configuration, logger: logger)
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await app.runService(gracefulShutdownSignals: []) }
        let url = "http://127.0.0.1:\(port)"
        let probe = try RegistryClient(baseURL: url, connections: 1)
        var ready = false
        for _ in 0..<100 where !ready {
            ready = (try? await probe.send(.GET, "/v2/"))?.status == 200
            if !ready { try await Task.sleep(for: .milliseconds(50)) }
        }
        try await probe.shutdown()
        guard ready else { throw BenchError("server did not start on \(url)") }
        try await body(url)
        group.cancelAll()
    }
}
