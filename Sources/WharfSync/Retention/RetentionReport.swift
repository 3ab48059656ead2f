import Foundation
import WharfCore

/// What one retention run removed (or, dry, would remove), with a reason for each.
public struct RetentionReport: Sendable, Equatable, Codable {
    public var dryRun: Bool
    /// The time the policies were measured against.
    public var now: Date
    /// Repositories looked at (those with an enabled policy).
    public var repositories: Int
    /// In the order they were (or would be) applied.
    public var removals: [RetentionRemoval]
    /// Removals another writer had already done (another replica's run, a delete meanwhile): not errors.
    public var alreadyGone: Int
    /// Removals skipped because the content changed since it was read (a tag moved, a manifest tagged again).
    public var skipped: [RetentionRemoval]

    public init(
        dryRun: Bool,
        now: Date,
        repositories: Int = 0,
        removals: [RetentionRemoval] = [],
        alreadyGone: Int = 0,
        skipped: [RetentionRemoval] = []
    ) {
        self.dryRun = dryRun
        self.now = now
        self.repositories = repositories
        self.removals = removals
        self.alreadyGone = alreadyGone
        self.skipped = skipped
    }

    enum CodingKeys: String, CodingKey {
        case dryRun = "dry_run"
        case now
        case repositories
        case removals
        case alreadyGone = "already_gone"
        case skipped
    }
}
