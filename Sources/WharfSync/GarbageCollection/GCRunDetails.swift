import Foundation
import WharfStorage

/// The lists a run keeps with its record (as JSON in `gc_runs.details`): the manifests the sweep unlinked, and
/// the blobs and manifests the mark found eligible, each capped at ``limit`` so a run over a huge folder stays a
/// small row; the `omitted` counts say how many were left out.
public struct GCRunDetails: Sendable, Codable, Equatable {
    /// One eligible blob.
    public struct Blob: Sendable, Codable, Equatable {
        public var digest: String
        public var bytes: Int64
    }

    public var removedManifests: [GCManifest] = []
    public var removedManifestsOmitted = 0
    public var eligible: [Blob] = []
    public var eligibleOmitted = 0
    public var eligibleManifests: [GCManifest] = []
    public var eligibleManifestsOmitted = 0

    /// Entries kept per list: about 100 bytes each, so a record stays well under 1 MB.
    public static let limit = 1000

    public init() {}

    public init(report: GCReport, limit: Int = Self.limit) {
        removedManifests = Array(report.removedManifests.prefix(limit))
        removedManifestsOmitted = report.removedManifests.count - removedManifests.count
        eligible = report.eligible.prefix(limit).map { Blob(digest: $0.digest.description, bytes: $0.bytes) }
        eligibleOmitted = report.eligible.count - eligible.count
        eligibleManifests = Array(report.eligibleManifests.prefix(limit))
        eligibleManifestsOmitted = report.eligibleManifests.count - eligibleManifests.count
    }

    /// Parsed from a stored record; empty when it is not (a run that never finished stores `{}`).
    public init(json: String) {
        self = (try? JSONDecoder().decode(Self.self, from: Data(json.utf8))) ?? Self()
    }

    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    enum CodingKeys: String, CodingKey {
        case removedManifests = "removed_manifests"
        case removedManifestsOmitted = "removed_manifests_omitted"
        case eligible
        case eligibleOmitted = "eligible_omitted"
        case eligibleManifests = "eligible_manifests"
        case eligibleManifestsOmitted = "eligible_manifests_omitted"
    }
}
