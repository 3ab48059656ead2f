import Foundation

/// A manifest body that passed validation: what the registry needs to store and index it.
public struct Manifest: Sendable {
    /// The media type it is served with.
    public let mediaType: String
    /// Blobs the manifest needs in the same repository (config and layers), excluding foreign layers.
    public let blobReferences: [OCIDigest]
    /// Manifests an index or list needs in the same repository.
    public let manifestReferences: [OCIDigest]
    /// The manifest this one refers to (OCI 1.1 `subject`).
    public let subject: OCIDigest?
    /// `artifactType`, or for an image manifest with a subject and none, its config's media type.
    public let artifactType: String?
    public let annotations: [String: String]?

    public static let maxSize = 4 * 1024 * 1024

    /// Validates `bytes` as a manifest sent with `contentType` (the request's Content-Type, possibly empty).
    ///
    /// Errors are `manifestInvalid` with a detail that says what is wrong.
    public init(parsing bytes: [UInt8], contentType: String?) throws {
        guard bytes.count <= Self.maxSize else {
            throw ContentError(.tooLarge, "manifest too large", detail: "limit is \(Self.maxSize) bytes")
        }
        let raw: RawManifest
        do {
            raw = try JSONDecoder().decode(RawManifest.self, from: Data(bytes))
        } catch {
            throw ContentError(.manifestInvalid, detail: "not a valid manifest document: \(Self.describe(error))")
        }
        let declared = contentType.map(MediaType.essence).flatMap { $0.isEmpty ? nil : $0 }
        let inBody = raw.mediaType.map(MediaType.essence)
        let inferred: String? =
            if raw.manifests != nil { MediaType.ociIndex } else if raw.config != nil { MediaType.ociManifest } else if raw.blobs != nil {
                MediaType.ociArtifactManifest
            } else { nil }

        let mediaType: String
        switch (declared, inBody) {
        case (let d?, let b?):
            guard d == b else {
                throw ContentError(.manifestInvalid, detail: "Content-Type \(d) does not match the manifest's mediaType \(b)")
            }
            mediaType = d
        case (let d?, nil) where MediaType.manifests.contains(d):
            mediaType = d
        case (_, let b?):
            mediaType = b
        default:
            guard let inferred else {
                throw ContentError(.manifestInvalid, detail: "cannot tell the manifest's media type")
            }
            mediaType = inferred
        }

        if mediaType == MediaType.dockerSchema1 || mediaType == MediaType.dockerSchema1Signed || raw.schemaVersion == 1 {
            throw ContentError(.manifestInvalid, detail: "Docker schema 1 manifests are not supported")
        }
        guard MediaType.manifests.contains(mediaType) else {
            throw ContentError(.manifestInvalid, detail: "unsupported manifest media type \(OCIDigest.excerpt(mediaType))")
        }

        var blobs: [Descriptor] = []
        var children: [Descriptor] = []
        switch mediaType {
        case MediaType.dockerManifest, MediaType.ociManifest:
            guard raw.schemaVersion == 2 else { throw ContentError(.manifestInvalid, detail: "schemaVersion must be 2") }
            guard let config = raw.config else { throw ContentError(.manifestInvalid, detail: "config is missing") }
            guard let layers = raw.layers else { throw ContentError(.manifestInvalid, detail: "layers is missing") }
            guard raw.manifests == nil else { throw ContentError(.manifestInvalid, detail: "an image manifest has no manifests") }
            blobs = [config] + layers
        case MediaType.dockerManifestList, MediaType.ociIndex:
            guard raw.schemaVersion == 2 else { throw ContentError(.manifestInvalid, detail: "schemaVersion must be 2") }
            guard let manifests = raw.manifests else { throw ContentError(.manifestInvalid, detail: "manifests is missing") }
            guard raw.config == nil, raw.layers == nil else {
                throw ContentError(.manifestInvalid, detail: "an index has no config or layers")
            }
            children = manifests
        default:  // artifact manifest
            blobs = raw.blobs ?? []
        }

        var blobDigests: [OCIDigest] = []
        for descriptor in blobs {
            let digest = try Self.digest(of: descriptor)
            guard descriptor.size >= 0 else { throw ContentError(.manifestInvalid, detail: "negative size for \(digest)") }
            let isForeign = descriptor.mediaType == MediaType.dockerForeignLayer || !(descriptor.urls ?? []).isEmpty
            if !isForeign { blobDigests.append(digest) }
        }
        var childDigests: [OCIDigest] = []
        for descriptor in children {
            let digest = try Self.digest(of: descriptor)
            guard descriptor.size >= 0 else { throw ContentError(.manifestInvalid, detail: "negative size for \(digest)") }
            childDigests.append(digest)
        }
        self.mediaType = mediaType
        self.blobReferences = blobDigests
        self.manifestReferences = childDigests
        self.subject = try raw.subject.map(Self.digest(of:))
        self.artifactType = raw.artifactType ?? (raw.subject != nil ? raw.config?.mediaType : nil)
        self.annotations = raw.annotations
    }

    /// The media type of stored manifest bytes, for serving them: the body's `mediaType`, else inferred.
    public static func storedMediaType(of bytes: [UInt8]) -> String {
        if let manifest = try? Manifest(parsing: bytes, contentType: nil) { return manifest.mediaType }
        return MediaType.ociManifest
    }

    static func digest(of descriptor: Descriptor) throws -> OCIDigest {
        do {
            return try OCIDigest(parsing: descriptor.digest)
        } catch {
            throw ContentError(.manifestInvalid, detail: "invalid digest in descriptor: \(OCIDigest.excerpt(descriptor.digest))")
        }
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context),
            DecodingError.keyNotFound(_, let context), DecodingError.dataCorrupted(let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? context.debugDescription : "\(path): \(context.debugDescription)"
        default:
            return "\(error)"
        }
    }
}

struct RawManifest: Decodable {
    var schemaVersion: Int?
    var mediaType: String?
    var artifactType: String?
    var config: Descriptor?
    var layers: [Descriptor]?
    var manifests: [Descriptor]?
    var blobs: [Descriptor]?
    var subject: Descriptor?
    var annotations: [String: String]?
}
