import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import WharfCore
import WharfDatabase
import WharfStorage

@testable import WharfAuth
@testable import WharfServer

/// The holes a review of the running server found in logins (issue 9): lockout decided on a stale row, failures
/// counted twice for one typo, refresh tokens outliving the application token they came from, the service
/// account's cheap password check, floods without per-address limits, and the first login making an admin.
@Suite struct LoginSecurityTests {
    /// A token service on a fresh database of `backend` with user alice, lockout after `attempts` failures, and
    /// the given per-address limit (0: off) and password pool.
    func withLogins(
        _ backend: AccountBackend,
        attempts: Int = 10,
        failuresPerAddress: Int = 0,
        pool passwordPool: PasswordCheckPool = .shared,
        cost: UInt8 = 4,
        _ body: @Sendable (TokenService, AccountService, DatabasePool) async throws -> Void
    ) async throws {
        try await AccountServiceTests().withAccounts(backend) { accounts, pool, folder in
            var configuration = ServerConfiguration()
            configuration.dataDirectory = folder
            configuration.lockoutAttempts = attempts
            configuration.failuresPerAddress = failuresPerAddress
            configuration.servicePassword = "a-service-password-of-length"
            _ = try CertificateBootstrap.ensure(certsDirectory: configuration.certsDirectory, extraHostnames: [], logger: AccountServiceTests.logger)
            let passwords = PasswordHasher(cost: cost, pool: passwordPool)
            let service = try makeTokenService(configuration: configuration, database: pool, passwords: passwords)
            let storage = FilesystemDriver(root: folder + "/registry", durable: false)
            let sameKeys = AccountService(pool: pool, storage: storage, secrets: try ServerSecrets.load(dataDirectory: folder), passwords: passwords)
            try await sameKeys.createUser(name: "alice", password: "alice-password")
            try await body(service, sameKeys, pool)
        }
    }

    func isRefused(_ body: () async throws -> Caller) async -> TokenError.Code? {
        do {
            _ = try await body()
            return nil
        } catch let error as AuthError {
            // What the token endpoint would answer.
            return TokenError(error).code
        } catch {
            Issue.record("unexpected \(error)")
            return nil
        }
    }

