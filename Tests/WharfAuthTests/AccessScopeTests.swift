import Testing
import WharfCore

@testable import WharfAuth

@Suite struct AccessScopeTests {
    @Test func parsesRepositoryScopes() throws {
        let scope = try AccessScope(parsing: "repository:team/app:pull,push")
        #expect(scope.resource == .repository(try RepositoryName("team/app")))
        #expect(scope.actions == [.pull, .push])
        #expect(scope.description == "repository:team/app:pull,push")
    }

    @Test func nestedNamesAndWildcard() throws {
        let scope = try AccessScope(parsing: "repository:a/b/c:*")
        #expect(scope.resource == .repository(try RepositoryName("a/b/c")))
        #expect(scope.actions == [.pull, .push, .delete])
        #expect(scope.description == "repository:a/b/c:pull,push,delete")
    }

    @Test func globalNamespaceName() throws {
        let scope = try AccessScope(parsing: "repository:busybox:pull")
        #expect(scope.resource == .repository(try RepositoryName("busybox")))
        #expect(scope.actions == [.pull])
    }

    @Test func catalog() throws {
        let scope = try AccessScope(parsing: "registry:catalog:*")
        #expect(scope.resource == .catalog)
        #expect(scope.actions == [.catalog])
        #expect(scope.description == "registry:catalog:*")
    }

    static let malformed: [(String, AuthError.Code)] = [
        ("", .scopeMalformed),
        ("repository", .scopeMalformed),
        ("repository:foo", .scopeMalformed),
        ("repository:foo:", .scopeMalformed),
        ("repository::pull", .scopeNameInvalid),
        ("repository:Foo:pull", .scopeNameInvalid),
        ("repository:team/App:pull", .scopeNameInvalid),
        ("repository:a/../b:pull", .scopeNameInvalid),
        ("repository:../b:pull", .scopeNameInvalid),
        ("repository:/abs:pull", .scopeNameInvalid),
        ("repository:a//b:pull", .scopeNameInvalid),
        ("repository:a%2Fb:pull", .scopeNameInvalid),
        ("repository:a%2fb:pull", .scopeNameInvalid),
        ("repository:a\\b:pull", .scopeNameInvalid),
        ("repository:localhost:5000/foo:pull", .scopeNameInvalid),
        ("repository:\(String(repeating: "a", count: 256)):pull", .scopeNameInvalid),
        ("repository:foo:pull,fly", .scopeUnknownAction),
        ("repository:foo:pull,", .scopeUnknownAction),
        ("repository:foo:,pull", .scopeUnknownAction),
        ("repository:foo:PULL", .scopeUnknownAction),
        ("repository:foo:pull push", .scopeUnknownAction),
        ("repository:foo:catalog", .scopeUnknownAction),
        ("repository:foo:admin", .scopeUnknownAction),
        ("registry:catalog:pull", .scopeUnknownAction),
        ("registry:catalog:*,pull", .scopeUnknownAction),
        ("registry:other:*", .scopeNameInvalid),
        ("registry:catalog/x:*", .scopeNameInvalid),
        ("repository(plugin):foo:pull", .scopeUnknownType),
        ("Repository:foo:pull", .scopeUnknownType),
        ("image:foo:pull", .scopeUnknownType),
    ]

    @Test(arguments: malformed)
    func rejectsMalformedScopes(text: String, code: AuthError.Code) {
        let error = #expect(throws: AuthError.self) {
            try AccessScope(parsing: text)
        }
        #expect(error?.code == code)
        #expect(error?.message.isEmpty == false)
        #expect(error?.message.contains("\n") == false)
    }

    @Test func nameOfMaximumLengthIsAccepted() throws {
        let name = String(repeating: "a", count: RepositoryName.maxLength)
        let scope = try AccessScope(parsing: "repository:\(name):pull")
        #expect(scope.actions == [.pull])
    }

    @Test func reasonIsOneLineAndShort() {
        let hostile = "repository:foo\nX-Injected: 1:pull" + String(repeating: "x", count: 500)
        do {
            _ = try AccessScope(parsing: hostile)
            Issue.record("accepted a hostile scope")
        } catch {
            #expect(!error.message.contains("\n"))
            #expect(error.message.count < 200)
        }
    }

    @Test func repeatedAndOverlappingScopesAreMerged() throws {
        let scopes = try AccessScope.parseAll([
            "repository:team/b:pull",
            "repository:team/a:pull",
            "repository:team/a:push repository:team/b:pull",
            "registry:catalog:*",
            "repository:team/a:pull,pull",
            "registry:catalog:*",
        ])
        #expect(scopes.map(\.description) == ["registry:catalog:*", "repository:team/a:pull,push", "repository:team/b:pull"])
    }

    @Test func wildcardAndSingleActionsMerge() throws {
        let scopes = try AccessScope.parseAll(["repository:app:pull", "repository:app:*"])
        #expect(scopes.count == 1)
        #expect(scopes[0].actions == [.pull, .push, .delete])
    }

    @Test func oneBadScopeFailsTheRequest() {
        #expect(throws: AuthError.self) {
            _ = try AccessScope.parseAll(["repository:ok:pull", "repository:Bad:pull"])
        }
    }

    @Test func noScopesIsEmpty() throws {
        #expect(try AccessScope.parseAll([]).isEmpty)
        #expect(try AccessScope.parseAll([""]).isEmpty)
    }

    @Test func mergeDropsEmptyScopes() throws {
        let name = try RepositoryName("app")
        let merged = AccessScope.merged([AccessScope(.repository(name), actions: []), AccessScope(.catalog, actions: [])])
        #expect(merged.isEmpty)
    }
}
