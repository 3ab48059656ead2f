import NIOCore
import NIOEmbedded
import Synchronization
import Testing

@testable import WharfServer

/// What the handler behind TLS passes on: HTTP/2's frame headers and payloads joined, HTTP/1 bodies untouched.
@Suite struct TLSRecordCoalescerTests {
    static func channel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(TLSRecordCoalescer())
        return channel
    }

    static func bytes(_ count: Int, _ value: UInt8) -> ByteBuffer {
        ByteBuffer(repeating: value, count: count)
    }

    /// Counts the writes that succeeded and failed (an `EmbeddedEventLoop` runs the callbacks right away).
    final class Outcomes: Sendable {
        let succeeded = Atomic<Int>(0)
        let failed = Atomic<Int>(0)

        func watch(_ promise: EventLoopPromise<Void>) {
            promise.futureResult.whenComplete { result in
                switch result {
                case .success: self.succeeded.add(1, ordering: .relaxed)
                case .failure: self.failed.add(1, ordering: .relaxed)
                }
            }
        }
    }

    static func outbound(_ channel: EmbeddedChannel) throws -> [ByteBuffer] {
        var buffers: [ByteBuffer] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { buffers.append(buffer) }
        return buffers
    }

    @Test func frameHeadersAndPayloadsLeaveAsOneBufferOnFlush() throws {
        let channel = try Self.channel()
        var expected = ByteBuffer()
        let outcomes = Outcomes()
        for frame in 0..<4 {
            for part in [Self.bytes(9, UInt8(frame)), Self.bytes(16384, UInt8(frame + 100))] {
                var copy = part
                expected.writeBuffer(&copy)
                let promise = channel.eventLoop.makePromise(of: Void.self)
                outcomes.watch(promise)
                channel.write(part, promise: promise)
            }
        }
        #expect(try Self.outbound(channel).isEmpty)
        #expect(outcomes.succeeded.load(ordering: .relaxed) == 0)
        channel.flush()
        #expect(try Self.outbound(channel) == [expected])
        #expect(outcomes.succeeded.load(ordering: .relaxed) == 8)
    }

    @Test func gatheredBytesLeaveOnceTheyReachTheGatherSize() throws {
        let channel = try Self.channel()
        let frames = TLSRecordCoalescer.gatherSize / 16384 + 1
        for frame in 0..<frames {
            channel.write(Self.bytes(9, 1), promise: nil)
            channel.write(Self.bytes(16384, UInt8(frame)), promise: nil)
        }
        channel.flush()
        let sizes = try Self.outbound(channel).map(\.readableBytes)
        let full = TLSRecordCoalescer.gatherSize / 16384 * (9 + 16384)
        #expect(sizes == [full, frames * (9 + 16384) - full])
    }

    @Test func largeWritesPassUnjoinedAfterTheGatheredBytes() throws {
        let channel = try Self.channel()
        let head = Self.bytes(200, 1)
        let body = Self.bytes(2 * 1024 * 1024, 2)
        channel.write(head, promise: nil)
        channel.write(body, promise: nil)
        channel.write(body, promise: nil)
        channel.flush()
        #expect(try Self.outbound(channel) == [head, body, body])
    }

    @Test func unflushedBytesFailTheirWritesWhenTheConnectionCloses() throws {
        let channel = try Self.channel()
        let outcomes = Outcomes()
        let promise = channel.eventLoop.makePromise(of: Void.self)
        outcomes.watch(promise)
        channel.write(Self.bytes(9, 1), promise: promise)
        // Closed from in front of the coalescer (as the connection guard closes), so it only sees its removal.
        let context = try channel.pipeline.syncOperations.context(handlerType: TLSRecordCoalescer.self)
        context.close(promise: nil)
        channel.embeddedEventLoop.run()
        #expect(outcomes.failed.load(ordering: .relaxed) == 1)
        #expect(try Self.outbound(channel).isEmpty)
    }
}
