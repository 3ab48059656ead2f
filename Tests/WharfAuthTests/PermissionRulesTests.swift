import Testing
import WharfCore

@testable import WharfAuth

/// The permission matrix of issue 4, written out: a change to the rules must change a row here.
///
/// Each table row is `subject role kind` and the granted actions for a private, protected and public namespace
/// (`r` pull, `w` push, `d` delete, `-` nothing) when pull, push and delete are all requested.
@Suite struct PermissionRulesTests {
    /// The default policy: push allow-teams, delete enabled for owners (not contributors), anonymous pull on.
    static let defaultTable = """
        anonymous none        personal  -    -    r
        anonymous none        global    -    -    r
        anonymous none        team      -    -    r
        anonymous viewer      personal  -    -    r
        anonymous viewer      global    -    -    r
        anonymous viewer      team      -    -    r
        anonymous contributor personal  -    -    r
        anonymous contributor global    -    -    r
        anonymous contributor team      -    -    r
        anonymous owner       personal  -    -    r
        anonymous owner       global    -    -    r
        anonymous owner       team      -    -    r
        user      none        personal  -    r    r
        user      none        global    r    r    r
        user      none        team      -    r    r
        user      viewer      personal  r    r    r
        user      viewer      global    r    r    r
        user      viewer      team      r    r    r
        user      contributor personal  rw   rw   rw
        user      contributor global    r    r    r
        user      contributor team      rw   rw   rw
        user      owner       personal  rwd  rwd  rwd
        user      owner       global    r    r    r
        user      owner       team      rwd  rwd  rwd
        admin     none        personal  rwd  rwd  rwd
        admin     none        global    rwd  rwd  rwd
        admin     none        team      rwd  rwd  rwd
        admin     viewer      personal  rwd  rwd  rwd
        admin     viewer      global    rwd  rwd  rwd
        admin     viewer      team      rwd  rwd  rwd
        admin     contributor personal  rwd  rwd  rwd
        admin     contributor global    rwd  rwd  rwd
        admin     contributor team      rwd  rwd  rwd
        admin     owner       personal  rwd  rwd  rwd
        admin     owner       global    rwd  rwd  rwd
        admin     owner       team      rwd  rwd  rwd
        bot       none        personal  -    r    r
        bot       none        global    r    r    r
        bot       none        team      -    r    r
        bot       viewer      personal  r    r    r
        bot       viewer      global    r    r    r
        bot       viewer      team      r    r    r
        bot       contributor personal  rw   rw   rw
        bot       contributor global    r    r    r
        bot       contributor team      rw   rw   rw
        bot       owner       personal  rwd  rwd  rwd
        bot       owner       global    r    r    r
        bot       owner       team      rwd  rwd  rwd
        service   none        personal  r    r    r
        service   none        global    r    r    r
        service   none        team      r    r    r
        service   viewer      personal  r    r    r
        service   viewer      global    r    r    r
        service   viewer      team      r    r    r
        service   contributor personal  r    r    r
        service   contributor global    r    r    r
        service   contributor team      r    r    r
        service   owner       personal  r    r    r
        service   owner       global    r    r    r
        service   owner       team      r    r    r
        """

