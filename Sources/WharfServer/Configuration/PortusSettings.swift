import Foundation
import Yams

/// Portus's settings as Portus itself would see them: the defaults of its `config/config.yml` (2.4/2.5), then the
/// given files (its own `config.yml`, then `config-local.yml`), then the `PORTUS_<PATH>` environment variables, each
/// later source winning, as Portus's configuration loader (the cconfig gem) merges them. Every value remembers
/// where it came from, so a translation can say so.
///
/// Values are kept flattened by dotted path (`ldap.authentication.bind_dn`) and typed as Ruby's YAML typed them:
/// Portus checks switches with `enabled.eql?(true)`, so only a real boolean turns a feature on.
public struct PortusSettings: Sendable {
    /// A value as Portus's YAML or environment typed it.
    public enum Value: Sendable, Equatable, CustomStringConvertible {
        case bool(Bool)
        case int(Int)
        case string(String)

        public var description: String {
            switch self {
            case .bool(let value): value ? "true" : "false"
            case .int(let value): String(value)
            case .string(let value): value.debugDescription
            }
        }
    }

    /// Where a value came from.
    public enum Source: Sendable, Equatable, CustomStringConvertible {
        /// Portus's built-in default (its `config/config.yml`).
        case portusDefault
        /// A file given to the command (its last path component is shown).
        case file(String)
        /// A `PORTUS_*` environment variable.
        case environment(String)

        public var description: String {
            switch self {
            case .portusDefault: "Portus's default"
            case .file(let path): (path as NSString).lastPathComponent
            case .environment(let name): name
            }
        }
    }

    public struct Entry: Sendable, Equatable {
        public var value: Value
        public var source: Source
    }

    /// Every setting, by dotted path.
    public private(set) var entries: [String: Entry] = [:]
    /// `PORTUS_*` environment variables that name no setting (Portus's deployment variables such as `PORTUS_DB_HOST`).
    public private(set) var otherVariables: [String] = []

    /// Portus's defaults only.
    public init() {
        do {
            try merge(yaml: Self.defaultsYAML, source: .portusDefault)
        } catch {
            preconditionFailure("Portus's built-in defaults do not parse: \(error)")
        }
    }

    /// Reads `files` in order over Portus's defaults, then, when `environment` is given, the `PORTUS_*` variables.
    public static func read(files: [String], environment: [String: String]?) throws -> PortusSettings {
        var settings = PortusSettings()
        for path in files {
            let text: String
            do {
                text = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw ConfigurationError("\(path): cannot read Portus's configuration file")
            }
            try settings.merge(yaml: text, source: .file(path))
        }
        if let environment { settings.apply(environment: environment) }
        return settings
    }

    /// Merges a YAML document over the settings read so far (a `null` keeps the earlier value, as Portus's merge does).
    public mutating func merge(yaml: String, source: Source) throws {
        let document: Any?
        do {
            document = try Yams.load(yaml: yaml)
        } catch {
            throw ConfigurationError("\(source): not valid YAML (\(String(describing: error).split(separator: "\n").first ?? ""))")
        }
        guard let document else { return }
        guard let mapping = document as? [AnyHashable: Any] else { throw ConfigurationError("\(source): expected a mapping of settings") }
        func flatten(_ mapping: [AnyHashable: Any], prefix: String) {
            for (key, value) in mapping {
                let path = prefix.isEmpty ? "\(key)" : "\(prefix).\(key)"
                switch value {
                case let nested as [AnyHashable: Any]: flatten(nested, prefix: path)
                case let flag as Bool: entries[path] = Entry(value: .bool(flag), source: source)
                case let number as Int: entries[path] = Entry(value: .int(number), source: source)
                case let text as String: entries[path] = Entry(value: .string(text), source: source)
                case is NSNull: break
                default: entries[path] = Entry(value: .string("\(value)"), source: source)
                }
            }
        }
        flatten(mapping, prefix: "")
    }

    /// Applies `PORTUS_<PATH>` variables (the path's keys upper-cased, joined by `_`) to the settings Portus knows;
    /// `true`/`false` (any case) become booleans and whole numbers integers, as Portus's loader reads them.
    public mutating func apply(environment: [String: String]) {
        var known: [String: String] = [:]
        for path in entries.keys { known[Self.variableName(path)] = path }
        var others: [String] = []
        for (name, text) in environment where name.hasPrefix("PORTUS_") {
            guard let path = known[name] else {
                others.append(name)
                continue
            }
            let value: Value
            if text.lowercased() == "true" {
                value = .bool(true)
            } else if text.lowercased() == "false" {
                value = .bool(false)
            } else if let number = Int(text) {
                value = .int(number)
            } else {
                value = .string(text)
            }
            entries[path] = Entry(value: value, source: .environment(name))
        }
        otherVariables = others.sorted()
    }

