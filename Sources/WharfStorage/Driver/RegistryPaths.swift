import WharfCore

/// The only place that knows the storage layout, which is CNCF distribution's filesystem driver layout,
/// so that a folder written by either registry is served by the other.
///
/// All paths are relative to the storage root. Every input is a parsed, validated value (`RepositoryName`,
/// `Tag`, `OCIDigest`, `UploadID`), so no path built here can leave the root.
public enum RegistryPaths {
    static let v2 = "docker/registry/v2"

    public static let repositoriesRoot = "\(v2)/repositories"
    public static let blobsRoot = "\(v2)/blobs"

    /// The folders distribution keeps in a repository's folder. The folder holding `_manifests` is a repository.
    public static let manifestsFolder = "_manifests"
    public static let layersFolder = "_layers"
    public static let uploadsFolder = "_uploads"

    /// Whether an entry of a folder under `repositories/` can be a component of a repository name: not one of
    /// distribution's own `_`-prefixed folders (its catalog never descends into them), nor a `.`-prefixed temporary
    /// (``AtomicFile``) or hidden file. The name grammar starts a component with a letter or digit, so skipping
    /// them never misses a repository.
    public static func isNameComponent(_ entry: String) -> Bool {
        !entry.hasPrefix("_") && !entry.hasPrefix(".")
    }

    /// A folder under `repositories/` by its path relative to it (empty: the root), for walking folders before
    /// their names are validated. The parts must be entries a listing returned (the driver refuses `.` and `..`).
    public static func repositoriesFolder(_ relative: String) -> String {
        relative.isEmpty ? repositoriesRoot : "\(repositoriesRoot)/\(relative)"
    }

    public static func blobData(_ digest: OCIDigest) -> String {
        "\(blobDirectory(digest))/data"
    }

    public static func blobDirectory(_ digest: OCIDigest) -> String {
        "\(blobsRoot)/\(digest.algorithm.rawValue)/\(digest.hex.prefix(2))/\(digest.hex)"
    }

    /// Where garbage collection parks blob data while it makes sure no push linked the blob meanwhile: outside
    /// `docker/`, which distribution never reads, and on the same storage, so parking and restoring are renames.
    /// A run ends with nothing there; a run that starts and finds something (a crash half-way) restores it first.
    public static let gcTrashRoot = "wharf/gc-trash"

    public static func gcTrash(_ digest: OCIDigest) -> String {
        "\(gcTrashRoot)/\(digest.algorithm.rawValue)/\(digest.hex)"
    }

    public static func repository(_ name: RepositoryName) -> String {
        "\(repositoriesRoot)/\(name.value)"
    }

    /// The folder of a namespace: the repositories whose names begin with `namespace/` live under it. A
    /// namespace is one name component (no slash); callers validate it (``NamespaceContent`` does).
    public static func namespaceDirectory(_ namespace: RepositoryName) -> String {
        "\(repositoriesRoot)/\(namespace.value)"
    }

    /// The folder holding one layer link; removing it unlinks the layer from the repository.
    public static func layerDirectory(_ name: RepositoryName, _ digest: OCIDigest) -> String {
        "\(repository(name))/\(layersFolder)/\(digest.algorithm.rawValue)/\(digest.hex)"
    }

    public static func layerLink(_ name: RepositoryName, _ digest: OCIDigest) -> String {
        "\(layerDirectory(name, digest))/link"
    }

    public static func manifestsDirectory(_ name: RepositoryName) -> String {
        "\(repository(name))/\(manifestsFolder)"
    }

    public static func revisionsDirectory(_ name: RepositoryName, _ algorithm: OCIDigest.Algorithm) -> String {
        "\(manifestsDirectory(name))/revisions/\(algorithm.rawValue)"
    }

    public static func revisionLink(_ name: RepositoryName, _ digest: OCIDigest) -> String {
        "\(revisionDirectory(name, digest))/link"
    }

    public static func revisionDirectory(_ name: RepositoryName, _ digest: OCIDigest) -> String {
        "\(revisionsDirectory(name, digest.algorithm))/\(digest.hex)"
    }

    public static func tagsDirectory(_ name: RepositoryName) -> String {
        "\(manifestsDirectory(name))/tags"
    }

    public static func tagDirectory(_ name: RepositoryName, _ tag: Tag) -> String {
        "\(tagsDirectory(name))/\(tag.value)"
    }

    public static func tagCurrentLink(_ name: RepositoryName, _ tag: Tag) -> String {
        "\(tagDirectory(name, tag))/current/link"
    }

    /// The folder of one entry of a tag's history; removing it drops that digest from the history.
    public static func tagIndexDirectory(_ name: RepositoryName, _ tag: Tag, _ digest: OCIDigest) -> String {
        "\(tagDirectory(name, tag))/index/\(digest.algorithm.rawValue)/\(digest.hex)"
    }

    public static func tagIndexLink(_ name: RepositoryName, _ tag: Tag, _ digest: OCIDigest) -> String {
        "\(tagIndexDirectory(name, tag, digest))/link"
    }

    public static func uploadsDirectory(_ name: RepositoryName) -> String {
        "\(repository(name))/\(uploadsFolder)"
    }

    public static func uploadDirectory(_ name: RepositoryName, _ id: UploadID) -> String {
        "\(uploadsDirectory(name))/\(id.value)"
    }

    public static func uploadData(_ name: RepositoryName, _ id: UploadID) -> String {
        "\(uploadDirectory(name, id))/data"
    }

    public static func uploadStartedAt(_ name: RepositoryName, _ id: UploadID) -> String {
        "\(uploadDirectory(name, id))/startedat"
    }

    /// The content of a link file: the digest it points at.
    public static func linkContent(_ digest: OCIDigest) -> [UInt8] {
        Array(digest.description.utf8)
    }
}

/// An upload session id: a lowercase UUID, the form distribution uses, so it is safe as a path component.
public struct UploadID: Hashable, Sendable, CustomStringConvertible {
    public let value: String

    public init(_ text: some StringProtocol) throws {
        let string = String(text)
        let bytes = Array(string.utf8)
        let dashes: Set<Int> = [8, 13, 18, 23]
        guard bytes.count == 36,
            bytes.enumerated().allSatisfy({ index, byte in
                dashes.contains(index)
                    ? byte == UInt8(ascii: "-")
                    : ((byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f")))
            })
        else {
            throw ContentError(.uploadUnknown, detail: "malformed upload id")
        }
        value = string
    }

    public static func random() -> UploadID {
        var generator = SystemRandomNumberGenerator()
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes[6] = (bytes[6] & 0x0f) | 0x40
        bytes[8] = (bytes[8] & 0x3f) | 0x80
        let hex = bytes.map { String($0, radix: 16).leftPadded(to: 2) }
        let text =
            hex[0..<4].joined() + "-" + hex[4..<6].joined() + "-" + hex[6..<8].joined() + "-" + hex[8..<10].joined() + "-" + hex[10..<16].joined()
        return try! UploadID(text)
    }

    public var description: String { value }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
