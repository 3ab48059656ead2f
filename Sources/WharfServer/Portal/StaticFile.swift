import NIOCore

/// One file the portal serves under `/static/NAME`, held in memory with its gzip copy.
struct StaticFile: Sendable {
    /// The hashed name in the URL, e.g. `wharf.0123456789ab.css`.
    let name: String
    let contentType: String
    let body: ByteBuffer
    /// The gzip copy, kept only when it saves a useful share of the bytes (see ``StaticAssets``).
    let gzipped: ByteBuffer?
    /// The first 12 hex digits of the body's SHA-256 (also in ``name``).
    let hash: String

    /// The strong ETag of the identity body; the gzip copy is another representation, so it has its own.
    var etag: String { "\"\(hash)\"" }
    var gzipETag: String { "\"\(hash)-gzip\"" }
}
