import Foundation
import WharfCore

/// The parts of a stored manifest a scrub or garbage collection follows: its blobs, its children, its subject, and
/// for an image its config and layers in order (``Manifest`` keeps only digests, and the deep check needs each
/// layer's media type and position). Lenient: a field it does not know is ignored, so it reads whatever
/// distribution stored.
struct ScrubManifest: Decodable {
    var mediaType: String?
    var config: Descriptor?
    var layers: [Descriptor]?
    var blobs: [Descriptor]?
    var manifests: [Descriptor]?
    /// The manifest this one is a referrer of (a signature, an SBOM, an attestation).
    var subject: Descriptor?

    init(parsing bytes: [UInt8]) throws {
        self = try JSONDecoder().decode(ScrubManifest.self, from: Data(bytes))
    }

    /// An image manifest (OCI or Docker schema 2): a config and a list of layers, not an index.
    var isImage: Bool { config != nil && layers != nil && manifests == nil }

    /// Every descriptor of a blob the manifest needs: config, layers, artifact blobs (foreign ones included; the
    /// caller decides).
    var blobDescriptors: [Descriptor] {
        (config.map { [$0] } ?? []) + (layers ?? []) + (blobs ?? [])
    }

    /// Whether a descriptor points outside the registry (a Windows base layer): its data is not ours to check.
    static func isForeign(_ descriptor: Descriptor) -> Bool {
        descriptor.mediaType == MediaType.dockerForeignLayer || descriptor.mediaType.contains("nondistributable")
            || !(descriptor.urls ?? []).isEmpty
    }

    /// The config media types of container images; any other config is an artifact's.
    static let imageConfigTypes: Set<String> = [
        "application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json",
    ]
}
