import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import WharfDatabase

/// Remembers when users logged in and when application, refresh and scoped tokens were used, and writes those times to
/// the database in one transaction every ``interval`` (and at shutdown) instead of once per request: a push
/// authenticates on every request, and a write each time would put the database on the hot path.
public final class UsageRecorder: Service, Sendable {
    private struct Pending {
        var logins: [Int64: Date] = [:]
        var applicationTokens: [Int64: Date] = [:]
        var refreshTokens: [Int64: Date] = [:]
        var scopedTokens: [Int64: Date] = [:]
        var isEmpty: Bool { logins.isEmpty && applicationTokens.isEmpty && refreshTokens.isEmpty && scopedTokens.isEmpty }
    }

    private let pending = Mutex(Pending())
    let pool: DatabasePool
    let interval: Duration
    let logger: Logger

    public init(pool: DatabasePool, interval: Duration = .seconds(30), logger: Logger) {
        self.pool = pool
        self.interval = interval
        self.logger = logger
    }

    func userLoggedIn(_ id: Int64, at time: Date = Date()) { pending.withLock { $0.logins[id] = time } }
    func applicationTokenUsed(_ id: Int64, at time: Date = Date()) { pending.withLock { $0.applicationTokens[id] = time } }
    func refreshTokenUsed(_ id: Int64, at time: Date = Date()) { pending.withLock { $0.refreshTokens[id] = time } }
    func scopedTokenUsed(_ id: Int64, at time: Date = Date()) { pending.withLock { $0.scopedTokens[id] = time } }

    /// Writes what has been recorded since the last flush. A failed write keeps nothing (these times are
    /// informative; losing one interval's worth is better than retrying against a struggling database forever).
    func flush() async {
        let batch = pending.withLock { pending in
            defer { pending = Pending() }
            return pending
        }
        guard !batch.isEmpty else { return }
        do {
            try await pool.write { transaction in
                for (id, time) in batch.logins { try transaction.users.recordLogin(id: id, at: time) }
                for (id, time) in batch.applicationTokens { try transaction.tokens.recordUse(id: id, at: time) }
                for (id, time) in batch.refreshTokens { try transaction.refreshTokens.recordUse(id: id, at: time) }
                for (id, time) in batch.scopedTokens { try transaction.scopedTokens.recordUse(id: id, at: time) }
            }
        } catch {
            logger.warning("could not record last-used times", metadata: ["error": "\(error)"])
        }
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
            await flush()
        }
        await flush()
    }
}
