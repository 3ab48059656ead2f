import Foundation

/// A namespace with the number of its repositories, as the portal's Explore page lists them.
public struct NamespaceSummary: Sendable, Equatable {
    public var namespace: Namespace
    public var repositoryCount: Int

    public init(namespace: Namespace, repositoryCount: Int) {
        self.namespace = namespace
        self.repositoryCount = repositoryCount
    }
}
