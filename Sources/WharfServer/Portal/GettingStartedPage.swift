import Foundation
import Hummingbird
import NIOCore

/// `/getting-started`: how to trust this server's certificate and log in from docker, podman, containerd and
/// skopeo, written for the host name the visitor reached; `/ca.crt` downloads the certificate (the generated one is
/// self-signed, so it is its own CA). The fingerprint on the page lets a person check what they downloaded.
struct GettingStartedPage<Context: WharfContext>: Sendable {
    let portal: Portal

    func addRoutes(to router: some RouterMethods<Context>) {
        router.get("/getting-started", use: page)
        router.get("/ca.crt", use: certificate)
    }

    @Sendable func page(_ request: Request, context: Context) async throws -> Response {
        let visit = context.portal
        let host = portal.host(request: request, context: context)
        let configuration = portal.services.services.configuration
        var values: [String: Any] = [
            "host": host,
            "tls": configuration.tls,
            "user": visit.user?.name ?? "YOUR-NAME",
            "signedIn": visit.user != nil,
        ]
        if configuration.tls, let info = try? CertificateBootstrap.inspect(certsDirectory: configuration.certsDirectory) {
            values["certificate"] = [
                "subject": info.subject,
                "fingerprint": info.sha256Fingerprint,
                "expires": PortalFormat.day(info.notValidAfter),
                "names": info.subjectAlternativeNames.joined(separator: ", "),
            ]
        }
        let folder = Portal.segment(host).replacingOccurrences(of: "%3A", with: ":")
        values["certFolder"] = folder
        return await portal.page("getting-started", title: "Getting started", visit: visit, request: request, context: context, values: values)
    }

    @Sendable func certificate(_ request: Request, context: Context) async throws -> Response {
        let configuration = portal.services.services.configuration
        guard configuration.tls else {
            throw PortalError.notFound("This server does not serve TLS itself (tls is off): the proxy in front of it holds the certificate.")
        }
        let path = CertificateBootstrap.certificatePath(certsDirectory: configuration.certsDirectory)
        let bytes = try CertificateBootstrap.readFile(at: path)
        return Response(
            status: .ok,
            headers: [
                .contentType: "application/x-pem-file",
                .contentDisposition: "attachment; filename=\"ca.crt\"",
                .cacheControl: "no-cache",
            ],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes))
        )
    }
}
