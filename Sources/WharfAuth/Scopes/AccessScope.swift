import WharfCore

/// One resource and the actions asked for (or granted) on it, as the Docker token specification writes them:
/// `repository:NAME:ACTIONS` (`NAME` may contain `/`, `ACTIONS` is a comma-separated list of `pull`, `push`,
/// `delete` or `*`) and `registry:catalog:*`.
///
/// Parsing is strict and fails closed: an unknown resource type, a name that is not a valid repository name
/// (upper case, `..`, encoded slashes, over-long), an unknown action or an empty action list is an ``AuthError``
/// with a one-line reason. `*` on a repository expands to pull, push and delete, so a token never carries a
/// wildcard wider than what was checked.
public struct AccessScope: Hashable, Sendable, CustomStringConvertible {
    /// What a scope is about.
    public enum Resource: Hashable, Sendable, Comparable, CustomStringConvertible {
        case repository(RepositoryName)
        /// The registry catalogue (`/v2/_catalog`).
        case catalog

        public var description: String {
            switch self {
            case .repository(let name): "repository:\(name)"
            case .catalog: "registry:catalog"
            }
        }

        public static func < (lhs: Resource, rhs: Resource) -> Bool {
            switch (lhs, rhs) {
            case (.catalog, .repository): true
            case (.repository(let a), .repository(let b)): a < b
            case (.repository, .catalog), (.catalog, .catalog): false
            }
        }
    }

    public var resource: Resource
    public var actions: Set<Action>

    public init(_ resource: Resource, actions: Set<Action>) {
        self.resource = resource
        self.actions = actions
    }

    /// The scope in the token specification's syntax, actions in a fixed order.
    public var description: String {
        switch resource {
        case .repository(let name): "repository:\(name):\(actions.sorted().map(\.rawValue).joined(separator: ","))"
        case .catalog: "registry:catalog:*"
        }
    }

    /// Parses one scope such as `repository:team/app:pull,push`.
    public init(parsing text: some StringProtocol) throws(AuthError) {
        let text = String(text)
        guard let firstColon = text.firstIndex(of: ":"), let lastColon = text.lastIndex(of: ":"), firstColon < lastColon else {
            throw AuthError(.scopeMalformed, "scope is not TYPE:NAME:ACTIONS: \(AuthError.excerpt(text))")
        }
        let type = text[..<firstColon]
        let name = text[text.index(after: firstColon)..<lastColon]
        let actionList = text[text.index(after: lastColon)...]
        guard !actionList.isEmpty else {
            throw AuthError(.scopeMalformed, "scope names no actions: \(AuthError.excerpt(text))")
        }
        let actionWords = actionList.split(separator: ",", omittingEmptySubsequences: false)
        switch type {
        case "repository":
            let repository: RepositoryName
            do {
                repository = try RepositoryName(name)
            } catch {
                throw AuthError(.scopeNameInvalid, "invalid repository name in scope: \(AuthError.excerpt(name))")
            }
            var actions = Set<Action>()
            for word in actionWords {
                switch word {
                case "*": actions.formUnion(Action.repositoryActions)
                case "pull": actions.insert(.pull)
                case "push": actions.insert(.push)
                case "delete": actions.insert(.delete)
                default: throw AuthError(.scopeUnknownAction, "unknown action in scope: \(AuthError.excerpt(word))")
                }
            }
            self.init(.repository(repository), actions: actions)
        case "registry":
            guard name == "catalog" else {
                throw AuthError(.scopeNameInvalid, "the only registry scope is registry:catalog:*, not \(AuthError.excerpt(text))")
            }
            for word in actionWords where word != "*" {
                throw AuthError(.scopeUnknownAction, "registry:catalog allows only *, not \(AuthError.excerpt(word))")
            }
            self.init(.catalog, actions: [.catalog])
        default:
            throw AuthError(.scopeUnknownType, "unknown scope type: \(AuthError.excerpt(type))")
        }
    }

    /// Parses the `scope` parameters of a token request (each may hold several scopes separated by spaces) and
    /// merges repeated resources into one scope with the union of their actions, sorted by resource.
    ///
    /// One malformed scope fails the whole request: the specification's clients send what they need, so a bad
    /// scope is a client bug or an attack, never something to skip silently.
    public static func parseAll(_ parameters: [String]) throws(AuthError) -> [AccessScope] {
        var scopes: [AccessScope] = []
        for parameter in parameters {
            for text in parameter.split(separator: " ") {
                scopes.append(try AccessScope(parsing: text))
            }
        }
        return merged(scopes)
    }

    /// One scope per resource with the union of the actions, sorted by resource; scopes left without actions
    /// are dropped.
    public static func merged(_ scopes: [AccessScope]) -> [AccessScope] {
        var byResource: [Resource: Set<Action>] = [:]
        for scope in scopes {
            byResource[scope.resource, default: []].formUnion(scope.actions)
        }
        return byResource.filter { !$0.value.isEmpty }.map { AccessScope($0.key, actions: $0.value) }.sorted { $0.resource < $1.resource }
    }
}
