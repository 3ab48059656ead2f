import Foundation

/// A garbage collection about to start (or refused): recorded before the mark begins.
public struct NewGCRun: Sendable {
    public var trigger: GCRun.Trigger
    public var requestedBy: String
    public var dryRun: Bool
    public var untagged: Bool
    public var minAgeSeconds: Int64
    public var host: String
    public var startedAt: Date

    public init(
        trigger: GCRun.Trigger,
        requestedBy: String,
        dryRun: Bool,
        untagged: Bool,
        minAgeSeconds: Int64,
        host: String,
        startedAt: Date = Date()
    ) {
        self.trigger = trigger
        self.requestedBy = requestedBy
        self.dryRun = dryRun
        self.untagged = untagged
        self.minAgeSeconds = minAgeSeconds
        self.host = host
        self.startedAt = startedAt
    }
}
