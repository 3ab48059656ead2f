import HummingbirdCore
import HummingbirdHTTP2
import NIOSSL

extension HTTPServerBuilder {
    /// Wharf's server: HTTP/1.1 and HTTP/2 (ALPN) over TLS, or plain HTTP/1.1, each connection behind a
    /// ``ConnectionGuard`` and each request (HTTP/2: each stream) watched by a ``RequestTracker``; on HTTP/1 a
    /// ``ReasonPhraseKeeper`` keeps the reason phrases of refusals.
    ///
    /// Hummingbird's own HTTP/1 idle timeout is left off: it measures one duration for idle connections and
    /// stalled bodies alike and cannot see a partly received head. For HTTP/2 its connection manager sends the
    /// GOAWAY after `http.idle_timeout` without open streams; the guard closes the connection if the client
    /// ignores it.
    static func guarded(tlsConfiguration: TLSConfiguration?, limits: ConnectionLimits, table: ConnectionTable) -> HTTPServerBuilder {
        let bodyIdleTimeout = limits.bodyIdleTimeout
        let perRequest = HTTP1Channel.Configuration(additionalChannelHandlers: [
            RequestTracker(bodyIdleTimeout: bodyIdleTimeout), ReasonPhraseKeeper(),
        ])
        return HTTPServerBuilder { responder in
            if let tlsConfiguration {
                let upgrade = try HTTP2UpgradeChannel(
                    tlsConfiguration: tlsConfiguration,
                    configuration: .init(idleTimeout: limits.idleTimeout, streamConfiguration: perRequest),
                    responder: responder
                )
                return GuardedChannel(base: upgrade, limits: limits, table: table, tls: true)
            }
            let http1 = HTTP1Channel(responder: responder, configuration: perRequest)
            return GuardedChannel(base: http1, limits: limits, table: table, tls: false)
        }
    }
}
