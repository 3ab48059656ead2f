import Foundation
import Testing
import WharfCore

@Suite("Manifest")
struct ManifestTests {
    static func digest(_ seed: String) -> OCIDigest { OCIDigest.of(Array(seed.utf8)) }
    static let config = digest("config")
    static let layer1 = digest("layer1")
    static let layer2 = digest("layer2")
    static let foreign = digest("foreign")
    static let child1 = digest("child1")
    static let child2 = digest("child2")
    static let subject = digest("subject")

    static func parse(_ json: String, contentType: String?) throws -> Manifest {
        try Manifest(parsing: Array(json.utf8), contentType: contentType)
    }

    static func descriptor(_ mediaType: String, _ digest: OCIDigest, size: Int = 10, extra: String = "") -> String {
        #"{"mediaType":"\#(mediaType)","digest":"\#(digest)","size":\#(size)\#(extra)}"#
    }

    static let dockerV2 = """
        {
          "schemaVersion": 2,
          "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
          "config": \(descriptor("application/vnd.docker.container.image.v1+json", config, size: 7023)),
          "layers": [
            \(descriptor("application/vnd.docker.image.rootfs.diff.tar.gzip", layer1, size: 32654)),
            \(descriptor("application/vnd.docker.image.rootfs.diff.tar.gzip", layer2, size: 16724))
          ]
        }
        """

    static let dockerList = """
        {
          "schemaVersion": 2,
          "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
          "manifests": [
            \(descriptor(MediaType.dockerManifest, child1, extra: #","platform":{"architecture":"amd64","os":"linux"}"#)),
            \(descriptor(MediaType.dockerManifest, child2, extra: #","platform":{"architecture":"arm64","os":"linux","variant":"v8"}"#))
          ]
        }
        """

    static let ociManifestNoMediaType = """
        {
          "schemaVersion": 2,
          "config": \(descriptor("application/vnd.oci.image.config.v1+json", config)),
          "layers": [\(descriptor("application/vnd.oci.image.layer.v1.tar+gzip", layer1))],
          "annotations": {"org.opencontainers.image.created": "2024-01-02T03:04:05Z"}
        }
        """

    static let ociIndex = """
        {
          "schemaVersion": 2,
          "mediaType": "application/vnd.oci.image.index.v1+json",
          "manifests": [
            \(descriptor(MediaType.ociManifest, child1, extra: #","platform":{"architecture":"amd64","os":"windows","os.version":"10.0.17763.1"}"#)),
            \(descriptor(MediaType.ociIndex, child2))
          ]
        }
        """

    static let ociArtifact = """
        {
          "schemaVersion": 2,
          "mediaType": "application/vnd.oci.image.manifest.v1+json",
          "artifactType": "application/vnd.example.sbom.v1",
          "config": \(descriptor("application/vnd.oci.empty.v1+json", config, size: 2)),
          "layers": [\(descriptor("application/spdx+json", layer1))],
          "subject": \(descriptor(MediaType.ociManifest, subject, size: 1234)),
          "annotations": {"org.example.kind": "sbom"}
        }
        """

    // MARK: Accepted

    @Test func dockerV2Manifest() throws {
        let manifest = try Self.parse(Self.dockerV2, contentType: MediaType.dockerManifest)
        #expect(manifest.mediaType == MediaType.dockerManifest)
        #expect(manifest.blobReferences == [Self.config, Self.layer1, Self.layer2])
        #expect(manifest.manifestReferences.isEmpty)
        #expect(manifest.subject == nil)
        #expect(manifest.artifactType == nil)
    }

    @Test func dockerV2ManifestWithoutContentType() throws {
        #expect(try Self.parse(Self.dockerV2, contentType: nil).mediaType == MediaType.dockerManifest)
        #expect(try Self.parse(Self.dockerV2, contentType: "").mediaType == MediaType.dockerManifest)
    }

    @Test func dockerManifestList() throws {
        let manifest = try Self.parse(Self.dockerList, contentType: MediaType.dockerManifestList)
        #expect(manifest.mediaType == MediaType.dockerManifestList)
        #expect(manifest.manifestReferences == [Self.child1, Self.child2])
        #expect(manifest.blobReferences.isEmpty)
        #expect(manifest.subject == nil)
    }

    @Test func ociManifestTypedByContentType() throws {
        let manifest = try Self.parse(Self.ociManifestNoMediaType, contentType: MediaType.ociManifest)
        #expect(manifest.mediaType == MediaType.ociManifest)
        #expect(manifest.blobReferences == [Self.config, Self.layer1])
        #expect(manifest.manifestReferences.isEmpty)
        #expect(manifest.annotations == ["org.opencontainers.image.created": "2024-01-02T03:04:05Z"])
        #expect(manifest.artifactType == nil)
    }

