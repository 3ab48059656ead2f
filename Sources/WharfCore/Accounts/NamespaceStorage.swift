/// What storage holds under a namespace (`repositories/<namespace>/`), as the domain of people and access needs
/// it: the rules ask whether a namespace without an owner holds content, and the account operations hand such
/// content over or remove it. Storage implements it (`NamespaceContent`); the domain never sees a driver.
public protocol NamespaceStorage: Sendable {
    /// Whether anything is stored under `namespace` (cheap: one folder listing).
    func holdsContent(_ namespace: String) async throws -> Bool
    /// The repositories under `namespace`, sorted.
    func repositories(in namespace: String) async throws -> [RepositoryName]
    /// Every namespace whose folder holds content, sorted.
    func namespaces() async throws -> [String]
    /// Removes the repositories under `namespace` (their tags and manifests; blobs stay for garbage collection).
    func remove(_ namespace: String) async throws
}
