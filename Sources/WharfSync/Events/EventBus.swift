import Foundation
import Logging
import Synchronization

/// Fans registry events out to their consumers without making the request that produced them wait for any of
/// them: each subscriber reads its own bounded stream, and `publish` only appends to those streams. A consumer that
/// falls a whole buffer behind loses the newest events (counted and logged once a minute), never slows a push.
public final class EventBus: Sendable {
    private struct Subscriber: Sendable {
        let id: UInt64
        let name: String
        let continuation: AsyncStream<RegistryEvent>.Continuation
        let accepts: (@Sendable (RegistryEvent) -> Bool)?
    }

    private let subscribers = Mutex<[Subscriber]>([])
    private let nextID = Mutex<UInt64>(0)
    private let dropped = Mutex<(count: Int, lastLog: ContinuousClock.Instant?)>((0, nil))
    private let logger: Logger

    public init(logger: Logger = Logger(label: "wharf.events")) {
        self.logger = logger
    }

    /// A stream of every event published from now on (those `accepts` takes, when given: it runs in the
    /// publisher's task and must be cheap), holding at most `buffer` not yet read. A consumer that stops reading
    /// (its task cancelled, the stream dropped) is unsubscribed.
    public func subscribe(
        _ name: String,
        buffer: Int = 10_000,
        accepts: (@Sendable (RegistryEvent) -> Bool)? = nil
    ) -> AsyncStream<RegistryEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: RegistryEvent.self, bufferingPolicy: .bufferingOldest(buffer))
        let id = nextID.withLock { value in
            value += 1
            return value
        }
        subscribers.withLock { $0.append(Subscriber(id: id, name: name, continuation: continuation, accepts: accepts)) }
        continuation.onTermination = { [weak self] _ in self?.subscribers.withLock { list in list.removeAll { $0.id == id } } }
        return stream
    }

    /// How many consumers are subscribed now.
    public var subscriberCount: Int { subscribers.withLock { $0.count } }

    public func publish(_ event: RegistryEvent) {
        let current = subscribers.withLock { $0 }
        for subscriber in current {
            if let accepts = subscriber.accepts, !accepts(event) { continue }
            if case .dropped = subscriber.continuation.yield(event) { noteDrop(subscriber.name) }
        }
    }

    /// Ends every stream (at shutdown): consumers finish what they hold and return.
    public func finish() {
        let current = subscribers.withLock { list in
            defer { list.removeAll() }
            return list
        }
        for subscriber in current { subscriber.continuation.finish() }
    }

    private func noteDrop(_ name: String) {
        let now = ContinuousClock.now
        let report: Int? = dropped.withLock { state in
            state.count += 1
            if let last = state.lastLog, now - last < .seconds(60) { return nil }
            state.lastLog = now
            defer { state.count = 0 }
            return state.count
        }
        if let report {
            logger.warning("event consumer is behind; events dropped", metadata: ["consumer": "\(name)", "dropped": "\(report)"])
        }
    }
}
