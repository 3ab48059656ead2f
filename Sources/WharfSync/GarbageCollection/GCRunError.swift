import Foundation

/// Why a garbage collection did not run, or failed. ``description`` is one line, ready for `wharf: …`.
public struct GCRunError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// Another run holds the lease (on this replica or another sharing the database).
        public static let busy = Code("busy")
        /// The mark or the sweep threw; the run is recorded as failed.
        public static let failed = Code("failed")
        public static let unknownRun = Code("unknownRun")
    }

    public var code: Code
    public var message: String
    /// The run recorded for it (the refusal or the failure), when there is one.
    public var runID: Int64?

    public init(_ code: Code, _ message: String, runID: Int64? = nil) {
        self.code = code
        self.message = message
        self.runID = runID
    }

    public var description: String { message }
}
