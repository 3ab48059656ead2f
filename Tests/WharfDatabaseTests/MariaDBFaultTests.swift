import Foundation
import Testing

@testable import WharfDatabase

/// Faults of a real MariaDB server: each test starts its own `mariadbd` (so stopping it disturbs no other test),
/// stops or kills it in the middle of the work, and starts it again.
@Suite struct MariaDBFaultTests {
    /// What happened to each numbered write.
    actor WriteLog {
        enum Phase { case before, down, after }
        var phase = Phase.before
        var committed: [Int: Phase] = [:]
        var notApplied: Set<Int> = []
        var unknown: Set<Int> = []
        var otherErrors: [String] = []
        var next = 0
        var done = false

        func start() -> (Int, Phase) {
            defer { next += 1 }
            return (next, phase)
        }

        func record(_ number: Int, startedIn phase: Phase, error: (any Error)?) {
            guard let error else {
                committed[number] = phase
                return
            }
            switch (error as? DatabaseError)?.code {
            case .unavailable?: notApplied.insert(number)
            case .outcomeUnknown?: unknown.insert(number)
            default: otherErrors.append("\(error)")
            }
        }

        func set(_ phase: Phase) { self.phase = phase }
        func finish() { done = true }
        func committedCount(startedIn phase: Phase) -> Int { committed.values.filter { $0 == phase }.count }
    }

    /// Writers keep committing three-row transactions (team, user, membership) while the server is stopped
    /// (SIGTERM) and started, then killed (SIGKILL) and started. Writes after each restart succeed through the
    /// same pool, every committed write is there, and no transaction is half there.
    @Test func restartsDuringAStreamOfWrites() async throws {
        try await withOwnMariaDB { folder, location in
            var location = location
            location.poolSize = 4
            let pool = DatabasePool(location: .mysql(location), logger: testLogger)
            try await pool.prepare()
            let log = WriteLog()
            let deadline = ContinuousClock.now + .seconds(90)

            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        while await !log.done && ContinuousClock.now < deadline {
                            let (number, phase) = await log.start()
                            do {
                                try await pool.write { tx in
                                    let team = try tx.teams.create(name: "t-\(number)")
                                    let user = try tx.users.create(NewUser(name: "u-\(number)"))
                                    try tx.teams.setMember(teamID: team.id, userID: user.id, role: .contributor)
                                }
                                await log.record(number, startedIn: phase, error: nil)
                            } catch {
                                await log.record(number, startedIn: phase, error: error)
                                try await Task.sleep(for: .milliseconds(20))
                            }
                        }
                    }
                }
                group.addTask {
                    defer { Task { await log.finish() } }
                    for crash in [false, true] {
                        try await waitUntil(deadline) { await log.committedCount(startedIn: .before) >= (crash ? 100 : 50) }
                        await log.set(.down)
                        if crash { try await TestMariaDB.kill(folder) } else { try await TestMariaDB.stop(folder) }
                        try await Task.sleep(for: .milliseconds(300))
                        _ = try await TestMariaDB.start(folder)
                        await log.set(.after)
                        try await waitUntil(deadline) { await log.committedCount(startedIn: .after) >= 50 }
                        await log.set(.before)
                    }
                    await log.finish()
                }
                try await group.waitForAll()
            }

            let committed = await log.committed
            let notApplied = await log.notApplied
            let unknown = await log.unknown
            print(
                "restart test: \(committed.count) committed, \(notApplied.count) refused while down, \(unknown.count) outcome unknown, \(await log.committedCount(startedIn: .after)) after restarts"
            )
            let otherErrors = await log.otherErrors
            #expect(otherErrors.isEmpty, "\(otherErrors.prefix(3))")
            #expect(await log.committedCount(startedIn: .after) >= 50, "writes after the restarts succeed through the same pool")
            #expect(!notApplied.isEmpty, "some writes were refused while the server was down")

            let rows = try await pool.read { tx in
                (
                    teams: Set(try tx.query("SELECT name FROM teams").map { try $0.decode("name", as: String.self) }),
                    users: Set(try tx.query("SELECT name FROM users").map { try $0.decode("name", as: String.self) }),
                    members: try tx.query("SELECT COUNT(*) AS n FROM team_members").first!.decode("n", as: Int.self)
                )
            }
            for number in committed.keys {
                #expect(rows.teams.contains("t-\(number)") && rows.users.contains("u-\(number)"), "committed write \(number) lost")
            }
            for number in notApplied {
                #expect(!rows.teams.contains("t-\(number)") && !rows.users.contains("u-\(number)"), "failed write \(number) applied")
            }
            // All or nothing, including the writes whose commit outcome was unknown.
            #expect(rows.teams.map { $0.dropFirst(2) }.sorted() == rows.users.map { $0.dropFirst(2) }.sorted())
            #expect(rows.members == rows.teams.count)
            #expect(rows.teams.count >= committed.count && rows.teams.count <= committed.count + unknown.count)
            await pool.close()
        }
    }

    /// Start-up with the server down: the service reports unavailable (with a reason that names the server but
    /// not the password), turns ready once the server answers, notices it going away and coming back.
    @Test func theServiceWaitsForTheServerAndFollowsItsRestarts() async throws {
        try await withOwnMariaDB { folder, location in
            try await TestMariaDB.stop(folder)
            let pool = DatabasePool(location: .mysql(location), logger: testLogger)
            let service = DatabaseService(
                pool: pool,
                logger: testLogger,
                probeInterval: .milliseconds(200),
                firstRetry: .milliseconds(100),
                maxRetry: .milliseconds(400)
            )
            let running = Task { try await service.run() }
            defer { running.cancel() }
            let deadline = ContinuousClock.now + .seconds(60)

            try await waitUntil(deadline) { pool.health.unavailableReason != nil && pool.health.state != .starting }
            let reason = try #require(pool.health.unavailableReason)
            #expect(reason.contains("127.0.0.1") || reason.contains("connect"), "\(reason)")
            #expect(!reason.contains(location.password ?? "-"))
            await expectDatabaseError(.unavailable) { try await pool.write { _ = try $0.users.create(NewUser(name: "early")) } }

            _ = try await TestMariaDB.start(folder)
            try await waitUntil(deadline) { pool.health.isReady }
            try await pool.write { _ = try $0.users.create(NewUser(name: "first")) }

            try await TestMariaDB.stop(folder)
            try await waitUntil(deadline) { !pool.health.isReady }
            _ = try await TestMariaDB.start(folder)
            try await waitUntil(deadline) { pool.health.isReady }
            try await pool.write { _ = try $0.users.create(NewUser(name: "second")) }
            #expect(try await pool.read { try $0.users.list().map(\.name) } == ["first", "second"])
            running.cancel()
            _ = await running.result
            await expectDatabaseError(.closed) { try await pool.ping() }
        }
    }

    /// A statement that hangs longer than the read timeout fails instead of holding a connection forever.
    @Test func aReadTimeoutEndsAHungStatement() async throws {
        try await withOwnMariaDB { _, location in
            var location = location
            location.readTimeout = .seconds(1)
            let pool = DatabasePool(location: .mysql(location), logger: testLogger)
            let start = ContinuousClock.now
            await expectDatabaseError(.unavailable) { _ = try await pool.read { try $0.query("SELECT SLEEP(30) AS slept") } }
            #expect(ContinuousClock.now - start < .seconds(20))
            try await pool.ping()
            await pool.close()
        }
    }
}

