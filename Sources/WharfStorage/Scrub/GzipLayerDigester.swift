import CompressNIO
import NIOCore
import WharfCore

/// The digest of a gzip layer's uncompressed stream, computed while streaming: one chunk of the blob and one
/// window of output in memory at a time, whatever the layer's size.
///
/// Reads the way Go's `compress/gzip` does for docker and containerd: concatenated gzip members are one stream,
/// anything after the last member that is not another member is corrupt, and a stream that ends inside a member is
/// truncated.
struct GzipLayerDigester {
    /// Why a layer does not decompress.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Output window: large enough that hashing dominates over the calls into zlib.
    static let windowSize = 256 * 1024

    /// The uncompressed stream's digest with `algorithm` and its length. Throws ``Failure`` when the data is not a
    /// whole gzip stream, and the reader's errors.
    static func digest(of reader: any StorageReader, algorithm: OCIDigest.Algorithm) async throws -> (digest: OCIDigest, size: Int64) {
        let decompressor = try ZlibDecompressor(algorithm: .gzip)
        var hasher = ContentHasher(algorithm: algorithm)
        var window = ByteBufferAllocator().buffer(capacity: windowSize)
        var size: Int64 = 0
        func drain() {
            window.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
            size += Int64(window.readableBytes)
            window.clear()
        }
        // zlib stops before the end of its input only at the end of a member; what follows starts a new one.
        var memberEnded = false
        var spent: ByteBuffer?
        var chunks = reader.chunks().makeAsyncIterator()
        while var input = try await chunks.next() {
            while input.readableBytes > 0 {
                if memberEnded {
                    try decompressor.reset()
                    memberEnded = false
                }
                let before = input.readableBytes
                do {
                    try decompressor.inflate(from: &input, to: &window)
                    if input.readableBytes > 0 {
                        guard input.readableBytes < before || window.readableBytes > 0 else {
                            throw Failure(description: "the gzip stream does not continue")
                        }
                        memberEnded = true
                    }
                } catch let error as CompressNIOError where error == .bufferOverflow {
                    drain()
                } catch let error as CompressNIOError where error == .inputBufferOverflow {
                    // zlib wants the next chunk.
                } catch let error as CompressNIOError where error == .corruptData {
                    throw Failure(description: "the gzip data is corrupt after \(size) uncompressed bytes")
                }
            }
            spent = input
        }
        guard var empty = spent else { throw Failure(description: "the layer is empty, not a gzip stream") }
        // Out of input: drain what zlib still holds, then it must say the stream ended rather than ask for more.
        while true {
            drain()
            do {
                try decompressor.inflate(from: &empty, to: &window)
            } catch let error as CompressNIOError where error == .bufferOverflow {
                continue
            } catch let error as CompressNIOError where error == .inputBufferOverflow {
                throw Failure(description: "the gzip stream is truncated after \(size) uncompressed bytes")
            } catch let error as CompressNIOError where error == .corruptData {
                throw Failure(description: "the gzip data is corrupt after \(size) uncompressed bytes")
            }
            if window.readableBytes == 0 { break }
        }
        return (hasher.finalize(), size)
    }
}
