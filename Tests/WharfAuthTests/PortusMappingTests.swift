import Testing
import WharfCore

@testable import WharfAuth

/// The rules that turn Portus's values into Wharf's, and bcrypt hashes made by other implementations.
@Suite struct PortusMappingTests {
    @Test func rolesFollowRailsEnumOrder() {
        #expect(PortusMapping.role(0) == .viewer)
        #expect(PortusMapping.role(1) == .contributor)
        #expect(PortusMapping.role(2) == .owner)
        #expect(PortusMapping.role(3) == nil)
        #expect(PortusMapping.role(-1) == nil)
    }

    @Test func visibilitiesFollowRailsEnumOrder() {
        #expect(PortusMapping.visibility(0) == .private)
        #expect(PortusMapping.visibility(1) == .protected)
        #expect(PortusMapping.visibility(2) == .public)
        #expect(PortusMapping.visibility(7) == nil)
    }

    @Test(arguments: [
        ("Developers", "developers"), ("QA Team", "qa-team"), ("team.one", "team.one"), ("a__b", "a-b"),
        ("  Ops / Infra  ", "ops-infra"), ("dev-ops", "dev-ops"), ("émigrés", "migr-s"),
    ])
    func teamNamesBecomeNamespaceNames(portus: String, wharf: String) {
        #expect(PortusMapping.teamName(portus) == wharf)
    }

    @Test(arguments: ["!!!", "", "   "])
    func teamNamesWithNothingUsable(portus: String) {
        #expect(PortusMapping.teamName(portus) == nil)
    }

    @Test func hashesAreKeptOrRefused() {
        let ruby = "$2a$04$x7C1De8NsNfrwFYv3hb45OSPnoj8oZWBTpU7Be8a7Z.qZmuz72Yoi"
        #expect(PortusMapping.passwordHash(ruby) == ruby)
        let php = "$2y$" + ruby.dropFirst(4)
        #expect(PortusMapping.passwordHash(php) == "$2b$" + ruby.dropFirst(4))
        #expect(PortusMapping.passwordHash("") == nil)
        #expect(PortusMapping.passwordHash("$2x$04$x7C1De8NsNfrwFYv3hb45OSPnoj8oZWBTpU7Be8a7Z.qZmuz72Yoi") == nil)
        #expect(PortusMapping.passwordHash("$2a$99$x7C1De8NsNfrwFYv3hb45OSPnoj8oZWBTpU7Be8a7Z.qZmuz72Yoi") == nil)
        #expect(PortusMapping.passwordHash(String(ruby.dropLast())) == nil)
        #expect(PortusMapping.passwordHash("plain-text-password-of-sixty-characters-xxxxxxxxxxxxxxxxxxx") == nil)
    }

    /// Hashes Python's bcrypt made (`$2a$` as Ruby's bcrypt writes them, `$2b$`, and `$2y$` renamed) verify with
    /// Wharf's hasher.
    @Test func foreignBcryptHashesVerify() async throws {
        let hasher = PasswordHasher(cost: 4)
        let hashes = [
            "$2a$04$x7C1De8NsNfrwFYv3hb45OSPnoj8oZWBTpU7Be8a7Z.qZmuz72Yoi",
            "$2b$04$x.PUsEHPXdi9QQyCOM20JOrnaMGx/wo/90qkg4VU81xcZS28RcV6q",
            "$2y$04$x.PUsEHPXdi9QQyCOM20JOrnaMGx/wo/90qkg4VU81xcZS28RcV6q",
        ]
        for hash in hashes {
            let kept = try #require(PortusMapping.passwordHash(hash))
            #expect(try await hasher.verify("devise-password", against: kept), "\(hash)")
            #expect(try await !hasher.verify("devise-passwore", against: kept), "\(hash)")
        }
    }

    @Test func portusTokens() {
        #expect(PortusToken.mayBeToken("xK2-bq7_Lm9Pz3Rt5VwY"))
        #expect(!PortusToken.mayBeToken("short"))
        #expect(!PortusToken.mayBeToken("has spaces in it, not base64url"))
        let hash = "$2a$04$x7C1De8NsNfrwFYv3hb45OSPnoj8oZWBTpU7Be8a7Z.qZmuz72Yoi"
        let stored = try! #require(PortusToken.storedHash(bcrypt: hash))
        #expect(stored == "portus-bcrypt:" + hash)
        #expect(PortusToken.bcryptHash(stored) == hash)
        #expect(PortusToken.bcryptHash(String(repeating: "ab", count: 32)) == nil)
        #expect(PortusToken.storedHash(bcrypt: "nope") == nil)
    }

    @Test func activityKeys() {
        #expect(PortusMapping.activityAction("namespace.change_visibility") == "namespace.visibility.change")
        #expect(PortusMapping.activityAction("team.add_member") == "team.member.add")
        #expect(PortusMapping.activityAction("webhook.destroy") == "webhook.delete")
        #expect(PortusMapping.activityAction("registry.something_new") == "portus.registry.something_new")
    }
}
