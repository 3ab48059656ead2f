/// Why the TLS certificate and key could not be created, read or used.
///
/// ``description`` is a single line naming the file and the reason, ready for the CLI and the log,
/// for example `wharf-data/certs/server.crt: certificate expired on 2026-01-01T00:00:00Z`.
public struct TLSError: Error, CustomStringConvertible, Sendable {
    /// What kind of problem this is, for callers and tests that branch on it.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { self.name }

        /// One of the two files exists without the other.
        public static let incompleteKeyPair = Code("incompleteKeyPair")
        /// A file is not PEM, or holds no certificate / private key we can parse.
        public static let invalidPEM = Code("invalidPEM")
        /// The private key is not the one the certificate was issued for.
        public static let keyMismatch = Code("keyMismatch")
        /// The certificate's notValidAfter is not in the future.
        public static let expired = Code("expired")
        /// An extra hostname is neither an IP address nor a DNS name.
        public static let invalidHostname = Code("invalidHostname")
        /// Reading, writing or creating a file or folder failed.
        public static let fileSystem = Code("fileSystem")
        /// Creating the key or certificate failed.
        public static let generation = Code("generation")
    }

    public var code: Code
    /// One line: the file concerned (if any) and the reason.
    public var description: String

    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }
}
