import Hummingbird

/// The first middleware of the `/v2` group: every response passes here on its way out. An error thrown by the door
/// or the registry becomes OCI error JSON (``OCIErrorResponse``, the one mapping), and every response gets
/// `Docker-Distribution-API-Version` and absolute `Location`s.
struct RegistryResponseMiddleware<Context: WharfContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            response = OCIErrorResponse.response(for: error, method: request.method, logger: context.logger)
        }
        response.finishRegistryResponse(externalBase: context.externalBase)
        return response
    }
}

extension Response {
    /// What every `/v2` response carries (the only place that sets `Docker-Distribution-API-Version`). A relative
    /// `Location` is made absolute when `externalBase` is set (`external_url` or a trusted proxy's forwarded host).
    mutating func finishRegistryResponse(externalBase: String) {
        headers[.dockerDistributionAPIVersion] = "registry/2.0"
        if !externalBase.isEmpty, let location = headers[.location], location.hasPrefix("/") {
            headers[.location] = externalBase + location
        }
    }
}

/// A request under `/v2` that no registry route takes (a method the registry does not know, such as `PROPFIND`)
/// gets the registry's own answer, 405 `UNSUPPORTED` in OCI error JSON, instead of the router's bare 404. Placed
/// before the router's routes; it looks at nothing but the router's not-found error.
struct RegistryFallbackMiddleware<Context: WharfContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound && Self.isRegistryPath(request.uri.path) {
            var response = OCIErrorResponse.render(
                RegistryError(.unsupported, detail: "\(request.method) is not supported here"),
                method: request.method
            )
            response.finishRegistryResponse(externalBase: context.externalBase)
            return response
        }
    }

    static func isRegistryPath(_ path: String) -> Bool { path == "/v2" || path.hasPrefix("/v2/") }
}
