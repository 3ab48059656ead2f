import Foundation
import Testing

@testable import WharfDatabase

/// Scoped tokens on every backend: found by hash and id with their namespace's name, listed per namespace,
/// unique by name in a namespace, deleted only from their own namespace, and gone with their namespace.
@Suite struct ScopedTokenStoreTests {
    static let expiry = Date(millisecondsSince1970: 1_900_000_000_123)

    static func token(_ namespaceID: Int64, _ name: String, hash: String, by user: User? = nil) -> NewScopedToken {
        NewScopedToken(
            namespaceID: namespaceID,
            name: name,
            repositories: "app-*",
            actions: "pull,push",
            tokenHash: hash,
            expiresAt: expiry,
            createdBy: user?.id,
            createdByName: user?.name ?? "cli"
        )
    }

    @Test(arguments: TestBackend.allCases)
    func tokensAreFoundByHashAndIDWithTheirNamespace(_ backend: TestBackend) async throws {
        try await withDatabase(backend) { pool in
            let (alice, qa, ops) = try await pool.write { tx in
                let team = try tx.teams.create(name: "qa")
                return (
                    try tx.users.create(NewUser(name: "alice")),
                    try tx.namespaces.create(name: "qa", kind: .team, visibility: .private, teamID: team.id),
                    try tx.namespaces.create(name: "ops", kind: .team, visibility: .private, teamID: team.id)
                )
            }
            let ci = try await pool.write { try $0.scopedTokens.create(Self.token(qa.id, "ci", hash: "hash-1", by: alice)) }
            #expect(ci.namespace == "qa" && ci.namespaceID == qa.id && ci.name == "ci")
            #expect(ci.repositories == "app-*" && ci.actions == "pull,push" && ci.tokenHash == "hash-1")
            #expect(ci.expiresAt == Self.expiry && ci.createdBy == alice.id && ci.createdByName == "alice" && ci.lastUsedAt == nil)
            #expect(!ci.isExpired(at: Self.expiry.addingTimeInterval(-1)) && ci.isExpired(at: Self.expiry))
            #expect(try await pool.read { try $0.scopedTokens.find(hash: "hash-1") } == ci)
            #expect(try await pool.read { try $0.scopedTokens.find(id: ci.id) } == ci)
            #expect(try await pool.read { try $0.scopedTokens.find(hash: "hash-2") } == nil)

            // Unique by name per namespace, and by hash everywhere; the same name in another namespace is fine.
            await expectDatabaseError(.conflict) { try await pool.write { _ = try $0.scopedTokens.create(Self.token(qa.id, "ci", hash: "hash-2")) } }
            await expectDatabaseError(.conflict) { try await pool.write { _ = try $0.scopedTokens.create(Self.token(qa.id, "cd", hash: "hash-1")) } }
            let opsCI = try await pool.write { try $0.scopedTokens.create(Self.token(ops.id, "ci", hash: "hash-3")) }
            let cd = try await pool.write { try $0.scopedTokens.create(Self.token(qa.id, "cd", hash: "hash-4")) }
            #expect(opsCI.createdBy == nil && opsCI.createdByName == "cli")
            #expect(try await pool.read { try $0.scopedTokens.list(namespaceID: qa.id).map(\.name) } == ["cd", "ci"])
            #expect(try await pool.read { try $0.scopedTokens.list(namespaceID: ops.id).map(\.id) } == [opsCI.id])

            let used = Date(millisecondsSince1970: 1_800_000_000_456)
            try await pool.write { try $0.scopedTokens.recordUse(id: ci.id, at: used) }
            #expect(try await pool.read { try $0.scopedTokens.find(id: ci.id)?.lastUsedAt } == used)

            // Deleted only through its own namespace.
            #expect(try await pool.write { try $0.scopedTokens.delete(id: cd.id, namespaceID: ops.id) } == false)
            #expect(try await pool.write { try $0.scopedTokens.delete(id: cd.id, namespaceID: qa.id) })
            #expect(try await pool.read { try $0.scopedTokens.find(id: cd.id) } == nil)
            #expect(try await pool.write { try $0.scopedTokens.delete(id: cd.id, namespaceID: qa.id) } == false)

            // The creator's deletion keeps the token and the name; the namespace's takes the token with it.
            try await pool.write { _ = try $0.users.delete(id: alice.id) }
            let orphan = try #require(try await pool.read { try $0.scopedTokens.find(id: ci.id) })
            #expect(orphan.createdBy == nil && orphan.createdByName == "alice")
            try await pool.write { _ = try $0.namespaces.delete(id: qa.id) }
            #expect(try await pool.read { try $0.scopedTokens.find(hash: "hash-1") } == nil)
            #expect(try await pool.read { try $0.scopedTokens.find(id: opsCI.id) } == opsCI)
        }
    }

    @Test(arguments: TestBackend.allCases)
    func valuesAreCheckedBeforeSQL(_ backend: TestBackend) async throws {
        try await withDatabase(backend) { pool in
            let qa = try await pool.write { tx in
                try tx.namespaces.create(name: "qa", kind: .team, visibility: .private, teamID: try tx.teams.create(name: "qa").id)
            }
            var long = Self.token(qa.id, "ci", hash: "h")
            long.repositories = String(repeating: "a", count: 256)
            await expectDatabaseError(.invalidValue) { try await pool.write { [long] in _ = try $0.scopedTokens.create(long) } }
            var empty = Self.token(qa.id, "", hash: "h")
            empty.name = ""
            await expectDatabaseError(.invalidValue) { try await pool.write { [empty] in _ = try $0.scopedTokens.create(empty) } }
            // A token needs a namespace that exists.
            await #expect(throws: DatabaseError.self) {
                try await pool.write { _ = try $0.scopedTokens.create(Self.token(qa.id + 100, "x", hash: "h")) }
            }
            #expect(try await pool.read { try $0.scopedTokens.list(namespaceID: qa.id) }.isEmpty)
        }
    }
}
