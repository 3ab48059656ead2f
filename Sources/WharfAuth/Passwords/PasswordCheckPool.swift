import NIOCore
import NIOPosix
import Synchronization

/// The threads that run bcrypt, apart from every other pool: a password check costs about 0.25 s of CPU, and
/// when it shared `NIOThreadPool.singleton` with the storage's file I/O, 48 connections sending bogus logins
/// held a 1 MiB push's `fsync` for 8.9 s.
///
/// Fair and bounded: waiting checks queue per client (its address), and the threads take one check from each
/// client in turn, so one address sending hundreds of logins delays another client's login by at most one
/// check per thread. A full queue is refused at once (``AuthError/Code/passwordChecksBusy`` for the whole pool,
/// ``AuthError/Code/passwordChecksThrottled`` for one client), never waited on.
///
/// A lock, not an actor: it is held for a few list operations, and the work runs on the pool's own threads.
public final class PasswordCheckPool: Sendable {
    /// Checks waiting at most, over all clients (at most ``numberOfThreads`` more are running).
    public let maximumQueued: Int
    /// Checks waiting at most for one client (a CI farm behind one address logs in 50 at a time).
    public let maximumQueuedPerClient: Int
    public let numberOfThreads: Int

    private let threads: NIOThreadPool
    private let state = Mutex(State())

    /// The process's pool: half the cores (at least two threads), 256 checks queued, 64 per client.
    public static let shared = PasswordCheckPool(numberOfThreads: max(2, (System.coreCount + 1) / 2))

    public init(numberOfThreads: Int, maximumQueued: Int = 256, maximumQueuedPerClient: Int = 64) {
        precondition(numberOfThreads > 0 && maximumQueued > 0 && maximumQueuedPerClient > 0)
        self.numberOfThreads = numberOfThreads
        self.maximumQueued = maximumQueued
        self.maximumQueuedPerClient = maximumQueuedPerClient
        threads = NIOThreadPool(numberOfThreads: numberOfThreads)
        threads.start()
    }

    deinit {
        threads.shutdownGracefully { _ in }
    }

    /// Runs `work` on the pool's threads in `client`'s turn; throws at once when the queue is full. When its turn
    /// comes, `admit` may still refuse it (an address that has failed too often while its checks waited), so a
    /// queue filled by a flood drains without running bcrypt for it.
    public func run<Result: Sendable>(
        client: String,
        admit: (@Sendable () -> AuthError?)? = nil,
        _ work: @escaping @Sendable () -> Result
    ) async throws -> Result {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Result, any Error>) in
            let job = Job { active in
                if active {
                    if let refusal = admit?() {
                        continuation.resume(throwing: refusal)
                    } else {
                        continuation.resume(returning: work())
                    }
                } else {
                    continuation.resume(throwing: AuthError(.passwordChecksBusy, "the password checks are shutting down"))
                }
            }
            let refusal = state.withLock { state in state.enqueue(job, client: client, limit: maximumQueued, perClient: maximumQueuedPerClient) }
            if let refusal {
                continuation.resume(throwing: refusal)
                return
            }
            // One pool item per queued job: each takes whichever job is next in the round, not necessarily its own.
            threads.submit { itemState in
                let next = self.state.withLock { $0.dequeue() }
                if case .active = itemState { next?.run(true) } else { next?.run(false) }
            }
        }
    }

    /// How many checks wait now (for tests and metrics).
    public var queued: Int { state.withLock { $0.total } }

    private struct Job: Sendable {
        /// Runs the check (true), or refuses it when the threads are shutting down (false).
        let run: @Sendable (Bool) -> Void
    }

    /// Per-client queues and the round-robin ring of clients that have waiting jobs.
    private struct State {
        var queues: [String: [Job]] = [:]
        var ring: [String] = []
        var cursor = 0
        var total = 0

        mutating func enqueue(_ job: Job, client: String, limit: Int, perClient: Int) -> AuthError? {
            guard total < limit else {
                return AuthError(.passwordChecksBusy, "too many logins are being checked; try again in a second")
            }
            let waiting = queues[client, default: []]
            guard waiting.count < perClient else {
                return AuthError(.passwordChecksThrottled, "too many logins from this address are being checked; try again in a second")
            }
            if waiting.isEmpty { ring.append(client) }
            queues[client, default: []].append(job)
            total += 1
            return nil
        }

        mutating func dequeue() -> Job? {
            guard !ring.isEmpty else { return nil }
            if cursor >= ring.count { cursor = 0 }
            let client = ring[cursor]
            var waiting = queues[client] ?? []
            let job = waiting.removeFirst()
            total -= 1
            if waiting.isEmpty {
                queues[client] = nil
                // The next client moves into this position: the cursor already points at it.
                ring.remove(at: cursor)
            } else {
                queues[client] = waiting
                cursor += 1
            }
            return job
        }
    }
}