    /// Each other policy as the rows that differ from the default table.
    static let variants: [(name: String, policy: PermissionPolicy, overrides: String)] = [
        (
            "allow-personal", PermissionPolicy(push: .allowPersonal),
            """
            user      contributor personal  r    r    r
            user      contributor team      r    r    r
            user      owner       team      rd   rd   rd
            bot       contributor personal  r    r    r
            bot       contributor team      r    r    r
            bot       owner       team      rd   rd   rd
            """
        ),
        (
            "admin-only", PermissionPolicy(push: .adminOnly),
            """
            user      contributor personal  r    r    r
            user      contributor team      r    r    r
            user      owner       personal  rd   rd   rd
            user      owner       team      rd   rd   rd
            bot       contributor personal  r    r    r
            bot       contributor team      r    r    r
            bot       owner       personal  rd   rd   rd
            bot       owner       team      rd   rd   rd
            """
        ),
        (
            "delete disabled", PermissionPolicy(deleteEnabled: false),
            """
            user      owner       personal  rw   rw   rw
            user      owner       team      rw   rw   rw
            bot       owner       personal  rw   rw   rw
            bot       owner       team      rw   rw   rw
            admin     none        personal  rw   rw   rw
            admin     none        global    rw   rw   rw
            admin     none        team      rw   rw   rw
            admin     viewer      personal  rw   rw   rw
            admin     viewer      global    rw   rw   rw
            admin     viewer      team      rw   rw   rw
            admin     contributor personal  rw   rw   rw
            admin     contributor global    rw   rw   rw
            admin     contributor team      rw   rw   rw
            admin     owner       personal  rw   rw   rw
            admin     owner       global    rw   rw   rw
            admin     owner       team      rw   rw   rw
            """
        ),
        (
            "contributors may delete", PermissionPolicy(contributorsMayDelete: true),
            """
            user      contributor personal  rwd  rwd  rwd
            user      contributor team      rwd  rwd  rwd
            bot       contributor personal  rwd  rwd  rwd
            bot       contributor team      rwd  rwd  rwd
            """
        ),
        (
            "anonymous pull off", PermissionPolicy(anonymousPull: false),
            """
            anonymous none        personal  -    -    -
            anonymous none        global    -    -    -
            anonymous none        team      -    -    -
            anonymous viewer      personal  -    -    -
            anonymous viewer      global    -    -    -
            anonymous viewer      team      -    -    -
            anonymous contributor personal  -    -    -
            anonymous contributor global    -    -    -
            anonymous contributor team      -    -    -
            anonymous owner       personal  -    -    -
            anonymous owner       global    -    -    -
            anonymous owner       team      -    -    -
            """
        ),
    ]

    /// `registry:catalog:*` by subject (the listing is filtered per caller by the registry); anonymous callers only
    /// while anonymous pull is on.
    static let catalogTable: [SubjectKind: Bool] = [.anonymous: true, .user: true, .admin: true, .bot: true, .service: true]

    /// A namespace that does not exist, by subject, under the default policy: (pull, push).
    static let missingNamespaceTable: [SubjectKind: Set<Action>] = [
        .anonymous: [], .user: [.pull, .push], .admin: [.pull, .push], .bot: [.pull, .push], .service: [.pull],
    ]

    /// Content in storage whose namespace has no row (a deleted user's, or from before Wharf), by subject, under
    /// the default policy: admins pull, push (without creating the namespace) and delete; the service account
    /// pulls; nobody else anything, whoever may create namespaces included.
    static let unownedNamespaceTable: [SubjectKind: Set<Action>] = [
        .anonymous: [], .user: [], .admin: [.pull, .push, .delete], .bot: [], .service: [.pull],
    ]

    struct Key: Hashable {
        var subject: SubjectKind
        /// nil: not a member (`none` in the tables).
        var role: TeamRole?
        var kind: NamespaceKind
        var visibility: Visibility
    }

    static func parse(_ table: String) -> [Key: Set<Action>] {
        var result: [Key: Set<Action>] = [:]
        for line in table.split(separator: "\n") {
            let fields = line.split(separator: " ")
            precondition(fields.count == 6, "bad row: \(line)")
            let subject = SubjectKind(rawValue: String(fields[0]))!
            let role: TeamRole? = fields[1] == "none" ? nil : TeamRole(rawValue: String(fields[1]))!
            let kind = NamespaceKind(rawValue: String(fields[2]))!
            for (visibility, cell) in zip(Visibility.allCases, fields[3...]) {
                let key = Key(subject: subject, role: role, kind: kind, visibility: visibility)
                precondition(result[key] == nil, "duplicate row: \(line)")
                var actions = Set<Action>()
                for letter in cell where letter != "-" {
                    switch letter {
                    case "r": actions.insert(.pull)
                    case "w": actions.insert(.push)
                    case "d": actions.insert(.delete)
                    default: preconditionFailure("bad cell: \(cell)")
                    }
                }
                result[key] = actions
            }
        }
        return result
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var policyName: String
        var policy: PermissionPolicy
        var subject: SubjectKind
        var facts: NamespaceFacts
        var expected: Set<Action>

        var testDescription: String {
            "\(policyName): \(subject) \(facts) → \(expected.isEmpty ? "-" : expected.sorted().map(\.rawValue).joined(separator: ","))"
        }
    }

