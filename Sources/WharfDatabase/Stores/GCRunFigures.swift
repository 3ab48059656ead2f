/// The numbers of one garbage collection run: what the mark found and kept, what the sweep removed. All zero
/// while it runs, and the reclaimed ones stay zero in a dry run.
public struct GCRunFigures: Sendable, Equatable {
    /// Blobs (and their bytes) stored under `blobs/` when the mark ran.
    public var blobs = 0
    public var bytes: Int64 = 0
    public var eligibleBlobs = 0
    public var eligibleBytes: Int64 = 0
    public var keptBlobs = 0
    public var keptBytes: Int64 = 0
    /// The kept blobs by reason, strongest first: `[{"reason","blobs","bytes"}]` as JSON.
    public var kept = "[]"
    public var reclaimedBlobs = 0
    public var reclaimedBytes: Int64 = 0
    public var removedLayerLinks = 0
    /// Untagged manifest revisions the sweep unlinked.
    public var removedManifests = 0
    /// Eligible blobs left because a push linked them while the run went on.
    public var rescuedBlobs = 0
    /// Blobs a kept manifest needs that storage does not have (see `wharf scrub`).
    public var missingBlobs = 0
    public var repositories = 0
    public var manifests = 0
    public var untaggedManifests = 0
    public var durationMilliseconds: Int64 = 0

    public init() {}

    /// The columns, in the order of ``values``.
    static let columns = [
        "blobs", "bytes", "eligible_blobs", "eligible_bytes", "kept_blobs", "kept_bytes", "kept", "reclaimed_blobs", "reclaimed_bytes",
        "removed_layer_links", "removed_manifests", "rescued_blobs", "missing_blobs", "repositories", "manifests", "untagged_manifests",
        "duration_ms",
    ]

    func values() throws -> [any SQLValueConvertible] {
        [
            blobs, bytes, eligibleBlobs, eligibleBytes, keptBlobs, keptBytes, try Validation.text(kept, "kept reasons"), reclaimedBlobs,
            reclaimedBytes, removedLayerLinks, removedManifests, rescuedBlobs, missingBlobs, repositories, manifests, untaggedManifests,
            durationMilliseconds,
        ]
    }

    init(row: SQLRow) throws {
        blobs = try row.decode("blobs")
        bytes = try row.decode("bytes")
        eligibleBlobs = try row.decode("eligible_blobs")
        eligibleBytes = try row.decode("eligible_bytes")
        keptBlobs = try row.decode("kept_blobs")
        keptBytes = try row.decode("kept_bytes")
        kept = try row.decode("kept")
        reclaimedBlobs = try row.decode("reclaimed_blobs")
        reclaimedBytes = try row.decode("reclaimed_bytes")
        removedLayerLinks = try row.decode("removed_layer_links")
        removedManifests = try row.decode("removed_manifests")
        rescuedBlobs = try row.decode("rescued_blobs")
        missingBlobs = try row.decode("missing_blobs")
        repositories = try row.decode("repositories")
        manifests = try row.decode("manifests")
        untaggedManifests = try row.decode("untagged_manifests")
        durationMilliseconds = try row.decode("duration_ms")
    }
}
