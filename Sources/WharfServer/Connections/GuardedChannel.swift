import HummingbirdCore
import Logging
import NIOCore
import NIOSSL

/// Wraps Hummingbird's child channel (``HTTP1Channel``, or ``HTTP2UpgradeChannel`` with TLS) so every accepted
/// connection, HTTP/1 or HTTP/2, starts with a ``ConnectionGuard`` in front of everything else and, with TLS,
/// a ``HandshakeObserver`` and a ``TLSRecordCoalescer`` right behind the TLS handler. Setting up and handling
/// the connection is otherwise the wrapped channel's.
struct GuardedChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value

    let base: Base
    let limits: ConnectionLimits
    let table: ConnectionTable
    /// Whether `base` puts a TLS handler in the pipeline (then the handshake timeout applies).
    let tls: Bool

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let connection = ConnectionGuard(limits: limits, table: table, tls: tls, logger: logger)
        do {
            try channel.pipeline.syncOperations.addHandler(connection, position: .first)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        let configured = base.setup(channel: channel, logger: logger)
        guard tls else { return configured }
        return configured.assumeIsolated().flatMapThrowing { value in
            let operations = channel.pipeline.syncOperations
            let tlsHandler = try operations.handler(type: NIOSSLServerHandler.self)
            try operations.addHandler(HandshakeObserver(connection: connection), position: .after(tlsHandler))
            try operations.addHandler(TLSRecordCoalescer(), position: .after(tlsHandler))
            return value
        }.nonisolated()
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

extension GuardedChannel: HTTPChannelHandler where Base: HTTPChannelHandler {
    var responder: HTTPChannelHandler.Responder { base.responder }
}
