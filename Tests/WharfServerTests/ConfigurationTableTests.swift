import Foundation
import Testing

@testable import WharfServer

/// The configuration table (`ConfigurationKey.all`) is the one place that states each option's name, environment
/// variable and default: these tests hold the configuration, the environment and the README to it, key by key.
@Suite struct ConfigurationTableTests {
    /// A value other than the default for every key, to see that the key's environment variable changes something.
    static let otherValues: [String: String] = [
        "data": "/srv/elsewhere",
        "listen": "127.0.0.1:7000",
        "tls": "off",
        "tls.min_version": "1.3",
        "http.tls_handshake_timeout": "3s",
        "http.request_head_timeout": "7s",
        "http.idle_timeout": "9s",
        "http.body_idle_timeout": "11s",
        "http.max_connections": "500",
        "external_hostname": "registry.example.com",
        "uploads.purge_after": "2h",
        "uploads.purge_interval": "5m",
        "sync.interval": "2m",
        "retention.schedule": "24h",
        "gc.min_age": "10m",
        "gc.schedule": "6h",
        "gc.untagged": "on",
        "uploads.max_open_per_account": "7",
        "uploads.max_blob_size": "512MiB",
        "storage.fsync": "off",
        "database.url": "sqlite:///srv/wharf/other.sqlite",
        "auth.token_expiry": "5m",
        "auth.issuer": "issuer.example.com",
        "auth.enabled": "off",
        "auth.service_account": "robot",
        "auth.service_password": "a long service password",
        "auth.lockout_attempts": "3",
        "auth.lockout_window": "2m",
        "auth.lockout_duration": "30m",
        "auth.failures_per_address": "5",
        "auth.failures_window": "30s",
        "auth.anonymous_pull": "off",
        "permissions.push_policy": "admin-only",
        "permissions.delete": "off",
        "permissions.contributors_delete": "on",
        "namespaces.create_on_push": "off",
        "external_url": "https://registry.example.com",
        "trusted_proxies": "10.0.0.0/8",
        "webhooks.allowed_networks": "127.0.0.0/8,::1",
        "webhooks.timeout": "3s",
        "portal.signup": "off",
        "portal.anonymous_browsing": "off",
        "portal.session_idle": "30m",
        "portal.session_lifetime": "1d",
        "log_level": "debug",
        "ldap.enabled": "on",
        "ldap.url": "ldaps://ldap1.example.com,ldaps://ldap2.example.com:1636",
        "ldap.encryption": "ldaps",
        "ldap.ca_file": "/etc/ssl/ldap-ca.pem",
        "ldap.insecure_skip_verify": "on",
        "ldap.base_dn": "ou=people,dc=example,dc=com",
        "ldap.user_attribute": "sAMAccountName",
        "ldap.filter": "(objectClass=person)",
        "ldap.bind_dn": "cn=reader,dc=example,dc=com",
        "ldap.bind_password": "reader password",
        "ldap.admin_group": "cn=admins,ou=groups,dc=example,dc=com",
        "ldap.email_attribute": "userPrincipalName",
        "ldap.display_name_attribute": "displayName",
        "ldap.connect_timeout": "2s",
        "ldap.operation_timeout": "3s",
        "ldap.pool_size": "8",
        "ldap.cache_ttl": "0",
        "ldap.group_base_dn": "ou=groups,dc=example,dc=com",
        "ldap.group_filter": "(objectClass=group)",
        "ldap.member_attribute": "memberUid",
        "ldap.default_role": "contributor",
        "ldap.sync_interval": "1m",
        "ldap.sync_mode": "add-only",
    ]

    static var keyNames: [String] { ConfigurationKey.all.map(\.key) }

