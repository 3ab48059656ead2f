import Foundation
import WharfCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where `wharf scrub --quarantine` puts corrupt blobs: a folder of the data folder, beside (not inside) the
/// registry's storage, so neither Wharf nor distribution ever serves or collects what is in it.
///
/// A move is one `rename(2)` on the same filesystem: a server reading the blob at that moment keeps its open file,
/// and the next request for it gets `BLOB_UNKNOWN`, so a client fails cleanly instead of receiving wrong bytes.
/// Nothing is ever deleted; the operator decides what to do with the folder.
public struct BlobQuarantine: Sendable {
    /// The filesystem driver's root (the folder holding `docker/registry/v2`).
    public let storageRoot: String
    /// The quarantine folder, made on the first move.
    public let folder: String

    public init(storageRoot: String, folder: String) {
        self.storageRoot = storageRoot
        self.folder = folder
    }

    /// Moves a blob's data to `folder/<digest>-<time>`; returns the new path.
    public func move(_ digest: OCIDigest, at now: Date) throws -> String {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let source = storageRoot + "/" + RegistryPaths.blobData(digest)
        let destination = folder + "/" + digest.description + "-" + Self.stamp(now)
        guard rename(source, destination) == 0 else {
            throw StorageError.system("rename", "\(source) to \(destination)", systemError: errno)
        }
        return destination
    }

    /// `20261201T040506Z`: sortable, and free of characters a shell or another filesystem would mind.
    static func stamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withYear, .withMonth, .withDay, .withTime, .withTimeZone]
        return formatter.string(from: date)
    }
}
