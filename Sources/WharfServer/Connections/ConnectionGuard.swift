import Logging
import NIOCore

/// The first handler of every accepted connection, in front of TLS: it holds the connection's place in the
/// ``ConnectionTable`` and closes the connection when the client stalls in a phase where it owes the server bytes
/// (the TLS handshake, a request head, an idle keep-alive, an idle HTTP/2 connection).
///
/// Sitting in front of TLS matters twice: raw bytes show when a request head starts (the HTTP decoder only
/// reports a head once it is complete), and closing from here skips NIOSSL's wait for the peer's close_notify,
/// so a stalled or evicted connection gives its file descriptor back at once.
///
/// The body of a request is watched by ``RequestTracker`` (which reports when a request is in flight); while one
/// is, no timeout here runs, so the server working on a request or writing a long response is never cut.
/// Everything runs on the connection's event loop; reads cost one comparison.
final class ConnectionGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    enum Phase {
        case handshaking(since: NIODeadline)
        /// No request in flight and no byte of the next one yet.
        case waiting(since: NIODeadline)
        /// Bytes of a request head have arrived, the head is not complete.
        case receivingHead(since: NIODeadline)
        /// A request is in flight: ``RequestTracker`` watches its body; nothing here runs.
        case busy
        /// HTTP/2: Hummingbird's connection manager sends GOAWAY after the idle timeout; this closes the
        /// connection a grace period later if the client never answers.
        case http2(openStreams: Int, idleSince: NIODeadline)
        case closed
    }

    /// How long after Hummingbird's HTTP/2 GOAWAY an idle HTTP/2 connection is closed regardless.
    static let http2Grace: TimeAmount = .seconds(5)

    private let handshakeTimeout: TimeAmount
    private let requestHeadTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private let table: ConnectionTable
    private let logger: Logger
    private(set) var phase: Phase = .closed
    private let tls: Bool
    private var context: ChannelHandlerContext?
    private var tableID: Int?
    /// At the cap with every connection busy: this one is closed as soon as it is active.
    private var refused = false
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?

    init(limits: ConnectionLimits, table: ConnectionTable, tls: Bool, logger: Logger) {
        handshakeTimeout = TimeAmount(limits.handshakeTimeout)
        requestHeadTimeout = TimeAmount(limits.requestHeadTimeout)
        idleTimeout = TimeAmount(limits.idleTimeout)
        self.table = table
        self.logger = logger
        self.tls = tls
    }

    /// The event loop's clock (virtual in tests with `EmbeddedEventLoop`).
    private var now: NIODeadline { context?.eventLoop.now ?? .now() }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        phase = tls ? .handshaking(since: now) : .waiting(since: now)
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let admission = table.admit {
            loopBound.eventLoop.execute { loopBound.value.close(reason: "connection cap reached, closing the longest-idle connection") }
        }
        if admission.shouldWarn {
            logger.warning(
                "http.max_connections reached: closing the longest-idle connections to admit new ones",
                metadata: ["cap": "\(table.capacity)"]
            )
        }
        admission.victim?()
        guard let id = admission.id else {
            // Added before the channel is registered: it is closed once active (see channelActive).
            logger.debug("refusing connection: the cap is reached and every connection has a request in flight")
            phase = .closed
            refused = true
            if context.channel.isActive { context.close(promise: nil) }
            return
        }
        tableID = id
        rearm()
    }

    func channelActive(context: ChannelHandlerContext) {
        if refused {
            context.close(promise: nil)
            return
        }
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        finish()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .waiting = phase {
            phase = .receivingHead(since: now)
            rearm()
        }
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // A graceful shutdown waits for every connection; one still in its handshake has nothing to finish.
        if event is ChannelShouldQuiesceEvent, case .handshaking = phase {
            close(reason: "shutting down")
        }
        context.fireUserInboundEventTriggered(event)
    }

    // MARK: - Events from HandshakeObserver and RequestTracker

    /// The TLS handshake is done; `negotiatedProtocol` is the ALPN choice.
    func handshakeCompleted(negotiatedProtocol: String?) {
        guard case .handshaking = phase else { return }
        phase = negotiatedProtocol == "h2" ? .http2(openStreams: 0, idleSince: now) : .waiting(since: now)
        rearm()
    }

    /// HTTP/1: a request is in flight (`true`: head received and the exchange not finished) or not.
    func requestInFlight(_ inFlight: Bool) {
        switch (phase, inFlight) {
        case (.closed, _), (.http2, _):
            return
        case (.busy, true):
            return
        case (_, true):
            phase = .busy
            if let tableID { table.markBusy(tableID) }
        case (.busy, false):
            phase = .waiting(since: now)
            if let tableID { table.markIdle(tableID) }
            rearm()
        case (_, false):
            return
        }
    }

    /// HTTP/2: a stream opened.
    func streamOpened() {
        switch phase {
        case .http2(let open, let since):
            phase = .http2(openStreams: open + 1, idleSince: since)
            if open == 0, let tableID { table.markBusy(tableID) }
        case .closed:
            return
        default:
            phase = .http2(openStreams: 1, idleSince: now)
            if let tableID { table.markBusy(tableID) }
        }
    }

    /// HTTP/2: a stream closed.
    func streamClosed() {
        guard case .http2(let open, let since) = phase else { return }
        if open <= 1 {
            phase = .http2(openStreams: 0, idleSince: now)
            if let tableID { table.markIdle(tableID) }
            rearm()
        } else {
            phase = .http2(openStreams: open - 1, idleSince: since)
        }
    }

    /// Closes the socket now, skipping TLS's close_notify exchange (the peer is stalled or evicted).
    func close(reason: String) {
        guard let context else { return }
        if case .closed = phase { return }
        logger.debug("closing connection", metadata: ["reason": "\(reason)", "peer": "\(context.channel.remoteAddress?.description ?? "?")"])
        finish()
        context.close(promise: nil)
    }

    // MARK: - Timer

    /// When the current phase ends the connection, or nil when no timeout runs.
    private var deadline: NIODeadline? {
        switch phase {
        case .handshaking(let since): return since + handshakeTimeout
        case .waiting(let since): return since + idleTimeout
        case .receivingHead(let since): return since + requestHeadTimeout
        case .http2(0, let since): return since + idleTimeout + Self.http2Grace
        case .busy, .http2, .closed: return nil
        }
    }

    private var phaseName: String {
        switch phase {
        case .handshaking: return "TLS handshake timeout (http.tls_handshake_timeout)"
        case .waiting: return "idle timeout (http.idle_timeout)"
        case .receivingHead: return "request head timeout (http.request_head_timeout)"
        case .http2: return "idle HTTP/2 connection (http.idle_timeout)"
        case .busy, .closed: return "closed"
        }
    }

    /// When the timer should next fire for `deadline`. While waiting it fires at least every request-head timeout,
    /// so that when the next request's first bytes arrive the timer is already due before the head's deadline:
    /// a keep-alive connection then schedules about one timer per `http.request_head_timeout`, not one per request.
    private func wakeUp(for deadline: NIODeadline) -> NIODeadline {
        guard case .waiting = phase else { return deadline }
        return min(deadline, now + requestHeadTimeout)
    }

    /// Makes sure a timer fires no later than the phase's deadline. A timer already due earlier is kept: it
    /// re-reads the deadline when it fires, so most phase changes cost no scheduling at all.
    private func rearm() {
        guard let deadline, let context else { return }
        if let timerDeadline, timerDeadline <= deadline { return }
        timer?.cancel()
        schedule(at: wakeUp(for: deadline), on: context.eventLoop)
    }

    private func schedule(at deadline: NIODeadline, on eventLoop: any EventLoop) {
        timerDeadline = deadline
        timer = eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            timerFired()
        }
    }

    private func timerFired() {
        timer = nil
        timerDeadline = nil
        guard let deadline, let context else { return }
        if deadline <= now {
            close(reason: phaseName)
        } else {
            schedule(at: wakeUp(for: deadline), on: context.eventLoop)
        }
    }

    /// Leaves the table and stops the timer; idempotent.
    private func finish() {
        phase = .closed
        timer?.cancel()
        timer = nil
        timerDeadline = nil
        if let tableID {
            table.remove(tableID)
            self.tableID = nil
        }
    }
}
