import Foundation

/// What an image config says about the image. Environment variables are listed by name only: their values may
/// hold secrets.
public struct ImageConfigDetails: Sendable, Equatable {
    public var os: String?
    public var architecture: String?
    public var variant: String?
    public var created: Date?
    public var author: String?
    public var entrypoint: [String]?
    public var cmd: [String]?
    public var workingDir: String?
    public var user: String?
    public var envNames: [String]
    public var exposedPorts: [String]
    public var labels: [String: String]
    public var history: [HistoryEntry]
}

/// One build step of an image config's history.
public struct HistoryEntry: Sendable, Equatable {
    public var created: Date?
    public var createdBy: String?
    public var comment: String?
    /// The step made no layer (`ENV`, `CMD`, ...).
    public var emptyLayer: Bool
}
