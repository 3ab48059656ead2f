/// What becomes of the repositories in a deleted user's personal namespace. Leaving them behind without an owner
/// is not a choice: storage keeps them, and content without an owner is admins' only until adopted.
public enum PersonalRepositories: Sendable, Hashable {
    /// Refuse to delete a user whose namespace holds repositories (deletes one without any).
    case refuse
    /// The namespace becomes a team namespace of this team, with its visibility and repositories.
    case transfer(toTeam: String)
    /// The repositories' tags and manifests are removed from storage (blobs stay for garbage collection), then
    /// the namespace.
    case delete
}
