import Foundation
import WharfCore
import WharfDatabase
import WharfStorage

/// What the catalogue shows about a manifest, read from storage: its size with everything it references, the
/// image config's facts, the platforms of an index, and the referrers an index carries (BuildKit attestations).
public struct ImageFacts: Sendable, Equatable {
    public var mediaType: String
    /// The manifest, its config and layers (for an index: itself and every platform's), each digest once.
    public var size: Int64
    public var configDigest: String?
    public var created: Date?
    public var os: String?
    public var architecture: String?
    public var platforms: [CatalogPlatform]
    public var artifactType: String?
    /// The manifest this one describes (OCI `subject`).
    public var subject: String?
    /// Attestation manifests of an index, recorded as referrers of the image they describe.
    public var attestations: [ReferrerRecord]
    /// Every digest counted in ``size`` with its size, so an index sums its children without counting a shared
    /// layer twice.
    var parts: [String: Int64]

    /// The referrer rows the manifest `digest` makes: itself when it has a `subject`, an index's attestations, and,
    /// when `tag` is one of cosign's (`sha256-<hex>.sig`), itself as a referrer of the digest the tag names.
    public func referrers(digest: String, tag: String? = nil) -> [ReferrerRecord] {
        var found = attestations
        let ownSize = parts[digest] ?? size
        if let subject {
            found.append(ReferrerRecord(subject: subject, digest: digest, mediaType: mediaType, artifactType: artifactType, size: ownSize))
        }
        if let tag, let subject = ImageInspector.cosignSubject(ofTag: tag) {
            found.append(
                ReferrerRecord(
                    subject: subject,
                    digest: digest,
                    mediaType: mediaType,
                    artifactType: ImageInspector.cosignArtifactType(ofTag: tag),
                    size: size,
                    tag: tag
                )
            )
        }
        return found
    }

    /// The tag row for these facts.
    public func tagRecord(name: String, digest: String, pusher: (id: Int64?, name: String?), pushedAt: Date, linkModified: Int64) -> TagRecord {
        TagRecord(
            name: name,
            digest: digest,
            mediaType: mediaType,
            size: size,
            configDigest: configDigest,
            created: created,
            os: os,
            architecture: architecture,
            platforms: platforms,
            artifactType: artifactType,
            pushedBy: pusher.id,
            pushedByName: pusher.name,
            pushedAt: pushedAt,
            linkModified: linkModified
        )
    }
}

/// Reads ``ImageFacts`` from storage. Manifests are immutable by digest, so facts are remembered per digest for
/// the inspector's life (one sync pass, or one push).
public final class ImageInspector {
    let driver: any StorageDriver
    private var known: [OCIDigest: ImageFacts] = [:]

    /// The largest manifest and image config read (bigger ones are left without facts, never an error).
    static let manifestLimit = 4 * 1024 * 1024
    static let configLimit = 8 * 1024 * 1024
    /// Facts remembered at most.
    static let knownLimit = 20_000

    public init(driver: any StorageDriver) {
        self.driver = driver
    }