/// TLS to the server: encrypted when asked, the certificate checked with `verify`, never a silent downgrade.
@Suite struct MariaDBTLSTests {
    func cipher(_ pool: DatabasePool) async throws -> String {
        try await pool.read { try $0.query("SHOW SESSION STATUS LIKE 'Ssl_cipher'") }.first?.decode("Value") ?? ""
    }

    @Test func tlsIsUsedAndTheCertificateVerified() async throws {
        try await withOwnMariaDB(tls: true) { folder, location in
            for (mode, ca) in [(DatabaseLocation.MySQL.TLSMode.off, nil), (.required, nil), (.verify, folder + "/tls/ca.pem")] {
                var location = location
                location.tls = mode
                location.tlsCA = ca
                let pool = DatabasePool(location: .mysql(location), logger: testLogger)
                let cipher = try await cipher(pool)
                #expect(mode == .off ? cipher.isEmpty : !cipher.isEmpty, "\(mode): cipher \(cipher)")
                await pool.close()
            }
            // A certificate the given CA did not sign is refused.
            var location = location
            location.tls = .verify
            location.tlsCA = "/etc/ssl/certs/ca-certificates.crt"
            let pool = DatabasePool(location: .mysql(location), logger: testLogger)
            let error = await expectDatabaseError(.configuration) { try await pool.ping() }
            #expect(error?.message.contains(location.password ?? "-") == false)
            await pool.close()
        }
    }

    /// libmariadb would connect in plain text to a server without TLS even when TLS is enforced; Wharf refuses.
    @Test func requiredTLSIsNeverDowngraded() async throws {
        try await withOwnMariaDB(tls: false) { _, location in
            var location = location
            location.tls = .required
            let pool = DatabasePool(location: .mysql(location), logger: testLogger)
            let error = await expectDatabaseError(.configuration) { try await pool.ping() }
            #expect(error?.message.contains("TLS is required") == true, "\(error?.message ?? "")")
            await pool.close()
        }
    }

    @Test func aWrongPasswordIsAClearConfigurationError() async throws {
        var location = try await TestMariaDB.shared()
        location.password = "not-the-password"
        let pool = DatabasePool(location: .mysql(location), logger: testLogger)
        let error = await expectDatabaseError(.configuration) { try await pool.ping() }
        #expect(error?.message.contains("Access denied") == true && error?.message.contains("not-the-password") == false)
        await pool.close()
    }
}

/// Polls `condition` every 50 ms until it holds; fails at `deadline`.
func waitUntil(_ deadline: ContinuousClock.Instant, sourceLocation: SourceLocation = #_sourceLocation, _ condition: () async -> Bool) async throws {
    while await !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("condition not met in time", sourceLocation: sourceLocation)
            throw CancellationError()
        }
        try await Task.sleep(for: .milliseconds(50))
    }
}
