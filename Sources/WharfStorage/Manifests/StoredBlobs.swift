import WharfCore

/// The blobs in storage and the layer links that name them, read the way distribution lays them out: what both
/// `wharf scrub` and garbage collection walk, so they agree on what is stored.
public struct StoredBlobs: Sendable {
    public let driver: any StorageDriver

    public init(driver: any StorageDriver) {
        self.driver = driver
    }

    /// Visits every blob with data under `blobs/` (`<algorithm>/<2 hex>/<hex>/data`), in tree order, with its
    /// data file's size and time; anything else under `blobs/` is ignored. One listing per folder, nothing held.
    public func walk(_ visit: (OCIDigest, FileInfo) async throws -> Void) async throws {
        let prefix = RegistryPaths.blobsRoot.utf8.count + 1
        try await driver.walk(RegistryPaths.blobsRoot) { entry in
            let parts = entry.path.utf8.dropFirst(prefix).split(separator: UInt8(ascii: "/")).map { String(decoding: $0, as: UTF8.self) }
            guard let file = entry.file else {
                // Algorithm folders, then two-digit folders, then one folder per blob: nothing deeper matters.
                if parts.count == 1 { return OCIDigest.Algorithm(rawValue: parts[0]) == nil ? .skip : .descend }
                return parts.count <= 3 ? .descend : .skip
            }
            if parts.count == 4, parts[3] == "data", let algorithm = OCIDigest.Algorithm(rawValue: parts[0]),
                let digest = try? OCIDigest(algorithm: algorithm, hex: parts[2]), parts[1] == String(parts[2].prefix(2))
            {
                try await visit(digest, file)
            }
            return .descend
        }
    }

    /// The blobs the repository links under `_layers` (pushed or mounted there), whose link file names them;
    /// only those `including` accepts are read, so a caller interested in a few reads a few links.
    public func layerLinks(in repository: RepositoryName, including: (OCIDigest) -> Bool = { _ in true }) async throws -> [OCIDigest] {
        let index = ManifestIndex(driver: driver)
        var digests: [OCIDigest] = []
        for algorithm in OCIDigest.Algorithm.allCases {
            let folder = "\(RegistryPaths.repository(repository))/\(RegistryPaths.layersFolder)/\(algorithm.rawValue)"
            for name in try await driver.list(folder) ?? [] {
                guard let digest = try? OCIDigest(algorithm: algorithm, hex: name), including(digest),
                    try await index.readLink(RegistryPaths.layerLink(repository, digest)) == digest
                else { continue }
                digests.append(digest)
            }
        }
        return digests
    }
}
