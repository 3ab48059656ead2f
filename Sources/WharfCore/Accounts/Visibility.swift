/// Who may pull from a namespace besides its members.
public enum Visibility: String, Sendable, Hashable, CaseIterable {
    /// Members only.
    case `private`
    /// Any logged-in user.
    case protected
    /// Anyone, anonymous callers too when anonymous pull is enabled.
    case `public`
}
