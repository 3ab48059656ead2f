import Synchronization

/// Lets one kind of log line through at most once per ``interval``, and counts the ones it held back.
///
/// A full disk fails every write of every push at once: logging each would flood the log (and, were the log on
/// the same disk, fill it further) while one line a minute says all an operator needs.
final class LogThrottle: Sendable {
    let interval: Duration
    private let state = Mutex<State>(State())

    private struct State {
        var lastLogged: ContinuousClock.Instant?
        var suppressed = 0
    }

    init(interval: Duration) {
        self.interval = interval
    }

    /// Whether to log now; when so, also how many lines were held back since the last one logged.
    func admit(now: ContinuousClock.Instant = .now) -> (log: Bool, suppressed: Int) {
        state.withLock { state in
            if let last = state.lastLogged, now < last + interval {
                state.suppressed += 1
                return (false, 0)
            }
            let suppressed = state.suppressed
            state.lastLogged = now
            state.suppressed = 0
            return (true, suppressed)
        }
    }
}
