/// What a garbage collection mark found: what a sweep would delete and what it keeps, and why. The CLI prints it
/// as a summary or as JSON.
public struct GCReport: Sendable, Codable, Equatable {
    /// Blobs kept for one kind of reason, and their bytes.
    public struct KeptGroup: Sendable, Codable, Equatable {
        public var reason: GCReason.Kind
        public var blobs: Int
        public var bytes: Int64

        public init(reason: GCReason.Kind, blobs: Int, bytes: Int64) {
            self.reason = reason
            self.blobs = blobs
            self.bytes = bytes
        }
    }

    /// Whether this was a dry run: nothing was deleted, and the reclaimed counts are zero.
    public var dryRun = true
    /// Whether untagged manifests were collected (`--untagged`).
    public var untagged = false
    public var minAgeSeconds = 0.0
    /// Blobs with data under `blobs/`, and their bytes.
    public var blobs = 0
    public var bytes: Int64 = 0
    public var eligibleBlobs = 0
    public var eligibleBytes: Int64 = 0
    public var keptBlobs = 0
    public var keptBytes: Int64 = 0
    /// By reason, strongest first; a blob counts once, under its strongest reason.
    public var kept: [KeptGroup] = []
    public var repositories = 0
    /// Manifest revisions linked in repositories.
    public var manifests = 0
    /// Layer links to eligible blobs (a sweep removes them with the blobs).
    public var eligibleLayerLinks = 0
    /// Blobs a kept manifest needs whose data is not in storage (foreign layers aside): `wharf scrub` says more.
    public var missing = 0
    /// Revisions no tag reaches: eligible with `--untagged` (and in `eligibleManifests` then), kept without.
    public var untaggedManifests: [GCManifest] = []
    /// The eligible blobs, by digest: what a sweep would delete.
    public var eligible: [GCBlob] = []
    /// Every kept blob with its reason, by digest, when asked for (`--kept`); else empty.
    public var keptBlobList: [GCBlob] = []
    /// What the sweep deleted: eligible blobs whose data went, and their bytes (zero in a dry run).
    public var reclaimedBlobs = 0
    public var reclaimedBytes: Int64 = 0
    /// Layer links to reclaimed blobs the sweep removed.
    public var removedLayerLinks = 0
    /// Untagged manifest revisions the sweep unlinked (with `--untagged`).
    public var removedManifests: [GCManifest] = []
    /// Eligible blobs the sweep left because a push linked or referenced them while it ran.
    public var rescuedBlobs = 0
    /// Blobs an interrupted earlier run had parked, restored before this run's mark.
    public var restoredParked = 0
    public var seconds = 0.0

    public init() {}

    /// The revisions a sweep would unlink: the untagged ones with `--untagged`, none without.
    public var eligibleManifests: [GCManifest] { untagged ? untaggedManifests : [] }

    enum CodingKeys: String, CodingKey {
        case dryRun = "dry_run"
        case untagged
        case minAgeSeconds = "min_age_seconds"
        case blobs, bytes
        case eligibleBlobs = "eligible_blobs"
        case eligibleBytes = "eligible_bytes"
        case keptBlobs = "kept_blobs"
        case keptBytes = "kept_bytes"
        case kept, repositories, manifests
        case eligibleLayerLinks = "eligible_layer_links"
        case missing
        case untaggedManifests = "untagged_manifests"
        case eligible
        case keptBlobList = "kept_list"
        case reclaimedBlobs = "reclaimed_blobs"
        case reclaimedBytes = "reclaimed_bytes"
        case removedLayerLinks = "removed_layer_links"
        case removedManifests = "removed_manifests"
        case rescuedBlobs = "rescued_blobs"
        case restoredParked = "restored_parked"
        case seconds
    }
}
