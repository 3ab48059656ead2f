import Foundation

/// Which activities a listing wants; every condition given must hold (nil: any).
public struct ActivityFilter: Sendable, Hashable {
    /// From this time on (inclusive).
    public var since: Date?
    /// Before this time (exclusive), so consecutive windows neither overlap nor leave a gap.
    public var until: Date?
    /// An action or a family of them, by whole dotted components: `team` matches `team.create` and
    /// `team.member.add`, `team.member` matches `team.member.add`, neither matches `teams.x`.
    public var action: String?
    public var namespaceID: Int64?
    public var actorID: Int64?
    /// The actor's name as recorded, for actors without an id (`cli`, a deleted user).
    public var actorName: String?

    public init(
        since: Date? = nil,
        until: Date? = nil,
        action: String? = nil,
        namespaceID: Int64? = nil,
        actorID: Int64? = nil,
        actorName: String? = nil
    ) {
        self.since = since
        self.until = until
        self.action = action
        self.namespaceID = namespaceID
        self.actorID = actorID
        self.actorName = actorName
    }
}
