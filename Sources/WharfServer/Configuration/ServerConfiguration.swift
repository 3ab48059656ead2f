import Foundation
import WharfAuth
import WharfCore
import WharfDatabase
import Yams

/// A configuration problem, with a one-line reason for the operator.
public struct ConfigurationError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Everything `wharf serve` can be told. Built from defaults, then the YAML file, then `WHARF_*` environment
/// variables, then command-line flags (each later source wins). The defaults are those of ``ConfigurationKey/all``,
/// the only place that states them.
public struct ServerConfiguration: Sendable, Equatable {
    public var dataDirectory: String
    public var listen: String
    public var tls: Bool
    public var externalHostname: String?
    public var uploadPurgeAfter: Duration
    public var uploadPurgeInterval: Duration
    /// `sync.interval`: how often the catalogue mirror is compared with storage.
    public var syncInterval: Duration
    /// `retention.schedule`: how often `wharf serve` applies the retention policies; nil: never on its own.
    public var retentionSchedule: Duration?
    /// `gc.min_age`: garbage collection keeps anything written more recently (a push in progress).
    public var gcMinAge: Duration
    /// `gc.schedule`: how often `wharf serve` collects garbage; nil: never (the default).
    public var gcSchedule: Duration?
    /// `gc.untagged`: whether scheduled runs also collect untagged manifests.
    public var gcUntagged: Bool
    /// `uploads.max_open_per_account`: open upload sessions per account (per client address without auth); 0: no limit.
    public var uploadMaxOpenPerAccount: Int
    /// `uploads.max_blob_size`: the largest blob a push may upload, in bytes; nil: no limit.
    public var uploadMaxBlobSize: Int64?
    public var storageFsync: Bool
    public var logLevel: String
    /// `database.url`; nil for the default, `wharf.sqlite` in the data folder.
    public var database: DatabaseLocation?
    /// `auth.token_expiry`: how long a registry token is valid.
    public var tokenExpiry: Duration
    /// `auth.issuer`; nil for the default, see ``tokenIssuer``.
    public var issuer: String?
    /// `auth.enabled`: off serves an open registry (no accounts checked), like distribution without `auth`.
    public var authEnabled: Bool
    /// `auth.service_account` and `auth.service_password`: the account that pulls everything and reads the
    /// catalogue (Portus's `portus` user); it exists only while a password is set.
    public var serviceAccount: String
    public var servicePassword: String?
    /// `auth.lockout_*`: failed password logins allowed within the window (0: no lockout), and the lock's length.
    public var lockoutAttempts: Int
    public var lockoutWindow: Duration
    public var lockoutDuration: Duration
    /// `auth.failures_per_address` and `auth.failures_window`: failed password checks one client address may
    /// make per window before it must wait (0: no limit).
    public var failuresPerAddress: Int
    public var failuresWindow: Duration
    /// The permission rules' switches (`permissions.*`, `auth.anonymous_pull`, `namespaces.create_on_push`).
    public var permissions: PermissionPolicy
    /// `external_url`: how clients reach Wharf (`https://registry.example.com`), for token realms and `Location`s.
    public var externalURL: String?
    /// `trusted_proxies`: peers whose `X-Forwarded-Proto`/`X-Forwarded-Host` are believed.
    public var trustedProxies: [IPAddressRange]
    /// `webhooks.allowed_networks`: the only addresses webhooks may target; nil (empty) allows any.
    public var webhookAllowedNetworks: [IPAddressRange]?
    /// `webhooks.timeout`: how long one webhook request may take.
    public var webhookTimeout: Duration
    /// `portal.*`: who may sign up and browse, and how long a browser stays signed in.
    public var portal: PortalPolicy
    /// `tls.min_version`: the oldest TLS version offered (TLS 1.2 with ECDHE and AEAD suites only, or TLS 1.3).
    public var tlsMinimumVersion: TLSMinimumVersion
    /// `http.*`: connection timeouts and the connection cap.
    public var connectionLimits: ConnectionLimits
    /// `ldap.*`: the directory logins go to, and group sync.
    public var ldap: LDAPSettings

    /// The defaults: every key of ``ConfigurationKey/all`` set to its `defaultValue`.
    public init() { self = Self.defaults }