    /// The environment variable Portus reads for `path`.
    public static func variableName(_ path: String) -> String {
        "PORTUS_" + path.uppercased().replacingOccurrences(of: ".", with: "_")
    }

    public subscript(path: String) -> Value? { entries[path]?.value }

    /// Whether a switch is on: only a boolean `true` counts, as in Portus's `enabled?`.
    public func isOn(_ path: String) -> Bool { self[path] == .bool(true) }

    /// A text setting; numbers are given as text, an empty text is nil.
    public func text(_ path: String) -> String? {
        switch self[path] {
        case .string(let value): value.trimmingCharacters(in: .whitespaces).isEmpty ? nil : value.trimmingCharacters(in: .whitespaces)
        case .int(let value): String(value)
        case .bool(let value): value ? "true" : "false"
        case nil: nil
        }
    }

    /// A whole-number setting (a text of digits too, as Portus's Ruby would take it).
    public func number(_ path: String) -> Int? {
        switch self[path] {
        case .int(let value): value
        case .string(let value): Int(value.trimmingCharacters(in: .whitespaces))
        default: nil
        }
    }

    /// Whether the value of `path` was set by a file or the environment rather than Portus's default.
    public func isSet(_ path: String) -> Bool {
        guard let source = entries[path]?.source else { return false }
        return source != .portusDefault
    }

    /// `path = value (source)` for a comment; secrets are not shown.
    public func origin(_ path: String) -> String {
        guard let entry = entries[path] else { return "\(path) (not set)" }
        let shown = Self.isSecret(path) ? "(secret)" : entry.value.description
        return "\(path) = \(shown) (\(entry.source))"
    }

    /// Settings whose values are never printed: passwords, OAuth secrets.
    public static func isSecret(_ path: String) -> Bool {
        let last = path.split(separator: ".").last.map(String.init) ?? path
        return last.contains("password") || last.contains("secret")
    }

    /// The defaults of Portus's `config/config.yml` (2.5; 2.4 has the same keys for everything translated), for the
    /// settings a `config-local.yml` may leave out. The values are Portus's documented defaults.
    static let defaultsYAML = """
        email:
          from: "portus@example.com"
          name: "Portus"
          reply_to: ""
          smtp:
            enabled: false
        gravatar:
          enabled: true
        delete:
          enabled: true
          contributors: false
          garbage_collector:
            enabled: false
            older_than: 30
            keep_latest: 5
            tag: ""
        ldap:
          enabled: false
          hostname: "ldap_hostname"
          port: 389
          timeout: 5
          encryption:
            method: ""
            options:
              ca_file: ""
              ssl_version: "TLSv1_2"
          base: ""
          admin_base: ""
          group_base: ""
          filter: ""
          uid: "uid"
          authentication:
            enabled: false
            bind_dn: ""
            password: ""
          group_sync:
            enabled: true
            default_role: "viewer"
          guess_email:
            enabled: false
            attr: ""
        oauth:
          local_login:
            enabled: true
          google_oauth2:
            enabled: false
          open_id:
            enabled: false
          openid_connect:
            enabled: false
          github:
            enabled: false
          gitlab:
            enabled: false
          bitbucket:
            enabled: false
        first_user_admin:
          enabled: true
        signup:
          enabled: true
        check_ssl_usage:
          enabled: true
        registry:
          jwt_expiration_time:
            value: 15
          catalog_page:
            value: 100
          timeout:
            value: 2
          read_timeout:
            value: 120
        machine_fqdn:
          value: "portus.test.lan"
        display_name:
          enabled: false
        user_permission:
          change_visibility:
            enabled: true
          create_team:
            enabled: true
          manage_team:
            enabled: true
          create_namespace:
            enabled: true
          manage_namespace:
            enabled: true
          create_webhook:
            enabled: true
          manage_webhook:
            enabled: true
          push_images:
            policy: "allow-teams"
        security:
          clair:
            server: ""
            health_port: 6061
            timeout: 900
          zypper:
            server: ""
          dummy:
            server: ""
        anonymous_browsing:
          enabled: true
        background:
          registry:
            enabled: true
          sync:
            enabled: true
            strategy: "initial"
        pagination:
          per_page: 10
          before_after: 2
        """
}
