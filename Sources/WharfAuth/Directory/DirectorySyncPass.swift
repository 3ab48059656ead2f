import Foundation
import Logging
import WharfCore
import WharfDatabase

/// The work of ``DirectorySync``, apart from its state: reads the directory, compares it with the database and
/// applies the difference. Stateless, so the actor only keeps the bookkeeping and nothing here runs on it.
///
/// Group names are matched to team names without regard to case: LDAP compares a `cn` that way, and team names
/// are lower case by their grammar, so a group `Developers` syncs to the team `developers`. Member DNs are
/// matched to users as the user store does (lower-cased), so the same entry is the same user whichever case the
/// group lists it in.
struct DirectorySyncPass: Sendable {
    /// Who sync's changes are recorded as in the activities.
    static let actor = ActivityActor(id: nil, name: "ldap-sync")

    let pool: DatabasePool
    let directory: any Directory
    let accounts: AccountService
    let settings: DirectorySyncSettings
    let logger: Logger

    /// What one team needs so that its sync-made memberships follow its group.
    struct TeamChanges: Sendable {
        var team: Team
        /// The DN of the group the team follows, for the activities; nil when the group is gone.
        var group: String?
        var add: [User] = []
        var remove: [TeamMember] = []
    }

    /// A whole pass; never throws: a failure stops the pass and is its report's ``DirectorySyncReport/error``.
    func syncAll() async -> DirectorySyncReport {
        var report = DirectorySyncReport(startedAt: Date())
        do {
            // Nothing changes unless the directory listed its groups: an error must never read as "every group
            // is gone".
            let groups = try await directory.groups()
            report.groups = groups.count
            let (matched, changes) = try await plan(groups)
            report.teamsMatched = matched
            for change in changes {
                try Task.checkCancellation()
                let (added, removed) = try await apply(change)
                report.membershipsAdded += added
                report.membershipsRemoved += removed
                if added + removed > 0 {
                    logger.info(
                        "team memberships synced from the directory",
                        metadata: ["team": "\(change.team.name)", "group": "\(change.group ?? "-")", "added": "\(added)", "removed": "\(removed)"]
                    )
                }
            }
            try await disableGoneUsers(&report)
        } catch {
            report.error = Self.describe(error)
        }
        report.finishedAt = Date()
        return report
    }

    /// Compares the groups with the teams of the same names: who to add (every listed user with an account who
    /// is not a member yet) and, in mirror mode, which sync-made memberships to remove (of users the group no
    /// longer lists, and of teams whose group is gone). Returns how many teams have a group, and the changes.
    func plan(_ groups: [DirectoryGroup]) async throws -> (matched: Int, changes: [TeamChanges]) {
        // Groups named alike (in different branches of the directory) sync their members together to one team.
        var byTeam: [String: (dns: [String], members: Set<String>)] = [:]
        for group in groups {
            var merged = byTeam[group.name.lowercased()] ?? ([], [])
            merged.dns.append(group.dn)
            merged.members.formUnion(group.memberDNs.map { $0.lowercased() })
            byTeam[group.name.lowercased()] = merged
        }
        let mirror = settings.mode == .mirror
        let groupsByTeam = byTeam
        return try await pool.read { transaction in
            var users: [String: User] = [:]
            for user in try transaction.users.directoryUsers() {
                if let dn = user.ldapDN { users[dn.lowercased()] = user }
            }
            var changes: [TeamChanges] = []
            var matched: Set<Int64> = []
            for (name, group) in groupsByTeam.sorted(by: { $0.key < $1.key }) {
                // Personal teams are hidden and belong to their user: no group syncs into one.
                guard let team = try transaction.teams.find(name: name), !team.isHidden else { continue }
                matched.insert(team.id)
                let members = try transaction.teams.members(teamID: team.id)
                let current = Set(members.map(\.userID))
                let wanted = group.members.compactMap { users[$0] }
                var change = TeamChanges(team: team, group: group.dns.sorted().joined(separator: "; "))
                change.add = wanted.filter { !current.contains($0.id) }.sorted { $0.name < $1.name }
                if mirror {
                    let listed = Set(wanted.map(\.id))
                    change.remove = members.filter { $0.fromDirectory && !listed.contains($0.userID) }
                }
                if !change.add.isEmpty || !change.remove.isEmpty { changes.append(change) }
            }
            if mirror {
                let orphaned = Dictionary(grouping: try transaction.teams.directoryMembers().filter { !matched.contains($0.teamID) }, by: \.teamID)
                for (teamID, memberships) in orphaned.sorted(by: { $0.key < $1.key }) {
                    guard let team = try transaction.teams.find(id: teamID) else { continue }
                    changes.append(TeamChanges(team: team, group: nil, remove: memberships))
                }
            }
            return (matched.count, changes)
        }
    }

