import Foundation

/// Renders results as a fixed-width table and as JSON.
public enum ResultTable {
    public static func render(_ results: [WorkloadResult], label: String? = nil) -> String {
        let header = ["workload", "size", "conc", "ops", "errors", "ops/s", "MB/s", "p50 ms", "p99 ms"]
        var rows = [header]
        for result in results {
            rows.append([
                (label.map { "\($0) " } ?? "") + result.workload,
                formatSize(result.size),
                String(result.concurrency),
                String(result.operations),
                String(result.errors),
                String(format: "%.1f", result.operationsPerSecond),
                result.megabytesPerSecond > 0 ? String(format: "%.1f", result.megabytesPerSecond) : "-",
                String(format: "%.2f", result.p50Milliseconds),
                String(format: "%.2f", result.p99Milliseconds),
            ])
        }
        let widths = (0..<header.count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, cell in
                column == 0
                    ? cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[column] - cell.count) + cell
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    public static func json(_ results: [WorkloadResult]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(results), as: UTF8.self)
    }

    public static func formatSize(_ bytes: Int) -> String {
        if bytes >= 1 << 20, bytes % (1 << 20) == 0 { return "\(bytes >> 20)MiB" }
        if bytes >= 1 << 10, bytes % (1 << 10) == 0 { return "\(bytes >> 10)KiB" }
        return "\(bytes)B"
    }

    /// Parses `4KiB`, `1MiB`, `64MiB`, `1GiB` or plain bytes.
    public static func parseSize(_ text: String) -> Int? {
        let units: [(String, Int)] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10), ("B", 1)]
        for (suffix, multiplier) in units where text.hasSuffix(suffix) {
            return Int(text.dropLast(suffix.count)).map { $0 * multiplier }
        }
        return Int(text)
    }
}
