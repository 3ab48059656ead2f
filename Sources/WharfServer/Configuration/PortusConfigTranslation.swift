import Foundation

/// Portus's settings (``PortusSettings``) as Wharf configuration: each Wharf key with the Portus setting it comes
/// from, and the Portus settings Wharf has no equivalent for, each with why and what to do instead.
///
/// Pure, so every rule is unit-tested; ``yaml`` is the text `wharf import portus-config` prints, a configuration
/// file Wharf loads as it is (the notes are YAML comments). Each value is checked with the configuration table's
/// own parser, so the translation never prints a value Wharf would refuse: such a value becomes a note instead.
public struct PortusConfigTranslation: Sendable {
    /// One Wharf key and its value, with where the value came from.
    public struct Setting: Sendable, Equatable {
        public var key: String
        public var value: String
        /// The Portus settings it was made from (`ldap.port = 636 (config-local.yml)`), or the Portus rule it keeps.
        public var origin: String
    }

    /// A Portus setting without a Wharf equivalent.
    public struct Note: Sendable, Equatable {
        /// The Portus setting (`ldap.admin_base = "ou=admins,…" (config.yml)`) or variable.
        public var setting: String
        /// Why Wharf has no equivalent, and what to do.
        public var advice: String
    }

    public private(set) var settings: [Setting] = []
    public private(set) var notes: [Note] = []
    /// Portus paths a rule has read: the rest, when set by a file or the environment, get a generic note.
    private var consumed: Set<String> = []

    public init(_ portus: PortusSettings) {
        translateHostAndTokens(portus)
        translatePortalAndPermissions(portus)
        translateLDAP(portus)
        noteWhatWharfDoesNotHave(portus)
        for path in portus.entries.keys.sorted() where portus.isSet(path) && !consumed.contains(path) {
            note(portus.origin(path), "no Wharf equivalent", reading: [path])
        }
        for name in portus.otherVariables { notes.append(Note(setting: name, advice: Self.adviceForVariable(name))) }
    }

    /// The value translated for `key`, if any.
    public func value(_ key: String) -> String? { settings.first { $0.key == key }?.value }

    // MARK: Rules

    private mutating func translateHostAndTokens(_ portus: PortusSettings) {
        consumed.insert("machine_fqdn.value")
        if !portus.isSet("machine_fqdn.value") {
            // Portus's default (`portus.test.lan`) names no real host: it would put a wrong name in tokens and the certificate.
            note(
                portus.origin("machine_fqdn.value"),
                "left at Portus's default: set external_hostname to the name clients use to reach the registry",
                reading: []
            )
        } else if let fqdn = portus.text("machine_fqdn.value") {
            set(
                "external_hostname",
                fqdn,
                "\(portus.origin("machine_fqdn.value")); if clients pull under the registry's own name (Portus's Admin > Registries), "
                    + "put that name here: image references must keep their host",
                reading: ["machine_fqdn.value"]
            )
        }
        // Portus 2.0 had the expiry at the top level; 2.1 and later under `registry`.
        let expiryPath =
            portus.isSet("jwt_expiration_time.value") && !portus.isSet("registry.jwt_expiration_time.value")
            ? "jwt_expiration_time.value" : "registry.jwt_expiration_time.value"
        consumed.formUnion(["jwt_expiration_time.value", "registry.jwt_expiration_time.value"])
        if let minutes = portus.number(expiryPath), minutes > 0 {
            set("auth.token_expiry", "\(minutes)m", "\(portus.origin(expiryPath)), in minutes", reading: [expiryPath])
        } else if portus[expiryPath] != nil {
            note(portus.origin(expiryPath), "not a number of minutes: Wharf keeps its default (auth.token_expiry 15m)", reading: [expiryPath])
        }
    }

    private mutating func translatePortalAndPermissions(_ portus: PortusSettings) {
        set(
            "auth.anonymous_pull",
            "on",
            "Portus's rule: anyone, signed in or not, pulls from public namespaces",
            reading: []
        )
        setSwitch("portal.anonymous_browsing", portus, "anonymous_browsing.enabled")
        var signupOrigin = portus.origin("signup.enabled")
        if portus.isOn("ldap.enabled") { signupOrigin += "; ignored with LDAP on, in Portus as in Wharf" }
        set("portal.signup", portus.isOn("signup.enabled") ? "on" : "off", signupOrigin, reading: ["signup.enabled"])
        setSwitch("permissions.delete", portus, "delete.enabled")
        setSwitch("permissions.contributors_delete", portus, "delete.contributors")
        if let policy = portus.text("user_permission.push_images.policy") {
            set(
                "permissions.push_policy",
                policy,
                portus.origin("user_permission.push_images.policy"),
                reading: ["user_permission.push_images.policy"]
            )
        }
        let createNamespace = "user_permission.create_namespace.enabled"
        set(
            "namespaces.create_on_push",
            portus.isOn(createNamespace) ? "on" : "off",
            portus.isOn(createNamespace)
                ? "\(portus.origin(createNamespace)): people create namespaces; in Wharf also by pushing into a missing one"
                : "\(portus.origin(createNamespace)): only administrators create namespaces, so no push creates one",
            reading: [createNamespace]
        )
    }

