import Foundation
import Logging
import NIOSSL
import Testing
import X509
import _CryptoExtras

@testable import WharfServer

@Suite("CertificateBootstrap")
struct CertificateBootstrapTests {
    static let logger = Logger(label: "wharf.tests.tls")

    /// A fresh folder per test, removed afterwards; `certs` inside it does not exist yet.
    static func withTemporaryFolder(_ body: (String) throws -> Void) throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try body(root)
    }

    static func ensure(_ certs: String, extra: [String] = [], now: Date = Date()) throws -> CertificateInfo {
        try CertificateBootstrap.ensure(certsDirectory: certs, extraHostnames: extra, now: now, logger: logger)
    }

    /// Runs `body`, expects a TLSError with `code`, and checks the message is one line containing `fragment`.
    static func expectError(_ code: TLSError.Code, containing fragment: String, _ body: () throws -> Void) {
        let error = #expect(throws: TLSError.self) { try body() }
        #expect(error?.code == code)
        #expect(error?.description.contains(fragment) == true, "\(error?.description ?? "no error")")
        #expect(error?.description.contains("\n") == false)
    }

    static func mode(_ path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    @Test func generatesKeyAndCertificateWhenBothAreMissing() throws {
        try Self.withTemporaryFolder { root in
            let certs = root + "/data/certs"
            let now = Date()
            let info = try Self.ensure(certs, extra: ["Registry.Example.com", "10.1.2.3", "[fd00::1]", "registry.example.com"], now: now)

            let keyPath = certs + "/server.key"
            let certificatePath = certs + "/server.crt"
            #expect(try Self.mode(keyPath) == 0o600)
            #expect(try Self.mode(certificatePath) == 0o644)
            let keyPEM = try String(contentsOfFile: keyPath, encoding: .utf8)
            #expect(keyPEM.hasPrefix("-----BEGIN PRIVATE KEY-----"))
            #expect(try String(contentsOfFile: certificatePath, encoding: .utf8).hasPrefix("-----BEGIN CERTIFICATE-----"))
            // No temporary files are left behind.
            #expect(try FileManager.default.contentsOfDirectory(atPath: certs).sorted() == ["server.crt", "server.key"])

            for name in ["localhost", "127.0.0.1", "::1", "registry.example.com", "10.1.2.3", "fd00::1"] {
                #expect(info.subjectAlternativeNames.contains(name), "missing \(name) in \(info.subjectAlternativeNames)")
            }
            #expect(info.subjectAlternativeNames.filter { $0 == "registry.example.com" }.count == 1)
            #expect(info.subject.contains("O=Wharf"))
            #expect(info.notValidBefore < now)
            #expect(abs(info.notValidAfter.timeIntervalSince(now) - 365 * 24 * 3600) < 60)
            #expect(info.sha256Fingerprint.range(of: "^([0-9A-F]{2}:){31}[0-9A-F]{2}$", options: .regularExpression) != nil)
            #expect(info.summary.contains(info.sha256Fingerprint))
            #expect(info.summary.contains("DNS:registry.example.com"))
            #expect(info.summary.contains("IP:10.1.2.3"))

            // The same key must serve as the RS256 token signing key (jwt-kit parses it with _RSA).
            let rsa = try _RSA.Signing.PrivateKey(pemRepresentation: keyPEM)
            #expect(rsa.keySizeInBits == 2048)
        }
    }

    @Test func generatedCertificateCanActAsItsOwnCA() throws {
        try Self.withTemporaryFolder { root in
            let certs = root + "/certs"
            _ = try Self.ensure(certs)
            let certificate = try Certificate(pemEncoded: String(contentsOfFile: certs + "/server.crt", encoding: .utf8))
            #expect(certificate.version == .v3)
            #expect(certificate.issuer == certificate.subject)
            #expect(try certificate.extensions.basicConstraints == .isCertificateAuthority(maxPathLength: 0))
            let keyUsage = try #require(try certificate.extensions.keyUsage)
            #expect(keyUsage.digitalSignature && keyUsage.keyEncipherment && keyUsage.keyCertSign)
            #expect(try certificate.extensions.extendedKeyUsage?.contains(.serverAuth) == true)
            #expect(try certificate.extensions.subjectKeyIdentifier != nil)
            #expect(certificate.publicKey.isValidSignature(certificate.signature, for: certificate))
        }
    }

    @Test func secondCallKeepsTheExistingPair() throws {
        try Self.withTemporaryFolder { root in
            let certs = root + "/certs"
            let first = try Self.ensure(certs)
            let keyBefore = try Data(contentsOf: URL(fileURLWithPath: certs + "/server.key"))
            let second = try Self.ensure(certs, extra: ["other.example.com"])
            #expect(second.sha256Fingerprint == first.sha256Fingerprint)
            #expect(!second.subjectAlternativeNames.contains("other.example.com"))
            #expect(try Data(contentsOf: URL(fileURLWithPath: certs + "/server.key")) == keyBefore)
            #expect(try CertificateBootstrap.inspect(certsDirectory: certs).sha256Fingerprint == first.sha256Fingerprint)
        }
    }

    @Test func keyFromAnotherPairIsRejected() throws {
        try Self.withTemporaryFolder { root in
            _ = try Self.ensure(root + "/a")
            _ = try Self.ensure(root + "/b")
            try FileManager.default.removeItem(atPath: root + "/a/server.key")
            try FileManager.default.copyItem(atPath: root + "/b/server.key", toPath: root + "/a/server.key")
            Self.expectError(.keyMismatch, containing: "does not match") { _ = try Self.ensure(root + "/a") }
            Self.expectError(.keyMismatch, containing: "does not match") {
                _ = try CertificateBootstrap.serverTLSConfiguration(certsDirectory: root + "/a", alpn: ["h2"])
            }
        }
    }

    @Test func expiredCertificateIsRejected() throws {
        try Self.withTemporaryFolder { root in
            let certs = root + "/certs"
            let twoYearsAgo = Date().addingTimeInterval(-2 * 365 * 24 * 3600)
            // Valid at the time it was made...
            let info = try Self.ensure(certs, now: twoYearsAgo)
            #expect(info.notValidAfter < Date())
            // ...expired now, and not replaced.
            Self.expectError(.expired, containing: "expired on") { _ = try Self.ensure(certs) }
            #expect(try CertificateBootstrap.inspect(certsDirectory: certs).sha256Fingerprint == info.sha256Fingerprint)
        }
    }

    @Test func garbageIsRejected() throws {
        try Self.withTemporaryFolder { root in
            let certs = root + "/certs"
            _ = try Self.ensure(certs)
            let goodKey = try String(contentsOfFile: certs + "/server.key", encoding: .utf8)

            try "hello".write(toFile: certs + "/server.crt", atomically: false, encoding: .utf8)
            Self.expectError(.invalidPEM, containing: "server.crt: not a PEM certificate") { _ = try Self.ensure(certs) }
            Self.expectError(.invalidPEM, containing: "not a PEM certificate") {
                _ = try CertificateBootstrap.inspect(certsDirectory: certs)
            }
            // Unchanged: garbage is reported, never replaced.
            #expect(try String(contentsOfFile: certs + "/server.crt", encoding: .utf8) == "hello")
            #expect(try String(contentsOfFile: certs + "/server.key", encoding: .utf8) == goodKey)

            let damaged = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
            try damaged.write(toFile: certs + "/server.crt", atomically: false, encoding: .utf8)
            Self.expectError(.invalidPEM, containing: "not a valid X.509 certificate") { _ = try Self.ensure(certs) }
        }
    }

    @Test func garbageKeyIsRejected() throws {
        try Self.withTemporaryFolder { root in
            let certs = root + "/certs"
            _ = try Self.ensure(certs)
            try "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n".write(
                toFile: certs + "/server.key",
                atomically: false,
                encoding: .utf8
            )
            Self.expectError(.invalidPEM, containing: "server.key: not a PEM private key") { _ = try Self.ensure(certs) }
        }
    }

    @Test func onlyOneOfThePairIsAnError() throws {
        try Self.withTemporaryFolder { root in
            let certs = root + "/certs"
            _ = try Self.ensure(certs)
            let keyBefore = try Data(contentsOf: URL(fileURLWithPath: certs + "/server.key"))
            try FileManager.default.removeItem(atPath: certs + "/server.crt")
            Self.expectError(.incompleteKeyPair, containing: "server.crt is missing") { _ = try Self.ensure(certs) }
            #expect(!FileManager.default.fileExists(atPath: certs + "/server.crt"))
            #expect(try Data(contentsOf: URL(fileURLWithPath: certs + "/server.key")) == keyBefore)

            let other = root + "/other"
            _ = try Self.ensure(other)
            try FileManager.default.removeItem(atPath: other + "/server.key")
            Self.expectError(.incompleteKeyPair, containing: "server.key is missing") { _ = try Self.ensure(other) }
            #expect(!FileManager.default.fileExists(atPath: other + "/server.key"))
        }
    }

    @Test func invalidExtraHostnameWritesNothing() throws {
        try Self.withTemporaryFolder { root in
            let certs = root + "/certs"
            Self.expectError(.invalidHostname, containing: "not an IP address or DNS name") {
                _ = try Self.ensure(certs, extra: ["good.example.com", "bad host/name"])
            }
            #expect(!FileManager.default.fileExists(atPath: certs + "/server.key"))
            #expect(!FileManager.default.fileExists(atPath: certs + "/server.crt"))
        }
    }

    @Test(arguments: [
        ("10.0.0.1", "10.0.0.1"), ("::1", "::1"), ("[2001:db8::1]", "2001:db8::1"), ("Example.COM", "example.com"),
        ("*.example.com", "*.example.com"), ("my_host", "my_host"),
    ])
    func extraHostnamesAreClassified(input: String, expected: String) throws {
        let names = try CertificateBootstrap.subjectAlternativeNames(machineHostname: nil, extraHostnames: [input])
        #expect(names.map(CertificateBootstrap.plainText(of:)).contains(expected))
        let isIP = input.contains(":") || input.first?.isNumber == true
        #expect(names.last.map { if case .ipAddress = $0 { true } else { false } } == isIP)
    }

    @Test(arguments: ["a..b", "-a.com", "a b", "a/b", "*", "x.*.com", "fe80::1%eth0"])
    func malformedHostnamesAreRefused(input: String) {
        #expect(CertificateBootstrap.generalName(for: input) == nil)
    }

    @Test func serverTLSConfigurationLoadsThePair() throws {
        try Self.withTemporaryFolder { root in
            let certs = root + "/certs"
            _ = try Self.ensure(certs)
            let configuration = try CertificateBootstrap.serverTLSConfiguration(certsDirectory: certs, alpn: ["h2", "http/1.1"])
            #expect(configuration.applicationProtocols == ["h2", "http/1.1"])
            #expect(configuration.certificateChain.count == 1)
            #expect(configuration.minimumTLSVersion == .tlsv12)
            // BoringSSL accepts the pair (it checks that the key matches the certificate).
            _ = try NIOSSLContext(configuration: configuration)
        }
    }

    @Test func serverTLSConfigurationNamesAMissingFile() throws {
        try Self.withTemporaryFolder { root in
            Self.expectError(.fileSystem, containing: "server.crt: cannot read") {
                _ = try CertificateBootstrap.serverTLSConfiguration(certsDirectory: root + "/nowhere", alpn: [])
            }
        }
    }
}
