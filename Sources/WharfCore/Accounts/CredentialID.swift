/// The credential a login used, as tokens carry it (`wharf_cred`) and refresh tokens remember their source:
/// `user:ID` (a password), `app:ID` (an application token), `refresh:ID` (a refresh token), `scoped:ID` (a
/// namespace's scoped token for a machine). Revoking, expiring or deleting the credential ends everything issued
/// from it.
public enum CredentialID: Hashable, Sendable, CustomStringConvertible {
    case password(userID: Int64)
    case applicationToken(Int64)
    case refreshToken(Int64)
    case scopedToken(Int64)

    /// Parses `kind:ID`; nil for anything else.
    public init?(_ text: some StringProtocol) {
        guard let colon = text.firstIndex(of: ":"), let id = Int64(text[text.index(after: colon)...]) else { return nil }
        switch text[..<colon] {
        case "user": self = .password(userID: id)
        case "app": self = .applicationToken(id)
        case "refresh": self = .refreshToken(id)
        case "scoped": self = .scopedToken(id)
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .password(let id): "user:\(id)"
        case .applicationToken(let id): "app:\(id)"
        case .refreshToken(let id): "refresh:\(id)"
        case .scopedToken(let id): "scoped:\(id)"
        }
    }
}
