import Foundation
import Testing
import WharfAuth

@testable import WharfServer

/// `wharf import portus-config`: Portus's settings (defaults, files, `PORTUS_*` variables) as Wharf configuration
/// that Wharf loads as it is, with a note for each setting Wharf has no equivalent for.
@Suite struct PortusConfigTranslationTests {
    /// A Portus 2.4 `config-local.yml` with LDAP over StartTLS, a search account, an admin base, group sync,
    /// deletion, a push policy and anonymous browsing off (shared with the e2e test).
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../e2e/fixtures/portus-config.yml").standardizedFileURL.path

    static func translated(environment: [String: String]? = nil) throws -> PortusConfigTranslation {
        PortusConfigTranslation(try PortusSettings.read(files: [fixture], environment: environment))
    }

    /// Writes the translation's YAML to a file and loads it the way `wharf serve --config` does.
    static func loaded(_ translation: PortusConfigTranslation) throws -> ServerConfiguration {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("portus-\(UUID().uuidString).yml").path
        try translation.yaml.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try ConfigurationKey.load(file: path, environment: [:], flags: [:])
    }

    @Test func theFixtureTranslatesToWharfsKeys() throws {
        let translation = try Self.translated()
        let expected: [String: String] = [
            "external_hostname": "registry.example.com",
            "auth.token_expiry": "30m",
            "auth.anonymous_pull": "on",
            "portal.anonymous_browsing": "off",
            "portal.signup": "off",
            "permissions.delete": "on",
            "permissions.contributors_delete": "on",
            "permissions.push_policy": "allow-personal",
            "namespaces.create_on_push": "off",
            "ldap.enabled": "on",
            "ldap.url": "ldap://ldap.example.com:389",
            "ldap.encryption": "starttls",
            "ldap.ca_file": "/etc/ssl/certs/example-ca.pem",
            "ldap.base_dn": "ou=people,dc=example,dc=com",
            "ldap.user_attribute": "uid",
            "ldap.filter": "(objectClass=inetOrgPerson)",
            "ldap.bind_dn": "cn=portus,ou=services,dc=example,dc=com",
            "ldap.bind_password": "bind \"secret\" #1",
            "ldap.connect_timeout": "8s",
            "ldap.email_attribute": "mail",
            "ldap.group_base_dn": "ou=groups,dc=example,dc=com",
            "ldap.default_role": "contributor",
            "ldap.sync_mode": "add-only",
            "retention.schedule": "24h",
        ]
        for (key, value) in expected { #expect(translation.value(key) == value, "\(key)") }
        #expect(Set(translation.settings.map(\.key)) == Set(expected.keys))
        let origin = try #require(translation.settings.first { $0.key == "ldap.url" }?.origin)
        #expect(origin.contains("ldap.hostname = \"ldap.example.com\" (portus-config.yml)"))
        #expect(origin.contains("ldap.port = 389 (portus-config.yml)"))
    }

    @Test func settingsWithoutAnEquivalentAreListedWithAdvice() throws {
        let notes = try Self.translated().notes
        func advice(_ setting: String) -> String? { notes.first { $0.setting.hasPrefix(setting) }?.advice }
        let adminBase = try #require(advice("ldap.admin_base"))
        #expect(adminBase.contains("ldap.admin_group"))
        #expect(adminBase.contains("outside ldap.base") && adminBase.contains("(dc=example,dc=com)"))
        #expect(
            advice("delete.garbage_collector.enabled")?.contains(
                #"wharf retention set --older-than-days 60 --keep-latest 10 --tag-match 'build-\d+'"#
            ) == true
        )
        #expect(advice("oauth.github.enabled")?.contains("no OAuth") == true)
        #expect(advice("security.clair.server")?.contains("does not scan") == true)
        #expect(advice("email.smtp.enabled")?.contains("sends no email") == true)
        #expect(advice("user_permission.create_team.enabled")?.contains("no switch") == true)
        #expect(advice("registry.catalog_page.value") != nil)
        #expect(advice("display_name.enabled") != nil)
        #expect(advice("pagination.per_page") != nil)
        #expect(advice("ldap.encryption.options.ssl_version") != nil)
        #expect(advice("ldap.group_sync")?.contains("uniqueMember") == true)
        // Settings Wharf took are not listed as missing; secrets are never shown.
        #expect(advice("ldap.base") == nil && advice("delete.enabled") == nil && advice("signup.enabled") == nil)
        let text = try Self.translated().yaml
        for secret in ["smtp-secret", "github-secret"] { #expect(!text.contains(secret)) }
    }

    @Test func theYAMLLoadsInWharfAsItIs() throws {
        let translation = try Self.translated()
        let configuration = try Self.loaded(translation)
        #expect(configuration.externalHostname == "registry.example.com")
        #expect(configuration.tokenExpiry == .seconds(1800))
        #expect(configuration.permissions.push == .allowPersonal)
        #expect(configuration.permissions.deleteEnabled && configuration.permissions.contributorsMayDelete)
        #expect(!configuration.permissions.createNamespaceOnPush)
        #expect(!configuration.portal.signup && !configuration.portal.anonymousBrowsing)
        let ldap = configuration.ldap
        #expect(ldap.enabled && !ldap.mirror && ldap.defaultRole == .contributor)
        #expect(ldap.directory.urls == ["ldap://ldap.example.com:389"] && ldap.directory.encryption == .starttls)
        #expect(ldap.directory.bindDN == "cn=portus,ou=services,dc=example,dc=com")
        #expect(ldap.directory.bindPassword == "bind \"secret\" #1")
        #expect(ldap.directory.filter == "(objectClass=inetOrgPerson)")
        #expect(ldap.directory.groupBaseDN == "ou=groups,dc=example,dc=com")
        #expect(ldap.directory.connectTimeout == .seconds(8))
        try ldap.validate()
        // Every value carries a comment saying where it came from.
        let lines = translation.yaml.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let values = lines.indices.filter { !lines[$0].hasPrefix("#") && lines[$0].contains(": ") }
        #expect(values.count == translation.settings.count)
        for index in values { #expect(lines[index - 1].hasPrefix("# from "), "\(lines[index])") }
    }

    @Test func environmentVariablesOverrideTheFilesAsInPortus() throws {
        let translation = try Self.translated(environment: [
            "PORTUS_MACHINE_FQDN_VALUE": "hub.example.org",
            "PORTUS_LDAP_PORT": "636",
            "PORTUS_LDAP_ENCRYPTION_METHOD": "simple_tls",
            "PORTUS_DELETE_CONTRIBUTORS": "FALSE",
            "PORTUS_REGISTRY_JWT_EXPIRATION_TIME_VALUE": "45",
            "PORTUS_DB_HOST": "db.example.com",
            "PORTUS_SECRET_KEY_BASE": "not-shown",
            "HOME": "/root",
        ])
        #expect(translation.value("external_hostname") == "hub.example.org")
        #expect(translation.value("ldap.url") == "ldaps://ldap.example.com:636")
        #expect(translation.value("ldap.encryption") == "ldaps")
        #expect(translation.value("permissions.contributors_delete") == "off")
        #expect(translation.value("auth.token_expiry") == "45m")
        let origin = try #require(translation.settings.first { $0.key == "external_hostname" }?.origin)
        #expect(origin.hasPrefix("machine_fqdn.value = \"hub.example.org\" (PORTUS_MACHINE_FQDN_VALUE)"))
        #expect(translation.notes.contains { $0.setting == "PORTUS_DB_HOST" && $0.advice.contains("--database") })
        #expect(translation.notes.contains { $0.setting == "PORTUS_SECRET_KEY_BASE" })
        #expect(!translation.yaml.contains("not-shown"))
        try Self.loaded(translation).ldap.validate()

        // Only `true` is on, as Portus's `enabled?` checks it: LDAP switched off leaves every other ldap key out.
        let off = try Self.translated(environment: ["PORTUS_LDAP_ENABLED": "false", "PORTUS_DELETE_ENABLED": "1"])
        #expect(off.value("ldap.enabled") == "off" && off.value("ldap.url") == nil)
        #expect(off.value("permissions.delete") == "off")
        #expect(!off.notes.contains { $0.setting.hasPrefix("ldap.") })
    }

    @Test func portusDefaultsAloneGiveAWorkingConfiguration() throws {
        var settings = PortusSettings()
        try settings.merge(yaml: "# nothing set\n", source: .file("config-local.yml"))
        let translation = PortusConfigTranslation(settings)
        #expect(translation.value("ldap.enabled") == "off")
        #expect(translation.value("permissions.delete") == "on")
        #expect(translation.value("permissions.push_policy") == "allow-teams")
        #expect(translation.value("portal.signup") == "on" && translation.value("namespaces.create_on_push") == "on")
        #expect(translation.value("auth.token_expiry") == "15m")
        #expect(translation.value("external_hostname") == nil)
        #expect(translation.notes.map(\.setting) == ["machine_fqdn.value = \"portus.test.lan\" (Portus's default)"])
        let configuration = try Self.loaded(translation)
        #expect(configuration.tokenExpiry == .seconds(900) && !configuration.ldap.enabled)
    }

    @Test func olderPortusLDAPMethodAndRefusedValues() throws {
        var settings = PortusSettings()
        try settings.merge(
            yaml: """
                ldap:
                  enabled: true
                  hostname: ldap.example.org
                  method: starttls
                  base: dc=example,dc=org
                  filter: "(objectClass=person)"
                  group_sync:
                    enabled: true
                user_permission:
                  push_images:
                    policy: everyone
                unknown_feature:
                  enabled: true
                """,
            source: .file("config.yml")
        )
        let translation = PortusConfigTranslation(settings)
        #expect(translation.value("ldap.encryption") == "starttls")
        #expect(translation.value("ldap.filter") == "(objectClass=person)")
        #expect(translation.value("ldap.group_base_dn") == nil)
        #expect(translation.notes.contains { $0.setting.hasPrefix("ldap.group_sync.enabled") && $0.advice.contains("ldap.group_base_dn") })
        #expect(translation.value("permissions.push_policy") == nil)
        #expect(translation.notes.contains { $0.setting.contains("everyone") && $0.advice.contains("Wharf refuses it as permissions.push_policy") })
        #expect(translation.notes.contains { $0.setting.hasPrefix("unknown_feature.enabled") && $0.advice == "no Wharf equivalent" })
        try Self.loaded(translation).ldap.validate()
    }

    @Test func scalarsNeedingQuotesAreQuoted() {
        #expect(PortusConfigTranslation.scalar("allow-teams") == "allow-teams")
        #expect(PortusConfigTranslation.scalar("ldap://h:389") == "\"ldap://h:389\"")
        #expect(PortusConfigTranslation.scalar("a \"b\" \\ #c") == "\"a \\\"b\\\" \\\\ #c\"")
        #expect(PortusConfigTranslation.scalar("") == "\"\"")
    }
}