    static let allKeys: [Key] = SubjectKind.allCases.flatMap { subject in
        ([nil] + TeamRole.allCases.map(Optional.some)).flatMap { (role: TeamRole?) in
            NamespaceKind.allCases.flatMap { kind in
                Visibility.allCases.map { Key(subject: subject, role: role, kind: kind, visibility: $0) }
            }
        }
    }

    static let cases: [Case] = {
        var tables = [("default", PermissionPolicy(), parse(defaultTable))]
        for variant in variants {
            tables.append((variant.name, variant.policy, parse(defaultTable).merging(parse(variant.overrides)) { $1 }))
        }
        return tables.flatMap { name, policy, table in
            allKeys.map { key in
                Case(
                    policyName: name,
                    policy: policy,
                    subject: key.subject,
                    facts: NamespaceFacts(kind: key.kind, visibility: key.visibility, role: key.role),
                    expected: table[key]!
                )
            }
        }
    }()

    @Test func tablesCoverEveryCombinationOnce() {
        #expect(Set(Self.parse(Self.defaultTable).keys) == Set(Self.allKeys))
        #expect(Self.allKeys.count == 5 * 4 * 3 * 3)
        #expect(Self.cases.count == Self.allKeys.count * (1 + Self.variants.count))
        for variant in Self.variants {
            // An override that repeats the default row would hide nothing but says nothing either.
            let defaults = Self.parse(Self.defaultTable)
            let overrides = Self.parse(variant.overrides)
            let changed = overrides.filter { defaults[$0.key] != $0.value }
            #expect(!changed.isEmpty, "\(variant.name) changes nothing")
        }
    }

    @Test(arguments: cases)
    func matrix(_ entry: Case) {
        let rules = PermissionRules(policy: entry.policy)
        let target = PermissionTarget.namespace(entry.facts)
        #expect(rules.allowed(Action.repositoryActions, for: entry.subject, on: target) == entry.expected)
        // Asking for one action grants it exactly when the table says so; catalog is never a namespace action.
        for action in Action.allCases {
            #expect(rules.allowed([action], for: entry.subject, on: target) == entry.expected.intersection([action]))
            #expect(rules.isAllowed(action, for: entry.subject, on: target) == entry.expected.contains(action))
        }
        #expect(rules.allowed([], for: entry.subject, on: target).isEmpty)
    }

    @Test(arguments: SubjectKind.allCases)
    func catalog(_ subject: SubjectKind) {
        let policies = [PermissionPolicy()] + Self.variants.map(\.policy)
        for policy in policies {
            let rules = PermissionRules(policy: policy)
            let expected: Set<Action> = Self.catalogTable[subject]! && (subject != .anonymous || policy.anonymousPull) ? [.catalog] : []
            #expect(rules.allowed(Set(Action.allCases), for: subject, on: .catalog) == expected)
        }
    }

    @Test(arguments: SubjectKind.allCases)
    func missingNamespace(_ subject: SubjectKind) {
        let rules = PermissionRules()
        #expect(rules.allowed(Set(Action.allCases), for: subject, on: .missingNamespace) == Self.missingNamespaceTable[subject]!)
        // Without creation on push, nobody may push there; only admins and the service account keep pull.
        let closed = PermissionRules(policy: PermissionPolicy(createNamespaceOnPush: false))
        let expectedClosed: Set<Action> = subject == .admin || subject == .service ? [.pull] : []
        #expect(closed.allowed(Set(Action.allCases), for: subject, on: .missingNamespace) == expectedClosed)
        // Under allow-personal and admin-only only admins create namespaces.
        for push in [PushPolicy.allowPersonal, .adminOnly] {
            let strict = PermissionRules(policy: PermissionPolicy(push: push))
            #expect(strict.mayCreateNamespace(subject) == (subject == .admin))
        }
    }

