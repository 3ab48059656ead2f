/// A failure of authentication or authorisation input: a malformed scope, a token that does not verify, a
/// password that breaks the rules.
///
/// Every code is something a client can cause, so each surface maps all of them to a 4xx (or a 503 for a full
/// password-check queue) in its own dialect: scope codes to a 400 with the message as the reason, token and
/// credential codes to a 401 (without telling the client which check failed), `DENIED` to a 403 with the
/// reason, password codes to a validation error.
public struct AuthError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, stable for tests and for the mapping to HTTP.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String

        init(_ rawValue: String) { self.rawValue = rawValue }

        public var description: String { rawValue }

        // Scopes (`scope=` of the token endpoint).
        public static let scopeMalformed = Code("SCOPE_MALFORMED")
        public static let scopeUnknownType = Code("SCOPE_UNKNOWN_TYPE")
        public static let scopeNameInvalid = Code("SCOPE_NAME_INVALID")
        public static let scopeUnknownAction = Code("SCOPE_UNKNOWN_ACTION")

        // Tokens (Bearer JWTs).
        public static let tokenMalformed = Code("TOKEN_MALFORMED")
        public static let tokenAlgorithm = Code("TOKEN_ALGORITHM")
        public static let tokenUnknownKey = Code("TOKEN_UNKNOWN_KEY")
        public static let tokenSignature = Code("TOKEN_SIGNATURE")
        public static let tokenIssuer = Code("TOKEN_ISSUER")
        public static let tokenAudience = Code("TOKEN_AUDIENCE")
        public static let tokenExpired = Code("TOKEN_EXPIRED")
        public static let tokenNotYetValid = Code("TOKEN_NOT_YET_VALID")

        // Signing keys.
        public static let keyInvalid = Code("KEY_INVALID")

        // Passwords.
        public static let passwordTooShort = Code("PASSWORD_TOO_SHORT")
        public static let passwordTooLong = Code("PASSWORD_TOO_LONG")
        public static let passwordInvalid = Code("PASSWORD_INVALID")

        // Password checks refused before they run.
        /// The password-check queue is full: try again shortly (503).
        public static let passwordChecksBusy = Code("PASSWORD_CHECKS_BUSY")
        /// This client has too many checks waiting, or too many failed ones lately (429).
        public static let passwordChecksThrottled = Code("PASSWORD_CHECKS_THROTTLED")
        /// The LDAP directory that owns this login did not answer (503): never "wrong password", never counted
        /// toward lockout.
        public static let directoryUnavailable = Code("DIRECTORY_UNAVAILABLE")

        // Logins and access decisions.
        /// Wrong, unknown, disabled or locked credentials: one answer for all, so a client cannot tell them apart.
        public static let invalidCredentials = Code("INVALID_CREDENTIALS")
        /// The caller may not do what it asked, whatever token it gets; the message is the reason (``Authorizer``).
        public static let denied = Code("DENIED")
    }

    public var code: Code
    /// One line, safe to show to the client (input is quoted only as a short excerpt).
    public var message: String
    /// When asking again may help (``Code/passwordChecksBusy``, ``Code/passwordChecksThrottled``).
    public var retryAfter: Duration?

    public init(_ code: Code, _ message: String, retryAfter: Duration? = nil) {
        self.code = code
        self.message = message
        self.retryAfter = retryAfter
    }

    public var description: String { "\(code): \(message)" }

    /// A short, single-line excerpt of client input for messages.
    static func excerpt(_ text: some StringProtocol) -> String {
        let line = String(text.map { $0.isNewline || $0.asciiValue.map { $0 < 0x20 || $0 == 0x7F } == true ? "?" : $0 })
        return line.count > 80 ? String(line.prefix(80)) + "…" : line
    }
}
