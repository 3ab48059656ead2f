import AsyncHTTPClient
import Foundation
import HummingbirdTesting
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOTLS
import Testing

@testable import WharfServer

/// The application as `wharf serve` builds it by default (TLS and auth on), on a real port: the certificate it
/// generates into the data folder is served over HTTPS, ALPN offers HTTP/2 and HTTP/1.1, and `/v2/` answers both
/// with the registry's headers and a challenge that points at its own HTTPS token endpoint.
@Suite struct LiveTLSTests {
    /// Serves a fresh application with TLS on; `test` gets the port and the generated certificate to trust.
    func withTLSServer(_ test: @Sendable (_ port: Int, _ certificate: NIOSSLCertificate) async throws -> Void) async throws {
        let folder = temporaryDataFolder("wharf-tls")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let configuration = try testConfiguration(dataDirectory: folder, certificate: false)
        #expect(configuration.tls && configuration.authEnabled)
        let assembled = try assembleApplication(configuration: configuration, logger: testLogger)
        let path = CertificateBootstrap.certificatePath(certsDirectory: configuration.certsDirectory)
        let certificate = try #require(try NIOSSLCertificate.fromPEMFile(path).first)
        let database = assembled.services.database
        // The live framework's own client speaks plain HTTP/1.1; only its port is used here.
        try await assembled.application.test(.live) { client in
            try await waitForFirstAttempt(database)
            try await test(try #require(client.port), certificate)
        }
    }

    /// An HTTPS client that trusts `certificate` only.
    func withHTTPSClient(
        trusting certificate: NIOSSLCertificate,
        version: HTTPClient.Configuration.HTTPVersion,
        _ body: (HTTPClient) async throws -> Void
    ) async throws {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates([certificate])
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.httpVersion = version
        let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
        do {
            try await body(client)
        } catch {
            try await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    /// `GET /v2/` without credentials: the challenge, with the headers every `/v2` answer carries.
    func expectChallenge(_ client: HTTPClient, port: Int, version: HTTPVersion) async throws {
        let response = try await client.execute(HTTPClientRequest(url: "https://localhost:\(port)/v2/"), timeout: .seconds(30))
        #expect(response.version == version)
        #expect(response.status == .unauthorized)
        #expect(response.headers.first(name: "Docker-Distribution-API-Version") == "registry/2.0")
        let challenge = try #require(response.headers.first(name: "WWW-Authenticate"))
        #expect(challenge.hasPrefix("Bearer realm=\"https://localhost:\(port)/v2/token\""), "\(challenge)")
        #expect(response.headers.first(name: "Content-Type")?.hasPrefix("application/json") == true)
        let body = try await response.body.collect(upTo: 1 << 20)
        #expect(String(buffer: body).contains("\"UNAUTHORIZED\""))

        let health = try await client.execute(HTTPClientRequest(url: "https://localhost:\(port)/health"), timeout: .seconds(30))
        #expect(health.version == version && health.status == .ok)
        #expect(String(buffer: try await health.body.collect(upTo: 1024)) == "ok")
    }

    @Test func answersOverHTTPSWithHTTP1() async throws {
        try await withTLSServer { port, certificate in
            try await withHTTPSClient(trusting: certificate, version: .http1Only) { client in
                try await expectChallenge(client, port: port, version: .http1_1)
            }
        }
    }

    @Test func answersOverHTTP2WhenTheClientOffersIt() async throws {
        try await withTLSServer { port, certificate in
            try await withHTTPSClient(trusting: certificate, version: .automatic) { client in
                try await expectChallenge(client, port: port, version: .http2)
            }
        }
    }

    /// The certificate is what the client checks: trusting only the system's roots, it refuses the self-signed one.
    @Test func aClientThatDoesNotTrustTheCertificateRefusesIt() async throws {
        try await withTLSServer { port, _ in
            await #expect(throws: NIOSSLError.self) {
                _ = try await negotiatedProtocol(port: port, trusting: nil, offering: ["h2", "http/1.1"])
            }
        }
    }

    /// ALPN as a bare NIOSSL client sees it: `h2` when offered, `http/1.1` when only that is offered.
    @Test func alpnSelectsH2OrHTTP1() async throws {
        try await withTLSServer { port, certificate in
            let preferred = try await negotiatedProtocol(port: port, trusting: certificate, offering: ["h2", "http/1.1"])
            #expect(preferred == "h2")
            let fallback = try await negotiatedProtocol(port: port, trusting: certificate, offering: ["http/1.1"])
            #expect(fallback == "http/1.1")
        }
    }

    /// Connects with TLS offering `protocols` and returns what the handshake settled on. Without `certificate`
    /// the client trusts the system's roots.
    func negotiatedProtocol(port: Int, trusting certificate: NIOSSLCertificate?, offering protocols: [String]) async throws -> String? {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let certificate { tls.trustRoots = .certificates([certificate]) }
        tls.applicationProtocols = protocols
        let context = try NIOSSLContext(configuration: tls)
        let group = MultiThreadedEventLoopGroup.singleton
        let negotiated = group.next().makePromise(of: String?.self)
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: "localhost"))
                    try channel.pipeline.syncOperations.addHandler(HandshakeRecorder(promise: negotiated))
                }
            }
            .connect(host: "localhost", port: port)
            .get()
        do {
            let result = try await negotiated.futureResult.get()
            try await channel.close()
            return result
        } catch {
            try? await channel.close()
            throw error
        }
    }
}

/// Completes its promise with the protocol ALPN chose once the TLS handshake is done, or with the error that
/// ended the connection first.
final class HandshakeRecorder: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    let promise: EventLoopPromise<String?>

    init(promise: EventLoopPromise<String?>) { self.promise = promise }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted(let negotiated) = event as? TLSUserEvent { promise.succeed(negotiated) }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(ChannelError.alreadyClosed)
        context.fireChannelInactive()
    }
}
