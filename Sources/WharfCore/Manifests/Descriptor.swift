/// An OCI content descriptor.
public struct Descriptor: Codable, Sendable, Hashable {
    public var mediaType: String
    public var digest: String
    public var size: Int64
    public var urls: [String]?
    public var annotations: [String: String]?
    public var artifactType: String?
    public var platform: Platform?

    public init(
        mediaType: String,
        digest: String,
        size: Int64,
        urls: [String]? = nil,
        annotations: [String: String]? = nil,
        artifactType: String? = nil,
        platform: Platform? = nil
    ) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.urls = urls
        self.annotations = annotations
        self.artifactType = artifactType
        self.platform = platform
    }

    public struct Platform: Codable, Sendable, Hashable {
        public var architecture: String
        public var os: String
        public var variant: String?
        public var osVersion: String?
        public var osFeatures: [String]?

        enum CodingKeys: String, CodingKey {
            case architecture, os, variant
            case osVersion = "os.version"
            case osFeatures = "os.features"
        }
    }
}
