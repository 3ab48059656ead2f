import Foundation
import Synchronization

@testable import WharfAuth

/// A slapd started by `scripts/slapd-test-server.sh`, described by the `WHARF_TEST_LDAP_*` lines of its `DIR/env`.
/// The seed (users alice, bob, carol and `dan, jr (*)`, each with password `<first word>-password`; groups
/// developers, admins, qa, ops) is documented at the top of the script.
struct TestSlapd: Sendable {
    var url: String
    var ldapsURL: String
    var caFile: String
    var otherCAFile: String
    var baseDN: String
    var adminDN: String
    var adminPassword: String
    var readerDN: String
    var readerPassword: String
    var folder: String

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("scripts/slapd-test-server.sh").path

    /// The server of the whole test run, from the environment the test command sets. Fails (never skips) when it
    /// is not set.
    static func shared() throws -> TestSlapd {
        try TestSlapd(ProcessInfo.processInfo.environment)
    }

    init(_ variables: [String: String]) throws {
        func value(_ name: String) throws -> String {
            guard let value = variables[name], !value.isEmpty else {
                throw TestSlapdError(
                    "\(name) is not set: start a test slapd with `scripts/slapd-test-server.sh start DIR` and export the lines of "
                        + "DIR/env (scripts/test.sh does both)"
                )
            }
            return value
        }
        url = try value("WHARF_TEST_LDAP_URL")
        ldapsURL = try value("WHARF_TEST_LDAPS_URL")
        caFile = try value("WHARF_TEST_LDAP_CA")
        otherCAFile = try value("WHARF_TEST_LDAP_OTHER_CA")
        baseDN = try value("WHARF_TEST_LDAP_BASE")
        adminDN = try value("WHARF_TEST_LDAP_ADMIN_DN")
        adminPassword = try value("WHARF_TEST_LDAP_ADMIN_PASSWORD")
        readerDN = try value("WHARF_TEST_LDAP_READER_DN")
        readerPassword = try value("WHARF_TEST_LDAP_READER_PASSWORD")
        folder = try value("WHARF_TEST_LDAP_DIR")
    }

    /// The DN of a seeded person.
    func person(_ uid: String) -> String { "uid=\(uid),ou=people,\(baseDN)" }

    func group(_ cn: String) -> String { "cn=\(cn),ou=groups,\(baseDN)" }

    /// Search-then-bind as the reader over plain LDAP: the configuration most tests start from.
    func configuration() -> LDAPConfiguration {
        var configuration = LDAPConfiguration()
        configuration.urls = [url]
        configuration.baseDN = baseDN
        configuration.bindDN = readerDN
        configuration.bindPassword = readerPassword
        configuration.connectTimeout = .seconds(5)
        configuration.operationTimeout = .seconds(10)
        configuration.poolSize = 2
        return configuration
    }

    /// The same without a bind account: logins bind directly as `uid=LOGIN,ou=people,BASE`.
    func directBindConfiguration() -> LDAPConfiguration {
        var configuration = configuration()
        configuration.baseDN = "ou=people,\(baseDN)"
        configuration.bindDN = nil
        configuration.bindPassword = nil
        return configuration
    }

    // MARK: Changing the directory (as the admin, with ldap-utils)

