/// The token server without HTTP: who the caller is (``Authenticator``), what they may do (``Authorizer``), and
/// the signed token that says so (``TokenIssuer``), for `/v2/token` and the registry's own checks.
public struct TokenService: Sendable {
    public let authenticator: Authenticator
    public let authorizer: Authorizer
    public let issuer: TokenIssuer
    /// The audience when a request names no `service`, and the one the registry accepts.
    public let defaultService: String

    public init(authenticator: Authenticator, authorizer: Authorizer, issuer: TokenIssuer, defaultService: String) {
        self.authenticator = authenticator
        self.authorizer = authorizer
        self.issuer = issuer
        self.defaultService = defaultService
    }

    /// Signs a token for `caller` with `access` for `service` (or ``defaultService``).
    public func issue(to caller: Caller, service: String?, access: [AccessScope]) throws -> IssuedToken {
        try issuer.issue(
            subject: caller.subject.name,
            audience: service.flatMap { $0.isEmpty ? nil : $0 } ?? defaultService,
            access: access,
            credential: caller.credential
        )
    }
}
