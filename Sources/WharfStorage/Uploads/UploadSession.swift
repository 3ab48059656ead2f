import WharfCore

/// The state of one resumable blob upload, carried by the request that is writing to it.
///
/// The data lives in storage (`_uploads/<id>/data`); the hash state lives only in memory. After a restart the
/// session is rebuilt from storage with `hasher == nil`, and the hash is recomputed from the data on next use.
public struct UploadSession: Sendable {
    public let id: UploadID
    public let repository: RepositoryName
    /// Bytes received so far; the next chunk must start here.
    public internal(set) var offset: Int64
    var hasher: ContentHasher?
    public let startedAt: Double

    /// The `Range` header value the protocol reports for this session.
    public var rangeHeader: String { Self.rangeHeader(offset: offset) }

    /// The `Range` header value for an upload holding `offset` bytes (also reported with an out-of-order chunk).
    public static func rangeHeader(offset: Int64) -> String { "0-\(max(offset - 1, 0))" }
}