    static func key(_ name: String) throws -> ConfigurationKey { try #require(ConfigurationKey.named(name)) }

    /// The README's configuration table: the lines from its header row to the first line that is not a row.
    static func readmeTable() throws -> [String] {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("README.md")
        let lines = try String(contentsOf: readme, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let start = try #require(lines.firstIndex { $0.hasPrefix("| YAML key |") })
        return Array(lines[start...].prefix { $0.hasPrefix("|") })
    }

    @Test func everyKeyHasAnotherValueToTryAndNamesAreUnique() {
        #expect(Set(Self.otherValues.keys) == Set(Self.keyNames))
        #expect(Set(Self.keyNames).count == Self.keyNames.count)
        #expect(Set(ConfigurationKey.all.map(\.environmentName)).count == Self.keyNames.count)
    }

    @Test(arguments: keyNames)
    func theDefaultIsWhatAnEmptyConfigurationHolds(name: String) throws {
        let key = try Self.key(name)
        let empty = try ConfigurationKey.load(file: nil, environment: [:], flags: [:])
        #expect(empty == ServerConfiguration())
        // Set the key to something else, then back to its default: the configuration is the empty one again, so
        // the default parses and is exactly what the property fed by the key holds when nothing is configured.
        var configuration = try ConfigurationKey.load(file: nil, environment: [key.environmentName: try #require(Self.otherValues[name])], flags: [:])
        #expect(configuration != empty, "\(key.environmentName) changed nothing")
        try key.apply(&configuration, key.defaultValue)
        #expect(configuration == empty, "the default of \(name), \(key.defaultValue.debugDescription), is not what an empty configuration holds")
    }

    @Test(arguments: keyNames)
    func theEnvironmentVariableIsNamedByTheReadmeRule(name: String) throws {
        let key = try Self.key(name)
        // README: `WHARF_` and the YAML key in capitals, dots (nesting) as underscores.
        #expect(key.environmentName == "WHARF_" + name.uppercased().replacingOccurrences(of: ".", with: "_"))
        #expect(key.environmentName.allSatisfy { $0.isASCII && ($0.isUppercase || $0.isNumber || $0 == "_") })
        let value = try #require(Self.otherValues[name])
        let fromEnvironment = try ConfigurationKey.load(file: nil, environment: [key.environmentName: value], flags: [:])
        let fromFlag = try ConfigurationKey.load(file: nil, environment: [:], flags: [name: value])
        #expect(fromEnvironment == fromFlag)
        #expect(fromEnvironment != ServerConfiguration())
    }

    @Test(arguments: keyNames)
    func theReadmeHasOneRowWithTheSameFacts(name: String) throws {
        let key = try Self.key(name)
        let rows = try Self.readmeTable().filter { $0.hasPrefix("| `\(name)` |") }
        try #require(rows.count == 1, "README rows for \(name): \(rows.count)")
        let cells = rows[0].dropFirst(2).components(separatedBy: " | ")
        try #require(cells.count >= 5)
        #expect(cells[1] == "`\(key.environmentName)`")
        #expect(cells[2] == (key.flag.map { "`\($0)`" } ?? ""))
        #expect(cells[3] == (key.defaultValue.isEmpty ? "" : "`\(key.defaultValue)`"))
    }

    /// `wharf config keys` prints `markdownTable()`; the README must show the same table, row for row.
    @Test func theReadmeTableIsWhatWharfConfigKeysPrints() throws {
        #expect(try Self.readmeTable() == ConfigurationKey.markdownTable().split(separator: "\n").map(String.init))
    }

    @Test func flagHelpComesFromTheTable() throws {
        let data = try Self.key("data")
        #expect(data.flagHelp.hasSuffix("(WHARF_DATA, default \(data.defaultValue))"))
        #expect(!data.flagHelp.contains("`"))
        #expect(try Self.key("auth.service_password").flagHelp.hasSuffix("(WHARF_AUTH_SERVICE_PASSWORD)"))
    }

    @Test func connectionLimitsDefaultToTheTable() throws {
        #expect(ConnectionLimits() == ServerConfiguration().connectionLimits)
        #expect(ConnectionLimits().idleTimeout == (try ConfigurationKey.parseDuration(Self.key("http.idle_timeout").defaultValue)))
    }
}
