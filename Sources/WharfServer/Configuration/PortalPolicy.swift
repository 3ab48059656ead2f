/// The portal's switches (`portal.*`).
public struct PortalPolicy: Sendable, Equatable {
    /// `portal.signup`: whether anyone may create an account on the sign-up page (the first account of an empty
    /// installation may always be made there, and becomes administrator).
    public var signup: Bool
    /// `portal.anonymous_browsing`: whether visitors who are not signed in see public namespaces.
    public var anonymousBrowsing: Bool
    /// `portal.session_idle` and `portal.session_lifetime`: when a browser's session ends.
    public var sessionIdle: Duration
    public var sessionLifetime: Duration
}
