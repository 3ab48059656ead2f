import WharfCore

/// What a scrub covers.
public struct ScrubOptions: Sendable {
    /// Only the blobs this repository's manifests and layer links reference (nil: every blob in storage).
    public var repository: RepositoryName?
    /// Also check that each image's layers decompress to the config's `rootfs.diff_ids`.
    public var deep: Bool
    /// Move corrupt blobs' data to the quarantine (the scrubber must have one).
    public var quarantine: Bool

    public init(repository: RepositoryName? = nil, deep: Bool = false, quarantine: Bool = false) {
        self.repository = repository
        self.deep = deep
        self.quarantine = quarantine
    }
}
