import Foundation
import Testing
import WharfCore

@testable import WharfDatabase

/// Retention policies on every backend: one per namespace plus one global, the effective one falls back to the
/// global default, a set replaces, bad values are refused before SQL, and a namespace's deletion takes its policy.
@Suite struct RetentionPolicyStoreTests {
    @Test(arguments: TestBackend.allCases)
    func policiesPerNamespaceFallBackToTheGlobalOne(_ backend: TestBackend) async throws {
        try await withDatabase(backend) { pool in
            let (qa, ops) = try await pool.write { tx in
                let team = try tx.teams.create(name: "qa")
                return (
                    try tx.namespaces.create(name: "qa", kind: .team, visibility: .private, teamID: team.id),
                    try tx.namespaces.create(name: "ops", kind: .team, visibility: .private, teamID: team.id)
                )
            }
            #expect(try await pool.read { try $0.retentionPolicies.effective(namespaceID: qa.id) } == nil)

            let global = RetentionPolicy(keepLatest: 10, olderThanDays: 90)
            let stored = try await pool.write { try $0.retentionPolicies.set(namespaceID: nil, global, updatedBy: "admin") }
            #expect(stored.namespaceID == nil && stored.namespace == nil && stored.policy == global && stored.label == "global")
            #expect(stored.updatedBy == "admin")
            #expect(try await pool.read { try $0.retentionPolicies.effective(namespaceID: qa.id) }?.policy == global)

            // Setting the global one again replaces it: still one row.
            let changed = RetentionPolicy(keepLatest: 3, olderThanDays: 90)
            try await pool.write { _ = try $0.retentionPolicies.set(namespaceID: nil, changed, updatedBy: "cli") }
            #expect(try await pool.read { try $0.retentionPolicies.list() }.map(\.policy) == [changed])

            let own = RetentionPolicy(
                enabled: false,
                keepLatest: 5,
                olderThanDays: 30,
                tagMatch: "^pr-",
                tagExclude: "-keep$",
                untaggedOlderThanDays: 7,
                protected: nil,
                immutable: "^release-"
            )
            try await pool.write { _ = try $0.retentionPolicies.set(namespaceID: qa.id, own, updatedBy: "alice") }
            let effective = try #require(try await pool.read { try $0.retentionPolicies.effective(namespaceID: qa.id) })
            #expect(effective.policy == own && effective.namespace == "qa" && effective.namespaceID == qa.id)
            #expect(try await pool.read { try $0.retentionPolicies.effective(namespaceID: ops.id) }?.policy == changed)
            #expect(try await pool.read { try $0.retentionPolicies.find(namespaceID: ops.id) } == nil)
            #expect(try await pool.read { try $0.retentionPolicies.list() }.map(\.label) == ["global", "namespace qa"])

            // Clearing a namespace's policy brings the global one back; the namespace's deletion takes its row.
            #expect(try await pool.write { try $0.retentionPolicies.delete(namespaceID: qa.id) })
            #expect(try await pool.write { try $0.retentionPolicies.delete(namespaceID: qa.id) } == false)
            #expect(try await pool.read { try $0.retentionPolicies.effective(namespaceID: qa.id) }?.policy == changed)
            try await pool.write { _ = try $0.retentionPolicies.set(namespaceID: ops.id, own, updatedBy: "alice") }
            try await pool.write { _ = try $0.namespaces.delete(id: ops.id) }
            #expect(try await pool.read { try $0.retentionPolicies.list() }.count == 1)
        }
    }

    @Test(arguments: TestBackend.allCases)
    func badPoliciesAreRefusedNamingTheField(_ backend: TestBackend) async throws {
        try await withDatabase(backend) { pool in
            let cases: [(RetentionPolicy, String)] = [
                (RetentionPolicy(keepLatest: -1), "keep_latest"),
                (RetentionPolicy(olderThanDays: 40_000), "older_than_days"),
                (RetentionPolicy(untaggedOlderThanDays: -3), "untagged_older_than_days"),
                (RetentionPolicy(tagMatch: "(unclosed"), "tag_match"),
                (RetentionPolicy(tagExclude: "[z-a]"), "tag_exclude"),
                (RetentionPolicy(protected: "*"), "protected"),
                (RetentionPolicy(immutable: String(repeating: "a", count: 1_001)), "immutable"),
            ]
            for (policy, field) in cases {
                do {
                    try await pool.write { _ = try $0.retentionPolicies.set(namespaceID: nil, policy, updatedBy: "cli") }
                    Issue.record("\(field) was accepted")
                } catch let error as RetentionError {
                    #expect(error.code == .invalidPolicy && error.field == field)
                    #expect(error.message.contains(field))
                }
            }
            #expect(try await pool.read { try $0.retentionPolicies.list() }.isEmpty)
            // Empty patterns are no pattern.
            let stored = try await pool.write {
                try $0.retentionPolicies.set(namespaceID: nil, RetentionPolicy(tagMatch: "", protected: ""), updatedBy: "cli")
            }
            #expect(stored.policy.tagMatch == nil && stored.policy.protected == nil)
        }
    }
}
