/// Why a retention policy could not be stored or applied, or why an immutable tag refused a change.
///
/// Each surface says it in its own dialect: `DENIED` (403) on `/v2`, a JSON error on `/api/v1`, a message on the
/// page, one line and a non-zero exit in the CLI.
public struct RetentionError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String

        init(_ rawValue: String) {
            self.rawValue = rawValue
        }

        public var description: String { rawValue }

        /// A field of a policy is out of range or a pattern does not compile; ``RetentionError/field`` names it.
        public static let invalidPolicy = Code("invalidPolicy")
        /// An immutable tag would be moved to other content or deleted.
        public static let immutableTag = Code("immutableTag")
        /// The caller may not see or change this policy (members view, owners and admins change, admins alone
        /// the global default).
        public static let denied = Code("denied")
        /// No namespace of that name (or none the caller may see).
        public static let namespaceUnknown = Code("namespaceUnknown")
    }

    public var code: Code
    public var message: String
    /// The policy field at fault (`keep_latest`, `tag_match`, ...), for forms that show the error next to it.
    public var field: String?

    public init(_ code: Code, _ message: String, field: String? = nil) {
        self.code = code
        self.message = message
        self.field = field
    }

    public var description: String { message }
}
