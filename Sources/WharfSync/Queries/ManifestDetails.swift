import Foundation
import WharfDatabase

/// Everything the API shows about one tag or manifest: the manifest itself, for an index its platforms, for an
/// image its layers and config, and what refers to it (signatures, SBOMs, attestations).
public struct ManifestDetails: Sendable, Equatable {
    public var repository: String
    public var digest: String
    public var mediaType: String
    /// The manifest's own bytes.
    public var size: Int64
    /// The manifest with everything it references, each digest once (nil when no tag of the mirror points at it).
    public var totalSize: Int64?
    public var artifactType: String?
    /// The tags pointing at it, newest push first.
    public var tags: [CatalogTag]
    /// An index's images (attestations are in ``referrers``); empty for an image.
    public var platforms: [PlatformManifest]
    /// An image's config descriptor; nil for an index.
    public var configDescriptor: ContentDescriptor?
    /// An image's layers (an artifact's blobs); empty for an index.
    public var layers: [ContentDescriptor]
    /// The image config's facts; nil when it is not an image config, or could not be read (then ``notes`` says why).
    public var config: ImageConfigDetails?
    /// Manifests describing this one or its platforms' images.
    public var referrers: [Referrer]
    /// What could not be read, in words (a config over the size limit, a manifest missing from storage): the rest
    /// is still shown.
    public var notes: [String]
}

/// A blob or manifest as a manifest references it.
public struct ContentDescriptor: Sendable, Equatable {
    public var digest: String
    public var mediaType: String?
    public var size: Int64
}

/// One image of an index.
public struct PlatformManifest: Sendable, Equatable {
    public var os: String
    public var architecture: String
    public var variant: String?
    public var digest: String
    public var mediaType: String?
    /// The platform manifest's own bytes, as the index states them.
    public var size: Int64
    /// The image with its config and layers, when the mirror knows it.
    public var totalSize: Int64?
}
