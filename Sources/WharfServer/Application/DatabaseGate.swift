import Hummingbird
import WharfCore
import WharfDatabase

/// Answers 503 with the reason while the database is not usable (starting, unreachable, being migrated), so a
/// client sees "try again" instead of a half-working server: OCI error JSON with code `UNAVAILABLE` on `/v2`,
/// a one-line text elsewhere. `/health` always answers (the process is alive even when its database is not).
struct DatabaseGate<Next: HTTPResponder>: HTTPResponder {
    typealias Context = Next.Context

    let next: Next
    let health: DatabaseHealth

    func respond(to request: Request, context: Context) async throws -> Response {
        guard let reason = health.unavailableReason, request.uri.path != "/health" else {
            return try await next.respond(to: request, context: context)
        }
        let retryAfter = String(OCIErrorResponse.databaseRetryAfterSeconds)
        if request.uri.path == "/v2" || request.uri.path.hasPrefix("/v2/") {
            let error = RegistryError(.unavailable, detail: reason, headers: [("Retry-After", retryAfter)])
            var response = OCIErrorResponse.render(error, method: request.method)
            response.finishRegistryResponse(externalBase: "")
            return response
        }
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        headers[.retryAfter] = retryAfter
        return Response(
            status: .serviceUnavailable,
            headers: headers,
            body: .init(byteBuffer: ByteBuffer(string: "Wharf is unavailable: \(reason)\n"))
        )
    }
}
