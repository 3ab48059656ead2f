import WharfDatabase

/// What the statistics endpoint shows.
public struct CatalogStatistics: Sendable, Equatable {
    public var counts: CatalogCounts
    /// Bytes of blobs in storage and when they were measured; nil for callers who are not admins.
    public var storage: StorageUsage.Measurement?
}
