import WharfDatabase

/// A run that holds the lease and is recorded as running: what ``GCRunner/collect(_:)`` needs to finish it.
public struct GCStartedRun: Sendable {
    public var run: GCRun
    public var request: GCRunRequest
    /// The lease holder token of this run.
    let holder: String
}
