import Foundation
import Testing

@testable import WharfServer

@Suite struct ConnectionLimitsTests {
    @Test func defaults() throws {
        let configuration = try ConfigurationKey.load(file: nil, environment: [:], flags: [:])
        #expect(configuration.tlsMinimumVersion == .tls12)
        let limits = configuration.connectionLimits
        #expect(limits.handshakeTimeout == .seconds(10))
        #expect(limits.requestHeadTimeout == .seconds(30))
        #expect(limits.idleTimeout == .seconds(75))
        #expect(limits.bodyIdleTimeout == .seconds(60))
        #expect(limits.maxConnections == nil)
    }

    @Test func keysAreRead() throws {
        let configuration = try ConfigurationKey.load(
            file: nil,
            environment: [
                "WHARF_TLS_MIN_VERSION": "1.3", "WHARF_HTTP_TLS_HANDSHAKE_TIMEOUT": "2s", "WHARF_HTTP_REQUEST_HEAD_TIMEOUT": "3s",
                "WHARF_HTTP_IDLE_TIMEOUT": "2m", "WHARF_HTTP_BODY_IDLE_TIMEOUT": "90", "WHARF_HTTP_MAX_CONNECTIONS": "500",
            ],
            flags: [:]
        )
        #expect(configuration.tlsMinimumVersion == .tls13)
        #expect(configuration.connectionLimits.handshakeTimeout == .seconds(2))
        #expect(configuration.connectionLimits.requestHeadTimeout == .seconds(3))
        #expect(configuration.connectionLimits.idleTimeout == .seconds(120))
        #expect(configuration.connectionLimits.bodyIdleTimeout == .seconds(90))
        #expect(configuration.connectionLimits.maxConnections == 500)
        let auto = try ConfigurationKey.load(file: nil, environment: ["WHARF_HTTP_MAX_CONNECTIONS": "auto"], flags: [:])
        #expect(auto.connectionLimits.maxConnections == nil)
    }

    @Test(arguments: [
        ("tls.min_version", "1.1"), ("tls.min_version", "1.0"), ("tls.min_version", "tls1.3"), ("http.max_connections", "0"),
        ("http.max_connections", "many"), ("http.idle_timeout", "0"), ("http.body_idle_timeout", "soon"),
        ("http.tls_handshake_timeout", ""), ("http.request_head_timeout", "-5s"),
    ])
    func badValuesGiveOneLineReasons(key: String, value: String) {
        let error = #expect(throws: ConfigurationError.self) { try ConfigurationKey.load(file: nil, environment: [:], flags: [key: value]) }
        #expect(error?.description.hasPrefix(key + ":") == true)
        #expect(error?.description.contains("\n") == false)
    }

    @Test func minimumVersionRejectsTLS11WithItsReason() {
        let error = #expect(throws: ConfigurationError.self) {
            try ConfigurationKey.load(file: nil, environment: ["WHARF_TLS_MIN_VERSION": "1.1"], flags: [:])
        }
        #expect(error?.description == "tls.min_version: expected 1.2 or 1.3, got 1.1")
    }

    @Test func keysFormOneBlockAfterTLS() {
        let keys = ConfigurationKey.all.map(\.key)
        let start = keys.firstIndex(of: "tls")!
        #expect(
            Array(keys[(start + 1)...(start + 6)]) == [
                "tls.min_version", "http.tls_handshake_timeout", "http.request_head_timeout", "http.idle_timeout",
                "http.body_idle_timeout", "http.max_connections",
            ]
        )
    }

    @Test func automaticCapKeepsAReserveBelowTheDescriptorLimit() throws {
        #expect(DescriptorLimit(soft: 256, hard: 256).automaticConnectionCap == 224)
        #expect(DescriptorLimit(soft: 1024, hard: 4096).automaticConnectionCap == 896)
        #expect(DescriptorLimit(soft: 1_048_576, hard: 1_048_576).automaticConnectionCap == 917_504)
        #expect(DescriptorLimit(soft: 20, hard: 20).automaticConnectionCap == 1)
        let limit = DescriptorLimit(soft: 256, hard: 256)
        #expect(try limit.connectionCap(configured: nil) == 224)
        #expect(try limit.connectionCap(configured: 255) == 255)
        let error = #expect(throws: ConfigurationError.self) { try limit.connectionCap(configured: 256) }
        #expect(error?.description.hasPrefix("http.max_connections: 256 must stay below the file-descriptor limit 256") == true)
    }

    @Test func softLimitIsRaisedToTheHardLimit() throws {
        let raised = try #require(DescriptorLimit.raiseToHard())
        #expect(raised.after.soft == raised.after.hard || raised.after == raised.before)
        #expect(raised.after.soft >= raised.before.soft)
        #expect(DescriptorLimit.current() == raised.after)
    }
}