    private mutating func translateLDAP(_ portus: PortusSettings) {
        let ldapPaths = portus.entries.keys.filter { $0.hasPrefix("ldap.") }
        guard portus.isOn("ldap.enabled") else {
            set("ldap.enabled", "off", portus.origin("ldap.enabled"), reading: [])
            // With LDAP off, Portus ignores the rest of `ldap.*`, and so does the translation.
            consumed.formUnion(ldapPaths)
            return
        }
        consumed.formUnion(ldapPaths)
        set("ldap.enabled", "on", portus.origin("ldap.enabled"), reading: [])

        // Portus 2.4 and later: `ldap.encryption.method` (`start_tls`, `simple_tls`, empty); 2.3 and older:
        // `ldap.method` (`plain`, `simple_tls`, `starttls`).
        var methodPath = "ldap.encryption.method"
        if portus.text(methodPath) == nil, portus.text("ldap.method") != nil { methodPath = "ldap.method" }
        let method = portus.text(methodPath)?.lowercased() ?? ""
        let encryption: String
        switch method {
        case "", "plain": encryption = "plain"
        case "start_tls", "starttls": encryption = "starttls"
        case "simple_tls": encryption = "ldaps"
        default:
            note(
                portus.origin(methodPath),
                "not a method Portus knows (start_tls, simple_tls or empty): translated as plain, as Portus used it",
                reading: []
            )
            encryption = "plain"
        }
        let host = portus.text("ldap.hostname") ?? "localhost"
        let port = portus.number("ldap.port") ?? (encryption == "ldaps" ? 636 : 389)
        let scheme = encryption == "ldaps" ? "ldaps" : "ldap"
        let hostText = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        set("ldap.url", "\(scheme)://\(hostText):\(port)", "\(portus.origin("ldap.hostname")), \(portus.origin("ldap.port"))", reading: [])
        set("ldap.encryption", encryption, portus.origin(methodPath), reading: [])
        if encryption == "plain" {
            note(portus.origin(methodPath), "passwords cross the network in clear text, in Wharf as they did in Portus: prefer starttls", reading: [])
        }
        if encryption != "plain", let caFile = portus.text("ldap.encryption.options.ca_file") {
            set(
                "ldap.ca_file",
                caFile,
                portus.origin("ldap.encryption.options.ca_file") + "; the file must be readable where Wharf runs",
                reading: []
            )
        }
        if encryption != "plain", portus.isSet("ldap.encryption.options.ssl_version") {
            note(
                portus.origin("ldap.encryption.options.ssl_version"),
                "Wharf's directory connections negotiate the TLS version with the system's TLS library: no setting",
                reading: []
            )
        }
        if let base = portus.text("ldap.base") {
            set("ldap.base_dn", base, portus.origin("ldap.base"), reading: [])
        } else {
            note(portus.origin("ldap.base"), "Portus searched from the directory's default base; Wharf needs ldap.base_dn: set it", reading: [])
        }
        if let uid = portus.text("ldap.uid") { set("ldap.user_attribute", uid, portus.origin("ldap.uid"), reading: []) }
        if let filter = portus.text("ldap.filter") {
            let wrapped = filter.hasPrefix("(") ? filter : "(\(filter))"
            set("ldap.filter", wrapped, portus.origin("ldap.filter") + (wrapped == filter ? "" : ", in parentheses as Wharf wants it"), reading: [])
        }
        if portus.isOn("ldap.authentication.enabled") {
            if let bindDN = portus.text("ldap.authentication.bind_dn") {
                set("ldap.bind_dn", bindDN, portus.origin("ldap.authentication.bind_dn"), reading: [])
            }
            if let password = portus.text("ldap.authentication.password") {
                set("ldap.bind_password", password, portus.origin("ldap.authentication.password") + "; keep this file private", reading: [])
            }
        }
        if let seconds = portus.number("ldap.timeout"), seconds > 0 {
            set("ldap.connect_timeout", "\(seconds)s", "\(portus.origin("ldap.timeout")), in seconds", reading: [])
        }
        if portus.isOn("ldap.guess_email.enabled") {
            if let attribute = portus.text("ldap.guess_email.attr") {
                set("ldap.email_attribute", attribute, portus.origin("ldap.guess_email.attr"), reading: [])
            } else {
                note(
                    portus.origin("ldap.guess_email.enabled"),
                    "Portus made an email of the login and the entry's dc= parts; Wharf reads the email from ldap.email_attribute (mail)",
                    reading: []
                )
            }
        }
        if let adminBase = portus.text("ldap.admin_base") {
            var advice =
                "Portus made everyone found under it an administrator; Wharf makes the members of a group administrators: "
                + "put them in a group and set ldap.admin_group to its DN (Portus's administrators imported by wharf import portus stay administrators)"
            if let base = portus.text("ldap.base"), !Self.isUnder(adminBase, base) {
                advice += "; it is outside ldap.base, which is the only place Wharf looks for users: set ldap.base_dn to a DN above both"
                if let common = Self.commonParent(adminBase, base) { advice += " (\(common))" }
            }
            note(portus.origin("ldap.admin_base"), advice, reading: [])
        }
        if portus.isOn("ldap.group_sync.enabled") {
            if let groupBase = portus.text("ldap.group_base") {
                set(
                    "ldap.group_base_dn",
                    groupBase,
                    portus.origin("ldap.group_base") + " with " + portus.origin("ldap.group_sync.enabled"),
                    reading: []
                )
                if let role = portus.text("ldap.group_sync.default_role") {
                    set("ldap.default_role", role, portus.origin("ldap.group_sync.default_role"), reading: [])
                }
                set(
                    "ldap.sync_mode",
                    "add-only",
                    "Portus's group sync only added members (set mirror to also remove those who leave a group)",
                    reading: []
                )
                notes.append(
                    Note(
                        setting: "ldap.group_sync (groups)",
                        advice: "Portus read a group's uniqueMember, then member; Wharf reads ldap.member_attribute (member): "
                            + "set it to uniqueMember if your groups are groupOfUniqueNames"
                    )
                )
            } else {
                note(
                    portus.origin("ldap.group_sync.enabled"),
                    "ldap.group_base is empty (Portus searched the whole directory for groups); Wharf syncs groups only under "
                        + "ldap.group_base_dn: set it to where the groups are",
                    reading: []
                )
            }
        }
    }

