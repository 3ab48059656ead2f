/// Something a token can allow on a resource.
///
/// `pull`, `push` and `delete` apply to repositories; `catalog` is the only action on the registry catalogue
/// (written `registry:catalog:*` in a scope and `*` in a token, as distribution expects).
public enum Action: String, Sendable, Hashable, CaseIterable, Comparable, CustomStringConvertible {
    case pull
    case push
    case delete
    case catalog

    /// The actions a repository scope can name; `*` stands for all of them.
    public static let repositoryActions: Set<Action> = [.pull, .push, .delete]

    public var description: String { rawValue }

    public static func < (lhs: Action, rhs: Action) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