    private static let defaults: ServerConfiguration = {
        var configuration = ServerConfiguration(unset: ())
        for key in ConfigurationKey.all {
            do {
                try key.apply(&configuration, key.defaultValue)
            } catch {
                preconditionFailure("the configuration table's default of \(key.key) does not parse: \(error)")
            }
        }
        return configuration
    }()

    /// Blank values for ``defaults`` to overwrite from the table; never a configuration anyone sees (the table test
    /// checks that every key's default is what ``init()`` holds).
    private init(unset: Void) {
        dataDirectory = ""
        listen = ""
        tls = false
        externalHostname = nil
        uploadPurgeAfter = .zero
        uploadPurgeInterval = .zero
        syncInterval = .zero
        retentionSchedule = nil
        gcMinAge = .zero
        gcSchedule = nil
        gcUntagged = false
        uploadMaxOpenPerAccount = 0
        uploadMaxBlobSize = nil
        storageFsync = false
        logLevel = ""
        database = nil
        tokenExpiry = .zero
        issuer = nil
        authEnabled = false
        serviceAccount = ""
        servicePassword = nil
        lockoutAttempts = 0
        lockoutWindow = .zero
        lockoutDuration = .zero
        failuresPerAddress = 0
        failuresWindow = .zero
        permissions = PermissionPolicy(
            push: .adminOnly,
            deleteEnabled: false,
            contributorsMayDelete: false,
            anonymousPull: false,
            createNamespaceOnPush: false
        )
        externalURL = nil
        trustedProxies = []
        webhookAllowedNetworks = nil
        webhookTimeout = .zero
        portal = PortalPolicy(signup: false, anonymousBrowsing: false, sessionIdle: .zero, sessionLifetime: .zero)
        tlsMinimumVersion = .tls13
        connectionLimits = ConnectionLimits(
            handshakeTimeout: .zero,
            requestHeadTimeout: .zero,
            idleTimeout: .zero,
            bodyIdleTimeout: .zero,
            maxConnections: nil
        )
        ldap = LDAPSettings(enabled: false, directory: LDAPConfiguration(), cacheTTL: .zero, syncInterval: .zero, mirror: false, defaultRole: .viewer)
    }

    /// The `iss` of registry tokens: `auth.issuer`, else the external hostname, else `wharf`.
    public var tokenIssuer: String { issuer ?? externalHostname ?? "wharf" }

    /// The `service` (token audience) the registry names in challenges and accepts: the external hostname,
    /// else the issuer.
    public var tokenService: String { externalHostname ?? tokenIssuer }

    /// The database to use: `database.url`, or SQLite in the data folder.
    public var databaseLocation: DatabaseLocation { database ?? .defaultSQLite(dataDirectory: dataDirectory) }

    /// The storage root in distribution's layout.
    public var registryDirectory: String { dataDirectory + "/registry" }
    public var certsDirectory: String { dataDirectory + "/certs" }

    /// Host and port parsed from `listen`.
    public func listenAddress() throws -> (host: String, port: Int) {
        var text = Substring(listen)
        var host: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw ConfigurationError("listen: bad IPv6 address in \(listen)") }
            host = text[text.index(after: text.startIndex)..<close]
            text = text[text.index(after: close)...]
            guard text.hasPrefix(":") else { throw ConfigurationError("listen: expected [HOST]:PORT, got \(listen)") }
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw ConfigurationError("listen: expected HOST:PORT, got \(listen)") }
            host = text[..<colon]
            text = text[colon...]
        }
        guard let port = Int(text.dropFirst()), (0...65535).contains(port) else {
            throw ConfigurationError("listen: bad port in \(listen)")
        }
        if host.isEmpty { host = "0.0.0.0" }
        return (String(host), port)
    }
}

/// One configuration option: its YAML key, environment variable, default and meaning, and how to apply a value.
/// `ConfigurationKey.all` is the only list of options; the README table is printed from it (`wharf config keys`).
public struct ConfigurationKey: Sendable {
    public let key: String
    public let flag: String?
    public let defaultValue: String
    public let summary: String
    let apply: @Sendable (inout ServerConfiguration, String) throws -> Void

