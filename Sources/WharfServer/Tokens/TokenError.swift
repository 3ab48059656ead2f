import WharfAuth

/// Why the token endpoint refused a request. Every code is something a client can cause; the endpoint maps them
/// in one place (`TokenController.render`) to a status and to the body of the request's form: the registry's
/// `{"errors":[…]}` for `GET`, OAuth2's `{"error","error_description"}` for `POST`.
struct TokenError: Error, Sendable, Hashable, CustomStringConvertible {
    struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The registry error code (`GET`).
        let registryCode: String
        /// The OAuth2 error code (`POST`, RFC 6749 §5.2).
        let oauthCode: String
        let status: Int

        var description: String { registryCode }

        /// Wrong, unknown or disabled credentials: one answer for all, so a client cannot tell them apart.
        static let unauthorized = Code(registryCode: "UNAUTHORIZED", oauthCode: "invalid_grant", status: 401)
        /// A scope that does not parse.
        static let scopeInvalid = Code(registryCode: "SCOPE_INVALID", oauthCode: "invalid_scope", status: 400)
        /// A form that is missing a field or has a malformed one.
        static let requestInvalid = Code(registryCode: "REQUEST_INVALID", oauthCode: "invalid_request", status: 400)
        /// A `grant_type` this server does not implement.
        static let unsupportedGrantType = Code(registryCode: "UNSUPPORTED", oauthCode: "unsupported_grant_type", status: 400)
        /// Too many failed logins from the caller's address, or too many of its logins waiting to be checked.
        static let tooManyRequests = Code(registryCode: "TOOMANYREQUESTS", oauthCode: "temporarily_unavailable", status: 429)
        /// Every password-check slot is taken: try again shortly.
        static let unavailable = Code(registryCode: "UNAVAILABLE", oauthCode: "temporarily_unavailable", status: 503)
    }

    var code: Code
    /// One line, safe to show to the client.
    var message: String
    /// When to ask again (`Retry-After`), for ``Code/tooManyRequests`` and ``Code/unavailable``.
    var retryAfter: Duration?

    init(_ code: Code, _ message: String, retryAfter: Duration? = nil) {
        self.code = code
        self.message = message
        self.retryAfter = retryAfter
    }

    /// Whole seconds for `Retry-After`, at least one.
    var retryAfterSeconds: Int? {
        retryAfter.map { max(1, Int($0.components.seconds) + ($0.components.attoseconds > 0 ? 1 : 0)) }
    }

    var description: String { "\(code): \(message)" }
}

extension TokenError {
    /// The one mapping of the domain's refusals to the token endpoint's: wrong credentials are `UNAUTHORIZED`
    /// alike, throttled and busy password checks say when to ask again, and scope errors name the scope.
    init(_ error: AuthError) {
        switch error.code {
        case .invalidCredentials: self.init(.unauthorized, error.message)
        case .passwordChecksThrottled: self.init(.tooManyRequests, error.message, retryAfter: error.retryAfter ?? .seconds(1))
        case .passwordChecksBusy: self.init(.unavailable, error.message, retryAfter: error.retryAfter ?? .seconds(1))
        case .directoryUnavailable: self.init(.unavailable, error.message, retryAfter: error.retryAfter ?? .seconds(5))
        default: self.init(.scopeInvalid, error.message)
        }
    }
}
