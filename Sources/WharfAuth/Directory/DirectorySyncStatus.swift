import Foundation

/// The state of group sync as the admin status page, `/api/v1` and `wharf ldap check` show it.
public struct DirectorySyncStatus: Sendable, Equatable {
    public var mode: DirectorySyncMode
    /// Whether a pass is running now.
    public var isRunning: Bool
    /// When the last pass (successful or not) finished; nil before the first.
    public var lastRunAt: Date?
    /// When the last pass that went through to the end finished.
    public var lastSuccessAt: Date?
    /// Why the last pass stopped early; nil when it completed (or none ran yet).
    public var lastError: String?
    /// The last pass's counts (nil before the first): groups seen, memberships added and removed, users disabled.
    public var lastReport: DirectorySyncReport?
    /// Passes finished since start.
    public var passes: Int

    public init(
        mode: DirectorySyncMode,
        isRunning: Bool = false,
        lastRunAt: Date? = nil,
        lastSuccessAt: Date? = nil,
        lastError: String? = nil,
        lastReport: DirectorySyncReport? = nil,
        passes: Int = 0
    ) {
        self.mode = mode
        self.isRunning = isRunning
        self.lastRunAt = lastRunAt
        self.lastSuccessAt = lastSuccessAt
        self.lastError = lastError
        self.lastReport = lastReport
        self.passes = passes
    }

    /// Groups the last pass saw.
    public var groups: Int { lastReport?.groups ?? 0 }
    public var membershipsAdded: Int { lastReport?.membershipsAdded ?? 0 }
    public var membershipsRemoved: Int { lastReport?.membershipsRemoved ?? 0 }
    public var usersDisabled: Int { lastReport?.usersDisabled ?? 0 }
}
