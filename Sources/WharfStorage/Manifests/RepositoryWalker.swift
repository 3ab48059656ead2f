import WharfCore

/// Finds repositories in storage the way distribution's catalog does: a folder with a `_manifests` child is a
/// repository; folders whose names start with `_` are never descended into (``RegistryPaths`` knows both names).
public struct RepositoryWalker: Sendable {
    public let driver: any StorageDriver

    public init(driver: any StorageDriver) {
        self.driver = driver
    }

    /// All repositories, sorted by name. With `includeUploadsOnly`, also folders that hold only upload sessions;
    /// with `includeLayersOnly`, also those that hold only blob links (pushed layers, no manifest yet), which a
    /// mount can read from.
    public func repositories(includeUploadsOnly: Bool = false, includeLayersOnly: Bool = false) throws -> [RepositoryName] {
        var found: [RepositoryName] = []
        try walk(prefix: "", into: &found, includeUploadsOnly: includeUploadsOnly, includeLayersOnly: includeLayersOnly)
        return found.sorted()
    }

    /// The repositories whose names begin with `namespace/`, sorted (not a repository called `namespace` itself,
    /// which is in the global namespace).
    public func repositories(in namespace: RepositoryName, includeUploadsOnly: Bool = false) throws -> [RepositoryName] {
        var found: [RepositoryName] = []
        try walk(prefix: namespace.value, into: &found, includeUploadsOnly: includeUploadsOnly, includeLayersOnly: false)
        return found.filter { $0 != namespace }.sorted()
    }

    private func walk(prefix: String, into found: inout [RepositoryName], includeUploadsOnly: Bool, includeLayersOnly: Bool) throws {
        guard let entries = try driver.list(RegistryPaths.repositoriesFolder(prefix)) else { return }
        if !prefix.isEmpty,
            entries.contains(RegistryPaths.manifestsFolder) || (includeUploadsOnly && entries.contains(RegistryPaths.uploadsFolder))
                || (includeLayersOnly && entries.contains(RegistryPaths.layersFolder)),
            let name = try? RepositoryName(prefix)
        {
            found.append(name)
        }
        for entry in entries where RegistryPaths.isNameComponent(entry) {
            let child = prefix.isEmpty ? entry : "\(prefix)/\(entry)"
            guard child.utf8.count <= RepositoryName.maxLength else { continue }
            if try driver.info(RegistryPaths.repositoriesFolder(child))?.isDirectory == true {
                try walk(prefix: child, into: &found, includeUploadsOnly: includeUploadsOnly, includeLayersOnly: includeLayersOnly)
            }
        }
    }
}
