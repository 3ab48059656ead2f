import Foundation

/// What one pass of ``DirectorySync/syncAll()`` did. A pass that stopped early (the directory or the database
/// failed) says why in ``error`` and counts what it had done until then: every change it made is complete on
/// its own (one transaction per team, one per disabled user).
public struct DirectorySyncReport: Sendable, Equatable {
    public var startedAt: Date
    public var finishedAt: Date
    /// Groups the directory listed.
    public var groups = 0
    /// Of those, groups named like an existing team (teams are not created by sync).
    public var teamsMatched = 0
    public var membershipsAdded = 0
    public var membershipsRemoved = 0
    /// Enabled directory users whose entry was looked up.
    public var usersChecked = 0
    /// Of those, users disabled because their entry is gone.
    public var usersDisabled = 0
    /// Why the pass stopped early, nil when it completed.
    public var error: String?

    public init(startedAt: Date, finishedAt: Date? = nil) {
        self.startedAt = startedAt
        self.finishedAt = finishedAt ?? startedAt
    }

    /// Whether the pass went through to the end.
    public var succeeded: Bool { error == nil }

    /// Whether the pass changed anything (memberships or accounts).
    public var changed: Bool { membershipsAdded + membershipsRemoved + usersDisabled > 0 }
}
