import ArgumentParser
import Foundation
import WharfBenchKit

@main
struct WharfBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wharf-bench",
        abstract: "Drive a registry over HTTP(S) with zb-style workloads and report throughput and latency."
    )

    @Option(help: "Registry base URL, e.g. http://127.0.0.1:5000.")
    var url: String

    @Option(
        name: .customLong("workload"),
        help: "Workload[:size] (repeatable): \(WorkloadKind.allCases.map(\.rawValue).joined(separator: ", ")); e.g. push:64MiB."
    )
    var workloads: [String] = ["push:1MiB"]

    @Option(help: "Concurrent workers.")
    var concurrency = 4

    @Option(help: "Operations per workload.")
    var count = 32

    @Option(help: "Chunk size for push-chunked.")
    var chunk = "1MiB"

    @Option(help: "User name for the token flow.")
    var user: String?

    @Option(help: "Password or application token (or WHARF_BENCH_PASSWORD).")
    var password: String?

    @Option(help: "PEM certificate to trust for https.")
    var caFile: String?

    @Flag(help: "Do not verify the server certificate.")
    var insecure = false

    @Option(help: "HTTP version over https: 1 (HTTP/1.1 only) or 2 (HTTP/2 when the server offers it by ALPN).")
    var httpVersion = 1

    @Option(help: "Write the results as JSON to this file.")
    var json: String?

    @Option(help: "Label printed before each workload name.")
    var label: String?

    func run() async throws {
        guard httpVersion == 1 || httpVersion == 2 else { throw ValidationError("--http-version must be 1 or 2") }
        guard let chunkSize = ResultTable.parseSize(chunk), chunkSize > 0 else { throw ValidationError("bad --chunk \(chunk)") }
        var plans: [WorkloadOptions] = []
        for text in workloads {
            let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
            guard let kind = WorkloadKind(rawValue: parts[0]) else { throw ValidationError("unknown workload \(parts[0])") }
            let size = parts.count > 1 ? ResultTable.parseSize(parts[1]) : 1 << 20
            guard let size, size > 0 else { throw ValidationError("bad size in \(text)") }
            plans.append(WorkloadOptions(kind: kind, size: size, chunkSize: chunkSize, concurrency: concurrency, count: count))
        }
        let secret = password ?? ProcessInfo.processInfo.environment["WHARF_BENCH_PASSWORD"]
        let credentials = user.flatMap { user in secret.map { (user, $0) } }
        let client = try RegistryClient(
            baseURL: url,
            connections: concurrency,
            caFile: caFile,
            insecure: insecure,
            http2: httpVersion == 2,
            credentials: credentials
        )
        let runner = WorkloadRunner(client: client)
        var results: [WorkloadResult] = []
        let interactive = isatty(STDERR_FILENO) == 1
        do {
            for plan in plans {
                let total = plan.count
                let name = plan.kind.rawValue
                let result = try await runner.run(plan) { done in
                    if interactive {
                        FileHandle.standardError.write(Data("\r\(name): \(done)/\(total)".utf8))
                    }
                }
                if interactive { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
                if let error = result.firstError {
                    FileHandle.standardError.write(Data("wharf-bench: \(name): \(result.errors) errors, first: \(error)\n".utf8))
                }
                results.append(result)
            }
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
        print(ResultTable.render(results, label: label))
        if let json {
            try ResultTable.json(results).write(toFile: json, atomically: true, encoding: .utf8)
        }
        if results.contains(where: { $0.operations == 0 }) { throw ExitCode.failure }
    }
}
