/// The lockout rule: `attempts` failed password logins within `window` lock password logins for `duration`.
public struct LockoutPolicy: Sendable {
    public var attempts: Int
    public var window: Duration
    public var duration: Duration
    /// The same wrong password from the same client within this time counts once: containerd sends a failed
    /// login again as a `GET` after its `POST`, and one typo must not count twice.
    public var repeatWindow: Duration = .seconds(60)

    /// The values come from the configuration (`auth.lockout_*`); the repeat window is fixed.
    public init(attempts: Int, window: Duration, duration: Duration) {
        self.attempts = attempts
        self.window = window
        self.duration = duration
    }
}
