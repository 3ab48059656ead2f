import Foundation
import Testing

@testable import WharfAuth

/// A directory server that goes away and comes back, with a slapd of the test's own (stopping the shared one would
/// disturb the tests running beside these).
@Suite struct LDAPOutageTests {
    @Test(arguments: [false, true])
    func aStoppedServerIsUnavailableAndTheSameDirectoryWorksAgainOnceItIsBack(crash: Bool) async throws {
        let slapd = try await TestSlapd.startOwn()
        do {
            var configuration = slapd.configuration()
            configuration.adminGroup = slapd.group("admins")
            configuration.connectTimeout = .seconds(2)
            try await withDirectory(configuration) { directory async throws in
                // Both connections of the pool open and idle, so that the restart leaves them stale.
                async let first = directory.authenticate(login: "alice", password: "alice-password")
                async let second = directory.authenticate(login: "bob", password: "bob-password")
                #expect(try await first.entry?.isAdmin == true)
                #expect(try await second.entry != nil)

                if crash { try await slapd.kill() } else { try await slapd.stop() }
                // Down is never "wrong password", whatever the password.
                await #expect(throws: DirectoryUnavailable.self) { try await directory.authenticate(login: "alice", password: "alice-password") }
                await #expect(throws: DirectoryUnavailable.self) { try await directory.authenticate(login: "alice", password: "wrong") }
                await #expect(throws: DirectoryUnavailable.self) { try await directory.entry(dn: slapd.person("alice")) }
                let down = await directory.status()
                #expect(!down.reachable)
                #expect(down.lastError != nil && down.lastErrorAt != nil)

                try await slapd.start()
                #expect(try await directory.authenticate(login: "alice", password: "alice-password").entry?.isAdmin == true)
                #expect(try await directory.authenticate(login: "bob", password: "wrong").isRefused)
                #expect(try await directory.entry(dn: slapd.person("carol"))?.login == "carol")
                let up = await directory.status()
                #expect(up.reachable && up.url == slapd.url)
            }
        } catch {
            await slapd.remove()
            throw error
        }
        await slapd.remove()
    }

    /// Connections opened before a restart are stale; the first call after it gets a fresh connection rather than
    /// an error (the server was only away between two calls).
    @Test func aRestartBetweenTwoCallsGoesUnnoticed() async throws {
        let slapd = try await TestSlapd.startOwn()
        do {
            var configuration = slapd.configuration()
            configuration.poolSize = 1
            try await withDirectory(configuration) { directory async throws in
                #expect(try await directory.authenticate(login: "carol", password: "carol-password").entry != nil)
                try await slapd.stop()
                try await slapd.start()
                #expect(try await directory.authenticate(login: "carol", password: "carol-password").entry != nil)
            }
        } catch {
            await slapd.remove()
            throw error
        }
        await slapd.remove()
    }

    @Test func failOverWhenTheFirstServerStops() async throws {
        let shared = try TestSlapd.shared()
        let own = try await TestSlapd.startOwn()
        do {
            // Both servers hold the same seed, but each has a reader password of its own: direct binds work on both.
            var configuration = own.directBindConfiguration()
            configuration.urls = [own.url, shared.url]
            try await withDirectory(configuration) { directory async throws in
                #expect(try await directory.authenticate(login: "alice", password: "alice-password").entry != nil)
                #expect(await directory.status().url == own.url)
                try await own.stop()
                #expect(try await directory.authenticate(login: "alice", password: "alice-password").entry != nil)
                #expect(await directory.status().url == shared.url)
            }
        } catch {
            await own.remove()
            throw error
        }
        await own.remove()
    }

    /// A server that accepts connections and never answers gives "unavailable" once the timeouts pass, for every
    /// transport (TLS handshakes included), and never hangs the caller.
    @Test(arguments: [LDAPConfiguration.Encryption.plain, .ldaps, .starttls])
    func aServerThatNeverAnswersIsUnavailable(encryption: LDAPConfiguration.Encryption) async throws {
        let slapd = try TestSlapd.shared()
        try await withSilentServer { port in
            var configuration = slapd.configuration()
            configuration.urls = ["\(encryption == .ldaps ? "ldaps" : "ldap")://127.0.0.1:\(port)"]
            configuration.encryption = encryption
            configuration.caFile = slapd.caFile
            configuration.connectTimeout = .seconds(1)
            configuration.operationTimeout = .seconds(1)
            try await withDirectory(configuration) { directory async throws in
                await #expect(throws: DirectoryUnavailable.self) { try await directory.authenticate(login: "alice", password: "alice-password") }
                #expect(await !directory.status().reachable)
            }
        }
    }

    /// slapd frozen (SIGSTOP) with connections open: calls time out as unavailable; thawed, it answers again.
    @Test func aFrozenServerTimesOutAndRecovers() async throws {
        let slapd = try await TestSlapd.startOwn()
        do {
            var configuration = slapd.configuration()
            configuration.connectTimeout = .seconds(1)
            configuration.operationTimeout = .seconds(1)
            try await withDirectory(configuration) { directory async throws in
                #expect(try await directory.authenticate(login: "alice", password: "alice-password").entry != nil)
                let pid = try String(contentsOfFile: slapd.folder + "/slapd.pid", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
                _ = try await TestSlapd.run(["kill", "-STOP", pid])
                let frozen = await #expect(throws: DirectoryUnavailable.self) {
                    try await directory.authenticate(login: "alice", password: "alice-password")
                }
                _ = try await TestSlapd.run(["kill", "-CONT", pid])
                #expect(frozen?.message.isEmpty == false)
                #expect(try await directory.authenticate(login: "alice", password: "alice-password").entry != nil)
            }
        } catch {
            await slapd.remove()
            throw error
        }
        await slapd.remove()
    }
}
