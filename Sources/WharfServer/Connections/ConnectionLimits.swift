/// How long a connection may hold a file descriptor without doing its part, and how many may be open at once
/// (`http.*`). Each timeout covers one phase in which the client owes the server bytes; none runs while the
/// server works on a request or writes its response, so a long download is never cut.
public struct ConnectionLimits: Sendable, Equatable {
    /// `http.tls_handshake_timeout`: from accept until the TLS handshake completes (counted from accept, so a
    /// handshake sent a byte at a time ends too).
    public var handshakeTimeout: Duration
    /// `http.request_head_timeout`: from the first byte of a request head until the whole head has arrived.
    public var requestHeadTimeout: Duration
    /// `http.idle_timeout`: a keep-alive connection with no request in flight and no bytes arriving (HTTP/2: no
    /// open stream).
    public var idleTimeout: Duration
    /// `http.body_idle_timeout`: while the server waits for more of a request body, no byte for this long ends
    /// the connection (an HTTP/2 stream alone). Time the server itself does not read (back-pressure) is not counted.
    public var bodyIdleTimeout: Duration
    /// `http.max_connections`; nil is `auto` (see ``DescriptorLimit/automaticConnectionCap``).
    public var maxConnections: Int?

    /// The defaults, from the configuration table (`http.*` in ``ConfigurationKey/all``).
    public init() { self = ServerConfiguration().connectionLimits }

    public init(handshakeTimeout: Duration, requestHeadTimeout: Duration, idleTimeout: Duration, bodyIdleTimeout: Duration, maxConnections: Int?) {
        self.handshakeTimeout = handshakeTimeout
        self.requestHeadTimeout = requestHeadTimeout
        self.idleTimeout = idleTimeout
        self.bodyIdleTimeout = bodyIdleTimeout
        self.maxConnections = maxConnections
    }
}
