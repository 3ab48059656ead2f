import NIOCore
import NIOTLS

/// Sits right behind the TLS handler to tell the ``ConnectionGuard`` (which is in front of TLS and so cannot see
/// TLS's events) that the handshake completed and which protocol ALPN chose; then it leaves the pipeline.
///
/// NIOSSL has no handshake timeout of its own: without this, a client that connects and never sends a
/// ClientHello holds its descriptor forever.
final class HandshakeObserver: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let connection: ConnectionGuard

    init(connection: ConnectionGuard) {
        self.connection = connection
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted(let negotiatedProtocol) = event {
            connection.handshakeCompleted(negotiatedProtocol: negotiatedProtocol)
            context.fireUserInboundEventTriggered(event)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}
