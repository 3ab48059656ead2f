import Hummingbird

/// A path that no route takes, outside the registry (`/v2`), the API (`/api/`) and the static files, is a page
/// that does not exist: the portal's 404 page, with the visitor's session (so the header is theirs), rather than an
/// empty 404. It looks at nothing but the router's not-found error.
struct PortalFallbackMiddleware<Context: WharfContext>: RouterMiddleware {
    let session: PortalSessionMiddleware<Context>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound && Self.isPortalPath(request.uri.path) {
            return try await session.handle(request, context: context) { _, _ in throw PortalError.notFound() }
        }
    }

    static func isPortalPath(_ path: String) -> Bool {
        !(path == "/v2" || path.hasPrefix("/v2/") || path == "/api" || path.hasPrefix("/api/") || path.hasPrefix(StaticAssets.prefix))
    }
}
