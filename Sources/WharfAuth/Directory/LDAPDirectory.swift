import Foundation
import Logging

/// The ``Directory`` of an LDAP server (OpenLDAP, Active Directory, 389-ds, ...), over an ``LDAPPool``.
///
/// With a bind account (`bindDN`), a login is found by a search as that account, then checked by a bind as the
/// entry found: the login may be any attribute (Active Directory's `sAMAccountName`). Without one, the login is
/// checked by binding directly as `userAttribute=login,baseDN`, which only works when that attribute is the
/// entries' RDN; the entry is then read as the person themselves. Every value that goes into a filter or a DN is
/// escaped (``LDAPEscaping``). Without a bind account, ``entry(dn:)`` and ``groups()`` read anonymously: with the
/// usual ACLs (anonymous may only bind) an entry then reads as nil and there are no groups, so the code that
/// disables accounts whose entry is gone must not trust `nil` unless `bindDN` is set. A refusal (unknown login, wrong or empty password) is a value; anything else that
/// goes wrong is a ``DirectoryUnavailable`` whose message names servers and DNs, never a password.
public struct LDAPDirectory: Directory {
    public let configuration: LDAPConfiguration
    public let pool: LDAPPool

    /// Creates the directory; nothing connects until the first call.
    public init(configuration: LDAPConfiguration, logger: Logger = Logger(label: "wharf.ldap")) {
        self.configuration = configuration
        pool = LDAPPool(configuration: configuration, logger: logger)
    }

    public func authenticate(login: String, password: String) async throws -> DirectoryLogin {
        // An empty password would be an unauthenticated bind, which succeeds without checking anything.
        guard !password.isEmpty else { return .refused(reason: "empty password") }
        guard !login.isEmpty else { return .refused(reason: "empty login") }
        let configuration = self.configuration
        return try await perform { connection in
            if configuration.bindDN != nil {
                try Self.searchThenBind(connection, configuration, login: login, password: password)
            } else {
                try Self.directBind(connection, configuration, login: login, password: password)
            }
        }
    }

    public func entry(dn: String) async throws -> DirectoryEntry? {
        // C strings end at NUL: "DN\0junk" would read the entry at DN.
        guard !dn.isEmpty, !dn.utf8.contains(0) else { return nil }
        let configuration = self.configuration
        return try await perform { connection in
            let found: [LDAPEntry]
            do throws(LDAPError) {
                found = try connection.search(
                    base: dn,
                    scope: .base,
                    filter: Self.entryFilter(configuration),
                    attributes: Self.userAttributes(configuration)
                ).entries
            } catch {
                guard error.code == .noSuchObject || error.code == .invalidDN else { throw error }
                return nil
            }
            guard let ldapEntry = found.first else { return nil }
            var entry = Self.directoryEntry(ldapEntry, configuration, typedLogin: nil)
            entry.isAdmin = try Self.isAdmin(connection, configuration, dn: entry.dn, login: entry.login)
            return entry
        }
    }

    public func groups() async throws -> [DirectoryGroup] {
        guard let groupBase = configuration.groupBaseDN else { return [] }
        let configuration = self.configuration
        return try await perform { connection in
            let memberAttribute = configuration.memberAttribute.rawValue
            let found = try connection.search(
                base: groupBase,
                scope: .subtree,
                filter: Self.normalizedFilter(configuration.groupFilter) ?? "(objectClass=*)",
                attributes: ["cn", memberAttribute]
            )
            // A partial list would make mirror-mode sync remove the memberships of the groups left out.
            guard !found.truncated else {
                throw LDAPError.sizeLimitExceeded("more groups under \(groupBase) than the server returns in one search (its size limit)")
            }
            var groups: [DirectoryGroup] = []
            for entry in found.entries {
                guard let name = entry.first("cn") else { continue }
                let members = entry.attributes[memberAttribute] ?? []
                let memberDNs =
                    configuration.memberAttribute == .memberUid
                    ? try Self.resolve(logins: members, connection, configuration) : members
                groups.append(DirectoryGroup(name: name, dn: entry.dn, memberDNs: memberDNs))
            }
            return groups
        }
    }

    public func status() async -> DirectoryStatus { await pool.status() }