    @Test(arguments: SubjectKind.allCases)
    func unownedNamespace(_ subject: SubjectKind) {
        let policies = [PermissionPolicy()] + Self.variants.map(\.policy) + [PermissionPolicy(createNamespaceOnPush: false)]
        for policy in policies {
            let rules = PermissionRules(policy: policy)
            var expected = Self.unownedNamespaceTable[subject]!
            if !policy.deleteEnabled { expected.remove(.delete) }
            #expect(rules.allowed(Set(Action.allCases), for: subject, on: .unownedNamespace) == expected, "\(policy)")
            for action in Action.allCases {
                #expect(rules.isAllowed(action, for: subject, on: .unownedNamespace) == expected.contains(action))
            }
        }
        // Unlike a missing namespace, content without an owner is never a would-be creator's.
        if subject == .user || subject == .bot {
            #expect(PermissionRules().allowed([.pull, .push], for: subject, on: .missingNamespace) == [.pull, .push])
            #expect(PermissionRules().allowed([.pull, .push], for: subject, on: .unownedNamespace).isEmpty)
        }
    }

    /// Each decision names the row that made it, so every surface gives the same reason.
    @Test func decisionsNameTheirRule() {
        let rules = PermissionRules()
        let privateTeam = PermissionTarget.namespace(NamespaceFacts(kind: .team, visibility: .private, role: nil))
        let global = PermissionTarget.namespace(NamespaceFacts(kind: .global, visibility: .protected, role: nil))
        let viewer = PermissionTarget.namespace(NamespaceFacts(kind: .team, visibility: .private, role: .viewer))
        #expect(rules.decide(.push, for: .admin, on: privateTeam) == PermissionDecision(true, .unrestricted))
        #expect(rules.decide(.pull, for: .service, on: .unownedNamespace) == PermissionDecision(true, .unrestricted))
        #expect(rules.decide(.push, for: .service, on: privateTeam) == PermissionDecision(false, .readOnly))
        #expect(rules.decide(.pull, for: .user, on: global) == PermissionDecision(true, .globalNamespace))
        #expect(rules.decide(.push, for: .user, on: global) == PermissionDecision(false, .globalNamespace))
        #expect(rules.decide(.pull, for: .user, on: privateTeam) == PermissionDecision(false, .notVisible))
        #expect(rules.decide(.push, for: .user, on: viewer) == PermissionDecision(false, .roleTooLow))
        #expect(rules.decide(.pull, for: .user, on: .missingNamespace) == PermissionDecision(true, .futureOwner))
        #expect(rules.decide(.delete, for: .admin, on: .missingNamespace) == PermissionDecision(false, .missingNamespace))
        #expect(rules.decide(.push, for: .user, on: .unownedNamespace) == PermissionDecision(false, .unownedContent))
        let noCreation = PermissionRules(policy: PermissionPolicy(createNamespaceOnPush: false))
        #expect(noCreation.decide(.push, for: .admin, on: .missingNamespace) == PermissionDecision(false, .namespacesNotCreatedOnPush))
        let closed = PermissionRules(policy: PermissionPolicy(deleteEnabled: false, anonymousPull: false))
        #expect(closed.decide(.delete, for: .admin, on: privateTeam) == PermissionDecision(false, .deletesDisabled))
        #expect(closed.decide(.catalog, for: .anonymous, on: .catalog) == PermissionDecision(false, .anonymousPullDisabled))
        #expect(PermissionRule.globalNamespace.description.contains("the global namespace is protected"))
        #expect(PermissionRule.unrestricted.description.contains("admins and the service account are unrestricted"))
    }
}
