/// Who an account operation is recorded as in the activities: the signed-in admin in the portal, `cli` (no
/// account) for the command line, which runs with the data folder's rights rather than as a user.
public struct ActivityActor: Sendable, Hashable {
    public var id: Int64?
    public var name: String
    /// The address the change came from, as the server saw the client (the portal and the API set it); nil on
    /// the command line, which has none. Recorded as `addr` in the activity's details, the key distribution's
    /// notifications use for a request's source.
    public var address: String?

    public init(id: Int64?, name: String, address: String? = nil) {
        self.id = id
        self.name = name
        self.address = address
    }

    public static let commandLine = ActivityActor(id: nil, name: "cli")
}