    /// The entry of `login`, found by a search as the pool's identity (the bind account, or anonymous), without
    /// checking a password: for `wharf ldap check --user`. Nil when no single entry matches.
    public func lookup(login: String) async throws -> DirectoryEntry? {
        guard !login.isEmpty else { return nil }
        let configuration = self.configuration
        return try await perform { connection in
            let found = try connection.search(
                base: configuration.baseDN,
                scope: .subtree,
                filter: Self.userFilter(configuration, login: login),
                attributes: Self.userAttributes(configuration),
                sizeLimit: 2
            )
            guard found.entries.count == 1, !found.truncated, let ldapEntry = found.entries.first else { return nil }
            var entry = Self.directoryEntry(ldapEntry, configuration, typedLogin: login)
            entry.isAdmin = try Self.isAdmin(connection, configuration, dn: entry.dn, login: entry.login)
            return entry
        }
    }

    /// One round trip as the pool's identity (a base search on `baseDN`), for `wharf ldap check` and start-up:
    /// throws ``DirectoryUnavailable`` with the servers' reasons when none answers.
    public func probe() async throws {
        let baseDN = configuration.baseDN
        try await perform { connection in
            _ = try connection.search(base: baseDN, scope: .base, filter: "(objectClass=*)", attributes: [])
        }
    }

    /// Closes the connections and stops the pool's threads; later calls throw ``DirectoryUnavailable``.
    public func shutdown() async { await pool.shutdown() }

    private func perform<T: Sendable>(_ body: @escaping @Sendable (LDAPConnection) throws -> T) async throws -> T {
        do {
            return try await pool.withConnection(body)
        } catch {
            throw DirectoryUnavailable(error.message)
        }
    }

    // MARK: Logins (on a pool thread)

    private static func searchThenBind(
        _ connection: LDAPConnection,
        _ configuration: LDAPConfiguration,
        login: String,
        password: String
    ) throws -> DirectoryLogin {
        let found = try connection.search(
            base: configuration.baseDN,
            scope: .subtree,
            filter: userFilter(configuration, login: login),
            attributes: userAttributes(configuration),
            sizeLimit: 2
        )
        guard let ldapEntry = found.entries.first else { return .refused(reason: "no entry for this login") }
        guard found.entries.count == 1 && !found.truncated else { return .refused(reason: "several entries for this login") }
        if let refusal = try bindAsPerson(connection, dn: ldapEntry.dn, password: password) {
            // Back to the bind account; if that fails the pool closes this connection (it is bound as nobody).
            try? restoreIdentity(connection, configuration)
            return refusal
        }
        try restoreIdentity(connection, configuration)
        var entry = directoryEntry(ldapEntry, configuration, typedLogin: login)
        entry.isAdmin = try isAdmin(connection, configuration, dn: entry.dn, login: entry.login)
        return .accepted(entry)
    }

    private static func directBind(
        _ connection: LDAPConnection,
        _ configuration: LDAPConfiguration,
        login: String,
        password: String
    ) throws -> DirectoryLogin {
        let dn = "\(configuration.userAttribute)=\(LDAPEscaping.dnValue(login)),\(configuration.baseDN)"
        defer { try? restoreIdentity(connection, configuration) }
        if let refusal = try bindAsPerson(connection, dn: dn, password: password) { return refusal }
        // Read as the person themselves: there is no other account to read with.
        let found: [LDAPEntry]
        do throws(LDAPError) {
            found = try connection.search(
                base: dn,
                scope: .base,
                filter: entryFilter(configuration),
                attributes: userAttributes(configuration)
            ).entries
        } catch {
            guard error.code == .noSuchObject else { throw error }
            return .refused(reason: "the entry \(dn) binds but does not exist")
        }
        guard let ldapEntry = found.first else {
            return .refused(reason: "the entry \(dn) does not match the filter (or may not read itself)")
        }
        var entry = directoryEntry(ldapEntry, configuration, typedLogin: login)
        entry.isAdmin = try isAdmin(connection, configuration, dn: entry.dn, login: entry.login)
        return .accepted(entry)
    }

    /// Binds as `dn`: nil when the password is right, a refusal when the server says no (wrong password, or a
    /// policy such as a locked account); throws when the server cannot be reached.
    private static func bindAsPerson(_ connection: LDAPConnection, dn: String, password: String) throws -> DirectoryLogin? {
        do throws(LDAPError) {
            try connection.bind(dn: dn, password: password)
            return nil
        } catch {
            switch error.code {
            case .invalidCredentials: return .refused(reason: "wrong password for \(dn)")
            case .operationFailed, .noSuchObject, .invalidDN: return .refused(reason: error.message)
            default: throw error
            }
        }
    }