    /// Portus's `delete.garbage_collector` (remove tags older than `older_than` days but the `keep_latest` newest,
    /// only those matching `tag`) is a Wharf retention policy: the schedule is configuration, the policy itself
    /// lives in the database, so the note gives the command that makes it the global default.
    private mutating func translateGarbageCollector(_ portus: PortusSettings) {
        let paths = ["delete.garbage_collector.older_than", "delete.garbage_collector.keep_latest", "delete.garbage_collector.tag"]
        guard portus.isOn("delete.garbage_collector.enabled") else {
            consumed.formUnion(paths + ["delete.garbage_collector.enabled"])
            return
        }
        let olderThan = portus.text("delete.garbage_collector.older_than") ?? "30"
        let keepLatest = portus.text("delete.garbage_collector.keep_latest") ?? "5"
        let tag = portus.text("delete.garbage_collector.tag") ?? ""
        let origin = portus.origin("delete.garbage_collector.enabled")
        set("retention.schedule", "24h", origin, reading: ["delete.garbage_collector.enabled"])
        var command = "wharf retention set --older-than-days \(olderThan) --keep-latest \(keepLatest)"
        if !tag.isEmpty { command += " --tag-match '\(tag.replacingOccurrences(of: "'", with: "'\\''"))'" }
        note(
            "\(origin), older_than \(olderThan) days, keep_latest \(keepLatest)" + (tag.isEmpty ? "" : ", tag \(tag)"),
            "a retention policy (retention.schedule above runs it daily); create it once as the global default: \(command)",
            reading: paths
        )
    }

