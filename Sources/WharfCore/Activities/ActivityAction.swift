/// What an activity (a line of the audit log) says happened: a dotted name, the subject first (`namespace`,
/// `team`, `user`, `token`), then what changed (`team.member.add`, `namespace.visibility.change`). A filter on
/// a family (`team`) matches its whole subtree, so new actions join their family by their name.
///
/// The single list of the actions a person's change records; the README's list is checked against ``all``.
public struct ActivityAction: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    /// A team namespace is created (by `wharf namespace create`, or by a first push into a new namespace).
    public static let namespaceCreate = ActivityAction(rawValue: "namespace.create")
    public static let namespaceVisibilityChange = ActivityAction(rawValue: "namespace.visibility.change")
    /// The namespace now belongs to another team.
    public static let namespaceTeamChange = ActivityAction(rawValue: "namespace.team.change")
    public static let namespaceDescriptionChange = ActivityAction(rawValue: "namespace.description.change")
    public static let namespaceDelete = ActivityAction(rawValue: "namespace.delete")
    /// Content without an owner in storage is given to a team, or to a new user as their personal namespace.
    public static let namespaceAdopt = ActivityAction(rawValue: "namespace.adopt")
    /// A deleted user's personal namespace becomes a team's.
    public static let namespaceTransfer = ActivityAction(rawValue: "namespace.transfer")
    /// Content is removed from storage with the namespace that held it (or that had no owner).
    public static let namespacePurge = ActivityAction(rawValue: "namespace.purge")

    public static let teamCreate = ActivityAction(rawValue: "team.create")
    public static let teamRename = ActivityAction(rawValue: "team.rename")
    public static let teamDescriptionChange = ActivityAction(rawValue: "team.description.change")
    /// A team is deleted (its namespaces were given to another team or deleted first).
    public static let teamDelete = ActivityAction(rawValue: "team.delete")
    public static let teamMemberAdd = ActivityAction(rawValue: "team.member.add")
    public static let teamMemberRemove = ActivityAction(rawValue: "team.member.remove")
    public static let teamMemberRoleChange = ActivityAction(rawValue: "team.member.role.change")

    public static let userCreate = ActivityAction(rawValue: "user.create")
    public static let userDelete = ActivityAction(rawValue: "user.delete")
    public static let userPromote = ActivityAction(rawValue: "user.promote")
    public static let userDemote = ActivityAction(rawValue: "user.demote")
    public static let userDisable = ActivityAction(rawValue: "user.disable")
    public static let userEnable = ActivityAction(rawValue: "user.enable")
    /// The password is set by an admin or the user (which also ends the user's refresh tokens).
    public static let userPasswordChange = ActivityAction(rawValue: "user.password.change")
    /// A lockout after failed logins is lifted.
    public static let userUnlock = ActivityAction(rawValue: "user.unlock")
    /// A user's email or display name changes.
    public static let userUpdate = ActivityAction(rawValue: "user.update")

    /// An application token is created; the secret is never recorded.
    public static let tokenCreate = ActivityAction(rawValue: "token.create")
    /// An application token, or a refresh token (`refresh:ID`), is revoked.
    public static let tokenRevoke = ActivityAction(rawValue: "token.revoke")
    /// A namespace's scoped token (for a machine: pull, or pull and push, on matching repositories) is created;
    /// the secret is never recorded.
    public static let tokenScopedCreate = ActivityAction(rawValue: "token.scoped.create")
    public static let tokenScopedRevoke = ActivityAction(rawValue: "token.scoped.revoke")

    /// A manifest is pushed (by tag or by digest); its catalogue row is written in the same transaction.
    public static let repositoryPush = ActivityAction(rawValue: "repository.push")
    /// A manifest is deleted by digest, with every tag pointing at it.
    public static let repositoryDelete = ActivityAction(rawValue: "repository.delete")
    /// A tag is deleted; the manifest stays reachable by digest.
    public static let tagDelete = ActivityAction(rawValue: "tag.delete")
    /// A user stars a repository (starring one already starred records nothing).
    public static let repositoryStar = ActivityAction(rawValue: "repository.star")
    /// A user removes their star (removing a star that is not there records nothing).
    public static let repositoryUnstar = ActivityAction(rawValue: "repository.unstar")
    /// A comment is added to a repository; the body is not copied into the log.
    public static let commentCreate = ActivityAction(rawValue: "comment.create")
    /// A comment is deleted by its author, an owner of the repository's namespace or an admin.
    public static let commentDelete = ActivityAction(rawValue: "comment.delete")

    public static let webhookCreate = ActivityAction(rawValue: "webhook.create")
    public static let webhookUpdate = ActivityAction(rawValue: "webhook.update")
    public static let webhookDelete = ActivityAction(rawValue: "webhook.delete")
    public static let webhookEnable = ActivityAction(rawValue: "webhook.enable")
    public static let webhookDisable = ActivityAction(rawValue: "webhook.disable")

    /// A garbage collection that was not a dry run ended: what it reclaimed (the manifests it unlinked are
    /// `repository.delete` activities of their own, by the garbage collector).
    public static let gcRun = ActivityAction(rawValue: "gc.run")

    /// Every action recorded: a person's change to namespaces, teams, users, tokens and webhooks, and the
    /// registry's pushes and deletes.
    public static let all: [ActivityAction] = [
        .namespaceCreate, .namespaceVisibilityChange, .namespaceTeamChange, .namespaceDescriptionChange, .namespaceDelete, .namespaceAdopt,
        .namespaceTransfer, .namespacePurge, .teamCreate, .teamRename, .teamDescriptionChange, .teamDelete, .teamMemberAdd, .teamMemberRemove,
        .teamMemberRoleChange, .userCreate, .userDelete, .userPromote, .userDemote, .userDisable, .userEnable, .userPasswordChange, .userUnlock,
        .userUpdate, .tokenCreate, .tokenRevoke, .tokenScopedCreate, .tokenScopedRevoke, .repositoryPush, .repositoryDelete, .tagDelete,
        .repositoryStar, .repositoryUnstar, .commentCreate, .commentDelete, .webhookCreate, .webhookUpdate, .webhookDelete, .webhookEnable,
        .webhookDisable, .gcRun,
    ]
}
