import NIOCore

/// Sits right behind the TLS handler and joins the small writes of one flush into large buffers, so TLS sends
/// full 16 KiB records instead of one record per write.
///
/// NIOHTTP2 writes every DATA frame as two buffers, its 9-byte header and its payload (at most 16 KiB, the
/// client's SETTINGS_MAX_FRAME_SIZE), and NIOSSL encrypts each write as records of its own: an HTTP/2 download
/// became a 9-byte record, a 16 KiB record, a 9-byte record, and so on. A NIO client (AsyncHTTPClient, the
/// benchmark's) then regrows its plaintext buffer and copies the payloads again in its frame decoder, and pulled
/// at a quarter of the speed it gets from distribution, whose Go TLS stack fills its records whatever the frame
/// layout. One `memcpy` here costs far less than that. Writes of at least ``passThroughSize`` bytes (HTTP/1
/// bodies) go through as they are, after what was gathered before them: TLS already cuts them into full records.
final class TLSRecordCoalescer: ChannelOutboundHandler {
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    /// A write at least this large is passed on without a copy (after the bytes gathered before it).
    static let passThroughSize = 64 * 1024
    /// Gathered bytes are passed on once there are this many (a multiple of the 16 KiB TLS record).
    static let gatherSize = 256 * 1024
    /// What a flush of small writes starts with: the head of a response and a small body fit, and a connection
    /// that sends only small responses never holds a gather-sized buffer (allocating one per response slowed
    /// small HTTP/1 requests).
    static let smallSize = 4 * 1024
    /// A TLS record's largest payload.
    static let recordSize = 16 * 1024

    private var gathered: ByteBuffer?
    private var gatheredPromise: EventLoopPromise<Void>?

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .byteBuffer(var buffer) = unwrapOutboundIn(data) else {
            emitGathered(context: context)
            context.write(data, promise: promise)
            return
        }
        if buffer.readableBytes >= Self.passThroughSize {
            emitGathered(context: context)
            context.write(data, promise: promise)
            return
        }
        // A flush of a few small writes (an HTTP/1 response's head and a small body) gathers into a buffer of
        // their size; once a flush has gathered a record's worth (a stream of HTTP/2 DATA frames), room for a
        // whole gather is made at once, so the buffer does not grow step by step.
        var joined = gathered ?? context.channel.allocator.buffer(capacity: max(buffer.readableBytes, Self.smallSize))
        gathered = nil  // one reference, so the writes below do not copy the storage
        if buffer.readableBytes > joined.writableBytes {
            let needed = joined.readableBytes + buffer.readableBytes
            let capacity = joined.readableBytes >= Self.recordSize ? Self.gatherSize + Self.passThroughSize : 2 * needed
            joined.reserveCapacity(minimumWritableBytes: capacity - joined.readableBytes)
        }
        joined.writeBuffer(&buffer)
        gathered = joined
        if let promise {
            if let gatheredPromise {
                gatheredPromise.futureResult.cascade(to: promise)
            } else {
                gatheredPromise = promise
            }
        }
        if joined.readableBytes >= Self.gatherSize { emitGathered(context: context) }
    }

    func flush(context: ChannelHandlerContext) {
        emitGathered(context: context)
        context.flush()
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        emitGathered(context: context)
        context.close(mode: mode, promise: promise)
    }

    /// Bytes still gathered when the connection goes away were never flushed: their writes fail, as NIO fails them.
    func handlerRemoved(context: ChannelHandlerContext) {
        gathered = nil
        gatheredPromise?.fail(ChannelError.ioOnClosedChannel)
        gatheredPromise = nil
    }

    private func emitGathered(context: ChannelHandlerContext) {
        guard let buffer = gathered else { return }
        let promise = gatheredPromise
        gathered = nil
        gatheredPromise = nil
        context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: promise)
    }
}
