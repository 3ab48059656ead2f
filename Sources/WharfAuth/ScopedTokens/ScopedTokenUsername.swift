/// The name a scoped token logs in with: `robot$NAMESPACE+NAME`, the shape of Harbor's robot accounts, so
/// `docker login -u 'robot$team+ci' -p SECRET` and Kubernetes pull secrets written for Harbor work unchanged.
///
/// No user can have such a name (`$` and `+` are outside the namespace grammar user names follow), so the
/// username alone says which kind of login is meant.
public struct ScopedTokenUsername: Hashable, Sendable, CustomStringConvertible {
    public static let prefix = "robot$"

    public var namespace: String
    public var name: String

    public init(namespace: String, name: String) {
        self.namespace = namespace
        self.name = name
    }

    /// Parses `robot$NAMESPACE+NAME`; nil for any other username (both parts non-empty, no further `+`).
    public init?(_ username: String) {
        guard username.hasPrefix(Self.prefix) else { return nil }
        let rest = username.dropFirst(Self.prefix.count)
        let parts = rest.split(separator: "+", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        self.init(namespace: String(parts[0]), name: String(parts[1]))
    }

    /// Whether `username` has the shape of a scoped token's login (whether or not such a token exists).
    public static func isScoped(_ username: String) -> Bool { username.hasPrefix(prefix) }

    public var description: String { Self.prefix + namespace + "+" + name }
}
