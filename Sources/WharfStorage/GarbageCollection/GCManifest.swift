import WharfCore

/// A manifest revision no tag reaches (directly, as an index child or as a referrer): eligible with `--untagged`.
public struct GCManifest: Sendable, Codable, Equatable {
    public var repository: String
    public var digest: OCIDigest
    /// The manifest's size (0 when its data is missing).
    public var bytes: Int64

    public init(repository: String, digest: OCIDigest, bytes: Int64) {
        self.repository = repository
        self.digest = digest
        self.bytes = bytes
    }

    enum CodingKeys: String, CodingKey {
        case repository, digest, bytes
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        repository = try container.decode(String.self, forKey: .repository)
        digest = try OCIDigest(parsing: try container.decode(String.self, forKey: .digest))
        bytes = try container.decode(Int64.self, forKey: .bytes)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(repository, forKey: .repository)
        try container.encode(digest.description, forKey: .digest)
        try container.encode(bytes, forKey: .bytes)
    }
}