    public var environmentName: String {
        "WHARF_" + key.uppercased().replacingOccurrences(of: ".", with: "_")
    }

    /// The key named `key` (its YAML name), if the table has it.
    public static func named(_ key: String) -> ConfigurationKey? {
        all.first { $0.key == key }
    }

    /// The command-line help of the key's flag: its summary, environment variable and default, so `--help` never
    /// states a default of its own.
    public var flagHelp: String {
        let summary = summary.replacingOccurrences(of: "`", with: "")
        return defaultValue.isEmpty ? "\(summary) (\(environmentName))" : "\(summary) (\(environmentName), default \(defaultValue))"
    }

    public static let all: [ConfigurationKey] = general + ldapKeys + retentionKeys

    static let general: [ConfigurationKey] = [
        .init(
            key: "data",
            flag: "--data",
            defaultValue: "./wharf-data",
            summary: "Data folder: `registry/` (distribution's layout), `certs/`, `wharf.sqlite`."
        ) {
            $0.dataDirectory = try nonEmpty($1, "data")
        },
        .init(key: "listen", flag: "--listen", defaultValue: "0.0.0.0:5000", summary: "Address and port to serve on (`[::]:5000` for IPv6).") {
            $0.listen = $1
            _ = try $0.listenAddress()
        },
        .init(
            key: "tls",
            flag: "--tls",
            defaultValue: "on",
            summary: "`on`: HTTPS with HTTP/2 from `certs/` (generated when missing); `off`: plain HTTP behind a TLS proxy."
        ) {
            $0.tls = try boolean($1, "tls")
        },
        .init(
            key: "tls.min_version",
            flag: nil,
            defaultValue: "1.2",
            summary: "Oldest TLS version offered: `1.2` (ECDHE with AES-GCM or ChaCha20-Poly1305 only) or `1.3`."
        ) {
            guard let version = TLSMinimumVersion(rawValue: $1) else {
                throw ConfigurationError("tls.min_version: expected 1.2 or 1.3, got \($1)")
            }
            $0.tlsMinimumVersion = version
        },
        .init(
            key: "http.tls_handshake_timeout",
            flag: nil,
            defaultValue: "10s",
            summary: "A connection that has not completed the TLS handshake this long after it was accepted is closed."
        ) {
            $0.connectionLimits.handshakeTimeout = try duration($1, "http.tls_handshake_timeout")
        },
        .init(
            key: "http.request_head_timeout",
            flag: nil,
            defaultValue: "30s",
            summary: "Time from the first byte of a request head to its end (request line and headers); slower clients are disconnected."
        ) {
            $0.connectionLimits.requestHeadTimeout = try duration($1, "http.request_head_timeout")
        },
        .init(
            key: "http.idle_timeout",
            flag: nil,
            defaultValue: "75s",
            summary: "A keep-alive connection with no request in flight (HTTP/2: no open stream) is closed after this long."
        ) {
            $0.connectionLimits.idleTimeout = try duration($1, "http.idle_timeout")
        },
        .init(
            key: "http.body_idle_timeout",
            flag: nil,
            defaultValue: "60s",
            summary: "While a request body is being received, no byte for this long ends the connection (an upload stays resumable)."
        ) {
            $0.connectionLimits.bodyIdleTimeout = try duration($1, "http.body_idle_timeout")
        },
        .init(
            key: "http.max_connections",
            flag: nil,
            defaultValue: "auto",
            summary: "Open connections at most; at the cap the longest-idle one is closed for a new one. `auto`: the descriptor limit "
                + "(raised to the hard limit at start) minus max(32, limit/8); a number must stay below the limit."
        ) {
            if $1 == "auto" {
                $0.connectionLimits.maxConnections = nil
            } else {
                guard let count = Int($1), count > 0 else {
                    throw ConfigurationError("http.max_connections: expected auto or a positive number, got \($1)")
                }
                $0.connectionLimits.maxConnections = count
            }
        },
        .init(
            key: "external_hostname",
            flag: nil,
            defaultValue: "",
            summary: "Name clients use to reach Wharf; added to the generated certificate's names."
        ) {
            $0.externalHostname = $1.isEmpty ? nil : $1
        },
        .init(key: "uploads.purge_after", flag: nil, defaultValue: "24h", summary: "Age after which an unfinished upload is removed.") {
            $0.uploadPurgeAfter = try duration($1, "uploads.purge_after")
        },
        .init(key: "uploads.purge_interval", flag: nil, defaultValue: "1h", summary: "How often abandoned uploads are looked for.") {
            $0.uploadPurgeInterval = try duration($1, "uploads.purge_interval")
        },
        .init(
            key: "uploads.max_open_per_account",
            flag: nil,
            defaultValue: "100",
            summary: "Upload sessions one account (one client address without auth) may have open at once; "
                + "beyond it starting an upload answers 429 `TOOMANYREQUESTS`. 0: no limit."
        ) {
            $0.uploadMaxOpenPerAccount = try count($1, "uploads.max_open_per_account")
        },
        .init(
            key: "uploads.max_blob_size",
            flag: nil,
            defaultValue: "",
            summary: "Largest blob a push may upload (`1073741824`, `512MiB`, `10GiB`, `1GB`); larger uploads answer 413 `SIZE_INVALID`. "
                + "Empty or 0: no limit."
        ) {
            $0.uploadMaxBlobSize = try byteSize($1, "uploads.max_blob_size")
        },
        .init(key: "storage.fsync", flag: nil, defaultValue: "on", summary: "Flush blob data and links to disk before acknowledging a push.") {
            $0.storageFsync = try boolean($1, "storage.fsync")
        },
        .init(
            key: "sync.interval",
            flag: nil,
            defaultValue: "15s",
            summary: "How often the catalogue mirror is compared with storage, to pick up what distribution, another "
                + "replica or a restore wrote (a push through Wharf is in the catalogue at once)."
        ) {
            $0.syncInterval = try duration($1, "sync.interval")
        },
        .init(
            key: "gc.min_age",
            flag: nil,
            defaultValue: "1h",
            summary: "Garbage collection keeps blobs, layer links and manifests written more recently than this "
                + "(a push in progress); `wharf gc --min-age` overrides it."
        ) {
            $0.gcMinAge = try duration($1, "gc.min_age")
        },
        .init(
            key: "gc.schedule",
            flag: nil,
            defaultValue: "off",
            summary: "How often `wharf serve` collects garbage (`6h`, `1d`), one replica at a time (a lease in the database); "
                + "`off`: only `wharf gc`, the portal or the API start a run."
        ) {
            $0.gcSchedule = ["off", "0", ""].contains($1.lowercased()) ? nil : try duration($1, "gc.schedule")
        },
        .init(
            key: "gc.untagged",
            flag: nil,
            defaultValue: "off",
            summary: "Whether scheduled garbage collection also deletes manifests no tag reaches (as `wharf gc --untagged`); "
                + "index children and referrers of kept manifests stay."
        ) {
            $0.gcUntagged = try boolean($1, "gc.untagged")
        },
        .init(
            key: "database.url",
            flag: nil,
            defaultValue: "",
            summary:
                "Empty: `wharf.sqlite` in the data folder; `sqlite:///path/file.sqlite`, or `mysql://user:password@host:3306/db` (`mariadb://` too) with options "
                + "`?pool=10&tls=verify&tls_ca=FILE&connect_timeout=5s&read_timeout=30s&write_timeout=30s` (`tls`: `off`, `required`, `verify`)."
        ) {
            do {
                // Empty means the default, so a compose file can pass the variable through unset.
                $0.database = $1.isEmpty ? nil : try DatabaseLocation.parse($1)
            } catch let error as DatabaseError {
                throw ConfigurationError(error.message)
            }
        },
        .init(key: "auth.token_expiry", flag: nil, defaultValue: "15m", summary: "How long a token from `/v2/token` is valid.") {
            $0.tokenExpiry = try duration($1, "auth.token_expiry")
        },
        .init(
            key: "auth.issuer",
            flag: nil,
            defaultValue: "",
            summary: "`iss` of the tokens (an external registry's `auth.token.issuer`); empty: `external_hostname`, else `wharf`."
        ) {
            $0.issuer = $1.isEmpty ? nil : $1
        },
        .init(
            key: "auth.enabled",
            flag: "--auth",
            defaultValue: "on",
            summary: "`off` serves an open registry (no accounts checked, no `/v2/token`), like distribution without auth; only for a closed network."
        ) {
            $0.authEnabled = try boolean($1, "auth.enabled")
        },
        .init(
            key: "auth.service_account",
            flag: nil,
            defaultValue: "portus",
            summary: "Name of the service account (pulls everything, reads the catalogue)."
        ) {
            $0.serviceAccount = try nonEmpty($1, "auth.service_account")
        },
        .init(
            key: "auth.service_password",
            flag: nil,
            defaultValue: "",
            summary: "Password of the service account; the account exists only while this is set (16 characters at least, 72 bytes at most)."
        ) {
            if !$1.isEmpty {
                do {
                    try PasswordHasher.validate($1, minimumLength: ServiceAccount.minimumPasswordLength)
                } catch let error as AuthError {
                    throw ConfigurationError("auth.service_password: \(error.message)")
                }
            }
            $0.servicePassword = $1.isEmpty ? nil : $1
        },
        .init(
            key: "auth.lockout_attempts",
            flag: nil,
            defaultValue: "10",
            summary: "Failed password logins within `auth.lockout_window` that lock an account; 0 turns lockout off."
        ) {
            $0.lockoutAttempts = try count($1, "auth.lockout_attempts")
        },
        .init(key: "auth.lockout_window", flag: nil, defaultValue: "10m", summary: "Window in which failed logins are counted.") {
            $0.lockoutWindow = try duration($1, "auth.lockout_window")
        },
        .init(key: "auth.lockout_duration", flag: nil, defaultValue: "10m", summary: "How long a locked account refuses password logins.") {
            $0.lockoutDuration = try duration($1, "auth.lockout_duration")
        },
        .init(
            key: "auth.failures_per_address",
            flag: nil,
            defaultValue: "20",
            summary:
                "Failed password checks one client address may make within `auth.failures_window` before it gets 429 until the oldest leaves the window; 0 turns it off."
        ) {
            $0.failuresPerAddress = try count($1, "auth.failures_per_address")
        },
        .init(key: "auth.failures_window", flag: nil, defaultValue: "1m", summary: "Window in which an address's failed password checks are counted.")
        {
            $0.failuresWindow = try duration($1, "auth.failures_window")
        },
        .init(key: "auth.anonymous_pull", flag: nil, defaultValue: "on", summary: "Whether callers without credentials pull from public namespaces.")
        {
            $0.permissions.anonymousPull = try boolean($1, "auth.anonymous_pull")
        },
        .init(
            key: "permissions.push_policy",
            flag: nil,
            defaultValue: "allow-teams",
            summary: "Who pushes besides admins: `allow-teams` (team owners and contributors), `allow-personal` (own namespace only), `admin-only`."
        ) {
            guard let policy = PushPolicy(rawValue: $1) else {
                throw ConfigurationError("permissions.push_policy: expected allow-teams, allow-personal or admin-only, got \($1)")
            }
            $0.permissions.push = policy
        },
        .init(
            key: "permissions.delete",
            flag: nil,
            defaultValue: "on",
            summary: "Whether manifests, tags and blobs can be deleted at all (by admins and team owners)."
        ) {
            $0.permissions.deleteEnabled = try boolean($1, "permissions.delete")
        },
        .init(key: "permissions.contributors_delete", flag: nil, defaultValue: "off", summary: "Whether team contributors may delete too.") {
            $0.permissions.contributorsMayDelete = try boolean($1, "permissions.contributors_delete")
        },
        .init(
            key: "namespaces.create_on_push",
            flag: nil,
            defaultValue: "on",
            summary:
                "A push into a missing namespace creates it, owned by a new team of that name with the pusher as owner; `off` denies the push, naming the namespace."
        ) {
            $0.permissions.createNamespaceOnPush = try boolean($1, "namespaces.create_on_push")
        },
        .init(
            key: "external_url",
            flag: nil,
            defaultValue: "",
            summary:
                "URL clients use (`https://registry.example.com`); the token realm and `Location` headers start with it. Empty: taken from the request."
        ) {
            $0.externalURL = try externalURL($1)
        },
        .init(
            key: "trusted_proxies",
            flag: nil,
            defaultValue: "127.0.0.1/8,::1",
            summary:
                "Comma-separated addresses or CIDR ranges whose `X-Forwarded-Proto`/`X-Forwarded-Host` are believed when `external_url` is empty."
        ) {
            $0.trustedProxies = try IPAddressRange.parseList($1, key: "trusted_proxies")
        },
        .init(
            key: "webhooks.allowed_networks",
            flag: nil,
            defaultValue: "",
            summary: "Comma-separated addresses or CIDR ranges webhooks may target (`127.0.0.0/8,::1`, `10.20.0.0/16`), checked when a webhook "
                + "is made and after resolving its host at each delivery; redirects are not followed. Empty: any address."
        ) {
            let ranges = try IPAddressRange.parseList($1, key: "webhooks.allowed_networks")
            $0.webhookAllowedNetworks = ranges.isEmpty ? nil : ranges
        },
        .init(key: "webhooks.timeout", flag: nil, defaultValue: "10s", summary: "How long one webhook request may take before it counts as failed.") {
            $0.webhookTimeout = try duration($1, "webhooks.timeout")
        },
        .init(
            key: "portal.signup",
            flag: nil,
            defaultValue: "on",
            summary: "Whether people may create their own account on the sign-up page. On an installation without any user, "
                + "sign-up is offered anyway and the first person becomes administrator."
        ) {
            $0.portal.signup = try boolean($1, "portal.signup")
        },
        .init(
            key: "portal.anonymous_browsing",
            flag: nil,
            defaultValue: "on",
            summary: "Whether visitors who are not signed in may browse public namespaces and repositories in the portal."
        ) {
            $0.portal.anonymousBrowsing = try boolean($1, "portal.anonymous_browsing")
        },
        .init(
            key: "portal.session_idle",
            flag: nil,
            defaultValue: "8h",
            summary: "A portal session unused for this long ends (the browser must sign in again)."
        ) {
            $0.portal.sessionIdle = try duration($1, "portal.session_idle")
        },
        .init(
            key: "portal.session_lifetime",
            flag: nil,
            defaultValue: "7d",
            summary: "A portal session ends this long after sign-in, however much it is used."
        ) {
            $0.portal.sessionLifetime = try duration($1, "portal.session_lifetime")
        },
        .init(key: "log_level", flag: "--log-level", defaultValue: "info", summary: "trace, debug, info, notice, warning, error or critical.") {
            let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
            guard levels.contains($1) else { throw ConfigurationError("log_level: expected one of \(levels.joined(separator: ", ")), got \($1)") }
            $0.logLevel = $1
        },
    ]

