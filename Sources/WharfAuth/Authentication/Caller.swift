/// Who a token is for, after authentication.
public struct TokenSubject: Sendable, Hashable {
    /// The account name; empty for anonymous callers.
    public var name: String
    public var kind: SubjectKind
    public var userID: Int64?
    /// What the subject is limited to beyond the permission rules (a scoped token's scope); nil: the rules alone.
    public var restriction: AccessRestriction?

    public init(name: String, kind: SubjectKind, userID: Int64?, restriction: AccessRestriction? = nil) {
        self.name = name
        self.kind = kind
        self.userID = userID
        self.restriction = restriction
    }

    public static let anonymous = TokenSubject(name: "", kind: .anonymous, userID: nil)
    /// The command line, which runs with the data folder's rights: an admin without an account, recorded as `cli`.
    public static let commandLine = TokenSubject(name: ActivityActor.commandLine.name, kind: .admin, userID: nil)
}

/// An authenticated caller: the subject, and the credential used (`app:ID`, `refresh:ID`, `scoped:ID`, `user:ID`
/// for a password; nil for anonymous callers and the service account), which tokens carry so that revoking it ends
/// them too, and so that a token never passes to a later account of the same name.
public struct Caller: Sendable, Hashable {
    public var subject: TokenSubject
    public var credential: String?

    public init(subject: TokenSubject, credential: String?) {
        self.subject = subject
        self.credential = credential
    }

    public static let anonymous = Caller(subject: .anonymous, credential: nil)
}
