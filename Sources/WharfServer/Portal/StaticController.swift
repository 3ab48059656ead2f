import HTTPTypes
import Hummingbird
import NIOCore

/// Serves ``StaticAssets`` under `GET`/`HEAD /static/{name}`: cached for a year as immutable (the names carry
/// the content's hash), a strong ETag with `304` on `If-None-Match`, and the gzip copy to clients that accept it.
struct StaticController<Context: RequestContext>: Sendable {
    let assets: StaticAssets

    /// The cache policy of every file: its name changes with its content.
    static var cacheControl: String { "public, max-age=31536000, immutable" }

    static var contentTypeOptions: HTTPField.Name { HTTPField.Name("X-Content-Type-Options")! }

    /// Adds `GET` and `HEAD /static/:name`; names with `/` never reach it, unknown names get 404.
    func addRoutes(to router: some RouterMethods<Context>) {
        for method: HTTPRequest.Method in [.get, .head] {
            router.on("/static/:name", method: method) { request, context in
                respond(request, name: context.parameters.get("name") ?? "")
            }
        }
    }

    func respond(_ request: Request, name: String) -> Response {
        guard let file = assets.file(named: name) else {
            return Response(
                status: .notFound,
                headers: [.contentType: "text/plain; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: "not found\n"))
            )
        }
        let gzip = file.gzipped != nil && Self.acceptsGzip(request.headers[values: .acceptEncoding])
        var headers: HTTPFields = [
            .contentType: file.contentType,
            .cacheControl: Self.cacheControl,
            .eTag: gzip ? file.gzipETag : file.etag,
            Self.contentTypeOptions: "nosniff",
        ]
        if file.gzipped != nil { headers[.vary] = "Accept-Encoding" }
        if let tags = request.headers[.ifNoneMatch], Self.matches(tags, etags: [file.etag, file.gzipETag]) {
            headers[.contentType] = nil
            return Response(status: .notModified, headers: headers)
        }
        var body = file.body
        if gzip, let gzipped = file.gzipped {
            headers[.contentEncoding] = "gzip"
            body = gzipped
        }
        if request.method == .head {
            headers[.contentLength] = String(body.readableBytes)
            return Response(status: .ok, headers: headers)
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
    }

    /// Whether an `Accept-Encoding` (RFC 9110 §12.5.3) takes gzip: `gzip` or `x-gzip` with a q-value above 0, or
    /// `*` above 0 when gzip is not named. No header means no compression.
    static func acceptsGzip(_ values: [String]) -> Bool {
        var gzip: Double?
        var wildcard: Double?
        for value in values {
            for item in value.split(separator: ",") {
                let parts = item.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
                guard let coding = parts.first?.lowercased(), !coding.isEmpty else { continue }
                var quality = 1.0
                for parameter in parts.dropFirst() {
                    let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                    if pair.count == 2, pair[0].lowercased() == "q" { quality = Double(pair[1]) ?? 0 }
                }
                switch coding {
                case "gzip", "x-gzip": gzip = max(gzip ?? 0, quality)
                case "*": wildcard = quality
                default: break
                }
            }
        }
        if let gzip { return gzip > 0 }
        return (wildcard ?? 0) > 0
    }

    /// Whether an `If-None-Match` list names one of `etags` (weak comparison, as RFC 9110 §13.1.2 asks) or is `*`.
    static func matches(_ header: String, etags: [String]) -> Bool {
        for item in header.split(separator: ",") {
            var tag = item.trimmingCharacters(in: .whitespaces)
            if tag == "*" { return true }
            if tag.hasPrefix("W/") { tag.removeFirst(2) }
            if etags.contains(tag) { return true }
        }
        return false
    }
}
