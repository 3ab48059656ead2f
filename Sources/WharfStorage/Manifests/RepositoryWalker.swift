import WharfCore

/// Finds repositories in storage the way distribution's catalog does: a folder with a `_manifests` child is a
/// repository; folders whose names start with `_` are never descended into (``RegistryPaths`` knows both names).
///
/// Repositories come in tree order: name by name component, so `a`, `a/b`, `a-c` (the order a depth-first walk
/// of the folders meets them, and the order ``precedes(_:_:)`` sorts by). A page of the catalogue walks only as
/// far as it needs: the folders before the page's start are skipped whole and the walk stops at the page's end.
public struct RepositoryWalker: Sendable {
    public let driver: any StorageDriver

    public init(driver: any StorageDriver) {
        self.driver = driver
    }

    /// What makes a folder count as a repository.
    public struct Kinds: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }

        /// Folders with manifests: the repositories of the catalogue.
        public static let manifests = Kinds(rawValue: 1)
        /// Folders that hold only upload sessions.
        public static let uploads = Kinds(rawValue: 2)
        /// Folders that hold only blob links (pushed layers, no manifest yet), which a mount can read from.
        public static let layers = Kinds(rawValue: 4)
    }

    /// All repositories in tree order. With `includeUploadsOnly`, also folders that hold only upload sessions;
    /// with `includeLayersOnly`, also those that hold only blob links (pushed layers, no manifest yet), which a
    /// mount can read from.
    public func repositories(includeUploadsOnly: Bool = false, includeLayersOnly: Bool = false) async throws -> [RepositoryName] {
        var kinds: Kinds = .manifests
        if includeUploadsOnly { kinds.insert(.uploads) }
        if includeLayersOnly { kinds.insert(.layers) }
        return try await repositories(kinds: kinds)
    }

    /// Repositories in tree order, after `last` (nil: from the start; any text, compared in tree order), at most
    /// `limit` of them (nil: all).
    public func repositories(kinds: Kinds = .manifests, after last: String? = nil, limit: Int? = nil) async throws -> [RepositoryName] {
        try await collect(below: RegistryPaths.repositoriesRoot, kinds: kinds, after: last, limit: limit)
    }

    /// The repositories whose names begin with `namespace/`, in tree order (not a repository called `namespace`
    /// itself, which is in the global namespace).
    public func repositories(in namespace: RepositoryName, includeUploadsOnly: Bool = false) async throws -> [RepositoryName] {
        let kinds: Kinds = includeUploadsOnly ? [.manifests, .uploads] : .manifests
        return try await collect(below: RegistryPaths.repositoriesFolder(namespace.value), kinds: kinds, after: nil, limit: nil)
    }

    /// The repositories below the storage folder `folder` (the root of the repositories, or a namespace's).
    private func collect(below folder: String, kinds: Kinds, after last: String?, limit: Int?) async throws -> [RepositoryName] {
        var found: [RepositoryName] = []
        if limit == 0 { return found }
        let rootLength = RegistryPaths.repositoriesRoot.utf8.count + 1
        try await driver.walk(folder) { entry in
            guard entry.isDirectory, RegistryPaths.isNameComponent(String(entry.name)) else { return .skip }
            let relative = String(entry.path.utf8.dropFirst(rootLength))!
            guard relative.utf8.count <= RepositoryName.maxLength, let name = try? RepositoryName(relative) else { return .skip }
            if let last {
                // Everything below a folder that comes before `last`, and does not hold it, comes before it too.
                if Self.precedes(name.value, last) && !last.hasPrefix(name.value + "/") { return .skip }
                if !Self.precedes(last, name.value) { return .descend }
            }
            if try await isRepository(entry.path, kinds: kinds) {
                found.append(name)
                if let limit, found.count >= limit { return .stop }
            }
            return .descend
        }
        return found
    }

    /// Whether the folder at `path` holds what makes a repository of one of `kinds` (an entry of that name, as
    /// the previous walker and distribution's catalog count it).
    func isRepository(_ path: String, kinds: Kinds) async throws -> Bool {
        if kinds.contains(.manifests), try await driver.stat(path + "/" + RegistryPaths.manifestsFolder) != nil { return true }
        if kinds.contains(.uploads), try await driver.stat(path + "/" + RegistryPaths.uploadsFolder) != nil { return true }
        if kinds.contains(.layers), try await driver.stat(path + "/" + RegistryPaths.layersFolder) != nil { return true }
        return false
    }

    /// Tree order: component by component, each in byte order, a parent before its children.
    public static func precedes(_ a: String, _ b: String) -> Bool {
        a.split(separator: "/", omittingEmptySubsequences: false).lexicographicallyPrecedes(b.split(separator: "/", omittingEmptySubsequences: false))
        {
            $0.utf8.lexicographicallyPrecedes($1.utf8)
        }
    }
}
