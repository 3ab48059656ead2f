import WharfDatabase

/// What a garbage collection is asked to do, and by whom.
public struct GCRunRequest: Sendable {
    public var trigger: GCRun.Trigger
    /// The user's name, or `cli` / `schedule`.
    public var requestedBy: String
    public var dryRun: Bool
    public var untagged: Bool
    /// Seconds: anything younger is kept (`gc.min_age`, or `--min-age`).
    public var minAge: Double
    /// Also list every kept blob in the report (`wharf gc --kept`); never stored.
    public var listKept: Bool

    public init(trigger: GCRun.Trigger, requestedBy: String, dryRun: Bool, untagged: Bool, minAge: Double, listKept: Bool = false) {
        self.trigger = trigger
        self.requestedBy = requestedBy
        self.dryRun = dryRun
        self.untagged = untagged
        self.minAge = minAge
        self.listKept = listKept
    }
}
