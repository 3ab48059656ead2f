import Foundation
import Synchronization
import WharfStorage

/// The bytes of every blob in storage, measured by a walk of `blobs/` and kept for ``lifetime``: a walk reads one
/// entry per blob (seconds for a million), far too slow for every statistics request. The first caller waits for
/// the first walk; later callers get the last figure at once and, when it is older than ``lifetime``, start one
/// new walk in the background (concurrent callers share it). Kept per process: another replica's pushes show
/// within a lifetime.
public final class StorageUsage: Sendable {
    /// A measured figure.
    public struct Measurement: Sendable, Equatable {
        public var bytes: Int64
        public var blobs: Int
        public var measuredAt: Date
    }

    private struct State {
        var last: Measurement?
        var walk: Task<Measurement, any Error>?
    }

    let driver: any StorageDriver
    public let lifetime: Duration
    private let state = Mutex(State())

    public init(driver: any StorageDriver, lifetime: Duration = .seconds(60)) {
        self.driver = driver
        self.lifetime = lifetime
    }

    /// The last figure, after waiting for the first walk when none finished yet; starts a new walk when it is
    /// stale.
    public func current() async throws -> Measurement {
        let (last, walk) = state.withLock { state -> (Measurement?, Task<Measurement, any Error>?) in
            let stale = state.last.map { Date().timeIntervalSince($0.measuredAt) >= lifetime.seconds } ?? true
            if stale && state.walk == nil { state.walk = startWalk() }
            return (state.last, state.walk)
        }
        if let last { return last }
        return try await walk!.value
    }

    /// Walks now (or joins the walk under way) and returns its figure.
    @discardableResult
    public func refresh() async throws -> Measurement {
        let walk = state.withLock { state in
            if state.walk == nil { state.walk = startWalk() }
            return state.walk!
        }
        return try await walk.value
    }

    /// Called with the lock held.
    private func startWalk() -> Task<Measurement, any Error> {
        let driver = self.driver
        return Task {
            defer { self.state.withLock { $0.walk = nil } }
            var bytes: Int64 = 0
            var blobs = 0
            try await driver.walk(RegistryPaths.blobsRoot) { entry in
                if let file = entry.file, entry.name == "data" {
                    bytes += file.size
                    blobs += 1
                }
                return .descend
            }
            let measurement = Measurement(bytes: bytes, blobs: blobs, measuredAt: Date())
            self.state.withLock { $0.last = measurement }
            return measurement
        }
    }
}

extension Duration {
    /// The duration in seconds, as a `TimeInterval`.
    fileprivate var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
