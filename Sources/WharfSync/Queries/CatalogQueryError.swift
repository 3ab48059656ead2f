/// Why a catalogue read, a star or a comment was refused. The API maps each code to its status in one place.
public struct CatalogQueryError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public var description: String { rawValue }

        /// No such repository, tag, manifest or comment, or one the caller may not see: the two answer alike, so a
        /// private repository's existence does not leak.
        public static let notFound = Code(rawValue: "notFound")
        /// The caller sees it but may not do this (delete someone else's comment).
        public static let denied = Code(rawValue: "denied")
        /// Only a signed-in user may do this (star, comment); anonymous callers and the service account may not.
        public static let unauthenticated = Code(rawValue: "unauthenticated")
        /// A value the caller sent is out of bounds (an empty or too long comment, a cursor this reader did not
        /// make).
        public static let invalid = Code(rawValue: "invalid")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
