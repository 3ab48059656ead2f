import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Watches the request/response exchange on an HTTP/1 connection or one HTTP/2 stream (it is one of Hummingbird's
/// `additionalChannelHandlers`, so it sees decoded request and response parts).
///
/// - It tells the connection's ``ConnectionGuard`` when a request is in flight (from its head until both its
///   body has been received and the response's last byte has left for the socket), so no connection timeout
///   runs while the server works or writes; on HTTP/2 it counts the stream as open for the guard.
/// - It ends a request whose body stalls (`http.body_idle_timeout`): the clock only runs while the server has
///   asked for more bytes, so a server slowed by its own storage never blames the client. A stalled HTTP/1
///   connection is closed; on HTTP/2 only the stream is reset. The bytes that arrived are already in the upload
///   session, which stays resumable.
final class RequestTracker: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let bodyIdleTimeout: TimeAmount
    private var connection: ConnectionGuard?
    /// An HTTP/2 stream (the guard belongs to the parent channel).
    private var isStream = false
    private var context: ChannelHandlerContext?
    /// Request heads received whose response has not been completely written.
    private var openResponses = 0
    private var receivingBody = false
    private var inFlight = false
    /// When the server asked for more of the body and has not had any since.
    private var waitingForBodySince: NIODeadline?
    private var timer: Scheduled<Void>?

    init(bodyIdleTimeout: Duration) {
        self.bodyIdleTimeout = TimeAmount(bodyIdleTimeout)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if let connection = try? context.pipeline.syncOperations.handler(type: ConnectionGuard.self) {
            self.connection = connection
        } else if let parent = context.channel.parent, parent.eventLoop.inEventLoop,
            let connection = try? parent.pipeline.syncOperations.handler(type: ConnectionGuard.self)
        {
            self.connection = connection
            isStream = true
            connection.streamOpened()
        }
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
        switch unwrapInboundIn(data) {
        case .head:
            openResponses += 1
            receivingBody = true
            waitingForBodySince = nil
            updateInFlight()
        case .body:
            waitingForBodySince = nil
        case .end:
            receivingBody = false
            waitingForBodySince = nil
            updateInFlight()
        }
        context.fireChannelRead(data)
    }

    func read(context: ChannelHandlerContext) {
        if receivingBody, waitingForBodySince == nil {
            let now = context.eventLoop.now
            waitingForBodySince = now
            if timer == nil { schedule(at: now + bodyIdleTimeout) }
        }
        context.read()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .end = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        // The exchange ends when the response's last byte has been handed to the socket, not when it was queued:
        // a slow reader still draining a large blob is not idle.
        let written = promise ?? context.eventLoop.makePromise()
        written.futureResult.assumeIsolated().whenComplete { [self] _ in
            openResponses = max(0, openResponses - 1)
            updateInFlight()
        }
        context.write(data, promise: written)
    }

    private func updateInFlight() {
        let now = openResponses > 0 || receivingBody
        guard now != inFlight else { return }
        inFlight = now
        if !isStream { connection?.requestInFlight(now) }
    }

    private func schedule(at deadline: NIODeadline) {
        guard let context else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            timerFired()
        }
    }

    private func timerFired() {
        timer = nil
        guard receivingBody, let since = waitingForBodySince else { return }
        let deadline = since + bodyIdleTimeout
        guard let context, deadline <= context.eventLoop.now else {
            schedule(at: deadline)
            return
        }
        if !isStream, let connection {
            connection.close(reason: "request body stalled (http.body_idle_timeout)")
        } else {
            context.close(promise: nil)
        }
    }

    /// Stops the timer and, for a stream, tells the guard it closed; idempotent.
    private func finish() {
        timer?.cancel()
        timer = nil
        if isStream {
            isStream = false
            connection?.streamClosed()
        }
        connection = nil
    }
}
