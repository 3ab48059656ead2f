/// Why the portal's static files could not be loaded at start-up (a packaging fault, not a client's).
struct StaticAssetsError: Error, Sendable, Hashable, CustomStringConvertible {
    struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        var description: String { name }

        /// The `static` resource folder, or one of its `css` and `js` folders, is missing or empty.
        static let missing = Code(name: "missing")
        /// A file could not be read.
        static let unreadable = Code(name: "unreadable")
        /// Two files would be served under the same hashed name.
        static let duplicateName = Code(name: "duplicate name")
        /// Compressing a file failed.
        static let compression = Code(name: "compression")
    }

    var code: Code
    /// One line: what failed and where.
    var message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    var description: String { "static files: \(message)" }
}