    /// Notes for Portus features Wharf does not have, when they were in use.
    private mutating func noteWhatWharfDoesNotHave(_ portus: PortusSettings) {
        translateGarbageCollector(portus)
        if !portus.isOn("first_user_admin.enabled") {
            note(
                portus.origin("first_user_admin.enabled"),
                "no switch: Wharf makes the first account of an empty installation an administrator; after wharf import portus "
                    + "the installation is not empty and Portus's administrators are administrators",
                reading: ["first_user_admin.enabled"]
            )
        }
        consumed.insert("first_user_admin.enabled")
        let restricted = [
            "change_visibility", "create_team", "manage_team", "manage_namespace", "create_webhook", "manage_webhook",
        ].map { "user_permission.\($0).enabled" }
        for path in restricted {
            consumed.insert(path)
            guard !portus.isOn(path) else { continue }
            note(
                portus.origin(path),
                "no switch: in Wharf anyone creates teams, and team owners manage their teams, namespaces (visibility too) and webhooks",
                reading: []
            )
        }
        let providers = ["google_oauth2", "open_id", "openid_connect", "github", "gitlab", "bitbucket"]
        for provider in providers {
            let prefix = "oauth.\(provider)."
            consumed.formUnion(portus.entries.keys.filter { $0.hasPrefix(prefix) })
            if portus.isOn(prefix + "enabled") {
                notes.append(
                    Note(
                        setting: portus.origin(prefix + "enabled"),
                        advice: "Wharf has no OAuth or OpenID sign-in: those people sign in with a password an administrator sets "
                            + "(wharf user passwd) or through LDAP"
                    )
                )
            }
        }
        consumed.insert("oauth.local_login.enabled")
        if !portus.isOn("oauth.local_login.enabled") {
            notes.append(Note(setting: portus.origin("oauth.local_login.enabled"), advice: "Wharf always offers sign-in with a password"))
        }
        for scanner in ["clair", "zypper", "dummy"] {
            let prefix = "security.\(scanner)."
            consumed.formUnion(portus.entries.keys.filter { $0.hasPrefix(prefix) })
            if portus.text(prefix + "server") != nil {
                notes.append(
                    Note(
                        setting: portus.origin(prefix + "server"),
                        advice: "Wharf does not scan images: run the scanner against the registry on its own"
                    )
                )
            }
        }
        if portus.isOn("email.smtp.enabled") {
            notes.append(
                Note(
                    setting: portus.origin("email.smtp.enabled"),
                    advice: "Wharf sends no email: an administrator resets a forgotten password (wharf user passwd)"
                )
            )
        }
        consumed.formUnion(portus.entries.keys.filter { $0.hasPrefix("email.") })
        let registryPaths = ["registry.catalog_page.value", "registry.timeout.value", "registry.read_timeout.value"]
        for path in registryPaths where portus.isSet(path) {
            note(portus.origin(path), "Wharf is the registry and reads its storage directly: no registry API calls to tune", reading: [])
        }
        consumed.formUnion(registryPaths)
        for path in ["background.registry.enabled", "background.sync.enabled", "background.sync.strategy"] where portus.isSet(path) {
            note(portus.origin(path), "Wharf always mirrors storage into its catalogue (sync.interval): nothing to choose", reading: [])
        }
        consumed.formUnion(["background.registry.enabled", "background.sync.enabled", "background.sync.strategy"])
        if portus.isSet("check_ssl_usage.enabled") {
            note(
                portus.origin("check_ssl_usage.enabled"),
                "Wharf serves HTTPS itself (tls: on) or plain HTTP behind a TLS proxy (tls: off, with external_url)",
                reading: ["check_ssl_usage.enabled"]
            )
        }
        consumed.insert("check_ssl_usage.enabled")
        if portus.isSet("display_name.enabled") {
            note(
                portus.origin("display_name.enabled"),
                "no switch: Wharf keeps a display name per account (imported from Portus, or the directory's ldap.display_name_attribute)",
                reading: ["display_name.enabled"]
            )
        }
        consumed.insert("display_name.enabled")
        consumed.formUnion(["gravatar.enabled", "pagination.per_page", "pagination.before_after"])
        for path in ["gravatar.enabled", "pagination.per_page", "pagination.before_after"] where portus.isSet(path) {
            note(portus.origin(path), "a detail of Portus's web pages: Wharf's portal has no such setting", reading: [])
        }
    }

    /// What to do about a `PORTUS_*` variable that is not a `config.yml` setting.
    static func adviceForVariable(_ name: String) -> String {
        if name.hasPrefix("PORTUS_DB_") { return "Portus's database: give it to wharf import portus --database mysql://USER:PASSWORD@HOST:3306/DB" }
        switch name {
        case "PORTUS_PASSWORD":
            return "the password of Portus's own portus account, which Wharf does not need (auth.service_password sets Wharf's service account)"
        case "PORTUS_SECRET_KEY_BASE", "PORTUS_KEY_PATH":
            return "Portus's session secret and token-signing key: Wharf makes its own in its data folder (certs/)"
        case "PORTUS_LOCAL_CONFIG_PATH": return "give that file to wharf import portus-config too (after config.yml)"
        case "PORTUS_BACKGROUND": return "Portus's background process: Wharf runs sync and group sync itself"
        default:
            if name.hasPrefix("PORTUS_PUMA_") { return "Portus's web server: nothing to carry over" }
            return "not a Portus setting this translation knows: check it by hand"
        }
    }

