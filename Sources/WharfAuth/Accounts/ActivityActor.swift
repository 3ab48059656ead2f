/// Who an account operation is recorded as in the activities: the signed-in admin in the portal, `cli` (no
/// account) for the command line, which runs with the data folder's rights rather than as a user.
public struct ActivityActor: Sendable, Hashable {
    public var id: Int64?
    public var name: String

    public init(id: Int64?, name: String) {
        self.id = id
        self.name = name
    }

    public static let commandLine = ActivityActor(id: nil, name: "cli")
}