    /// Binds the connection as the pool's identity again: the bind account, or anonymous.
    private static func restoreIdentity(_ connection: LDAPConnection, _ configuration: LDAPConfiguration) throws {
        if let bindDN = configuration.bindDN {
            try connection.bind(dn: bindDN, password: configuration.bindPassword ?? "")
        } else {
            try connection.bind(dn: nil, password: "")
        }
    }

    // MARK: Entries and groups (on a pool thread)

    /// Whether the entry is listed in the admin group (by DN for `member`/`uniqueMember`, by login for
    /// `memberUid`); nil when no admin group is configured. A missing admin group has no members.
    private static func isAdmin(_ connection: LDAPConnection, _ configuration: LDAPConfiguration, dn: String, login: String) throws -> Bool? {
        guard let group = configuration.adminGroup else { return nil }
        let escapedDN = LDAPEscaping.filterValue(dn)
        let filter = "(|(member=\(escapedDN))(uniqueMember=\(escapedDN))(memberUid=\(LDAPEscaping.filterValue(login))))"
        do throws(LDAPError) {
            return !(try connection.search(base: group, scope: .base, filter: filter, attributes: []).entries.isEmpty)
        } catch {
            guard error.code == .noSuchObject else { throw error }
            return false
        }
    }

    /// The DNs of the entries whose user attribute is one of `logins` (a `memberUid` group's members), in the
    /// order of `logins`; logins that name no entry are left out. One search per 50 logins.
    private static func resolve(logins: [String], _ connection: LDAPConnection, _ configuration: LDAPConfiguration) throws -> [String] {
        guard !logins.isEmpty else { return [] }
        let attribute = configuration.userAttribute
        var dnByLogin: [String: String] = [:]
        var start = 0
        while start < logins.count {
            let chunk = logins[start..<min(start + 50, logins.count)]
            start += 50
            let alternatives = chunk.map { "(\(attribute)=\(LDAPEscaping.filterValue($0)))" }.joined()
            let filter = "(&(|\(alternatives))\(normalizedFilter(configuration.filter) ?? ""))"
            let found = try connection.search(base: configuration.baseDN, scope: .subtree, filter: filter, attributes: [attribute])
            for entry in found.entries {
                for value in entry.attributes[attribute] ?? [] where dnByLogin[value.lowercased()] == nil {
                    dnByLogin[value.lowercased()] = entry.dn
                }
            }
        }
        var seen: Set<String> = []
        return logins.compactMap { dnByLogin[$0.lowercased()] }.filter { seen.insert($0).inserted }
    }

    private static func directoryEntry(_ entry: LDAPEntry, _ configuration: LDAPConfiguration, typedLogin: String?) -> DirectoryEntry {
        let logins = entry.attributes[configuration.userAttribute] ?? []
        let login =
            logins.first { $0.caseInsensitiveCompare(typedLogin ?? "") == .orderedSame } ?? logins.first ?? typedLogin ?? ""
        return DirectoryEntry(
            dn: entry.dn,
            login: login,
            email: entry.first(configuration.emailAttribute),
            displayName: entry.first(configuration.displayNameAttribute)
        )
    }

    // MARK: Filters

    private static func userAttributes(_ configuration: LDAPConfiguration) -> [String] {
        var attributes: [String] = []
        for name in [configuration.userAttribute, configuration.emailAttribute, configuration.displayNameAttribute]
        where !attributes.contains(where: { $0.caseInsensitiveCompare(name) == .orderedSame }) {
            attributes.append(name)
        }
        return attributes
    }

    /// `(&(userAttribute=login)filter)`, the login escaped.
    static func userFilter(_ configuration: LDAPConfiguration, login: String) -> String {
        "(&(\(configuration.userAttribute)=\(LDAPEscaping.filterValue(login)))\(normalizedFilter(configuration.filter) ?? ""))"
    }

    /// The filter an entry must match to count as a person: the configured one, or any entry.
    private static func entryFilter(_ configuration: LDAPConfiguration) -> String {
        normalizedFilter(configuration.filter) ?? "(objectClass=*)"
    }

    /// `filter` in parentheses (`objectClass=person` is accepted for `(objectClass=person)`); nil when empty.
    static func normalizedFilter(_ filter: String) -> String? {
        let trimmed = filter.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty { return nil }
        return trimmed.hasPrefix("(") ? trimmed : "(\(trimmed))"
    }
}
