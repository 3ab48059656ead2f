import Synchronization

/// Whether the catalogue mirror holds what storage holds, so `/v2/_catalog` may read it instead of walking storage.
///
/// It is not current until the first sync pass has completed, and stops being current when a request fails to
/// write its row (the database was down, or slow): the next pass that starts after that failure and completes
/// repairs the mirror and makes it current again. Content another replica or distribution writes appears at the
/// next pass (every `sync.interval`).
public final class CatalogState: Sendable {
    private struct State {
        var synced = false
        var failures = 0
        var repairedThrough = 0
    }

    private let state = Mutex(State())

    public init() {}

    public var isCurrent: Bool {
        state.withLock { $0.synced && $0.failures == $0.repairedThrough }
    }

    /// A request could not write its change: storage and the mirror differ until a pass repairs it.
    public func writeFailed() {
        state.withLock { $0.failures += 1 }
    }

    /// A pass starts; the token it gets is handed to ``passCompleted(_:)``.
    public func passStarting() -> Int {
        state.withLock { $0.failures }
    }

    /// A pass that started with `token` read all of storage and wrote what differed.
    public func passCompleted(_ token: Int) {
        state.withLock {
            $0.synced = true
            $0.repairedThrough = max($0.repairedThrough, token)
        }
    }
}