    @Test func ociManifestInferredWithoutContentType() throws {
        #expect(try Self.parse(Self.ociManifestNoMediaType, contentType: nil).mediaType == MediaType.ociManifest)
        // A Content-Type that is not a manifest type does not decide: the body's shape does.
        #expect(try Self.parse(Self.ociManifestNoMediaType, contentType: "application/json").mediaType == MediaType.ociManifest)
    }

    @Test func contentTypeParametersAndCaseAreIgnored() throws {
        let manifest = try Self.parse(Self.ociIndex, contentType: " Application/VND.oci.image.index.v1+json ; charset=utf-8")
        #expect(manifest.mediaType == MediaType.ociIndex)
    }

    @Test func ociIndex() throws {
        let manifest = try Self.parse(Self.ociIndex, contentType: MediaType.ociIndex)
        #expect(manifest.mediaType == MediaType.ociIndex)
        #expect(manifest.manifestReferences == [Self.child1, Self.child2])
        #expect(manifest.blobReferences.isEmpty)
        #expect(try Self.parse(Self.ociIndex, contentType: nil).mediaType == MediaType.ociIndex)
    }

    @Test func ociIndexInferredFromManifestsField() throws {
        let json = #"{"schemaVersion":2,"manifests":[\#(Self.descriptor(MediaType.ociManifest, Self.child1))]}"#
        #expect(try Self.parse(json, contentType: nil).mediaType == MediaType.ociIndex)
    }

    @Test func ociManifestWithArtifactTypeAndSubject() throws {
        let manifest = try Self.parse(Self.ociArtifact, contentType: MediaType.ociManifest)
        #expect(manifest.mediaType == MediaType.ociManifest)
        #expect(manifest.subject == Self.subject)
        #expect(manifest.artifactType == "application/vnd.example.sbom.v1")
        #expect(manifest.annotations == ["org.example.kind": "sbom"])
        #expect(manifest.blobReferences == [Self.config, Self.layer1])
        // The subject is not a dependency: it need not be in the repository.
        #expect(!manifest.manifestReferences.contains(Self.subject))
        #expect(!manifest.blobReferences.contains(Self.subject))
    }

    @Test func subjectWithoutArtifactTypeUsesConfigMediaType() throws {
        let json = """
            {"schemaVersion":2,"mediaType":"\(MediaType.ociManifest)",
             "config":\(Self.descriptor("application/vnd.example.signature.config", Self.config)),
             "layers":[],
             "subject":\(Self.descriptor(MediaType.ociManifest, Self.subject))}
            """
        let manifest = try Self.parse(json, contentType: MediaType.ociManifest)
        #expect(manifest.artifactType == "application/vnd.example.signature.config")
        #expect(manifest.subject == Self.subject)
        #expect(manifest.blobReferences == [Self.config])
    }

    @Test func indexWithSubject() throws {
        let json = """
            {"schemaVersion":2,"mediaType":"\(MediaType.ociIndex)","artifactType":"application/vnd.example.bundle",
             "manifests":[\(Self.descriptor(MediaType.ociManifest, Self.child1))],
             "subject":\(Self.descriptor(MediaType.ociManifest, Self.subject))}
            """
        let manifest = try Self.parse(json, contentType: MediaType.ociIndex)
        #expect(manifest.subject == Self.subject)
        #expect(manifest.artifactType == "application/vnd.example.bundle")
    }

    @Test func foreignLayersAreExcludedFromBlobReferences() throws {
        let json = """
            {
              "schemaVersion": 2,
              "mediaType": "\(MediaType.dockerManifest)",
              "config": \(Self.descriptor("application/vnd.docker.container.image.v1+json", Self.config)),
              "layers": [
                \(Self.descriptor(MediaType.dockerForeignLayer, Self.foreign, extra: #","urls":["https://mcr.microsoft.com/v2/x/blobs/y"]"#)),
                \(Self.descriptor(MediaType.dockerForeignLayer, Self.layer2)),
                \(Self.descriptor("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", Self.child1, extra: #","urls":["https://example.com/l"]"#)),
                \(Self.descriptor("application/vnd.docker.image.rootfs.diff.tar.gzip", Self.layer1, extra: #","urls":[]"#))
              ]
            }
            """
        let manifest = try Self.parse(json, contentType: MediaType.dockerManifest)
        #expect(manifest.blobReferences == [Self.config, Self.layer1])
    }

    @Test func exactlyMaxSizeIsAccepted() throws {
        var bytes = Array(Self.ociManifestNoMediaType.utf8)
        bytes += [UInt8](repeating: UInt8(ascii: " "), count: Manifest.maxSize - bytes.count)
        #expect(bytes.count == 4 * 1024 * 1024)
        #expect(try Manifest(parsing: bytes, contentType: MediaType.ociManifest).mediaType == MediaType.ociManifest)
    }

