import CLDAP

/// A failed libldap call, classified by what the caller does next. Internal: ``LDAPDirectory`` turns it into a
/// refusal or a ``DirectoryUnavailable``. Messages name the server and the DN, never a password.
struct LDAPError: Error, Sendable, CustomStringConvertible {
    struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// No answer, a timeout, a TLS failure, a server that is busy or shutting down: the connection is no
        /// longer usable and the directory counts as unreachable.
        static let unavailable = Code("unavailable")
        /// `invalidCredentials` (49): the DN and password do not bind.
        static let invalidCredentials = Code("invalidCredentials")
        /// `noSuchObject` (32): the search base does not exist.
        static let noSuchObject = Code("noSuchObject")
        /// `invalidDNSyntax` (34): what was given as a DN is not one, so no entry has it.
        static let invalidDN = Code("invalidDN")
        /// Any other result the server gave (insufficient access, a bad filter, ...): the server answered, the
        /// connection stays usable.
        static let operationFailed = Code("operationFailed")

        var description: String { name }
    }

    var code: Code
    /// libldap's result code (negative for client-side failures).
    var resultCode: Int32
    var message: String

    init(_ code: Code, resultCode: Int32, _ message: String) {
        self.code = code
        self.resultCode = resultCode
        self.message = message
    }

    /// Classifies libldap's `resultCode`; `context` says which call on which server (e.g. "bind to ldap://h:389").
    init(resultCode: Int32, context: String, diagnostic: String? = nil) {
        let code: Code
        switch resultCode {
        case LDAP_INVALID_CREDENTIALS: code = .invalidCredentials
        case LDAP_NO_SUCH_OBJECT: code = .noSuchObject
        case LDAP_INVALID_DN_SYNTAX: code = .invalidDN
        // Negative codes are the client's own failures (server down, timeout, connect or TLS error, local error).
        case ..<0, LDAP_BUSY, LDAP_UNAVAILABLE: code = .unavailable
        default: code = .operationFailed
        }
        var message = "\(context): \(String(cString: ldap_err2string(resultCode))) (\(resultCode))"
        if let diagnostic, !diagnostic.isEmpty { message += ": \(diagnostic)" }
        self.init(code, resultCode: resultCode, message)
    }

    /// A search that matched more entries than the server returns at once (its size limit).
    static func sizeLimitExceeded(_ message: String) -> LDAPError {
        LDAPError(.operationFailed, resultCode: LDAP_SIZELIMIT_EXCEEDED, message)
    }

    /// Whether the connection this came from must be replaced.
    var connectionIsBroken: Bool { code == .unavailable }

    var description: String { message }
}
