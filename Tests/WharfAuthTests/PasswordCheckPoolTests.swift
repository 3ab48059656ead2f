import Foundation
import Synchronization
import Testing

@testable import WharfAuth

/// Work that takes a little while and records its label in completion order.
private final class Recorder: Sendable {
    let order = Mutex<[String]>([])
    func work(_ label: String) -> @Sendable () -> Int {
        { [self] in
            Thread.sleep(forTimeInterval: 0.01)
            order.withLock { $0.append(label) }
            return 0
        }
    }
}

@Suite struct PasswordCheckPoolTests {
    @Test func clientsTakeTurns() async throws {
        // One address queues 30 checks, then another asks for one: it runs after at most a couple of the
        // flood's (those already taken by the thread), not after all 30.
        let pool = PasswordCheckPool(numberOfThreads: 1)
        let recorder = Recorder()
        let doneBefore = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<30 { group.addTask { try await pool.run(client: "flood", recorder.work("flood\(index)")) } }
            let deadline = ContinuousClock.now + .seconds(10)
            while pool.queued < 20, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(1)) }
            // Enqueued by this very call (not a child task that might start late on a busy machine).
            let doneBefore = recorder.order.withLock { $0.count }
            _ = try await pool.run(client: "person", recorder.work("person"))
            try await group.waitForAll()
            return doneBefore
        }
        let order = recorder.order.withLock { $0 }
        let position = try #require(order.firstIndex(of: "person"))
        // At most the check running when it arrived, and one more of the flood's in the round, come first.
        #expect(position - doneBefore <= 3, "the second client waited behind \(position - doneBefore) checks of the first")
        #expect(order.count == 31)
    }

    @Test func aClientWithAFullQueueIsRefusedAtOnceOthersAreNot() async throws {
        let pool = PasswordCheckPool(numberOfThreads: 1, maximumQueued: 100, maximumQueuedPerClient: 3)
        let recorder = Recorder()
        let codes = await withTaskGroup(of: AuthError.Code?.self) { group in
            for index in 0..<10 {
                group.addTask {
                    do {
                        _ = try await pool.run(client: "flood", recorder.work("flood\(index)"))
                        return nil
                    } catch {
                        return (error as? AuthError)?.code ?? .passwordInvalid
                    }
                }
            }
            return await group.reduce(into: [AuthError.Code]()) { if let code = $1 { $0.append(code) } }
        }
        #expect(!codes.isEmpty)
        #expect(codes.allSatisfy { $0 == .passwordChecksThrottled })
        // Another client still gets its turn.
        #expect(try await pool.run(client: "person", recorder.work("person")) == 0)
    }

    @Test func manyChecksFromOneClientWithinTheBoundAllRun() async throws {
        // A CI farm behind one address: 50 at once, all answered.
        let pool = PasswordCheckPool(numberOfThreads: 2)
        let recorder = Recorder()
        try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<50 { group.addTask { try await pool.run(client: "farm", recorder.work("farm\(index)")) } }
            try await group.waitForAll()
        }
        #expect(recorder.order.withLock { $0.count } == 50)
    }
}

@Suite struct FailureLimiterTests {
    @Test func failuresBeyondTheLimitWaitForTheWindow() {
        let limiter = FailureLimiter(limit: 3, window: .seconds(60))
        let start = ContinuousClock.now
        for second in 0..<3 {
            #expect(limiter.retryAfter(client: "a", now: start + .seconds(second)) == nil)
            limiter.recordFailure(client: "a", now: start + .seconds(second))
        }
        #expect(limiter.retryAfter(client: "a", now: start + .seconds(3)) == .seconds(57))
        // Other addresses are not affected.
        #expect(limiter.retryAfter(client: "b", now: start + .seconds(3)) == nil)
        // Once the first failure leaves the window, one more check may go.
        #expect(limiter.retryAfter(client: "a", now: start + .seconds(61)) == nil)
    }

    @Test func zeroTurnsItOff() {
        let limiter = FailureLimiter(limit: 0, window: .seconds(60))
        for _ in 0..<100 { limiter.recordFailure(client: "a") }
        #expect(limiter.retryAfter(client: "a") == nil)
    }

    @Test func memoryIsBounded() {
        let limiter = FailureLimiter(limit: 2, window: .seconds(60), maximumClients: 10)
        for index in 0..<1000 { limiter.recordFailure(client: "client\(index)") }
        limiter.recordFailure(client: "last")
        limiter.recordFailure(client: "last")
        #expect(limiter.retryAfter(client: "last") != nil)
    }
}