    @Test func storedMediaType() {
        #expect(Manifest.storedMediaType(of: Array(Self.dockerList.utf8)) == MediaType.dockerManifestList)
        #expect(Manifest.storedMediaType(of: Array(Self.ociIndex.utf8)) == MediaType.ociIndex)
        #expect(Manifest.storedMediaType(of: Array(Self.dockerV2.utf8)) == MediaType.dockerManifest)
        #expect(Manifest.storedMediaType(of: Array("garbage".utf8)) == MediaType.ociManifest)
    }

    // MARK: Rejected

    @Test func mediaTypeMismatchWithContentType() {
        expectContentError(.manifestInvalid) { _ = try Self.parse(Self.dockerV2, contentType: MediaType.ociManifest) }
        expectContentError(.manifestInvalid) { _ = try Self.parse(Self.ociIndex, contentType: MediaType.ociManifest) }
        expectContentError(.manifestInvalid) { _ = try Self.parse(Self.dockerList, contentType: MediaType.ociIndex) }
        expectContentError(.manifestInvalid) {
            _ = try Self.parse(Self.ociArtifact, contentType: MediaType.dockerManifest)
        }
    }

    static let schema1 = """
        {
          "schemaVersion": 1,
          "name": "library/hello",
          "tag": "latest",
          "architecture": "amd64",
          "fsLayers": [{"blobSum": "\(layer1)"}],
          "history": [{"v1Compatibility": "{}"}],
          "signatures": [{"header": {"alg": "ES256"}, "signature": "x", "protected": "y"}]
        }
        """

    @Test(arguments: [nil, MediaType.dockerSchema1, MediaType.dockerSchema1Signed, "application/json"])
    func schema1IsRejected(contentType: String?) {
        expectContentError(.manifestInvalid) { _ = try Self.parse(Self.schema1, contentType: contentType) }
    }

    @Test func schema1MediaTypeInBodyIsRejected() {
        let json = #"{"schemaVersion":1,"mediaType":"\#(MediaType.dockerSchema1)","name":"a","tag":"b","fsLayers":[]}"#
        expectContentError(.manifestInvalid) { _ = try Self.parse(json, contentType: nil) }
        expectContentError(.manifestInvalid) { _ = try Self.parse(json, contentType: MediaType.dockerSchema1) }
    }