    /// A burst of at least `lockout_attempts` concurrent wrong guesses locks the account, every time.
    @Test(arguments: AccountBackend.available)
    func aBurstOfWrongGuessesLocksEveryTime(_ backend: AccountBackend) async throws {
        try await withLogins(backend, attempts: 5) { service, accounts, pool in
            for burst in 0..<20 {
                let name = "burst\(burst)"
                try await accounts.createUser(name: name, password: "right-password")
                await withTaskGroup(of: Void.self) { group in
                    for guess in 0..<8 {
                        group.addTask {
                            _ = try? await service.authenticator.authenticate(username: name, password: "wrong-\(guess)", client: "10.0.0.\(guess)")
                        }
                    }
                }
                let user = try #require(try await pool.read { try $0.users.find(name: name) })
                #expect(user.isLocked(), "burst \(burst) on \(backend) did not lock")
                #expect(
                    await isRefused { try await service.authenticator.authenticate(username: name, password: "right-password", client: "10.0.1.1") }
                        == .unauthorized
                )
            }
        }
    }

    /// The review's bypass: wrong guesses sent at once, then the right password while they are still being
    /// checked. The right one must not pass (the lock set meanwhile counts) nor clear the lock.
    @Test(arguments: AccountBackend.available)
    func theRightPasswordRacingABurstDoesNotPass(_ backend: AccountBackend) async throws {
        let single = PasswordCheckPool(numberOfThreads: 1)
        try await withLogins(backend, attempts: 10, pool: single, cost: 8) { service, _, pool in
            let outcome = await withTaskGroup(of: TokenError.Code?.self) { group in
                for guess in 0..<30 {
                    group.addTask {
                        await isRefused {
                            try await service.authenticator.authenticate(username: "alice", password: "guess-\(guess)", client: "203.0.113.9")
                        }
                    }
                }
                // The right password arrives while the guesses wait for the password thread.
                let deadline = ContinuousClock.now + .seconds(10)
                while single.queued < 10, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(1)) }
                let right = await isRefused {
                    try await service.authenticator.authenticate(username: "alice", password: "alice-password", client: "203.0.113.9")
                }
                await group.waitForAll()
                return right
            }
            #expect(outcome == .unauthorized)
            let alice = try await pool.read { try $0.users.find(name: "alice") }
            #expect(alice?.isLocked() == true)
        }
    }

    /// containerd repeats a refused login as a GET after its POST: the same wrong password from the same client
    /// within a minute counts once; another password or another client counts again.
    @Test func aRepeatedWrongPasswordCountsOnce() async throws {
        try await withLogins(.sqlite) { service, _, pool in
            for _ in 0..<5 {
                _ = await isRefused {
                    try await service.authenticator.authenticate(username: "alice", password: "typo-password", client: "192.0.2.1")
                }
            }
            let once = try await pool.read { try $0.users.find(name: "alice") }
            #expect(once?.failedLogins == 1)
            _ = await isRefused { try await service.authenticator.authenticate(username: "alice", password: "typo-password", client: "192.0.2.2") }
            _ = await isRefused { try await service.authenticator.authenticate(username: "alice", password: "other-typo", client: "192.0.2.1") }
            let thrice = try await pool.read { try $0.users.find(name: "alice") }
            #expect(thrice?.failedLogins == 3)
        }
    }

    /// Failures from one address beyond `auth.failures_per_address` wait (429 with the time); other addresses
    /// and correct logins are not affected, and fifty correct logins at once from one address all pass.
    @Test func anAddressWithTooManyFailuresWaits() async throws {
        try await withLogins(.sqlite, attempts: 0, failuresPerAddress: 5) { service, _, _ in
            for guess in 0..<5 {
                #expect(
                    await isRefused {
                        try await service.authenticator.authenticate(username: "alice", password: "guess-\(guess)", client: "198.51.100.7")
                    } == .unauthorized
                )
            }
            do {
                _ = try await service.authenticator.authenticate(username: "alice", password: "alice-password", client: "198.51.100.7")
                Issue.record("the sixth login from a guessing address was checked")
            } catch let error as AuthError {
                let answer = TokenError(error)
                #expect(answer.code == .tooManyRequests)
                #expect((answer.retryAfterSeconds ?? 0) > 0)
            }
            #expect(
                try await service.authenticator.authenticate(username: "alice", password: "alice-password", client: "198.51.100.8").subject.name
                    == "alice"
            )
            let farm = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<50 {
                    group.addTask {
                        try await service.authenticator.authenticate(username: "alice", password: "alice-password", client: "198.51.100.9").subject
                            .name
                    }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(farm.count == 50 && farm.allSatisfy { $0 == "alice" })
        }
    }

    /// A refresh token minted by a login with an application token ends when that token is revoked or expires,
    /// and so do the access tokens issued from it.
    @Test(arguments: AccountBackend.available)
    func aRefreshTokenEndsWithTheApplicationTokenItCameFrom(_ backend: AccountBackend) async throws {
        try await withLogins(backend) { service, accounts, pool in
            for ending in ["revoke", "expire"] {
                let (token, secret) = try await accounts.createToken(user: "alice", label: "ci-\(ending)")
                let caller = try await service.authenticator.authenticate(username: "alice", password: secret, client: "192.0.2.10")
                #expect(caller.credential == "app:\(token.id)")
                let refresh = try #require(try await service.authenticator.createRefreshToken(for: caller, clientID: "docker"))
                let refreshed = try await service.authenticator.exchangeRefreshToken(refresh, clientID: "docker")
                let credential = try #require(refreshed.credential)
                #expect(try await service.authenticator.activeSubject(name: "alice", credential: credential) != nil)
                if ending == "revoke" {
                    try await accounts.revokeToken(user: "alice", label: "ci-revoke")
                } else {
                    _ = try await pool.write {
                        try $0.execute("UPDATE application_tokens SET expires_at = ? WHERE id = ?", [Date().addingTimeInterval(-1), token.id])
                    }
                }
                #expect(
                    await isRefused { try await service.authenticator.exchangeRefreshToken(refresh, clientID: "docker") } == .unauthorized,
                    "\(ending)"
                )
                // Access tokens carry refresh:ID; their account check is remembered for a second.
                try await Task.sleep(for: .milliseconds(1100))
                #expect(try await service.authenticator.activeSubject(name: "alice", credential: credential) == nil, "\(ending)")
            }
            // A refresh token from a password login is unaffected by tokens being revoked.
            let caller = try await service.authenticator.authenticate(username: "alice", password: "alice-password", client: "192.0.2.10")
            let refresh = try #require(try await service.authenticator.createRefreshToken(for: caller, clientID: "docker"))
            #expect(try await service.authenticator.exchangeRefreshToken(refresh, clientID: "docker").subject.name == "alice")
        }
    }

    /// The service account's password is checked with bcrypt like everyone's, and counts as a failure.
    @Test func theServiceAccountCostsABcryptCheck() async throws {
        try await withLogins(.sqlite, failuresPerAddress: 3) { service, _, _ in
            let account = try #require(service.authenticator.serviceAccount)
            #expect(account.passwordHash.hasPrefix("$2"))
            #expect(
                try await service.authenticator.authenticate(username: "portus", password: "a-service-password-of-length", client: "192.0.2.20")
                    .subject.kind == .service
            )
            for guess in 0..<3 {
                #expect(
                    await isRefused {
                        try await service.authenticator.authenticate(username: "portus", password: "guess-\(guess)", client: "192.0.2.21")
                    } == .unauthorized
                )
            }
            #expect(
                await isRefused {
                    try await service.authenticator.authenticate(username: "portus", password: "a-service-password-of-length", client: "192.0.2.21")
                } == .tooManyRequests
            )
        }
        var configuration = ServerConfiguration()
        #expect(throws: ConfigurationError.self) {
            try ConfigurationKey.all.first { $0.key == "auth.service_password" }!.apply(&configuration, "fifteen-chars15")
        }
        try ConfigurationKey.all.first { $0.key == "auth.service_password" }!.apply(&configuration, "sixteen-chars-16")
        #expect(configuration.servicePassword == "sixteen-chars-16")
    }

    /// Logging in never makes anyone admin, whether or not an admin exists.
    @Test func theFirstLoginDoesNotMakeAnAdmin() async throws {
        try await withLogins(.sqlite) { service, accounts, pool in
            #expect(try await !accounts.adminExists())
            let caller = try await service.authenticator.authenticate(username: "alice", password: "alice-password", client: "192.0.2.30")
            #expect(caller.subject.kind == .user)
            #expect(try await pool.read { try $0.users.find(name: "alice") }?.isAdmin == false)
        }
    }

    /// A full password pool answers at once instead of queueing without bound. Slow checks (cost 12) and many
    /// callers, so the pool fills even when a loaded machine starts the callers one by one.
    @Test func aFullPasswordPoolRefusesAtOnce() async throws {
        let tiny = PasswordCheckPool(numberOfThreads: 1, maximumQueued: 2, maximumQueuedPerClient: 2)
        try await withLogins(.sqlite, pool: tiny, cost: 12) { service, _, _ in
            let codes = await withTaskGroup(of: TokenError.Code?.self) { group in
                for index in 0..<32 {
                    group.addTask {
                        await isRefused {
                            try await service.authenticator.authenticate(username: "alice", password: "alice-password", client: "192.0.2.\(index)")
                        }
                    }
                }
                return await group.reduce(into: [TokenError.Code?]()) { $0.append($1) }
            }
            #expect(codes.contains(.unavailable))
            #expect(codes.contains(nil))
        }
    }
}

