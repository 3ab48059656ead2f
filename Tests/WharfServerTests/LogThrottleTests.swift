import Testing

@testable import WharfServer

/// ``LogThrottle``: one line per interval, the held-back ones counted in the next.
@Suite struct LogThrottleTests {
    /// The held-back count when `throttle` lets a line through at `now`, nil when it holds it back.
    static func admitted(_ throttle: LogThrottle, _ now: ContinuousClock.Instant) -> Int? {
        let answer = throttle.admit(now: now)
        return answer.log ? answer.suppressed : nil
    }

    @Test func letsOneLineThroughPerInterval() {
        let throttle = LogThrottle(interval: .seconds(60))
        let start = ContinuousClock.now
        #expect(Self.admitted(throttle, start) == 0)
        #expect(throttle.admit(now: start + .seconds(1)).log == false)
        #expect(throttle.admit(now: start + .seconds(59)).log == false)
        // A minute after the last line logged: the next one goes through and says how many were held back.
        #expect(Self.admitted(throttle, start + .seconds(60)) == 2)
        #expect(throttle.admit(now: start + .seconds(61)).log == false)
        #expect(Self.admitted(throttle, start + .seconds(125)) == 1)
    }
}
