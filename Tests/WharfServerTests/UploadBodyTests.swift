import Hummingbird
import NIOCore
import Synchronization
import Testing

@testable import WharfServer

/// ``UploadBody``: after its consumer failed part-way, the rest of the body is read and discarded, within bounds.
@Suite struct UploadBodyTests {
    struct Refusal: Error {}

    /// `count` buffers of `size` bytes that count how many were taken, failing instead at `failAt` (0-based).
    struct Source: AsyncSequence, Sendable {
        final class Pulls: Sendable {
            let taken = Mutex(0)
            let ended = Mutex(false)
        }

        let count: Int
        let size: Int
        var failAt: Int?
        let pulls = Pulls()

        struct AsyncIterator: AsyncIteratorProtocol {
            let source: Source

            func next() async throws -> ByteBuffer? {
                let index = source.pulls.taken.withLock { taken in
                    defer { taken += 1 }
                    return taken
                }
                if index == source.failAt { throw Refusal() }
                guard index < source.count else {
                    source.pulls.ended.withLock { $0 = true }
                    return nil
                }
                return ByteBuffer(repeating: 1, count: source.size)
            }
        }

        func makeAsyncIterator() -> AsyncIterator { AsyncIterator(source: self) }
        var taken: Int { pulls.taken.withLock { $0 } }
        var ended: Bool { pulls.ended.withLock { $0 } }
    }

    /// Reads one buffer of `body` the way the blob store does, then fails as a full disk would.
    static func failAfterOneBuffer(_ body: UploadBody) async {
        await #expect(throws: Refusal.self) {
            for try await _ in body { throw Refusal() }
        }
    }

    @Test func readsTheRestToItsEndAfterAFailure() async {
        let source = Source(count: 4, size: 1024)
        let body = UploadBody(RequestBody(asyncSequence: source))
        await Self.failAfterOneBuffer(body)
        #expect(source.taken == 1)
        #expect(await body.discardRest(declaredLength: 4096))
        #expect(source.ended)
        #expect(body.received == 4096)
        // Read to its end: nothing more is asked of the connection.
        #expect(await body.discardRest(declaredLength: 4096))
        #expect(source.taken == 5)
    }

    @Test func leavesAloneARestDeclaredLongerThanTheBound() async {
        let source = Source(count: 4, size: 1024)
        let body = UploadBody(RequestBody(asyncSequence: source))
        await Self.failAfterOneBuffer(body)
        #expect(await body.discardRest(declaredLength: 4096, maxBytes: 3072 - 1) == false)
        #expect(source.taken == 1)
        // Exactly at the bound it is read.
        #expect(await body.discardRest(declaredLength: 4096, maxBytes: 3072))
        #expect(source.ended)
    }

    @Test func stopsAnUndeclaredRestAtTheBound() async {
        let source = Source(count: 4, size: 1024)
        let body = UploadBody(RequestBody(asyncSequence: source))
        await Self.failAfterOneBuffer(body)
        #expect(await body.discardRest(declaredLength: nil, maxBytes: 1500) == false)
        #expect(source.taken == 3)
        #expect(source.ended == false)
    }

    @Test func stopsAtTheDeadline() async {
        let source = Source(count: 4, size: 1024)
        let body = UploadBody(RequestBody(asyncSequence: source))
        await Self.failAfterOneBuffer(body)
        #expect(await body.discardRest(declaredLength: 4096, within: .zero) == false)
        #expect(source.taken == 2)
    }

    @Test func aBodyThatFailedItselfIsNotReadAgain() async {
        let source = Source(count: 4, size: 1024, failAt: 1)
        let body = UploadBody(RequestBody(asyncSequence: source))
        await #expect(throws: Refusal.self) {
            for try await _ in body {}
        }
        #expect(await body.discardRest(declaredLength: 4096) == false)
        #expect(source.taken == 2)
    }
}
