import Foundation

/// Where a `/r/…` URL points: the repository's full name (it may contain `/`, and a repository of the global
/// namespace has no namespace part), then, after a `-` component (which no repository name component can be), the
/// sub-page or action: `tags/TAG`, `manifests/DIGEST`, `star`, `comments`, `…/delete`.
struct RepositoryPath: Sendable, Equatable {
    var repository: String
    /// The decoded components after `/-/`; empty for the repository page itself.
    var rest: [String]

    /// nil when the components do not decode or name no repository.
    init?(_ components: [Substring]) {
        var decoded: [String] = []
        for component in components {
            guard let text = String(component).removingPercentEncoding, !text.isEmpty, !text.contains("/") else { return nil }
            decoded.append(text)
        }
        let split = decoded.firstIndex(of: "-") ?? decoded.endIndex
        guard split > decoded.startIndex else { return nil }
        repository = decoded[..<split].joined(separator: "/")
        rest = split < decoded.endIndex ? Array(decoded[(split + 1)...]) : []
    }

}
