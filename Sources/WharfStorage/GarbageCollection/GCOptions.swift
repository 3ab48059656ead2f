/// What a garbage collection mark keeps.
public struct GCOptions: Sendable {
    /// Also collect manifest revisions no tag reaches (as distribution's `--delete-untagged`), with their blobs;
    /// index children and referrers of a kept manifest are kept all the same.
    public var untagged: Bool
    /// `gc.min_age`: a blob or manifest written more recently than this (seconds) is kept, whatever references it,
    /// so a push in progress (its blobs uploaded, its manifest not yet) never loses them.
    public var minAge: Double

    public init(untagged: Bool = false, minAge: Double = 3600) {
        self.untagged = untagged
        self.minAge = minAge
    }
}
