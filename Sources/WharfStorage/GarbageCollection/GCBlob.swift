import WharfCore

/// One blob in a garbage collection report: eligible for deletion, or kept with the reason.
public struct GCBlob: Sendable, Codable, Equatable {
    public var digest: OCIDigest
    /// The data file's size.
    public var bytes: Int64
    /// Why it is kept; nil for an eligible blob.
    public var reason: GCReason?
    /// Repositories with a layer link to the blob (a sweep removes those links with an eligible blob).
    public var layerLinks: [String]

    public init(digest: OCIDigest, bytes: Int64, reason: GCReason? = nil, layerLinks: [String] = []) {
        self.digest = digest
        self.bytes = bytes
        self.reason = reason
        self.layerLinks = layerLinks
    }

    enum CodingKeys: String, CodingKey {
        case digest, bytes, reason
        case layerLinks = "layer_links"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        digest = try OCIDigest(parsing: try container.decode(String.self, forKey: .digest))
        bytes = try container.decode(Int64.self, forKey: .bytes)
        reason = try container.decodeIfPresent(GCReason.self, forKey: .reason)
        layerLinks = try container.decode([String].self, forKey: .layerLinks)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(digest.description, forKey: .digest)
        try container.encode(bytes, forKey: .bytes)
        try container.encodeIfPresent(reason, forKey: .reason)
        try container.encode(layerLinks, forKey: .layerLinks)
    }
}
