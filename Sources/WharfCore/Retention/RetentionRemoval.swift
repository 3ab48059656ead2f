/// One thing a policy removes (or, in a dry run, would remove), with why.
public struct RetentionRemoval: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable {
        /// A tag only (``RetentionRemoval/digest`` is what it pointed at).
        case tag
        /// A manifest revision, by digest.
        case manifest
    }

    public var kind: Kind
    public var repository: String
    public var tag: String?
    public var digest: String
    public var reason: String

    public init(kind: Kind, repository: String, tag: String? = nil, digest: String, reason: String) {
        self.kind = kind
        self.repository = repository
        self.tag = tag
        self.digest = digest
        self.reason = reason
    }

    /// `repo:tag` or `repo@digest`.
    public var reference: String {
        if let tag { return "\(repository):\(tag)" }
        return "\(repository)@\(digest)"
    }
}
