import Hummingbird
import NIOCore
import WharfStorage

/// The body of an upload request, read by the blob store through one iterator so that, when the store fails
/// part-way (the disk is full, the blob passes `uploads.max_blob_size`), the unread rest can still be read and
/// discarded before the error is answered.
///
/// An HTTP/1 client sends its whole body before it reads the answer. Hummingbird reads a body the handler left
/// unread only after the response, and not at all when the request said `Connection: close`: it closes the
/// connection with the client's bytes unread, the kernel resets it, and the client reports a dropped connection
/// instead of the 507 that says why. A request body can be iterated only once, so the rest is read here.
final class UploadBody: AsyncSequence {
    typealias Element = ByteBuffer

    /// The most unread bytes discarded after a failure (a body declared longer is answered at once, as before):
    /// a chunk of a chunked push is a few MiB, a refused monolithic layer may be any size.
    static var maxDiscarded: Int64 { 32 << 20 }
    /// How long discarding may go on: 32 MiB at 30 Mbit/s.
    static var maxDiscardTime: Duration { .seconds(10) }

    private var iterator: RequestBody.AsyncIterator
    /// Bytes taken from the body so far, by the consumer and by ``discardRest(declaredLength:maxBytes:within:)``.
    private(set) var received: Int64 = 0
    private var ended = false
    /// The body itself failed (the client went away or stalled): nothing more can be read.
    private var failed = false

    init(_ body: RequestBody) {
        iterator = body.makeAsyncIterator()
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let body: UploadBody

        func next() async throws -> ByteBuffer? {
            try await body.next()
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(body: self)
    }

    func next() async throws -> ByteBuffer? {
        guard !ended, !failed else { return nil }
        do {
            guard let buffer = try await iterator.next() else {
                ended = true
                return nil
            }
            received += Int64(buffer.readableBytes)
            return buffer
        } catch {
            failed = true
            throw error
        }
    }

    /// Reads and discards what is left of the body, within bounds: a rest declared longer than `maxBytes` is left
    /// alone, an undeclared one is read for at most `maxBytes`, and reading stops after `within` (checked between
    /// buffers; a client that stops sending is cut by `http.body_idle_timeout` as during any body).
    /// - Parameter declaredLength: the request's Content-Length (nil: chunked transfer encoding).
    /// - Returns: whether the body was read to its end (the connection can then answer and stay open).
    @discardableResult
    func discardRest(declaredLength: Int64?, maxBytes: Int64 = maxDiscarded, within: Duration = maxDiscardTime) async -> Bool {
        if ended { return true }
        if failed { return false }
        if let declaredLength, declaredLength - received > maxBytes { return false }
        let deadline = ContinuousClock.now + within
        var discarded: Int64 = 0
        do {
            while let buffer = try await next() {
                discarded += Int64(buffer.readableBytes)
                if discarded > maxBytes || ContinuousClock.now >= deadline { return false }
            }
            return true
        } catch {
            return false
        }
    }
}

extension RegistryController {
    /// Appends the body of an upload request to a checked-out session. When that fails, the body's unread rest is
    /// first read and discarded (bounded, see ``UploadBody``), so the client reads the error rather than a reset.
    func appendBody(of request: Request, to session: inout UploadSession, limit: Int64?) async throws {
        let body = UploadBody(request.body)
        do {
            try await blobs.append(body, to: &session, limit: limit, maxSize: maxBlobSize)
        } catch {
            await body.discardRest(declaredLength: declaredLength(request))
            throw error
        }
    }
}
