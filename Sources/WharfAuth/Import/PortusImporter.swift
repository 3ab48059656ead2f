import Foundation
import WharfCore
import WharfDatabase

/// Imports the people of a Portus installation (users, teams with their members, namespaces) into Wharf's
/// database from a ``PortusSnapshot``.
///
/// Records are matched by name, so a second run finds everything and changes nothing. Each kind is one
/// transaction (users with their personal namespaces, then teams with members, then team namespaces): a record
/// Wharf cannot take as it is gets a report line saying what was done instead, never a half-made account. A dry
/// run does the same work in one transaction and rolls it back, so what it reports is exactly what a real run
/// would do. Repositories and tags are not read from Portus: storage is their source of truth (sync); with
/// `content`, every namespace storage holds that ends up without an owner gets a line saying how to adopt it.
public struct PortusImporter: Sendable {
    /// Who the import is recorded as in the activities.
    public static let actor = ActivityActor(id: nil, name: "portus-import")

    let pool: DatabasePool
    /// Names no user may take (Wharf's service account).
    let reservedNames: Set<String>
    /// The registry folder Wharf serves (the old registry's root), to report namespaces no one owns.
    let content: (any NamespaceStorage)?

    public init(pool: DatabasePool, reservedNames: Set<String> = [], content: (any NamespaceStorage)? = nil) {
        self.pool = pool
        self.reservedNames = reservedNames
        self.content = content
    }

    /// Thrown at the end of a dry run's transaction to roll it back with the report.
    private struct DryRunFinished: Error { let report: PortusImportReport }

    /// Imports `snapshot`; with `dryRun` nothing is written and the report says what would be done.
    public func run(_ snapshot: PortusSnapshot, dryRun: Bool) async throws -> PortusImportReport {
        let plan = Plan(snapshot, reservedNames: reservedNames)
        // Storage is read before any transaction: a database transaction never waits on storage.
        var stored: [(name: String, repositories: Int)] = []
        if let content {
            for name in try await content.namespaces() { stored.append((name, try await content.repositories(in: name).count)) }
        }
        let storedNamespaces = stored
        let steps: [@Sendable (Transaction) throws -> PortusImportReport] = [
            plan.importUsers, plan.importTeams, plan.importNamespaces, plan.importTokens, plan.importStarsAndComments, plan.importActivities,
            { try plan.reportStoredNamespaces(storedNamespaces, in: $0) },
        ]
        var report = PortusImportReport(dryRun: dryRun)
        if dryRun {
            do {
                try await pool.write { transaction in
                    var combined = PortusImportReport(dryRun: true)
                    for step in steps { combined.append(contentsOf: try step(transaction)) }
                    throw DryRunFinished(report: combined)
                }
            } catch let finished as DryRunFinished {
                report.append(contentsOf: finished.report)
            }
        } else {
            for step in steps { report.append(contentsOf: try await pool.write(step)) }
        }
        return report
    }
}

extension PortusImporter {
    /// The snapshot indexed for the steps, and the steps themselves (each runs inside one transaction).
    struct Plan: Sendable {
        let snapshot: PortusSnapshot
        let reservedNames: Set<String>
        let usersByID: [Int64: PortusSnapshot.User]
        let namespacesByID: [Int64: PortusSnapshot.Namespace]
        /// Portus namespace ids that are some user's personal namespace.
        let personalNamespaceIDs: Set<Int64>
        let membershipsByTeam: [Int64: [PortusSnapshot.Membership]]
        /// Wharf's names of Portus's namespaces and repositories, by Portus id.
        let namespaceNames: [Int64: String]
        let repositoryNames: [Int64: String]
        /// Wharf's name for each visible Portus team, or why it has none.
        let teamNames: [Int64: Result<String, TeamNameRefusal>]

        struct TeamNameRefusal: Error { let reason: String }

