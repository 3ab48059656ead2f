import Foundation
import Testing

@testable import WharfServer

@Suite struct ConfigurationTests {
    func writeYAML(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-config-\(UUID().uuidString).yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func defaults() throws {
        let configuration = try ConfigurationKey.load(file: nil, environment: [:], flags: [:])
        #expect(configuration.dataDirectory == "./wharf-data")
        #expect(configuration.listen == "0.0.0.0:5000")
        #expect(configuration.tls)
        #expect(configuration.uploadPurgeAfter == .seconds(86400))
    }

    @Test func flagBeatsEnvironmentBeatsFileBeatsDefault() throws {
        let file = try writeYAML(
            """
            data: /from/file
            listen: 127.0.0.1:7000
            tls: off
            uploads:
              purge_after: 2h
            """
        )
        defer { try? FileManager.default.removeItem(atPath: file) }
        let fileOnly = try ConfigurationKey.load(file: file, environment: [:], flags: [:])
        #expect(fileOnly.dataDirectory == "/from/file")
        #expect(fileOnly.listen == "127.0.0.1:7000")
        #expect(!fileOnly.tls)
        #expect(fileOnly.uploadPurgeAfter == .seconds(7200))

        let environment = ["WHARF_DATA": "/from/env", "WHARF_TLS": "on", "WHARF_UPLOADS_PURGE_AFTER": "30m"]
        let withEnvironment = try ConfigurationKey.load(file: file, environment: environment, flags: [:])
        #expect(withEnvironment.dataDirectory == "/from/env")
        #expect(withEnvironment.tls)
        #expect(withEnvironment.listen == "127.0.0.1:7000")
        #expect(withEnvironment.uploadPurgeAfter == .seconds(1800))

        let withFlags = try ConfigurationKey.load(file: file, environment: environment, flags: ["data": "/from/flag", "tls": "off"])
        #expect(withFlags.dataDirectory == "/from/flag")
        #expect(!withFlags.tls)
    }

    @Test func configFileFromEnvironment() throws {
        let file = try writeYAML("log_level: debug\n")
        defer { try? FileManager.default.removeItem(atPath: file) }
        let configuration = try ConfigurationKey.load(file: nil, environment: ["WHARF_CONFIG": file], flags: [:])
        #expect(configuration.logLevel == "debug")
    }

    @Test func badValuesGiveOneLineReasons() throws {
        let cases: [([String: String], String)] = [
            (["listen": "nope"], "listen"),
            (["listen": "127.0.0.1:99999"], "listen"),
            (["tls": "maybe"], "tls"),
            (["log_level": "loud"], "log_level"),
            (["uploads.purge_after": "soon"], "uploads.purge_after"),
            (["data": ""], "data"),
        ]
        for (flags, key) in cases {
            let error = #expect(throws: ConfigurationError.self) { try ConfigurationKey.load(file: nil, environment: [:], flags: flags) }
            #expect(error?.description.hasPrefix(key) == true)
            #expect(error?.description.contains("\n") == false)
        }
        let unknown = try writeYAML("colour: blue\n")
        defer { try? FileManager.default.removeItem(atPath: unknown) }
        let error = #expect(throws: ConfigurationError.self) { try ConfigurationKey.load(file: unknown, environment: [:], flags: [:]) }
        #expect(error?.description.contains("unknown option colour") == true)
        #expect(throws: ConfigurationError.self) { try ConfigurationKey.load(file: "/nonexistent/wharf.yaml", environment: [:], flags: [:]) }
    }

    @Test func listenAddresses() throws {
        var configuration = ServerConfiguration()
        configuration.listen = "[::1]:5000"
        #expect(try configuration.listenAddress() == ("::1", 5000))
        configuration.listen = ":8080"
        #expect(try configuration.listenAddress() == ("0.0.0.0", 8080))
    }

    @Test func tokenExpiryAndIssuer() throws {
        let defaults = try ConfigurationKey.load(file: nil, environment: [:], flags: [:])
        #expect(defaults.tokenExpiry == .seconds(900))
        #expect(defaults.tokenIssuer == "wharf")
        let hostname = try ConfigurationKey.load(file: nil, environment: ["WHARF_EXTERNAL_HOSTNAME": "registry.example"], flags: [:])
        #expect(hostname.tokenIssuer == "registry.example")
        let set = try ConfigurationKey.load(
            file: nil,
            environment: ["WHARF_AUTH_TOKEN_EXPIRY": "5m", "WHARF_AUTH_ISSUER": "issuer.example", "WHARF_EXTERNAL_HOSTNAME": "registry.example"],
            flags: [:]
        )
        #expect(set.tokenExpiry == .seconds(300))
        #expect(set.tokenIssuer == "issuer.example")
        #expect(throws: ConfigurationError.self) { try ConfigurationKey.load(file: nil, environment: ["WHARF_AUTH_TOKEN_EXPIRY": "0"], flags: [:]) }
    }

    @Test func everyKeyIsInTheMarkdownTable() {
        let table = ConfigurationKey.markdownTable()
        for key in ConfigurationKey.all {
            #expect(table.contains("`\(key.key)`"))
            #expect(table.contains("`\(key.environmentName)`"))
        }
    }
}
