import Foundation
import Testing

@testable import WharfDatabase

/// An activity's target name only describes: one longer than a name column (a 255-byte repository with a digest,
/// a long namespace with a webhook's name) is cut with an ellipsis, never a reason to refuse the change.
@Suite struct ActivityTargetNameTests {
    @Test(arguments: TestBackend.allCases)
    func longTargetNamesAreShortened(_ backend: TestBackend) async throws {
        try await withDatabase(backend) { pool in
            let repository = String(repeating: "a", count: 200) + "/" + String(repeating: "é", count: 40)
            let target = repository + "@sha256:" + String(repeating: "0", count: 64)
            try await pool.write {
                try $0.activities.record(
                    NewActivity(
                        actorID: nil,
                        actorName: "garbage-collector",
                        action: "repository.delete",
                        targetKind: "repository",
                        targetName: target
                    )
                )
                try $0.activities.record(
                    NewActivity(actorID: nil, actorName: "cli", action: "tag.delete", targetKind: "repository", targetName: "team/app:v1")
                )
            }
            let names = try await pool.read { try $0.activities.recent(limit: 10).map(\.targetName) }
            #expect(names.count == 2 && names.contains("team/app:v1"))
            let cut = try #require(names.first { $0 != "team/app:v1" })
            #expect(cut.utf8.count <= 255 && cut.hasSuffix("…") && target.hasPrefix(String(cut.dropLast())))
        }
    }
}