    /// Builds the configuration: defaults < YAML file < environment < flags.
    ///
    /// - Parameters:
    ///   - file: path of a YAML file, or nil (also taken from `WHARF_CONFIG`).
    ///   - environment: the process environment.
    ///   - flags: values given on the command line, by YAML key.
    public static func load(file: String?, environment: [String: String], flags: [String: String]) throws -> ServerConfiguration {
        var configuration = ServerConfiguration()
        if let path = file ?? environment["WHARF_CONFIG"] {
            let values = try readYAML(path)
            let known = Set(all.map(\.key))
            if let unknown = values.keys.sorted().first(where: { !known.contains($0) }) {
                throw ConfigurationError("\(path): unknown option \(unknown)")
            }
            for key in all { if let value = values[key.key] { try key.apply(&configuration, value) } }
        }
        for key in all {
            if let value = environment[key.environmentName] { try key.apply(&configuration, value) }
        }
        for key in all {
            if let value = flags[key.key] { try key.apply(&configuration, value) }
        }
        return configuration
    }

    /// Flattens a YAML mapping to dotted keys with string values.
    static func readYAML(_ path: String) throws -> [String: String] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError("\(path): cannot read the configuration file")
        }
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw ConfigurationError("\(path): not valid YAML (\(String(describing: error).split(separator: "\n").first ?? ""))")
        }
        var result: [String: String] = [:]
        func flatten(_ node: Node, prefix: String) throws {
            switch node {
            case .mapping(let mapping):
                for (key, value) in mapping {
                    guard let name = key.string else { throw ConfigurationError("\(path): keys must be strings") }
                    try flatten(value, prefix: prefix.isEmpty ? name : "\(prefix).\(name)")
                }
            case .scalar(let scalar):
                result[prefix] = scalar.string
            case .sequence, .alias:
                throw ConfigurationError("\(path): \(prefix) must be a single value")
            }
        }
        if let node { try flatten(node, prefix: "") }
        return result
    }

    /// `scheme://host[:port]`, without a path, query or trailing slash (one is dropped).
    static func externalURL(_ value: String) throws -> String? {
        guard !value.isEmpty else { return nil }
        var text = value
        if text.hasSuffix("/") { text.removeLast() }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(), scheme == "https" || scheme == "http",
            let host = components.host, !host.isEmpty, components.path.isEmpty, components.query == nil, components.fragment == nil,
            components.user == nil
        else {
            throw ConfigurationError("external_url: expected https://HOST[:PORT] without a path, got \(value)")
        }
        return text
    }

    static func nonEmpty(_ value: String, _ key: String) throws -> String {
        guard !value.isEmpty else { throw ConfigurationError("\(key): must not be empty") }
        return value
    }

    /// A whole number, 0 or more (0 turns the limit it sets off).
    static func count(_ value: String, _ key: String) throws -> Int {
        guard let count = Int(value), count >= 0 else { throw ConfigurationError("\(key): expected a number (0 for no limit), got \(value)") }
        return count
    }

    static func boolean(_ value: String, _ key: String) throws -> Bool {
        switch value.lowercased() {
        case "on", "true", "yes", "1": return true
        case "off", "false", "no", "0": return false
        default: throw ConfigurationError("\(key): expected on or off, got \(value)")
        }
    }

    /// A number of bytes with an optional unit: `B`, decimal `KB` `MB` `GB` `TB` (powers of 1000) or binary `KiB`
    /// `MiB` `GiB` `TiB` (powers of 1024), case-insensitive, as in `512MiB` or `1GB`. Empty or 0: nil (no limit).
    public static func parseByteSize(_ value: String) throws -> Int64? { try byteSize(value, "size") }

    static func byteSize(_ value: String, _ key: String) throws -> Int64? {
        let fail = ConfigurationError("\(key): expected a number of bytes or a size like 512MiB, 10GiB, 1GB, got \(value)")
        let text = value.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else { return nil }
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        let unit = text.dropFirst(digits.count).trimmingCharacters(in: .whitespaces).lowercased()
        let multipliers: [String: Int64] = [
            "": 1, "b": 1,
            "kb": 1_000, "mb": 1_000_000, "gb": 1_000_000_000, "tb": 1_000_000_000_000,
            "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
        ]
        guard !digits.isEmpty, let number = Int64(digits), let multiplier = multipliers[unit] else { throw fail }
        let (bytes, overflow) = number.multipliedReportingOverflow(by: multiplier)
        guard !overflow else { throw fail }
        return bytes == 0 ? nil : bytes
    }

    /// `90s`, `15m`, `24h`, `7d`, or a number of seconds (for the CLI's options).
    public static func parseDuration(_ value: String) throws -> Duration { try duration(value, "duration") }

    /// `90s`, `15m`, `24h`, `7d`, or a number of seconds.
    static func duration(_ value: String, _ key: String) throws -> Duration {
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        var number = Substring(value)
        var unit = 1
        if let last = value.last, let multiplier = units[last] {
            number = number.dropLast()
            unit = multiplier
        }
        guard let amount = Int(number), amount > 0 else { throw ConfigurationError("\(key): expected a duration like 90s, 15m, 24h, got \(value)") }
        return .seconds(amount * unit)
    }

    /// The README's configuration table, in Markdown.
    public static func markdownTable() -> String {
        var lines = ["| YAML key | environment | flag | default | meaning |", "| --- | --- | --- | --- | --- |"]
        for key in all {
            let defaultText = key.defaultValue.isEmpty ? "" : "`\(key.defaultValue)`"
            lines.append("| `\(key.key)` | `\(key.environmentName)` | \(key.flag.map { "`\($0)`" } ?? "") | \(defaultText) | \(key.summary) |")
        }
        return lines.joined(separator: "\n")
    }
}
