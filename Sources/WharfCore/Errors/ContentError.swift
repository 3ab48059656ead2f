/// A failure of registry content (names, digests, manifests, blobs, uploads) in domain terms.
///
/// It says what went wrong, never how a protocol reports it: no status, no headers. Facts a client needs to go
/// on (where an upload stands, how large the content is, when to try again) are typed fields; each surface
/// turns them into its own dialect (the `/v2` routes into OCI error JSON with `Range`, `Content-Range` or
/// `Retry-After` headers).
public struct ContentError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String

        init(_ rawValue: String) {
            self.rawValue = rawValue
        }

        public var description: String { rawValue }

        /// A digest that does not parse, or content whose digest is not the one named.
        public static let digestInvalid = Code("digestInvalid")
        /// A manifest document that cannot be accepted.
        public static let manifestInvalid = Code("manifestInvalid")
        /// No such manifest (or tag) in the repository.
        public static let manifestUnknown = Code("manifestUnknown")
        /// A manifest refers to a blob or manifest the repository does not hold.
        public static let manifestBlobUnknown = Code("manifestBlobUnknown")
        /// No such blob in the repository.
        public static let blobUnknown = Code("blobUnknown")
        /// No such upload session (never started, finished, cancelled, purged, or of another repository).
        public static let uploadUnknown = Code("uploadUnknown")
        /// A chunk that does not start where the upload stands, or an upload another request is writing to;
        /// ``uploadOffset`` says where it stands.
        public static let outOfOrder = Code("outOfOrder")
        /// A byte range outside the content; ``contentSize`` gives the content's size.
        public static let rangeInvalid = Code("rangeInvalid")
        /// A repository name outside the grammar.
        public static let nameInvalid = Code("nameInvalid")
        /// A tag outside the grammar.
        public static let tagInvalid = Code("tagInvalid")
        /// A body whose length is not the one declared.
        public static let sizeInvalid = Code("sizeInvalid")
        /// Content larger than the configured or protocol limit.
        public static let tooLarge = Code("tooLarge")
        /// Too many upload sessions open for one account; ``retryAfterSeconds`` says when to try again.
        public static let tooManyUploads = Code("tooManyUploads")
    }

    public var code: Code
    public var message: String
    public var detail: String?
    /// `outOfOrder`: the bytes the upload holds, where the next chunk must start.
    public var uploadOffset: Int64?
    /// `rangeInvalid`: the size of the content the range was asked of.
    public var contentSize: Int64?
    /// `tooManyUploads`: when trying again may succeed.
    public var retryAfterSeconds: Int?

    public init(
        _ code: Code,
        _ message: String? = nil,
        detail: String? = nil,
        uploadOffset: Int64? = nil,
        contentSize: Int64? = nil,
        retryAfterSeconds: Int? = nil
    ) {
        self.code = code
        self.message = message ?? Self.defaultMessage(code)
        self.detail = detail
        self.uploadOffset = uploadOffset
        self.contentSize = contentSize
        self.retryAfterSeconds = retryAfterSeconds
    }

    /// The message when the thrower gives none, in the words the OCI error table uses for the same failure.
    static func defaultMessage(_ code: Code) -> String {
        switch code {
        case .digestInvalid: "provided digest did not match uploaded content"
        case .manifestInvalid: "manifest invalid"
        case .manifestUnknown: "manifest unknown to registry"
        case .manifestBlobUnknown: "manifest references a manifest or blob unknown to registry"
        case .blobUnknown: "blob unknown to registry"
        case .uploadUnknown: "blob upload unknown to registry"
        case .outOfOrder: "chunk out of order"
        case .rangeInvalid: "requested range not satisfiable"
        case .nameInvalid: "invalid repository name"
        case .tagInvalid: "invalid tag"
        case .sizeInvalid: "provided length did not match content length"
        case .tooLarge: "content too large"
        case .tooManyUploads: "too many open uploads"
        default: code.rawValue
        }
    }

    public var description: String {
        if let detail { return "\(code.rawValue): \(message) (\(detail))" }
        return "\(code.rawValue): \(message)"
    }
}
