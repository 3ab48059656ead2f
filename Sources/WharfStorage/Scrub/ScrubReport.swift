/// What one scrub checked and found; the CLI prints it as a summary or as JSON.
public struct ScrubReport: Sendable, Codable, Equatable {
    /// Blobs whose data was read and hashed.
    public var blobsChecked = 0
    /// Bytes hashed.
    public var bytes: Int64 = 0
    /// Blobs checked that hash right and, with `--deep`, are the layers their configs describe.
    public var ok = 0
    /// Referenced blobs whose data is absent.
    public var missing = 0
    /// Blobs that hash wrong or, with `--deep`, are bad layers.
    public var corrupt = 0
    /// Layers and artifacts `--deep` could not check.
    public var skipped = 0
    /// Corrupt blobs moved to the quarantine folder.
    public var quarantined = 0
    /// `--deep`: gzip layers decompressed, and the bytes they decompressed to.
    public var layersDecompressed = 0
    public var uncompressedBytes: Int64 = 0
    public var seconds = 0.0
    /// Problems first (missing, corrupt, bad layers), then what was skipped, each group by digest.
    public var findings: [ScrubFinding] = []

    public init() {}

    /// Whether nothing is missing or corrupt (skipped layers are not problems).
    public var isClean: Bool { missing == 0 && corrupt == 0 }

    enum CodingKeys: String, CodingKey {
        case blobsChecked = "blobs_checked"
        case bytes, ok, missing, corrupt, skipped, quarantined
        case layersDecompressed = "layers_decompressed"
        case uncompressedBytes = "uncompressed_bytes"
        case seconds, findings
    }
}
