import WharfDatabase
import WharfStorage

/// A finished garbage collection: its record as stored, and the whole report when the mark got that far.
public struct GCRunOutcome: Sendable {
    public var run: GCRun
    public var report: GCReport?

    public init(run: GCRun, report: GCReport?) {
        self.run = run
        self.report = report
    }
}