    @Test func schemaVersion1WithModernMediaTypeIsRejected() {
        let json = Self.dockerV2.replacingOccurrences(of: #""schemaVersion": 2"#, with: #""schemaVersion": 1"#)
        #expect(json != Self.dockerV2)
        expectContentError(.manifestInvalid) { _ = try Self.parse(json, contentType: MediaType.dockerManifest) }
    }

    @Test func dockerManifestNeedsSchemaVersion2() {
        let json = Self.dockerV2.replacingOccurrences(of: #""schemaVersion": 2,"#, with: "")
        #expect(json != Self.dockerV2)
        expectContentError(.manifestInvalid) { _ = try Self.parse(json, contentType: MediaType.dockerManifest) }
    }

    /// The OCI image spec says `schemaVersion` MUST be 2 for image manifests and indexes (distribution enforces it).
    @Test(arguments: [MediaType.ociManifest, MediaType.ociIndex])
    func ociSchemaVersionOtherThan2IsRejected(mediaType: String) {
        let body =
            mediaType == MediaType.ociIndex
            ? #""manifests":[\#(Self.descriptor(MediaType.ociManifest, Self.child1))]"#
            : #""config":\#(Self.descriptor("application/vnd.oci.image.config.v1+json", Self.config)),"layers":[]"#
        let json = #"{"schemaVersion":3,"mediaType":"\#(mediaType)",\#(body)}"#
        expectContentError(.manifestInvalid) { _ = try Self.parse(json, contentType: mediaType) }
    }

    @Test(arguments: [MediaType.ociManifest, MediaType.dockerManifest])
    func missingConfig(mediaType: String) {
        let json = #"{"schemaVersion":2,"mediaType":"\#(mediaType)","layers":[\#(Self.descriptor("application/octet-stream", Self.layer1))]}"#
        let error = expectContentError(.manifestInvalid) { _ = try Self.parse(json, contentType: mediaType) }
        #expect(error?.detail?.contains("config") == true)
    }

    @Test(arguments: [MediaType.ociManifest, MediaType.dockerManifest])
    func missingLayers(mediaType: String) {
        let json = #"{"schemaVersion":2,"mediaType":"\#(mediaType)","config":\#(Self.descriptor("application/octet-stream", Self.config))}"#
        let error = expectContentError(.manifestInvalid) { _ = try Self.parse(json, contentType: mediaType) }
        #expect(error?.detail?.contains("layers") == true)
    }

    @Test(arguments: [MediaType.ociIndex, MediaType.dockerManifestList])
    func indexWithoutManifests(mediaType: String) {
        let json = #"{"schemaVersion":2,"mediaType":"\#(mediaType)"}"#
        expectContentError(.manifestInvalid) { _ = try Self.parse(json, contentType: mediaType) }
    }

    @Test func indexWithLayers() {
        let json = """
            {"schemaVersion":2,"mediaType":"\(MediaType.ociIndex)","manifests":[],
             "layers":[\(Self.descriptor("application/octet-stream", Self.layer1))]}
            """
        expectContentError(.manifestInvalid) { _ = try Self.parse(json, contentType: MediaType.ociIndex) }
    }

    @Test func imageManifestWithManifests() {
        let json = """
            {"schemaVersion":2,"mediaType":"\(MediaType.ociManifest)",
             "config":\(Self.descriptor("application/octet-stream", Self.config)),"layers":[],
             "manifests":[\(Self.descriptor(MediaType.ociManifest, Self.child1))]}
            """
        expectContentError(.manifestInvalid) { _ = try Self.parse(json, contentType: MediaType.ociManifest) }
    }

    @Test(arguments: [
        "sha256:1234",
        "sha256:" + String(repeating: "A", count: 64),
        "md5:d41d8cd98f00b204e9800998ecf8427e",
        "",
        "../../../etc/passwd",
    ])
    func invalidDescriptorDigest(badDigest: String) {
        let bad = #"{"mediaType":"application/octet-stream","digest":"\#(badDigest)","size":1}"#
        let good = Self.descriptor("application/octet-stream", Self.layer1)
        let inLayer = #"{"schemaVersion":2,"mediaType":"\#(MediaType.ociManifest)","config":\#(good),"layers":[\#(bad)]}"#
        let inConfig = #"{"schemaVersion":2,"mediaType":"\#(MediaType.ociManifest)","config":\#(bad),"layers":[\#(good)]}"#
        let inIndex = #"{"schemaVersion":2,"mediaType":"\#(MediaType.ociIndex)","manifests":[\#(bad)]}"#
        let inSubject = #"{"schemaVersion":2,"mediaType":"\#(MediaType.ociManifest)","config":\#(good),"layers":[],"subject":\#(bad)}"#
        for json in [inLayer, inConfig, inIndex, inSubject] {
            expectContentError(.manifestInvalid) { _ = try Self.parse(json, contentType: nil) }
        }
    }

    @Test func negativeSize() {
        let json = """
            {"schemaVersion":2,"mediaType":"\(MediaType.ociManifest)",
             "config":\(Self.descriptor("application/octet-stream", Self.config)),
             "layers":[\(Self.descriptor("application/octet-stream", Self.layer1, size: -1))]}
            """
        expectContentError(.manifestInvalid) { _ = try Self.parse(json, contentType: nil) }
    }

    @Test func descriptorFieldOfWrongType() {
        let json = """
            {"schemaVersion":2,"mediaType":"\(MediaType.ociManifest)",
             "config":{"mediaType":"a","digest":"\(Self.config)","size":"ten"},"layers":[]}
            """
        expectContentError(.manifestInvalid) { _ = try Self.parse(json, contentType: nil) }
    }

    @Test(arguments: ["", "not json", "{", "[]", "null", "42", #""string""#, "{}", "\u{FEFF}garbage", #"{"schemaVersion":"two"}"#])
    func nonJSONOrShapelessBody(body: String) {
        expectContentError(.manifestInvalid) { _ = try Self.parse(body, contentType: MediaType.ociManifest) }
    }

    @Test func invalidUTF8Body() {
        expectContentError(.manifestInvalid) {
            _ = try Manifest(parsing: [0x7b, 0xff, 0xfe, 0x7d], contentType: MediaType.ociManifest)
        }
    }

    @Test func unsupportedMediaType() {
        let json = Self.ociManifestNoMediaType.replacingOccurrences(
            of: #""schemaVersion": 2,"#,
            with: #""schemaVersion": 2, "mediaType": "application/vnd.oci.image.config.v1+json","#
        )
        expectContentError(.manifestInvalid) { _ = try Self.parse(json, contentType: nil) }
    }

    @Test func bodyOverFourMiBIsTooLarge() {
        var bytes = Array(Self.ociManifestNoMediaType.utf8)
        bytes += [UInt8](repeating: UInt8(ascii: " "), count: Manifest.maxSize + 1 - bytes.count)
        let error = expectContentError(.tooLarge) { _ = try Manifest(parsing: bytes, contentType: MediaType.ociManifest) }
        #expect(error?.code != .sizeInvalid)
    }

    @Test func hugeGarbageIsTooLargeNotInvalid() {
        let bytes = [UInt8](repeating: UInt8(ascii: "x"), count: 5 * 1024 * 1024)
        expectContentError(.tooLarge) { _ = try Manifest(parsing: bytes, contentType: nil) }
    }
}
