/// What an import did (or, in a dry run, would do), one line per Portus record that was not simply unchanged,
/// with counts per kind and outcome.
public struct PortusImportReport: Sendable, Equatable {
    /// What became of one record.
    public enum Outcome: String, Sendable, CaseIterable {
        /// Created in Wharf.
        case created
        /// It existed in Wharf and was completed (a team member added, a namespace's visibility set).
        case changed
        /// It existed in Wharf as the import would have made it.
        case unchanged
        /// Deliberately not imported (the service account, a hidden team), or left as Wharf had it.
        case skipped
        /// Could not be imported as Portus had it: the detail says what was done instead.
        case conflict
    }

    public struct Entry: Sendable, Equatable {
        public var kind: String
        public var name: String
        public var outcome: Outcome
        public var detail: String
    }

    public private(set) var entries: [Entry] = []
    /// Whether nothing was written (`--dry-run`).
    public var dryRun = false

    public init(dryRun: Bool = false) { self.dryRun = dryRun }

    /// Adds a line (the importers of other modules, such as webhooks, add theirs).
    public mutating func add(_ kind: String, _ name: String, _ outcome: Outcome, _ detail: String = "") {
        entries.append(Entry(kind: kind, name: name, outcome: outcome, detail: detail))
    }

    public mutating func append(contentsOf other: PortusImportReport) { entries += other.entries }

    /// How many records of `kind` (every kind when nil) had `outcome`.
    public func count(_ outcome: Outcome, kind: String? = nil) -> Int {
        entries.filter { $0.outcome == outcome && (kind == nil || $0.kind == kind) }.count
    }

    /// The report as text: each entry that is not `unchanged` on a line (`would create` in a dry run), then a
    /// summary line per kind and a total line.
    public var text: String {
        var lines: [String] = []
        for entry in entries where entry.outcome != .unchanged {
            let verb = entry.outcome == .conflict ? "conflict:" : dryRun ? "would \(Self.verb(entry.outcome))" : Self.verb(entry.outcome, past: true)
            lines.append("\(verb) \(entry.kind) \(entry.name)" + (entry.detail.isEmpty ? "" : ": \(entry.detail)"))
        }
        var kinds: [String] = []
        for entry in entries where !kinds.contains(entry.kind) { kinds.append(entry.kind) }
        for kind in kinds {
            let counts = Outcome.allCases.map { "\(count($0, kind: kind)) \($0.rawValue)" }.joined(separator: ", ")
            lines.append("\(kind.hasSuffix("y") ? kind.dropLast() + "ies" : kind + "s"): \(counts)")
        }
        let total = Outcome.allCases.map { "\(count($0)) \($0.rawValue)" }.joined(separator: ", ")
        lines.append((dryRun ? "dry run, nothing written: " : "imported: ") + total)
        return lines.joined(separator: "\n")
    }

    private static func verb(_ outcome: Outcome, past: Bool = false) -> String {
        switch outcome {
        case .created: past ? "created" : "create"
        case .changed: past ? "changed" : "change"
        case .unchanged: "unchanged"
        case .skipped: past ? "skipped" : "skip"
        case .conflict: "conflict:"
        }
    }
}
