/// A failure a registry client can cause or observe, in the vocabulary of the OCI distribution spec.
///
/// This is the single table of OCI error codes and the HTTP status each one maps to, rendered on `/v2` as
/// `{"errors":[{code,message,detail}]}`. Only the HTTP layer throws it: the domain below throws `ContentError`,
/// `StorageError` or `DatabaseError`, which ``OCIErrorResponse`` turns into one of these.
public struct RegistryError: Error, Sendable, CustomStringConvertible {
    /// One OCI error code with the status the spec gives it.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public let status: Int
        public let defaultMessage: String

        init(_ rawValue: String, _ status: Int, _ defaultMessage: String) {
            self.rawValue = rawValue
            self.status = status
            self.defaultMessage = defaultMessage
        }

        public var description: String { rawValue }

        public static let blobUnknown = Code("BLOB_UNKNOWN", 404, "blob unknown to registry")
        public static let blobUploadInvalid = Code("BLOB_UPLOAD_INVALID", 400, "blob upload invalid")
        /// A chunk that does not start where the upload stands (the spec answers 416).
        public static let blobUploadOutOfOrder = Code("BLOB_UPLOAD_INVALID", 416, "chunk out of order")
        public static let blobUploadUnknown = Code("BLOB_UPLOAD_UNKNOWN", 404, "blob upload unknown to registry")
        public static let digestInvalid = Code("DIGEST_INVALID", 400, "provided digest did not match uploaded content")
        public static let manifestBlobUnknown = Code("MANIFEST_BLOB_UNKNOWN", 404, "manifest references a manifest or blob unknown to registry")
        public static let manifestInvalid = Code("MANIFEST_INVALID", 400, "manifest invalid")
        public static let manifestUnknown = Code("MANIFEST_UNKNOWN", 404, "manifest unknown to registry")
        public static let nameInvalid = Code("NAME_INVALID", 400, "invalid repository name")
        public static let nameUnknown = Code("NAME_UNKNOWN", 404, "repository name not known to registry")
        public static let sizeInvalid = Code("SIZE_INVALID", 400, "provided length did not match content length")
        public static let tooLarge = Code("SIZE_INVALID", 413, "content too large")
        public static let tagInvalid = Code("TAG_INVALID", 400, "invalid tag")
        public static let rangeInvalid = Code("RANGE_INVALID", 416, "requested range not satisfiable")
        public static let paginationInvalid = Code("PAGINATION_NUMBER_INVALID", 400, "invalid number of results requested")
        public static let unauthorized = Code("UNAUTHORIZED", 401, "authentication required")
        public static let denied = Code("DENIED", 403, "requested access to the resource is denied")
        public static let unsupported = Code("UNSUPPORTED", 405, "the operation is unsupported")
        public static let tooManyRequests = Code("TOOMANYREQUESTS", 429, "too many requests")
        public static let unavailable = Code("UNAVAILABLE", 503, "service unavailable")
        /// The registry's storage is full (``OCIErrorResponse/storageFull`` says why 507 and this code).
        public static let storageFull = Code("UNAVAILABLE", 507, "insufficient storage")
        /// A path that names no endpoint.
        public static let notFound = Code("NOT_FOUND", 404, "no such endpoint")
        /// Only for bugs: every error a client can cause has a 4xx code above.
        public static let unknown = Code("UNKNOWN", 500, "unknown error")
    }

    public var code: Code
    public var message: String
    public var detail: String?
    /// Extra response headers that belong to this error (for example `Range` on a 416 during an upload).
    public var headers: [(name: String, value: String)]

    public init(_ code: Code, _ message: String? = nil, detail: String? = nil, headers: [(name: String, value: String)] = []) {
        self.code = code
        self.message = message ?? code.defaultMessage
        self.detail = detail
        self.headers = headers
    }

    public var description: String {
        if let detail { return "\(code.rawValue): \(message) (\(detail))" }
        return "\(code.rawValue): \(message)"
    }
}
