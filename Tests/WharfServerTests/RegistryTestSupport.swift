import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing
import WharfCore
@testable import WharfServer

/// A Wharf router on a fresh temporary data folder, removed afterwards.
func withRegistry(
    configure: (inout ServerConfiguration) -> Void = { _ in },
    _ test: @Sendable (any TestClientProtocol, String) async throws -> Void
) async throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-test-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: folder) }
    var configuration = ServerConfiguration()
    configuration.dataDirectory = folder
    configuration.storageFsync = false
    configure(&configuration)
    try prepareDataDirectory(configuration)
    let services = WharfServices(configuration: configuration, logger: Logger(label: "test"))
    let app = Application(router: buildRouter(services: services))
    try await app.test(.router) { client in try await test(client, folder) }
}

func digest(_ bytes: [UInt8]) -> String { OCIDigest.of(bytes).description }

func buffer(_ bytes: [UInt8]) -> ByteBuffer { ByteBuffer(bytes: bytes) }

func bytes(_ string: String) -> [UInt8] { Array(string.utf8) }

/// The OCI error code of a response body, or nil.
func errorCode(_ response: TestResponse) -> String? {
    struct Body: Decodable {
        struct Entry: Decodable { let code: String }
        let errors: [Entry]
    }
    return (try? JSONDecoder().decode(Body.self, from: Data(response.body.readableBytesView)))?.errors.first?.code
}

func json(_ response: TestResponse) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
}

extension TestClientProtocol {
    /// Pushes a blob with a single monolithic POST.
    @discardableResult
    func pushBlob(_ name: String, _ content: [UInt8]) async throws -> String {
        let d = digest(content)
        let response = try await execute(uri: "/v2/\(name)/blobs/uploads/?digest=\(d)", method: .post, body: buffer(content))
        #expect(response.status == .created)
        return d
    }

    /// Pushes an OCI image manifest with the given config and layers (pushing them first), returning its bytes and digest.
    func pushImage(_ name: String, tag: String, layers: [String] = ["layer"], extra: String = "") async throws -> (bytes: [UInt8], digest: String) {
        let config = bytes("{\"architecture\":\"amd64\",\"os\":\"linux\"\(extra)}")
        let configDigest = try await pushBlob(name, config)
        var layerDescriptors: [String] = []
        for layer in layers {
            let content = bytes(layer)
            let d = try await pushBlob(name, content)
            layerDescriptors.append("{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"\(d)\",\"size\":\(content.count)}")
        }
        let manifest = bytes(
            """
            {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",\
            "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\(configDigest)","size":\(config.count)},\
            "layers":[\(layerDescriptors.joined(separator: ","))]}
            """
        )
        let response = try await execute(
            uri: "/v2/\(name)/manifests/\(tag)",
            method: .put,
            headers: [.contentType: "application/vnd.oci.image.manifest.v1+json"],
            body: buffer(manifest)
        )
        #expect(response.status == .created)
        #expect(response.headers[.dockerContentDigest] == digest(manifest))
        return (manifest, digest(manifest))
    }
}