    /// The facts of the manifest `digest` (its `bytes` when the caller has them), nil when storage lacks it or it
    /// is not a manifest.
    public func facts(of digest: OCIDigest, bytes: [UInt8]? = nil) async throws -> ImageFacts? {
        if let cached = known[digest] { return cached }
        var content = bytes
        if content == nil { content = try await driver.read(RegistryPaths.blobData(digest), limit: Self.manifestLimit) }
        guard let content, let document = try? JSONDecoder().decode(ManifestDocument.self, from: Data(content)) else { return nil }
        // Every text below comes from pushed content (or from another registry): what the catalogue cannot store
        // (empty, over-long, control characters) is left out, never an error that would stop a push or a pass.
        let mediaType = Self.clean(document.mediaType) ?? Self.clean(Manifest.storedMediaType(of: content)) ?? MediaType.octetStream
        var facts = ImageFacts(
            mediaType: mediaType,
            size: 0,
            platforms: [],
            artifactType: Self.clean(document.artifactType ?? (document.subject != nil ? document.config?.mediaType : nil)),
            subject: Self.digest(document.subject?.digest),
            attestations: [],
            parts: [digest.description: Int64(content.count)]
        )
        if let children = document.manifests {
            for child in children {
                guard let childDigest = try? OCIDigest(parsing: child.digest) else { continue }
                if Self.isAttestation(child) {
                    let described = Self.digest(child.annotations?["vnd.docker.reference.digest"]) ?? digest.description
                    facts.attestations.append(
                        ReferrerRecord(
                            subject: described,
                            digest: childDigest.description,
                            mediaType: Self.clean(child.mediaType) ?? MediaType.ociManifest,
                            artifactType: Self.clean(child.artifactType) ?? "application/vnd.docker.attestation-manifest",
                            size: max(0, child.size ?? 0),
                            tag: digest.description
                        )
                    )
                    continue
                }
                let image = try await self.facts(of: childDigest)
                facts.parts.merge(image?.parts ?? [childDigest.description: max(0, child.size ?? 0)]) { a, _ in a }
                let platform = child.platform
                facts.platforms.append(
                    CatalogPlatform(
                        os: Self.clean(platform?.os) ?? image?.os ?? "unknown",
                        architecture: Self.clean(platform?.architecture) ?? image?.architecture ?? "unknown",
                        variant: Self.clean(platform?.variant),
                        digest: childDigest.description,
                        size: image?.size ?? max(0, child.size ?? 0)
                    )
                )
            }
        } else {
            if let config = document.config {
                facts.configDigest = Self.digest(config.digest)
                facts.parts[config.digest] = max(0, config.size ?? 0)
                if Self.imageConfigTypes.contains(config.mediaType ?? ""), let configDigest = try? OCIDigest(parsing: config.digest),
                    let bytes = try await driver.read(RegistryPaths.blobData(configDigest), limit: Self.configLimit),
                    let image = try? JSONDecoder().decode(ImageConfig.self, from: Data(bytes))
                {
                    facts.os = Self.clean(image.os)
                    facts.architecture = Self.clean(image.architecture.map { arch in image.variant.map { "\(arch)/\($0)" } ?? arch })
                    facts.created = image.created.flatMap(RFC3339.parse)
                }
            }
            for layer in (document.layers ?? []) + (document.blobs ?? []) { facts.parts[layer.digest] = max(0, layer.size ?? 0) }
        }
        facts.size = facts.parts.values.reduce(0, +)
        // Bounded: a pass over millions of manifests keeps the most useful part (shared children of indexes) of
        // one batch's worth.
        if known.count >= Self.knownLimit { known.removeAll(keepingCapacity: true) }
        known[digest] = facts
        return facts
    }

    /// `text` when the catalogue can store it as a name: 1 to 255 bytes of printable characters, no white space at
    /// either end; else nil.
    static func clean(_ text: String?) -> String? {
        guard let text, !text.isEmpty, text.utf8.count <= 255 else { return nil }
        // Printable ASCII, what these nearly always are, is checked byte by byte.
        if text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) { return text }
        guard text.trimmingCharacters(in: .whitespaces) == text,
            !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else { return nil }
        return text
    }

    /// `text` as a digest in its canonical form, or nil.
    static func digest(_ text: String?) -> String? {
        text.flatMap { try? OCIDigest(parsing: $0) }?.description
    }

    /// BuildKit stores provenance and SBOMs as index entries for platform `unknown/unknown`, annotated with
    /// the image they describe.
    static func isAttestation(_ child: ManifestDocument.Entry) -> Bool {
        if child.annotations?["vnd.docker.reference.type"] == "attestation-manifest" { return true }
        return child.platform?.os == "unknown" && child.platform?.architecture == "unknown"
    }

    static let imageConfigTypes: Set<String> = [
        "application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json",
    ]

    /// cosign's tag-based scheme: `sha256-<hex>.sig` (signature), `.att` (attestation), `.sbom`: the subject's
    /// digest, or nil for an ordinary tag.
    public static func cosignSubject(ofTag name: String) -> String? {
        for suffix in [".sig", ".att", ".sbom"] where name.hasSuffix(suffix) {
            let stem = name.dropLast(suffix.count)
            guard let dash = stem.firstIndex(of: "-") else { return nil }
            let candidate = "\(stem[..<dash]):\(stem[stem.index(after: dash)...])"
            return (try? OCIDigest(parsing: candidate))?.description
        }
        return nil
    }

    /// The artifact type cosign's tag suffix stands for.
    public static func cosignArtifactType(ofTag name: String) -> String {
        if name.hasSuffix(".sig") { return "application/vnd.dev.cosign.artifact.sig.v1+json" }
        if name.hasSuffix(".att") { return "application/vnd.dev.cosign.artifact.att.v1+json" }
        return "application/vnd.dev.cosign.artifact.sbom.v1+json"
    }
}

/// The parts of a manifest the catalogue reads, leniently (validation happened at push, or in another registry).
struct ManifestDocument: Decodable {
    struct Entry: Decodable {
        struct Platform: Decodable {
            var os: String?
            var architecture: String?
            var variant: String?
        }
        var mediaType: String?
        var digest: String
        var size: Int64?
        var artifactType: String?
        var platform: Platform?
        var annotations: [String: String]?
    }
    var mediaType: String?
    var artifactType: String?
    var config: Entry?
    var layers: [Entry]?
    var blobs: [Entry]?
    var manifests: [Entry]?
    var subject: Entry?
}

/// The parts of an image config the catalogue shows.
struct ImageConfig: Decodable {
    var created: String?
    var os: String?
    var architecture: String?
    var variant: String?
}