    // MARK: Helpers

    /// Adds a Wharf setting if the configuration table accepts the value; otherwise a note says why not.
    private mutating func set(_ key: String, _ value: String, _ origin: String, reading paths: [String]) {
        consumed.formUnion(paths)
        guard let entry = ConfigurationKey.named(key) else { preconditionFailure("no Wharf configuration key \(key)") }
        var probe = ServerConfiguration()
        do {
            try entry.apply(&probe, value)
        } catch {
            notes.append(Note(setting: origin, advice: "Wharf refuses it as \(key) (\(error)): set \(key) by hand"))
            return
        }
        settings.removeAll { $0.key == key }
        settings.append(Setting(key: key, value: value, origin: origin))
    }

    /// Adds `on`/`off` for a Portus switch.
    private mutating func setSwitch(_ key: String, _ portus: PortusSettings, _ path: String) {
        set(key, portus.isOn(path) ? "on" : "off", portus.origin(path), reading: [path])
    }

    private mutating func note(_ setting: String, _ advice: String, reading paths: [String]) {
        consumed.formUnion(paths)
        notes.append(Note(setting: setting, advice: advice))
    }

    /// A DN's components, normalised for comparison (lower case, no spaces around `=` and `,`).
    static func components(_ dn: String) -> [String] {
        dn.split(separator: ",").map { part in
            part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.joined(separator: "=")
        }
    }

    /// Whether `dn` is `base` or below it.
    static func isUnder(_ dn: String, _ base: String) -> Bool {
        let inner = components(dn)
        let outer = components(base)
        return inner.count >= outer.count && Array(inner.suffix(outer.count)) == outer
    }

    /// The deepest DN above both, if they share any part (as written in `first`).
    static func commonParent(_ first: String, _ second: String) -> String? {
        let a = components(first)
        let b = components(second)
        var shared = 0
        while shared < min(a.count, b.count), a[a.count - 1 - shared] == b[b.count - 1 - shared] { shared += 1 }
        guard shared > 0 else { return nil }
        let original = first.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        return original.suffix(shared).joined(separator: ",")
    }

    // MARK: Output

    /// The configuration as a YAML file Wharf loads: the keys nested by their dotted parts, each under a comment
    /// saying where its value came from, then the notes as comments.
    public var yaml: String {
        var lines = [
            "# Wharf configuration translated from Portus's settings by wharf import portus-config.",
            "# Each value says which Portus setting it comes from; the end lists what Wharf has no equivalent for.",
        ]
        // Top-level keys first, then each group (`ldap`, `auth`, ...) in the order of its first key.
        var groups = [""]
        for setting in settings {
            let group = Self.group(setting.key)
            if !groups.contains(group) { groups.append(group) }
        }
        for group in groups {
            let members = settings.filter { Self.group($0.key) == group }
            guard !members.isEmpty else { continue }
            lines.append("")
            if !group.isEmpty { lines.append("\(group):") }
            let indent = group.isEmpty ? "" : "  "
            for setting in members {
                let name = group.isEmpty ? setting.key : String(setting.key.dropFirst(group.count + 1))
                lines.append("\(indent)# from \(Self.comment(setting.origin))")
                lines.append("\(indent)\(name): \(Self.scalar(setting.value))")
            }
        }
        if !notes.isEmpty {
            lines.append("")
            lines.append("# Portus settings with no Wharf equivalent:")
            for note in notes { lines.append("# - \(Self.comment(note.setting)): \(Self.comment(note.advice))") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The first part of a dotted key, empty for a top-level key.
    static func group(_ key: String) -> String { key.contains(".") ? String(key.prefix { $0 != "." }) : "" }

    /// A YAML scalar: plain when it cannot be misread, double-quoted with escapes otherwise.
    static func scalar(_ value: String) -> String {
        let plain =
            value.first.map { $0.isLetter || $0.isNumber } ?? false
            && value.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._/-".contains($0)) }
        if plain { return value }
        var escaped = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            case "\t": escaped += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    escaped += String(format: "\\x%02X", scalar.value)
                } else {
                    escaped.unicodeScalars.append(scalar)
                }
            }
        }
        return escaped + "\""
    }

    /// Text for a comment: one line.
    static func comment(_ text: String) -> String {
        text.replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\r", with: " ")
    }
}
