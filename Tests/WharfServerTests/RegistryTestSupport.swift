import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing
import WharfCore
import WharfDatabase

@testable import WharfServer

/// The application `wharf serve` runs, with `auth.enabled: off`, on a fresh temporary data folder (SQLite in it),
/// driven in-process; the folder is removed afterwards.
func withRegistry(
    configure: (inout ServerConfiguration) -> Void = { _ in },
    _ test: @Sendable (any TestClientProtocol, String) async throws -> Void
) async throws {
    let folder = temporaryDataFolder("wharf-test")
    defer { try? FileManager.default.removeItem(atPath: folder) }
    var configuration = try testConfiguration(dataDirectory: folder)
    configuration.authEnabled = false
    configure(&configuration)
    let assembled = try assembleApplication(configuration: configuration, logger: testLogger)
    let database = assembled.services.database
    try await assembled.application.test(.router) { client in
        try await waitForFirstAttempt(database)
        try await test(client, folder)
    }
}

/// Quiet: the start-up lines `wharf serve` logs (certificate, limits, "auth is off") would bury test output.
let testLogger: Logger = {
    var logger = Logger(label: "wharf-test")
    logger.logLevel = .error
    return logger
}()

/// A path for a data folder that does not exist yet.
func temporaryDataFolder(_ prefix: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)").path
}

/// The defaults, with the data (and so the SQLite database) in `dataDirectory`, created with the test run's
/// certificate in it (unless `certificate` is false: then `buildApplication` generates one), and without fsync,
/// which only costs time in tests.
func testConfiguration(dataDirectory: String, certificate: Bool = true) throws -> ServerConfiguration {
    var configuration = ServerConfiguration()
    configuration.dataDirectory = dataDirectory
    configuration.storageFsync = false
    if certificate {
        let pair = try sharedCertificate.get()
        let private0700: [FileAttributeKey: Any] = [.posixPermissions: 0o700]
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true, attributes: private0700)
        try FileManager.default.createDirectory(atPath: configuration.certsDirectory, withIntermediateDirectories: true, attributes: private0700)
        let keyPath = CertificateBootstrap.keyPath(certsDirectory: configuration.certsDirectory)
        try pair.certificate.write(to: URL(fileURLWithPath: CertificateBootstrap.certificatePath(certsDirectory: configuration.certsDirectory)))
        try pair.key.write(to: URL(fileURLWithPath: keyPath))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: keyPath)
    }
    return configuration
}

/// One certificate and key for the whole test run, copied into each data folder: generating an RSA-2048 key
/// costs up to a second of CPU, and dozens of tests doing it at once on two cores starve every other task.
/// `buildApplication` still reads and checks the pair it finds; LiveTLSTests let it generate its own.
let sharedCertificate: Result<(certificate: Data, key: Data), any Error> = Result {
    let folder = temporaryDataFolder("wharf-certs")
    defer { try? FileManager.default.removeItem(atPath: folder) }
    _ = try CertificateBootstrap.ensure(certsDirectory: folder, extraHostnames: [], logger: testLogger)
    return (
        try Data(contentsOf: URL(fileURLWithPath: CertificateBootstrap.certificatePath(certsDirectory: folder))),
        try Data(contentsOf: URL(fileURLWithPath: CertificateBootstrap.keyPath(certsDirectory: folder)))
    )
}

/// Waits until the database service's first attempt to connect and migrate has ended. The application waits for
/// it at most 10 s before serving (then answers 503 "starting"), which a machine running every test at once may
/// exceed; these tests are about what comes after.
func waitForFirstAttempt(_ database: DatabasePool) async throws {
    let deadline = ContinuousClock.now + .seconds(120)
    while database.health.state == .starting && ContinuousClock.now < deadline {
        try await Task.sleep(for: .milliseconds(10))
    }
    try #require(database.health.state != .starting, "the database service made no attempt in 120 s")
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
