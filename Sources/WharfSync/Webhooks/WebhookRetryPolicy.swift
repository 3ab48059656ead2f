/// When a failed delivery is tried again: after 1 s, then twice as long after each failure (at most an hour
/// apart), and given up (`failed`) after ``maximumAttempts`` tries; a re-send starts over.
public struct WebhookRetryPolicy: Sendable, Equatable {
    public var initialDelay: Duration
    public var maximumDelay: Duration
    public var maximumAttempts: Int

    public init(initialDelay: Duration = .seconds(1), maximumDelay: Duration = .seconds(3600), maximumAttempts: Int = 10) {
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
        self.maximumAttempts = maximumAttempts
    }

    /// The wait after the `attempt`-th try failed; nil when that was the last try.
    public func delay(afterAttempt attempt: Int) -> Duration? {
        guard attempt < maximumAttempts else { return nil }
        var delay = initialDelay
        for _ in 1..<max(attempt, 1) {
            delay *= 2
            if delay >= maximumDelay { return maximumDelay }
        }
        return min(delay, maximumDelay)
    }
}
