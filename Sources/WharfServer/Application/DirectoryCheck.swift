import Foundation
import Logging
import WharfAuth
import WharfDatabase

/// `wharf ldap check`: connects with the configured settings, binds, optionally looks a login up (and checks its
/// password), and says what Wharf would do with it: the account it maps to, admin or not, the teams group sync
/// gives it. Changes nothing. Throws ``DirectoryUnavailable`` when no server answers, ``ConfigurationError`` when
/// the settings cannot work.
public struct DirectoryCheck: Sendable {
    public let configuration: ServerConfiguration
    public let logger: Logger

    public init(configuration: ServerConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// The lines to print, in order.
    public func run(login: String?, password: String?) async throws -> [String] {
        let settings = configuration.ldap
        guard settings.enabled else {
            throw ConfigurationError("ldap.enabled is off: nothing to check (set WHARF_LDAP_ENABLED=on and the ldap.* keys)")
        }
        try settings.validate()
        let ldap = settings.directory
        var lines = settings.warnings.map { "warning: \($0)" }
        lines.append("servers: \(ldap.urls.joined(separator: ", ")) (\(ldap.encryption.rawValue))")
        lines.append(
            "users: under \(ldap.baseDN), login attribute \(ldap.userAttribute)"
                + (ldap.filter.isEmpty ? "" : ", filter \(ldap.filter)")
                + (ldap.bindDN.map { ", search as \($0) then bind" } ?? ", direct bind as \(ldap.userAttribute)=LOGIN,\(ldap.baseDN)")
        )
        let directory = LDAPDirectory(configuration: ldap, logger: logger)
        defer { Task { await directory.shutdown() } }
        try await directory.probe()
        let status = await directory.status()
        lines.append("reachable: yes (\(status.url ?? ldap.urls[0]))" + (ldap.bindDN.map { ", bound as \($0)" } ?? ""))

        let pool = DatabasePool(location: configuration.databaseLocation, logger: logger)
        defer { Task { await pool.close() } }
        _ = try await pool.prepare()
        let teams = try await pool.read { transaction in try transaction.teams.list(limit: 10_000, includeHidden: false) }
        let teamNames = Set(teams.map(\.name))

        var groups: [DirectoryGroup] = []
        if let groupBase = ldap.groupBaseDN {
            groups = try await directory.groups()
            let mode = settings.mirror ? "mirror" : "add-only"
            lines.append(
                "groups: \(groups.count) under \(groupBase) (\(ldap.memberAttribute.rawValue), sync \(mode), role \(settings.defaultRole.rawValue))"
            )
            for group in groups.sorted(by: { $0.name < $1.name }) {
                let team = teamNames.contains(group.name.lowercased()) ? "syncs to team \(group.name.lowercased())" : "no team of that name"
                lines.append("  \(group.name): \(group.memberDNs.count) members, \(team)")
            }
        } else {
            lines.append("groups: no group sync (ldap.group_base_dn is empty)")
        }

        guard let login else { return lines }
        let entry: DirectoryEntry
        if let password {
            switch try await directory.authenticate(login: login, password: password) {
            case .accepted(let found):
                entry = found
                lines.append("password: accepted for \(found.dn)")
            case .refused(let reason):
                lines.append("password: refused (\(reason))")
                throw DirectoryCheckFailure("\(login): the directory refused the login (\(reason))", lines: lines)
            }
        } else {
            guard let found = try await directory.lookup(login: login) else {
                throw DirectoryCheckFailure("\(login): no entry found under \(ldap.baseDN)", lines: lines)
            }
            entry = found
        }
        lines.append("user \(login): \(entry.dn)")
        lines.append("  email: \(entry.email ?? "-"), display name: \(entry.displayName ?? "-")")
        switch entry.isAdmin {
        case true?: lines.append("  admin: yes (member of \(ldap.adminGroup ?? ""))")
        case false?: lines.append("  admin: no (not a member of \(ldap.adminGroup ?? ""))")
        case nil: lines.append("  admin: decided in Wharf (no ldap.admin_group)")
        }
        let memberOf = groups.filter { $0.memberDNs.contains { $0.lowercased() == entry.dn.lowercased() } }.map(\.name).sorted()
        if ldap.groupBaseDN != nil {
            lines.append("  groups: " + (memberOf.isEmpty ? "none" : memberOf.joined(separator: ", ")))
        }
        let linked = try await pool.read { transaction in try transaction.users.find(ldapDN: entry.dn) }
        if let linked {
            lines.append("  wharf: linked to user \(linked.name)" + (linked.enabled ? "" : " (disabled)") + (linked.isAdmin ? ", admin" : ""))
        } else {
            let name = AccountService.directoryName(entry.login)
            let taken = try await pool.read { transaction in
                try transaction.users.find(name: name) != nil || transaction.namespaces.find(name: name) != nil
            }
            lines.append("  wharf: would create user \(name)" + (taken ? " with a suffix (\(name) is taken)" : "") + " at the first login")
        }
        let teamsGiven = memberOf.map { $0.lowercased() }.filter { teamNames.contains($0) }
        if !teamsGiven.isEmpty {
            lines.append(
                "  teams from group sync: "
                    + teamsGiven.map { "\($0) (\(settings.defaultRole.rawValue) unless a member already)" }.joined(separator: ", ")
            )
        }
        return lines
    }
}

/// `wharf ldap check` found a problem after printing what it could: the lines so far, and the one-line reason.
public struct DirectoryCheckFailure: Error, CustomStringConvertible {
    public let description: String
    public let lines: [String]

    init(_ description: String, lines: [String]) {
        self.description = description
        self.lines = lines
    }
}
