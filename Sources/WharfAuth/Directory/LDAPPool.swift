import CLDAP
import Foundation
import Logging
import NIOPosix

/// The LDAP connections of one Wharf process: at most `poolSize` of them, each bound as the pool's identity (the
/// bind account, or anonymous when there is none) whenever it is idle.
///
/// The actor owns the connections (idle ones, how many are open, who waits for one) and what was last seen of the
/// servers; every libldap call runs outside it, on the pool's own `NIOThreadPool` (one thread per connection), so a
/// directory that takes seconds to answer never holds a cooperative thread or the actor. A connection that broke
/// (server down, timeout, TLS failure) is closed together with every idle one, and the next borrower connects
/// afresh: the pool recovers by itself when the server comes back. Connecting tries the URLs in their order, so
/// the first server gets the traffic back once it answers again.
public actor LDAPPool {
    public nonisolated let configuration: LDAPConfiguration
    nonisolated let threadPool: NIOThreadPool
    nonisolated let logger: Logger
    nonisolated let size: Int

    private var threadsStarted = false
    private var idle: [PooledLDAPConnection] = []
    private var open = 0
    private var waiters: [(id: Int, continuation: CheckedContinuation<Grant, any Error>)] = []
    private var nextWaiterID = 0
    private var closed = false
    private var health = DirectoryStatus(reachable: false)

    /// What a waiting borrower receives: a connection someone returned, or the right to open a new one.
    private enum Grant: Sendable {
        case connection(PooledLDAPConnection)
        case slot
    }

    /// Creates the pool; nothing connects until the first operation.
    public init(configuration: LDAPConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        size = max(1, configuration.poolSize)
        threadPool = NIOThreadPool(numberOfThreads: size)
    }

    /// Reachability as last seen: updated by every connection attempt and every operation.
    public func status() -> DirectoryStatus { health }

    /// Closes every idle connection and stops the threads once the borrowed connections are back. Borrowers
    /// waiting for a connection, and later ones, fail as unavailable.
    public func shutdown() async {
        guard !closed else { return }
        closed = true
        for waiter in waiters { waiter.continuation.resume(throwing: Self.shutDownError) }
        waiters = []
        let connections = idle
        idle = []
        open -= connections.count
        if threadsStarted {
            _ = try? await threadPool.runIfActive { for pooled in connections { pooled.connection.close() } }
            try? await threadPool.shutdownGracefully()
        }
    }

    // MARK: Borrowing

    /// Lends a connection (bound as the pool's identity) to `body` on a pool thread and takes it back. A
    /// connection that broke, or that `body` left bound as someone else, is closed instead of kept. When a reused
    /// connection turns out broken (the server restarted since it was opened), `body` runs once more on a fresh
    /// connection: `body` must only read, and bind.
    nonisolated func withConnection<T: Sendable>(_ body: @escaping @Sendable (LDAPConnection) throws -> T) async throws(LDAPError) -> T {
        var retried = false
        while true {
            let pooled = try await checkOut()
            do throws(LDAPError) {
                let value = try await run { try body(pooled.connection) }
                await checkIn(pooled, failure: nil)
                return value
            } catch {
                let retry = !retried && pooled.reused && pooled.connection.isBroken
                await checkIn(pooled, failure: error, record: !retry)
                if retry {
                    retried = true
                    logger.debug("LDAP connection lost; retrying on a new connection", metadata: ["error": "\(error.message)"])
                    continue
                }
                throw error
            }
        }
    }

    /// Runs `body` on the pool's threads; every error comes out as an ``LDAPError``.
    private nonisolated func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws(LDAPError) -> T {
        do {
            return try await threadPool.runIfActive(body)
        } catch let error as LDAPError {
            throw error
        } catch is NIOThreadPoolError.ThreadPoolInactive {
            throw Self.shutDownError
        } catch {
            throw LDAPError(.unavailable, resultCode: LDAP_OTHER, "LDAP call failed: \(error)")
        }
    }

    private static let shutDownError = LDAPError(.unavailable, resultCode: LDAP_UNAVAILABLE, "the LDAP pool is shut down")

    private func checkOut() async throws(LDAPError) -> PooledLDAPConnection {
        guard !closed else { throw Self.shutDownError }
        if !threadsStarted {
            threadPool.start()
            threadsStarted = true
        }
        if let pooled = idle.popLast() {
            pooled.reused = true
            return pooled
        }
        if open < size {
            open += 1
            return try await openConnection()
        }
        let id = nextWaiterID
        nextWaiterID += 1
        let timeout = configuration.operationTimeout
        let timer = Task { [weak self] in
            try await Task.sleep(for: timeout)
            await self?.timeOut(waiter: id)
        }
        defer { timer.cancel() }
        let grant: Grant
        do {
            grant = try await withCheckedThrowingContinuation { waiters.append((id, $0)) }
        } catch let error as LDAPError {
            throw error
        } catch {
            throw LDAPError(.unavailable, resultCode: LDAP_OTHER, "\(error)")
        }
        switch grant {
        case .connection(let pooled):
            pooled.reused = true
            return pooled
        case .slot:
            return try await openConnection()
        }
    }

    /// Opens a connection for a slot already counted in `open`, trying every URL in order; gives the slot back
    /// when none answers.
    private func openConnection() async throws(LDAPError) -> PooledLDAPConnection {
        let configuration = self.configuration
        do throws(LDAPError) {
            let pooled = try await run { try Self.connect(configuration) }
            recordSuccess(url: pooled.connection.url)
            return pooled
        } catch {
            open -= 1
            grantFreeSlots()
            recordFailure(error)
            throw error
        }
    }

    /// Connects to the first URL that answers and binds as the pool's identity. Runs on a pool thread.
    private static func connect(_ configuration: LDAPConfiguration) throws(LDAPError) -> PooledLDAPConnection {
        var failures: [String] = []
        var lastCode = LDAP_SERVER_DOWN
        for url in configuration.urls {
            do throws(LDAPError) {
                let connection = try LDAPConnection(url: url, configuration: configuration)
                if let bindDN = configuration.bindDN {
                    do throws(LDAPError) {
                        try connection.bind(dn: bindDN, password: configuration.bindPassword ?? "")
                    } catch {
                        // The bind account refused is a broken configuration, not someone's wrong password.
                        guard error.code == .invalidCredentials else { throw error }
                        throw LDAPError(.unavailable, resultCode: error.resultCode, "the bind account was refused: \(error.message)")
                    }
                }
                return PooledLDAPConnection(connection)
            } catch {
                failures.append(error.message)
                lastCode = error.resultCode
            }
        }
        if failures.isEmpty { failures.append("no LDAP server URL is configured") }
        throw LDAPError(.unavailable, resultCode: lastCode, failures.joined(separator: "; "))
    }

    /// Takes `pooled` back after a borrower used it; `failure` is what the borrower's work threw, if anything.
    /// `record: false` leaves the health alone (a failure that is about to be retried).
    private func checkIn(_ pooled: PooledLDAPConnection, failure: LDAPError?, record: Bool = true) {
        let connection = pooled.connection
        if record {
            if let failure, failure.connectionIsBroken { recordFailure(failure) } else { recordSuccess(url: connection.url) }
        }
        let broken = connection.isBroken
        let boundAsSomeoneElse = connection.boundDN != configuration.bindDN
        if broken || closed || boundAsSomeoneElse {
            // A broken connection usually means the server went away: the idle ones are dead too.
            let dead = [pooled] + (broken && !closed ? idle : [])
            if broken { idle.removeAll() }
            open -= dead.count
            let threadPool = self.threadPool
            Task { _ = try? await threadPool.runIfActive { for pooled in dead { pooled.connection.close() } } }
            grantFreeSlots()
        } else if !waiters.isEmpty {
            waiters.removeFirst().continuation.resume(returning: .connection(pooled))
        } else {
            idle.append(pooled)
        }
    }

    private func grantFreeSlots() {
        while !waiters.isEmpty && open < size {
            open += 1
            waiters.removeFirst().continuation.resume(returning: .slot)
        }
    }

    private func timeOut(waiter id: Int) {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
        waiters.remove(at: index).continuation.resume(
            throwing: LDAPError(
                .unavailable,
                resultCode: LDAP_TIMEOUT,
                "no LDAP connection became free within \(configuration.operationTimeout) (pool of \(size))"
            )
        )
    }

    // MARK: Health

    private func recordSuccess(url: String) {
        health.reachable = true
        health.url = url
    }

    private func recordFailure(_ error: LDAPError) {
        health.reachable = false
        health.lastError = error.message
        health.lastErrorAt = Date()
        logger.warning("LDAP directory unavailable", metadata: ["error": "\(error.message)"])
    }
}