    /// Adds the entries of `ldif`.
    func add(_ ldif: String) async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-ldif-\(UUID().uuidString).ldif").path
        try ldif.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        _ = try await Self.run(["ldapadd", "-x", "-H", url, "-D", adminDN, "-w", adminPassword, "-f", file])
    }

    func delete(_ dn: String) async throws {
        _ = try await Self.run(["ldapdelete", "-x", "-H", url, "-D", adminDN, "-w", adminPassword, dn])
    }

    /// Adds a person `uid` (inetOrgPerson under ou=people) with `password`; returns the DN.
    @discardableResult
    func addPerson(_ uid: String, password: String) async throws -> String {
        let dn = person(uid)
        try await add(
            """
            dn: \(dn)
            objectClass: inetOrgPerson
            uid: \(uid)
            cn: \(uid) Test
            sn: Test
            mail: \(uid)@wharf.test
            userPassword: \(password)

            """
        )
        return dn
    }

    // MARK: Servers of a test's own

    /// Starts a fresh server in a new folder, for a test that stops it (removed when the process exits, and by
    /// ``remove()``).
    static func startOwn() async throws -> TestSlapd {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-own-slapd-\(UUID().uuidString.prefix(8))").path
        registerForRemovalAtExit(folder)
        _ = try await run(["/bin/bash", script, "start", folder])
        let env = try String(contentsOfFile: folder + "/env", encoding: .utf8)
        var variables: [String: String] = [:]
        for line in env.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            variables[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return try TestSlapd(variables)
    }

    /// Starts the server kept in ``folder`` again (same ports, same data).
    func start() async throws { _ = try await Self.run(["/bin/bash", Self.script, "start", folder]) }

    func stop() async throws { _ = try await Self.run(["/bin/bash", Self.script, "stop", folder]) }

    /// SIGKILL, as a crash of the directory host would.
    func kill() async throws { _ = try await Self.run(["/bin/bash", Self.script, "kill", folder]) }

    func remove() async { _ = try? await Self.run(["/bin/bash", Self.script, "remove", folder]) }

    private static let startedFolders = Mutex<Set<String>>([])

    private static func registerForRemovalAtExit(_ folder: String) {
        let first = startedFolders.withLock { folders in
            defer { folders.insert(folder) }
            return folders.isEmpty
        }
        if first {
            atexit {
                for folder in TestSlapd.startedFolders.withLock({ $0 }) {
                    _ = try? TestSlapd.runNow(["/bin/bash", TestSlapd.script, "remove", folder])
                }
            }
        }
    }

    // MARK: Commands

    /// Runs `words` (looked up on PATH) off the cooperative pool; throws with its standard error when it fails.
    static func run(_ words: [String]) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try runNow(words) }) }
        }
    }

    /// posix_spawn and waitpid, output through files (as TestMariaDB does: a server the script leaves running must
    /// not hold a pipe of ours open, and `Process.waitUntilExit` was seen to hang).
    private static func runNow(_ words: [String]) throws -> String {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-slapd-command-\(UUID().uuidString)").path
        defer {
            try? FileManager.default.removeItem(atPath: log + ".out")
            try? FileManager.default.removeItem(atPath: log + ".err")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log + ".out", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, log + ".err", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let arguments = words.map { strdup($0) }
        defer { for argument in arguments { free(argument) } }
        var pid: pid_t = 0
        // Dispatch's threads block most signals, and a spawned process inherits the mask: slapd started from here
        // would never see the SIGTERM of `stop`. The child starts with no signal blocked and default handlers.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let spawned = posix_spawnp(&pid, words[0], &actions, &attributes, arguments + [nil], environ)
        guard spawned == 0 else { throw TestSlapdError("cannot run \(words[0]): error \(spawned) (install slapd and ldap-utils)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let output = (try? String(contentsOfFile: log + ".out", encoding: .utf8)) ?? ""
        // Exited normally with status 0 (WIFEXITED and WEXITSTATUS, which are macros).
        guard status & 0x7f == 0 && (status >> 8) & 0xff == 0 else {
            let errors = (try? String(contentsOfFile: log + ".err", encoding: .utf8)) ?? ""
            throw TestSlapdError("\(words.prefix(3).joined(separator: " ")) failed: \(errors.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return output
    }
}

struct TestSlapdError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Runs `body` with a directory over `configuration`, shut down afterwards.
func withDirectory<T>(_ configuration: LDAPConfiguration, _ body: (LDAPDirectory) async throws -> T) async throws -> T {
    let directory = LDAPDirectory(configuration: configuration)
    do {
        let value = try await body(directory)
        await directory.shutdown()
        return value
    } catch {
        await directory.shutdown()
        throw error
    }
}

/// A port on 127.0.0.1 that nothing listens on (bound, then closed again).
func closedPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestSlapdError("socket() failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
        }
    }
    guard bound else { throw TestSlapdError("bind() failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// A socket on 127.0.0.1 that listens but never accepts nor answers: connections complete (the kernel queues them)
/// and then hear nothing, as from a server that hangs. Closed by `body`'s end.
func withSilentServer<T>(_ body: (Int) async throws -> T) async throws -> T {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestSlapdError("socket() failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let listening = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(fd, pointer, length) == 0 && listen(fd, 64) == 0 && getsockname(fd, pointer, &length) == 0
        }
    }
    guard listening else { throw TestSlapdError("cannot listen on 127.0.0.1") }
    return try await body(Int(UInt16(bigEndian: address.sin_port)))
}
