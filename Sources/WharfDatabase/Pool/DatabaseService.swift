import Logging
import ServiceLifecycle

/// Keeps the database usable for the life of the server: connects and migrates at start-up, retrying with
/// backoff while the server is unreachable (requests get 503 meanwhile, see `DatabaseHealth`), then checks it
/// every few seconds and reconnects after it went away. It never fails: a database that is down is a state,
/// not a crash. Closes the pool on shutdown.
public struct DatabaseService: Service {
    public let pool: DatabasePool
    let logger: Logger
    let probeInterval: Duration
    let firstRetry: Duration
    let maxRetry: Duration

    public init(
        pool: DatabasePool,
        logger: Logger,
        probeInterval: Duration = .seconds(2),
        firstRetry: Duration = .milliseconds(250),
        maxRetry: Duration = .seconds(15)
    ) {
        self.pool = pool
        self.logger = logger
        self.probeInterval = probeInterval
        self.firstRetry = firstRetry
        self.maxRetry = maxRetry
    }

    public func run() async throws {
        var delay = firstRetry
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            if pool.health.isReady {
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: probeInterval) }
                guard !Task.isShuttingDownGracefully && !Task.isCancelled else { break }
                await probe()
                delay = firstRetry
            } else if await attempt(retryIn: delay) {
                delay = firstRetry
            } else {
                let wait = delay
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
                delay = min(delay * 2, maxRetry)
            }
        }
        await pool.close()
    }

    /// Waits (up to `timeout`) until the first attempt to connect has succeeded or failed: run before the HTTP
    /// server starts, a reachable database is ready before the first request, and an unreachable one delays the
    /// start by at most `timeout`.
    public func waitForFirstAttempt(timeout: Duration = .seconds(10)) async {
        let deadline = ContinuousClock.now + timeout
        while pool.health.state == .starting && ContinuousClock.now < deadline && !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    /// One try to connect and migrate; logs why it failed. Call it before serving, so that a reachable
    /// database is ready before the first request.
    @discardableResult
    public func attempt(retryIn delay: Duration? = nil) async -> Bool {
        do {
            let versions = try await pool.prepare()
            logger.info("database ready", metadata: ["database": "\(pool.backend.displayName)", "schema": "\(versions.to)"])
            return true
        } catch {
            let reason = (error as? DatabaseError)?.message ?? "\(error)"
            pool.health.set(.unavailable(reason: reason))
            logger.warning(
                "database unreachable; serving 503 until it answers",
                metadata: [
                    "database": "\(pool.backend.displayName)", "reason": "\(reason)", "retry_in": "\(delay ?? firstRetry)",
                ]
            )
            return false
        }
    }

    private func probe() async {
        do {
            try await pool.ping()
        } catch {
            let reason = (error as? DatabaseError)?.message ?? "\(error)"
            pool.health.set(.unavailable(reason: reason))
            logger.warning(
                "database lost; serving 503 until it answers",
                metadata: ["database": "\(pool.backend.displayName)", "reason": "\(reason)"]
            )
        }
    }
}