    /// Applies one team's changes in one transaction, each with its activity. The store adds only where the user
    /// is not a member and removes only memberships sync made, so a change a person made since the plan was read
    /// wins. Returns how many memberships were added and removed.
    func apply(_ change: TeamChanges) async throws -> (added: Int, removed: Int) {
        let role = settings.defaultRole
        return try await pool.write { transaction in
            // The team or a user may have been deleted since the plan was read.
            guard try transaction.teams.find(id: change.team.id) != nil else { return (0, 0) }
            var added = 0
            var removed = 0
            for user in change.add {
                guard try transaction.users.find(id: user.id) != nil,
                    try transaction.teams.addDirectoryMember(teamID: change.team.id, userID: user.id, role: role)
                else { continue }
                try Self.recordAdd(user.name, role: role, team: change.team, group: change.group, in: transaction)
                added += 1
            }
            for member in change.remove {
                guard try transaction.teams.removeDirectoryMember(teamID: change.team.id, userID: member.userID) else { continue }
                try Self.recordRemove(member.userName, role: member.role, team: change.team, group: change.group, in: transaction)
                removed += 1
            }
            return (added, removed)
        }
    }

    /// Disables every enabled directory user whose entry is gone (through ``AccountService``, which ends their
    /// portal sessions; their tokens stop at their next check). The first directory error stops the loop: a user
    /// is disabled only on the directory's word that the entry does not exist.
    func disableGoneUsers(_ report: inout DirectorySyncReport) async throws {
        guard settings.checkEntries else { return }
        let users = try await pool.read { transaction in try transaction.users.directoryUsers() }.filter(\.enabled)
        for user in users {
            try Task.checkCancellation()
            // An account imported from Portus has no entry's DN until its first LDAP login: nothing to look up.
            guard let dn = user.ldapDN, !dn.hasPrefix(PortusMapping.pendingDirectoryPrefix) else { continue }
            report.usersChecked += 1
            guard try await directory.entry(dn: dn) == nil else { continue }
            // Looked at again: while the directory answered, the account may have been disabled, deleted or
            // linked to another entry.
            guard let current = try await pool.read({ transaction in try transaction.users.find(id: user.id) }), current.enabled,
                current.name == user.name, current.ldapDN?.lowercased() == dn.lowercased()
            else { continue }
            do {
                try await accounts.setEnabled(name: current.name, false, actor: Self.actor)
            } catch let error as AccountError where error.code == .unknownUser {
                continue
            }
            report.usersDisabled += 1
            logger.notice("disabled a user whose directory entry is gone", metadata: ["user": "\(current.name)", "dn": "\(dn)"])
        }
    }

    /// One user's memberships against the groups as they are now (at sign-in): added to the team of every group
    /// that lists `dn`, and in mirror mode removed from the sync-made memberships no group justifies any more.
    /// Throws ``DirectoryUnavailable`` (changing nothing) when the directory cannot list its groups.
    func syncUser(id: Int64, dn: String) async throws -> (added: Int, removed: Int) {
        let groups = try await directory.groups()
        let key = dn.lowercased()
        var listing: [String: [String]] = [:]
        for group in groups where group.memberDNs.contains(where: { $0.lowercased() == key }) {
            listing[group.name.lowercased(), default: []].append(group.dn)
        }
        let role = settings.defaultRole
        let mirror = settings.mode == .mirror
        let teams = listing
        return try await pool.write { transaction in
            guard let user = try transaction.users.find(id: id) else { return (0, 0) }
            var added = 0
            var removed = 0
            for (name, dns) in teams.sorted(by: { $0.key < $1.key }) {
                guard let team = try transaction.teams.find(name: name), !team.isHidden,
                    try transaction.teams.addDirectoryMember(teamID: team.id, userID: id, role: role)
                else { continue }
                try Self.recordAdd(user.name, role: role, team: team, group: dns.sorted().joined(separator: "; "), in: transaction)
                added += 1
            }
            if mirror {
                for (team, role) in try transaction.teams.memberships(userID: id) where team.isHidden || teams[team.name] == nil {
                    guard try transaction.teams.removeDirectoryMember(teamID: team.id, userID: id) else { continue }
                    try Self.recordRemove(user.name, role: role, team: team, group: nil, in: transaction)
                    removed += 1
                }
            }
            return (added, removed)
        }
    }

    /// `team.member.add`, as a person adding a member records it, with the group it came from.
    static func recordAdd(_ user: String, role: TeamRole, team: Team, group: String?, in transaction: Transaction) throws {
        var details: [String: any Sendable] = ["user": user, "role": role.rawValue]
        if let group { details["group"] = group }
        try transaction.activities.record(.teamMemberAdd, by: actor, on: .team(team), details: details)
    }

    /// `team.member.remove`, as a person removing a member records it, with the group that no longer lists them.
    static func recordRemove(_ user: String, role: TeamRole, team: Team, group: String?, in transaction: Transaction) throws {
        var details: [String: any Sendable] = ["user": user, "role": role.rawValue]
        if let group { details["group"] = group }
        try transaction.activities.record(.teamMemberRemove, by: actor, on: .team(team), details: details)
    }

    /// One line for the status page and the log.
    static func describe(_ error: any Error) -> String {
        switch error {
        case is CancellationError: "stopped: the server is shutting down"
        case let error as DirectoryUnavailable: error.description
        default: "\(error)"
        }
    }
}
