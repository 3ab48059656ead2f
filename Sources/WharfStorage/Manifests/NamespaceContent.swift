import WharfCore

/// What storage holds under one namespace (`repositories/<namespace>/`): asked by the access rules (is there
/// content whose namespace has no owner?) and by the admin commands that hand such content over or remove it.
///
/// A namespace's content is any entry of its folder other than distribution's own `_manifests`, `_layers` and
/// `_uploads`, which belong to a global repository of the same name (in the global namespace, not this one).
public struct NamespaceContent: NamespaceStorage {
    public let driver: any StorageDriver

    public init(driver: any StorageDriver) {
        self.driver = driver
    }

    /// A namespace name as a path component: one component of the repository name grammar.
    public static func validated(_ namespace: String) throws -> RepositoryName {
        guard !namespace.contains("/"), let name = try? RepositoryName(namespace) else {
            throw StorageError(.invalidPath, "invalid namespace name \(namespace.debugDescription)")
        }
        return name
    }

    /// Whether anything is stored under `namespace`. One listing of its folder: cheap enough for the token
    /// endpoint, which asks only about namespaces that have no database row.
    public func holdsContent(_ namespace: String) async throws -> Bool {
        guard let entries = try await driver.list(RegistryPaths.namespaceDirectory(Self.validated(namespace))) else { return false }
        return entries.contains(where: Self.isContent)
    }

    /// The repositories under `namespace`, in tree order, those holding only upload sessions included.
    public func repositories(in namespace: String) async throws -> [RepositoryName] {
        try await RepositoryWalker(driver: driver).repositories(in: Self.validated(namespace), includeUploadsOnly: true)
    }

    /// Every namespace whose folder holds content, sorted (repositories without a slash are in the global
    /// namespace and make no namespace).
    public func namespaces() async throws -> [String] {
        guard let entries = try await driver.list(RegistryPaths.repositoriesRoot) else { return [] }
        var namespaces: [String] = []
        for entry in entries where Self.isContent(entry) && (try? Self.validated(entry)) != nil {
            if try await holdsContent(entry) { namespaces.append(entry) }
        }
        return namespaces
    }

    /// Removes everything stored under `namespace`: its repositories' folders with their tags, manifest links,
    /// layer links and upload sessions. Blobs stay: other repositories may share them, and garbage collection
    /// removes those nothing references any more. A global repository of the same name is left alone.
    public func remove(_ namespace: String) async throws {
        let directory = RegistryPaths.namespaceDirectory(try Self.validated(namespace))
        guard let entries = try await driver.list(directory) else { return }
        for entry in entries where Self.isContent(entry) { try await driver.delete("\(directory)/\(entry)") }
        if try await driver.list(directory)?.isEmpty == true { try await driver.delete(directory) }
    }

    /// distribution's own folders and temporary files are not a namespace's content (see ``RegistryPaths``).
    static func isContent(_ entry: String) -> Bool { RegistryPaths.isNameComponent(entry) }
}
