import Foundation
import Testing
import WharfAuth
import WharfCore
import WharfDatabase

@testable import WharfSync

/// The SQL filter of every listing (``PullScope``) against the permission rules as the Authorizer applies them
/// (`Authorizer.pullable`, what `/v2/_catalog` uses, and `PermissionRules.decide` for namespaces): for every subject
/// kind × visibility × membership × namespace kind, with anonymous pull on and off, both give the same answer.
@Suite struct CatalogVisibilityTests {
    static let repositories = [
        "pub/app", "prot/app", "priv/app", "secret/app", "alice/app", "bob/app", "carol/app", "lib/app", "orphan/app", "alpine",
    ]

    @Test(arguments: QueryBackend.available, [true, false])
    func listingsShowWhatTheRulesLetEachSubjectPull(_ backend: QueryBackend, anonymousPull: Bool) async throws {
        try await QueryFixture.with(backend, policy: PermissionPolicy(anonymousPull: anonymousPull)) { fixture in
            let admin = try await fixture.user("root", admin: true)
            let alice = try await fixture.user("alice")
            let bob = try await fixture.user("bob")
            let carol = try await fixture.user("carol")
            let robot = try await fixture.user("robot", bot: true)
            let service = TokenSubject(name: "portus", kind: .service, userID: nil)
            let accountless = TokenSubject(name: "ghost", kind: .user, userID: nil)
            try await fixture.namespace("pub", .public, members: [(bob, .owner)])
            try await fixture.namespace("prot", .protected)
            try await fixture.namespace("priv", .private, members: [(alice, .viewer), (robot, .contributor)])
            try await fixture.namespace("secret", .private, members: [(bob, .owner)])
            try await fixture.personalNamespace(of: alice, .private)
            try await fixture.personalNamespace(of: bob, .public)
            try await fixture.personalNamespace(of: carol, .protected)
            try await fixture.globalNamespace("lib", .private)
            for name in Self.repositories { try await fixture.repository(name) }
            let names = try Self.repositories.map { try RepositoryName($0) }

            for subject in [TokenSubject.anonymous, admin, alice, bob, carol, robot, service, accountless] {
                let expected = Set(try await fixture.authorizer.pullable(names, by: subject).map(\.value))
                let listed = try await fixture.allRepositories(for: subject, pageSize: 3)
                #expect(Set(listed) == expected, "\(subject.name) \(subject.kind) anonymousPull=\(anonymousPull)")
                #expect(listed.count == Set(listed).count)
                for name in Self.repositories {
                    let found = (try? await fixture.reader.repository(name, for: subject)) != nil
                    #expect(found == expected.contains(name), "\(subject.name) \(name)")
                    let namespace = Repository.namespace(of: name)
                    let page = try await fixture.reader.repositories(in: namespace, for: subject)
                    #expect(page.items.map(\.name).contains(name) == expected.contains(name), "\(subject.name) in \(namespace)")
                }
                // Namespaces with a row: the search shows exactly those the rules let the subject pull from.
                for namespace in ["pub", "prot", "priv", "secret", "alice", "bob", "carol", "lib"] {
                    let target = try await fixture.authorizer.target(for: RepositoryName(namespace + "/app"), subject: subject)
                    let allowed = fixture.rules.decide(.pull, for: subject.kind, on: target).allowed
                    let found = try await fixture.reader.search(namespace, for: subject).namespaces.map(\.name)
                    #expect(found.contains(namespace) == allowed, "\(subject.name) namespace \(namespace)")
                }
                let statistics = try await fixture.reader.statistics(for: subject)
                #expect(statistics.counts.repositories == expected.count)
            }
        }
    }

    @Test func scopesFollowTheSubjectKind() {
        let open = PermissionRules(policy: PermissionPolicy(anonymousPull: true))
        let closed = PermissionRules(policy: PermissionPolicy(anonymousPull: false))
        #expect(PullScope.of(.anonymous, rules: open) == .publicNamespaces)
        #expect(PullScope.of(.anonymous, rules: closed) == .nothing)
        #expect(PullScope.of(TokenSubject(name: "a", kind: .admin, userID: 1), rules: closed) == .everything)
        #expect(PullScope.of(TokenSubject(name: "s", kind: .service, userID: nil), rules: closed) == .everything)
        #expect(PullScope.of(TokenSubject(name: "b", kind: .bot, userID: 7), rules: closed) == .member(userID: 7))
    }
}
