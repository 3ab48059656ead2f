import CompressNIO
import Foundation
import NIOCore
import WharfCore
import WharfStorage

/// A registry folder written the way a push leaves it: blobs, layer links, manifests with revision and tag links.
struct ScrubFixture {
    let storage: TemporaryStorage

    @discardableResult
    func blob(_ bytes: [UInt8], in repository: String? = nil) async throws -> OCIDigest {
        let digest = OCIDigest.of(bytes)
        try await storage.driver.write(RegistryPaths.blobData(digest), contents: bytes)
        if let repository { try await link(digest, in: repository) }
        return digest
    }

    func link(_ digest: OCIDigest, in repository: String) async throws {
        try await storage.driver.write(RegistryPaths.layerLink(try RepositoryName(repository), digest), contents: RegistryPaths.linkContent(digest))
    }

    /// Stores an image manifest over `layers` (media type, digest) with config `config`, tagged `tag`.
    @discardableResult
    func image(
        _ repository: String,
        tag: String,
        config: OCIDigest,
        configType: String = "application/vnd.oci.image.config.v1+json",
        layers: [(String, OCIDigest)]
    ) async throws -> OCIDigest {
        let layerJSON = layers.map { #"{"mediaType":"\#($0.0)","digest":"\#($0.1)","size":1}"# }.joined(separator: ",")
        let json = """
            {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",\
            "config":{"mediaType":"\(configType)","digest":"\(config)","size":1},"layers":[\(layerJSON)]}
            """
        let bytes = Array(json.utf8)
        let digest = try await blob(bytes)
        let name = try RepositoryName(repository)
        try await storage.driver.write(RegistryPaths.revisionLink(name, digest), contents: RegistryPaths.linkContent(digest))
        try await storage.driver.write(RegistryPaths.tagCurrentLink(name, try Tag(tag)), contents: RegistryPaths.linkContent(digest))
        return digest
    }

    /// An image config whose `rootfs.diff_ids` are `diffIDs`.
    func config(_ diffIDs: [OCIDigest], in repository: String) async throws -> OCIDigest {
        let ids = diffIDs.map { "\"\($0)\"" }.joined(separator: ",")
        return try await blob(Array(#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[\#(ids)]}}"#.utf8), in: repository)
    }

    static func gzip(_ bytes: [UInt8]) throws -> [UInt8] {
        var buffer = ByteBuffer(bytes: bytes)
        let compressed = try buffer.compress(with: .gzip())
        return Array(compressed.readableBytesView)
    }

    /// Bytes that compress poorly, so a layer spans many chunks and windows.
    static func noise(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
    }
}
