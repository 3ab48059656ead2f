import Synchronization

/// Counts failed password checks per client address and refuses further checks from an address that failed
/// `limit` times within `window`, until the oldest of those failures leaves the window.
///
/// Only failures count: fifty correct logins at once from one address (a CI farm) all go through, while a
/// guesser gets `limit` guesses per window instead of a thousand a second. The lockout of an account is separate
/// (it protects one account from many addresses; this protects every account from one address).
///
/// Bounded memory: at most ``maximumClients`` addresses are remembered; when full, addresses whose failures
/// have all left the window are forgotten first, then the whole table (forgetting only lets a guesser start
/// over, it never refuses anyone wrongly).
public final class FailureLimiter: Sendable {
    public let limit: Int
    public let window: Duration
    public let maximumClients: Int
    private let failures = Mutex<[String: [ContinuousClock.Instant]]>([:])

    /// - Parameter limit: failures allowed per window; 0 turns the limiter off.
    public init(limit: Int, window: Duration, maximumClients: Int = 100_000) {
        self.limit = limit
        self.window = window
        self.maximumClients = maximumClients
    }

    /// How long `client` must wait before its next check, or nil when it may go ahead.
    public func retryAfter(client: String, now: ContinuousClock.Instant = .now) -> Duration? {
        guard limit > 0 else { return nil }
        let start = now - window
        return failures.withLock { table -> Duration? in
            guard var times = table[client] else { return nil }
            times.removeAll { $0 <= start }
            table[client] = times.isEmpty ? nil : times
            guard times.count >= limit, let oldest = times.first else { return nil }
            return oldest + window - now
        }
    }

    /// Counts one failed check by `client`.
    public func recordFailure(client: String, now: ContinuousClock.Instant = .now) {
        guard limit > 0 else { return }
        let start = now - window
        failures.withLock { table in
            if table[client] == nil, table.count >= maximumClients {
                table = table.filter { $0.value.last.map { $0 > start } ?? false }
                if table.count >= maximumClients { table.removeAll(keepingCapacity: true) }
            }
            var times = table[client, default: []]
            times.removeAll { $0 <= start }
            times.append(now)
            // Only the newest `limit` matter for the decision.
            if times.count > limit { times.removeFirst(times.count - limit) }
            table[client] = times
        }
    }
}
