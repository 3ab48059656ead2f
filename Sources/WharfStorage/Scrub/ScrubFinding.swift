import WharfCore

/// One thing a scrub found wrong (or could not check) about one blob, with who references it.
public struct ScrubFinding: Sendable, Codable, Equatable {
    /// What is wrong.
    public enum Kind: String, Sendable, Codable {
        /// A manifest or a layer link names the blob, and its data is not in storage.
        case missing
        /// The data does not hash to its digest (or could not be read to the end).
        case corrupt
        /// `--deep`: the blob hashes right but is not the layer its image's config describes (a gzip stream that
        /// does not decompress, or an uncompressed digest other than the config's `diff_id`).
        case badLayer = "bad_layer"
        /// `--deep`: a layer or artifact the scrub cannot check (zstd, foreign, an unknown config media type).
        /// Never counted as a problem.
        case skipped
    }

    public var digest: OCIDigest
    public var kind: Kind
    /// What is wrong, in a sentence.
    public var detail: String
    /// Who needs the blob: `repository@manifest-digest` for a manifest naming it, `repository (manifest)` for a
    /// manifest itself, `repository (layer link)` for a pushed blob link; sorted.
    public var references: [String]
    /// Where `--quarantine` moved the data, relative to the data folder.
    public var quarantinedTo: String?

    public init(digest: OCIDigest, kind: Kind, detail: String, references: [String], quarantinedTo: String? = nil) {
        self.digest = digest
        self.kind = kind
        self.detail = detail
        self.references = references
        self.quarantinedTo = quarantinedTo
    }

    enum CodingKeys: String, CodingKey {
        case digest, kind, detail, references
        case quarantinedTo = "quarantined_to"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        digest = try OCIDigest(parsing: try container.decode(String.self, forKey: .digest))
        kind = try container.decode(Kind.self, forKey: .kind)
        detail = try container.decode(String.self, forKey: .detail)
        references = try container.decode([String].self, forKey: .references)
        quarantinedTo = try container.decodeIfPresent(String.self, forKey: .quarantinedTo)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(digest.description, forKey: .digest)
        try container.encode(kind, forKey: .kind)
        try container.encode(detail, forKey: .detail)
        try container.encode(references, forKey: .references)
        try container.encodeIfPresent(quarantinedTo, forKey: .quarantinedTo)
    }
}
