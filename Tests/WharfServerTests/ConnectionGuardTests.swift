import HTTPTypes
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
import Testing

@testable import WharfServer

/// The guard's and the tracker's timeouts on an `EmbeddedChannel`, whose clock only moves when told to.
@Suite struct ConnectionGuardTests {
    struct Connection {
        let channel: EmbeddedChannel
        let guarded: ConnectionGuard
        let table: ConnectionTable

        init(tls: Bool = false, tracker: Bool = false, capacity: Int = 10) throws {
            var limits = ConnectionLimits()
            limits.handshakeTimeout = .seconds(10)
            limits.requestHeadTimeout = .seconds(30)
            limits.idleTimeout = .seconds(75)
            limits.bodyIdleTimeout = .seconds(60)
            table = ConnectionTable(capacity: capacity)
            channel = EmbeddedChannel()
            guarded = ConnectionGuard(limits: limits, table: table, tls: tls, logger: Logger(label: "test"))
            try channel.pipeline.syncOperations.addHandler(guarded)
            if tracker { try channel.pipeline.syncOperations.addHandler(RequestTracker(bodyIdleTimeout: limits.bodyIdleTimeout)) }
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 5000)).wait()
        }

        func advance(_ seconds: Int64) { channel.embeddedEventLoop.advanceTime(by: .seconds(seconds)) }
        var isOpen: Bool { channel.isActive }
        func sendBytes(_ text: String) throws { try channel.writeInbound(ByteBuffer(string: text)) }
        func sendPart(_ part: HTTPRequestPart) throws { try channel.writeInbound(part) }
    }

    static let upload = HTTPRequest(method: .patch, scheme: "https", authority: "wharf", path: "/v2/a/blobs/uploads/1")

    @Test func handshakeTimeoutCountsFromAccept() throws {
        let connection = try Connection(tls: true)
        connection.advance(9)
        #expect(connection.isOpen)
        try connection.sendBytes("\u{16}\u{03}\u{01}")  // bytes do not extend the handshake
        connection.advance(2)
        #expect(!connection.isOpen)
        #expect(connection.table.count == 0)
    }

    @Test func completedHandshakeWaitsForTheIdleTimeout() throws {
        let connection = try Connection(tls: true)
        connection.advance(5)
        connection.guarded.handshakeCompleted(negotiatedProtocol: "http/1.1")
        connection.advance(74)
        #expect(connection.isOpen)
        connection.advance(2)
        #expect(!connection.isOpen)
    }

    @Test func requestHeadTimeoutIsNotExtendedByMoreBytes() throws {
        let connection = try Connection()
        connection.advance(60)
        try connection.sendBytes("GET / HTTP/1.1\r\n")
        for _ in 0..<5 {
            connection.advance(5)
            try connection.sendBytes("X")
        }
        #expect(connection.isOpen)
        connection.advance(6)
        #expect(!connection.isOpen)
    }

    @Test func nothingTimesOutWhileARequestIsInFlight() throws {
        let connection = try Connection(tracker: true)
        try connection.sendPart(.head(Self.upload))
        try connection.sendPart(.end(nil))
        connection.advance(3600)
        #expect(connection.isOpen)
        try connection.channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok)))
        connection.advance(3600)
        #expect(connection.isOpen)
        try connection.channel.writeOutbound(HTTPResponsePart.end(nil))
        connection.advance(74)
        #expect(connection.isOpen)
        connection.advance(2)
        #expect(!connection.isOpen)
    }

    @Test func stalledBodyEndsTheConnection() throws {
        let connection = try Connection(tracker: true)
        try connection.sendPart(.head(Self.upload))
        try connection.sendPart(.body(ByteBuffer(string: "some")))
        connection.channel.read()  // the server wants more
        connection.advance(50)
        try connection.sendPart(.body(ByteBuffer(string: "more")))
        connection.channel.read()
        connection.advance(59)
        #expect(connection.isOpen)
        connection.advance(2)
        #expect(!connection.isOpen)
    }

    @Test func bodyClockStopsWhileTheServerIsNotReading() throws {
        let connection = try Connection(tracker: true)
        try connection.sendPart(.head(Self.upload))
        try connection.sendPart(.body(ByteBuffer(string: "some")))
        // No read() from the server (back-pressure): the client is not to blame.
        connection.advance(600)
        #expect(connection.isOpen)
    }

    @Test func http2ConnectionIsBusyWhileStreamsAreOpen() throws {
        let connection = try Connection(tls: true)
        connection.guarded.handshakeCompleted(negotiatedProtocol: "h2")
        connection.guarded.streamOpened()
        connection.advance(3600)
        #expect(connection.isOpen)
        connection.guarded.streamClosed()
        connection.advance(75)
        #expect(connection.isOpen)  // Hummingbird's GOAWAY comes first; the guard waits a grace period
        connection.advance(6)
        #expect(!connection.isOpen)
    }

    @Test func newConnectionIsRefusedWhenEveryConnectionIsBusy() throws {
        let first = try Connection(tracker: true, capacity: 1)
        try first.sendPart(.head(Self.upload))
        let second = EmbeddedChannel()
        try second.pipeline.syncOperations.addHandler(
            ConnectionGuard(limits: ConnectionLimits(), table: first.table, tls: false, logger: Logger(label: "test"))
        )
        _ = second.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 5000))
        #expect(!second.isActive)
        #expect(first.isOpen)
        #expect(first.table.count == 1)
    }

    @Test func newConnectionAtTheCapClosesTheLongestIdle() throws {
        let first = try Connection(capacity: 2)
        let table = first.table
        var limits = ConnectionLimits()
        limits.idleTimeout = .seconds(75)
        func open() throws -> EmbeddedChannel {
            let channel = EmbeddedChannel()
            try channel.pipeline.syncOperations.addHandler(ConnectionGuard(limits: limits, table: table, tls: false, logger: Logger(label: "test")))
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 5000)).wait()
            return channel
        }
        let second = try open()
        let third = try open()
        first.channel.embeddedEventLoop.run()
        #expect(!first.isOpen)
        #expect(second.isActive)
        #expect(third.isActive)
        #expect(table.count == 2)
    }
}