/// The registry's side: an upload continued with an expired token is checked against today's push rights.
@Suite struct UploadRecheckTests {
    @Test func aSessionCannotBeFinishedAfterThePushRightWasTakenAway() async throws {
        try await withAuthServer { fixture in
            let name = try RepositoryName("zeta/app")
            try await fixture.pool.write { transaction in
                let team = try transaction.teams.create(name: "zeta")
                try transaction.namespaces.create(name: "zeta", kind: .team, visibility: .private, teamID: team.id)
                let bob = try transaction.users.find(name: "bob")!
                try transaction.teams.setMember(teamID: team.id, userID: bob.id, role: .contributor)
            }
            let anHourAgo = Date().addingTimeInterval(-3600)
            let access = [AccessScope(.repository(name), actions: [.pull, .push])]
            let expired = try fixture.tokens.issuer.issue(subject: "bob", audience: "wharf", access: access, credential: nil, now: anHourAgo).token
            let session = try await fixture.services.blobs.startUpload(in: name, now: anHourAgo.addingTimeInterval(60))
            // Bob leaves the team; the session he started under his old token must not become a blob.
            try await fixture.pool.write { transaction in
                let team = try transaction.teams.find(name: "zeta")!
                let bob = try transaction.users.find(name: "bob")!
                try transaction.teams.removeMember(teamID: team.id, userID: bob.id)
            }
            let content = bytes("pushed after leaving")
            let finish = try await fixture.client.execute(
                uri: "/v2/zeta/app/blobs/uploads/\(session.id)?digest=\(digest(content))",
                method: .put,
                headers: [.authorization: "Bearer \(expired)"],
                body: buffer(content)
            )
            #expect(finish.status == .forbidden, "\(String(buffer: finish.body))")
            #expect(
                try await fixture.client.execute(
                    uri: "/v2/zeta/app/blobs/\(digest(content))",
                    method: .head,
                    headers: [.authorization: "Basic \(Data("admin:admin-password".utf8).base64EncodedString())"]
                ).status == .notFound
            )
        }
    }
}