        init(_ snapshot: PortusSnapshot, reservedNames: Set<String>) {
            self.snapshot = snapshot
            self.reservedNames = reservedNames
            usersByID = Dictionary(snapshot.users.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
            namespacesByID = Dictionary(snapshot.namespaces.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
            personalNamespaceIDs = Set(snapshot.users.compactMap { $0.bot ? nil : $0.namespaceID })
            (namespaceNames, repositoryNames) = snapshot.wharfNames()
            membershipsByTeam = Dictionary(grouping: snapshot.memberships, by: \.teamID)
            var names: [Int64: Result<String, TeamNameRefusal>] = [:]
            var taken: [String: String] = [:]
            for team in snapshot.teams where !team.hidden {
                guard let name = PortusMapping.teamName(team.name) else {
                    names[team.id] = .failure(TeamNameRefusal(reason: "no valid Wharf name can be made of it"))
                    continue
                }
                if let other = taken[name] {
                    names[team.id] = .failure(TeamNameRefusal(reason: "its Wharf name \(name) is already Portus team \(other.debugDescription)'s"))
                    continue
                }
                taken[name] = team.name
                names[team.id] = .success(name)
            }
            teamNames = names
        }

        // MARK: Users

        func importUsers(_ transaction: Transaction) throws -> PortusImportReport {
            var report = PortusImportReport()
            for portus in snapshot.users {
                let name = portus.username
                if name == PortusMapping.serviceAccount {
                    report.add("user", name, .skipped, "Portus's service account (Wharf has its own)")
                    continue
                }
                if (try? AccountService.validateName(name)) == nil {
                    report.add(
                        "user",
                        name.debugDescription,
                        .conflict,
                        "a name Wharf's grammar refuses (lowercase letters and digits, . _ -): not imported"
                    )
                    continue
                }
                if reservedNames.contains(name) {
                    report.add("user", name, .conflict, "Wharf's service account has this name: not imported")
                    continue
                }
                if let existing = try transaction.users.find(name: name) {
                    if existing.isAdmin == portus.admin && existing.isBot == portus.bot && existing.enabled == portus.enabled {
                        report.add("user", name, .unchanged)
                    } else {
                        report.add("user", name, .skipped, "exists in Wharf with other settings: kept as Wharf has it")
                    }
                    continue
                }
                if !portus.bot, let namespace = try transaction.namespaces.find(name: name) {
                    report.add("user", name, .conflict, "Wharf has a \(namespace.kind.rawValue) namespace named \(name): not imported")
                    continue
                }
                var notes: [String] = []
                var email = portus.email?.trimmingCharacters(in: .whitespaces)
                if email?.isEmpty ?? false { email = nil }
                if let address = email, let other = try transaction.users.find(email: address) {
                    notes.append("imported without its email \(address) (\(other.name) has it)")
                    email = nil
                }
                let passwordHash: String?
                var ldapDN: String?
                if let ldapName = portus.ldapName, !ldapName.isEmpty {
                    passwordHash = nil
                    ldapDN = PortusMapping.pendingDirectoryLink(login: ldapName)
                    notes.append("directory user (LDAP login \(ldapName)): no password kept, linked to its entry at the first LDAP login")
                } else {
                    passwordHash = PortusMapping.passwordHash(portus.encryptedPassword)
                    if passwordHash == nil { notes.append("no usable bcrypt password: set one with wharf user passwd") }
                    if let provider = portus.provider, !provider.isEmpty {
                        notes.append("signed in through \(provider) in Portus, which Wharf does not offer: set a password")
                    }
                }
                var user = try transaction.users.create(
                    NewUser(
                        name: name,
                        email: email,
                        passwordHash: passwordHash,
                        displayName: portus.displayName.flatMap { $0.isEmpty ? nil : $0 },
                        ldapDN: ldapDN,
                        isAdmin: portus.admin,
                        isBot: portus.bot
                    )
                )
                if !portus.enabled {
                    user.enabled = false
                    try transaction.users.update(user)
                }
                try transaction.activities.record(
                    .userCreate,
                    by: PortusImporter.actor,
                    on: .user(user),
                    details: ["admin": portus.admin, "bot": portus.bot, "from": "portus"]
                )
                if !portus.bot {
                    let personal = portus.namespaceID.flatMap { namespacesByID[$0] }
                    var visibility = Visibility.private
                    if let personal {
                        if let mapped = PortusMapping.visibility(personal.visibility) {
                            visibility = mapped
                        } else {
                            notes.append("personal namespace has an unknown visibility \(personal.visibility): made private")
                        }
                        if personal.name != name { notes.append("personal namespace \(personal.name) is called \(name) in Wharf") }
                    }
                    let namespace = try transaction.namespaces.create(
                        name: name,
                        kind: .personal,
                        visibility: visibility,
                        ownerID: user.id,
                        description: personal?.description ?? ""
                    )
                    try transaction.activities.record(
                        .namespaceCreate,
                        by: PortusImporter.actor,
                        on: .namespace(namespace),
                        details: ["user": name, "visibility": visibility.rawValue, "from": "portus"]
                    )
                }
                let outcome: PortusImportReport.Outcome = notes.contains { $0.hasPrefix("imported without") } ? .conflict : .created
                report.add("user", name, outcome, notes.joined(separator: "; "))
            }
            return report
        }

        // MARK: Teams

        func importTeams(_ transaction: Transaction) throws -> PortusImportReport {
            var report = PortusImportReport()
            for portus in snapshot.teams where !portus.hidden {
                let name: String
                switch teamNames[portus.id] {
                case .success(let mapped): name = mapped
                case .failure(let refusal):
                    report.add("team", portus.name.debugDescription, .conflict, "\(refusal.reason): not imported")
                    continue
                case nil: continue
                }
                var notes: [String] = []
                if name != portus.name { notes.append("Portus's \(portus.name.debugDescription) is named \(name) in Wharf") }
                let team: Team
                let created: Bool
                if let existing = try transaction.teams.find(name: name) {
                    team = existing
                    created = false
                } else {
                    team = try transaction.teams.create(name: name, description: portus.description)
                    try transaction.activities.record(.teamCreate, by: PortusImporter.actor, on: .team(team), details: ["from": "portus"])
                    created = true
                }
                var added = 0
                for membership in membershipsByTeam[portus.id] ?? [] {
                    guard let member = usersByID[membership.userID] else { continue }
                    guard let role = PortusMapping.role(membership.role) else {
                        notes.append("member \(member.username) has an unknown role \(membership.role): not added")
                        continue
                    }
                    guard let user = try transaction.users.find(name: member.username) else {
                        if member.username != PortusMapping.serviceAccount {
                            notes.append("member \(member.username) was not imported: not added")
                        }
                        continue
                    }
                    let current = try transaction.teams.role(teamID: team.id, userID: user.id)
                    if let current {
                        if current != role {
                            notes.append("\(user.name) is \(current.rawValue) in Wharf, \(role.rawValue) in Portus: kept \(current.rawValue)")
                        }
                        continue
                    }
                    try transaction.teams.setMember(teamID: team.id, userID: user.id, role: role)
                    try transaction.activities.record(
                        .teamMemberAdd,
                        by: PortusImporter.actor,
                        on: .team(team),
                        details: ["user": user.name, "role": role.rawValue, "from": "portus"]
                    )
                    added += 1
                }
                if created {
                    report.add("team", name, .created, (["\(added) members"] + notes).joined(separator: "; "))
                } else if added > 0 {
                    report.add("team", name, .changed, (["\(added) members added"] + notes).joined(separator: "; "))
                } else {
                    // A rename is said when the team is created; later runs only report what they could not do.
                    let problems = notes.filter { !$0.hasPrefix("Portus's ") }
                    report.add("team", name, problems.isEmpty ? .unchanged : .skipped, problems.joined(separator: "; "))
                }
            }
            return report
        }

        // MARK: Namespaces

        func importNamespaces(_ transaction: Transaction) throws -> PortusImportReport {
            var report = PortusImportReport()
            let teamsByID = Dictionary(snapshot.teams.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
            for portus in snapshot.namespaces {
                if personalNamespaceIDs.contains(portus.id) { continue }  // imported with its user
                let visibility = PortusMapping.visibility(portus.visibility)
                if portus.global {
                    let detail =
                        visibility == .protected
                        ? "Wharf's global namespace (names without a prefix) is protected, as this one was"
                        : "Wharf's global namespace (names without a prefix) is always protected; Portus had it \(visibility?.rawValue ?? "unknown")"
                    report.add("namespace", "\(portus.name) (global)", visibility == .protected ? .unchanged : .conflict, detail)
                    continue
                }
                if (try? AccountService.validateName(portus.name, what: "namespace")) == nil {
                    report.add("namespace", portus.name.debugDescription, .conflict, "a name Wharf's grammar refuses: not imported")
                    continue
                }
                guard let visibility else {
                    report.add("namespace", portus.name, .conflict, "unknown visibility \(portus.visibility): not imported")
                    continue
                }
                guard let owner = portus.teamID.flatMap({ teamsByID[$0] }) else {
                    report.add("namespace", portus.name, .conflict, "no owning team in Portus: not imported (adopt it with wharf namespace adopt)")
                    continue
                }
                guard !owner.hidden, case .success(let teamName) = teamNames[owner.id], let team = try transaction.teams.find(name: teamName) else {
                    report.add("namespace", portus.name, .conflict, "its team \(owner.name.debugDescription) was not imported: not imported")
                    continue
                }
                if let existing = try transaction.namespaces.find(name: portus.name) {
                    if existing.kind == .team && existing.teamID == team.id {
                        let same = existing.visibility == visibility && existing.description == portus.description
                        report.add(
                            "namespace",
                            portus.name,
                            same ? .unchanged : .skipped,
                            same ? "" : "exists in Wharf with another visibility or description: kept"
                        )
                    } else {
                        report.add(
                            "namespace",
                            portus.name,
                            .conflict,
                            "Wharf has a \(existing.kind.rawValue) namespace of this name with another owner: kept"
                        )
                    }
                    continue
                }
                let namespace = try transaction.namespaces.create(
                    name: portus.name,
                    kind: .team,
                    visibility: visibility,
                    teamID: team.id,
                    description: portus.description
                )
                try transaction.activities.record(
                    .namespaceCreate,
                    by: PortusImporter.actor,
                    on: .namespace(namespace),
                    details: ["team": team.name, "visibility": visibility.rawValue, "from": "portus"]
                )
                report.add("namespace", portus.name, .created, "team \(team.name), \(visibility.rawValue)")
            }
            return report
        }

        // MARK: Application tokens

        /// Portus kept only `bcrypt(token)`: each token is stored with that hash behind ``PortusToken/prefix``, so
        /// it keeps working as the password of `docker login` and is re-stored in Wharf's keyed form on first use
        /// (``Authenticator``). Matched by user and label.
        func importTokens(_ transaction: Transaction) throws -> PortusImportReport {
            var report = PortusImportReport()
            for portus in snapshot.tokens {
                guard let owner = usersByID[portus.userID] else { continue }
                let label = "\(owner.username)/\(portus.application)"
                guard let user = try transaction.users.find(name: owner.username) else {
                    if owner.username != PortusMapping.serviceAccount {
                        report.add("token", label, .conflict, "its user was not imported: not imported")
                    }
                    continue
                }
                let existing = try transaction.tokens.list(userID: user.id)
                if existing.contains(where: { $0.application == portus.application }) {
                    report.add("token", label, .unchanged)
                    continue
                }
                guard let stored = PortusToken.storedHash(bcrypt: portus.tokenHash) else {
                    report.add("token", label, .conflict, "no bcrypt hash in Portus: not imported, \(user.name) makes a new one")
                    continue
                }
                guard existing.count < AccountService.maximumTokensPerUser else {
                    report.add("token", label, .conflict, "\(user.name) has \(existing.count) tokens already, the most allowed: not imported")
                    continue
                }
                let token = try transaction.tokens.create(userID: user.id, application: portus.application, tokenHash: stored)
                try transaction.activities.record(
                    .tokenCreate,
                    by: PortusImporter.actor,
                    on: .token(id: token.id, label: portus.application),
                    details: ["user": user.name, "from": "portus"]
                )
                report.add("token", label, .created, "works as before; stored in Wharf's form at its first use")
            }
            return report
        }

        // MARK: Stars and comments

        /// Stars and comments on repositories Wharf's catalogue has (storage, mirrored by sync): one on a
        /// repository it does not list yet is skipped with a line, and a later import (after `wharf sync` or a
        /// first `wharf serve`) adds it. A comment is matched by author and text; it is dated by the import.
        func importStarsAndComments(_ transaction: Transaction) throws -> PortusImportReport {
            var report = PortusImportReport()
            var missing: [String: Int] = [:]
            func target(_ remark: PortusSnapshot.Remark) throws -> (user: User, repositoryID: Int64, name: String)? {
                guard let portusUser = usersByID[remark.userID], let user = try transaction.users.find(name: portusUser.username) else { return nil }
                guard let name = repositoryNames[remark.repositoryID] else { return nil }
                guard let repository = try transaction.repositories.find(name: name) else {
                    missing[name, default: 0] += 1
                    return nil
                }
                return (user, repository.id, name)
            }
            for star in snapshot.stars {
                guard let (user, repositoryID, name) = try target(star) else { continue }
                if try transaction.stars.isStarred(userID: user.id, repositoryID: repositoryID) {
                    report.add("star", "\(user.name) on \(name)", .unchanged)
                } else {
                    try transaction.stars.star(userID: user.id, repositoryID: repositoryID)
                    report.add("star", "\(user.name) on \(name)", .created)
                }
            }
            for comment in snapshot.comments {
                guard let (user, repositoryID, name) = try target(comment), let body = comment.body, !body.isEmpty else { continue }
                let existing = try transaction.comments.list(repositoryID: repositoryID, limit: 10_000)
                if existing.contains(where: { $0.userID == user.id && $0.body == body }) {
                    report.add("comment", "\(user.name) on \(name)", .unchanged)
                } else {
                    try transaction.comments.add(repositoryID: repositoryID, userID: user.id, body: body)
                    report.add("comment", "\(user.name) on \(name)", .created)
                }
            }
            for (name, count) in missing.sorted(by: { $0.key < $1.key }) {
                report.add(
                    "repository",
                    name,
                    .skipped,
                    "not in Wharf's catalogue yet: its \(count) stars and comments follow when the import runs again after wharf sync"
                )
            }
            return report
        }

        // MARK: Storage

        /// A line for each namespace in storage that has no owner after the import (no namespace row): one Portus
        /// did not know (pushed to the registry directly), or one of Portus's that could not be imported. Its
        /// content is admins' only until adopted. Runs last, in the same transaction as a dry run's steps, so it
        /// sees what the import creates.
        func reportStoredNamespaces(_ stored: [(name: String, repositories: Int)], in transaction: Transaction) throws -> PortusImportReport {
            var report = PortusImportReport()
            let known = Set(namespaceNames.values).union(snapshot.namespaces.map(\.name))
            for (name, repositories) in stored where try transaction.namespaces.find(name: name) == nil {
                let count = repositories == 1 ? "1 repository" : "\(repositories) repositories"
                let why = known.contains(name) ? "Portus's namespace was not imported (see above)" : "Portus did not know it"
                report.add(
                    "stored namespace",
                    name,
                    .skipped,
                    "\(count) in storage without an owner (\(why)): admins only until adopted with wharf namespace adopt \(name) --team TEAM"
                )
            }
            return report
        }

        // MARK: Activities

        /// The setting that remembers the last Portus activity imported, so a second run adds none twice.
        static let lastActivitySetting = "import.portus.last_activity_id"

        /// Portus's history (`--with-activities`, read into ``PortusSnapshot/activities``), dated as in Portus and
        /// recorded with its actor's name; Portus's parameters are kept in the details as Ruby's YAML text. One
        /// report line for all of them.
        func importActivities(_ transaction: Transaction) throws -> PortusImportReport {
            var report = PortusImportReport()
            guard !snapshot.activities.isEmpty else { return report }
            let last = Int64(try transaction.settings.value(Self.lastActivitySetting) ?? "") ?? 0
            let teamsByID = Dictionary(snapshot.teams.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
            var userIDs: [String: Int64?] = [:]
            var namespaceIDs: [String: Int64?] = [:]
            var added = 0
            for activity in snapshot.activities where activity.id > last {
                let owner = activity.ownerID.flatMap { usersByID[$0] }?.username ?? "portus"
                if userIDs[owner] == nil { userIDs[owner] = try transaction.users.find(name: owner)?.id }
                var kind = (activity.trackableType ?? "portus").lowercased()
                var name = activity.trackableID.map { "\(kind) \($0)" } ?? kind
                var namespace: String?
                switch (activity.trackableType, activity.trackableID) {
                case ("Namespace", let id?):
                    namespace = namespaceNames[id]
                    name = namespace ?? name
                case ("Repository", let id?):
                    if let full = repositoryNames[id] {
                        name = full
                        namespace = full.contains("/") ? String(full.prefix { $0 != "/" }) : nil
                    }
                case ("Team", let id?):
                    if let team = teamsByID[id] { name = (try? teamNames[id]?.get()) ?? team.name }
                case ("ApplicationToken", _):
                    kind = "token"
                default:
                    break
                }
                var namespaceID: Int64?
                if let namespace {
                    if namespaceIDs[namespace] == nil { namespaceIDs[namespace] = try transaction.namespaces.find(name: namespace)?.id }
                    namespaceID = namespaceIDs[namespace] ?? nil
                }
                var details: [String: any Sendable] = ["from": "portus", "portus_id": activity.id, "portus_key": activity.key]
                if let parameters = activity.parameters, !parameters.isEmpty { details["portus_parameters"] = parameters }
                let json = try JSONSerialization.data(withJSONObject: details, options: [.sortedKeys, .withoutEscapingSlashes])
                try transaction.activities.record(
                    NewActivity(
                        actorID: userIDs[owner] ?? nil,
                        actorName: owner,
                        action: PortusMapping.activityAction(activity.key),
                        targetKind: kind.isEmpty ? "portus" : kind,
                        targetName: name.isEmpty ? "-" : name,
                        namespaceID: namespaceID,
                        details: String(decoding: json, as: UTF8.self),
                        createdAt: Date(timeIntervalSince1970: TimeInterval(activity.createdAt))
                    )
                )
                added += 1
            }
            let newest = snapshot.activities.map(\.id).max() ?? last
            if newest > last { try transaction.settings.set(Self.lastActivitySetting, to: String(newest)) }
            report.add(
                "activity",
                "history",
                added > 0 ? .created : .unchanged,
                added > 0 ? "\(added) of Portus's activities, dated as in Portus" : ""
            )
            return report
        }
    }
}
