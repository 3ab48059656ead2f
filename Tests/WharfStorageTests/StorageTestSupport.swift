import Foundation
import NIOCore
import Testing
import WharfCore
import WharfStorage

/// A fresh storage folder for one test, removed afterwards.
struct TemporaryStorage {
    let root: String
    let driver: FilesystemDriver

    static func with<T>(durable: Bool = true, _ body: (TemporaryStorage) async throws -> T) async throws -> T {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-storage-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        return try await body(TemporaryStorage(root: root, driver: FilesystemDriver(root: root, durable: durable)))
    }

    /// The absolute path of a path relative to `docker/registry/v2`.
    func v2(_ path: String) -> String { "\(root)/docker/registry/v2/\(path)" }

    func blobDataPath(_ digest: OCIDigest) -> String {
        v2("blobs/\(digest.algorithm.rawValue)/\(digest.hex.prefix(2))/\(digest.hex)/data")
    }

    func layerLinkPath(_ repository: String, _ digest: OCIDigest) -> String {
        v2("repositories/\(repository)/_layers/\(digest.algorithm.rawValue)/\(digest.hex)/link")
    }

    func uploadPath(_ repository: String, _ id: UploadID) -> String {
        v2("repositories/\(repository)/_uploads/\(id.value)")
    }

    func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    func contents(_ path: String) -> [UInt8]? { FileManager.default.contents(atPath: path).map { Array($0) } }

    func text(_ path: String) -> String? { contents(path).map { String(decoding: $0, as: UTF8.self) } }

    func entries(_ path: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }

    func writeText(_ path: String, _ text: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    func makeDirectory(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
}

/// An async sequence of byte buffers, standing in for a request body.
struct Chunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer

    let buffers: [ByteBuffer]

    init(_ buffers: [ByteBuffer]) { self.buffers = buffers }

    init(_ bytes: [UInt8], chunkSize: Int) {
        var buffers: [ByteBuffer] = []
        var start = 0
        while start < bytes.count {
            buffers.append(ByteBuffer(bytes: bytes[start..<Swift.min(start + chunkSize, bytes.count)]))
            start += chunkSize
        }
        self.buffers = buffers
    }

    init(_ strings: String...) { self.buffers = strings.map { ByteBuffer(string: $0) } }

    struct AsyncIterator: AsyncIteratorProtocol {
        var remaining: ArraySlice<ByteBuffer>
        mutating func next() async -> ByteBuffer? { remaining.popFirst() }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(remaining: buffers[...]) }
}

/// A body that yields its buffers and then fails, like a dropped connection.
struct FailingChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    struct Dropped: Error {}

    let buffers: [ByteBuffer]

    struct AsyncIterator: AsyncIteratorProtocol {
        var remaining: ArraySlice<ByteBuffer>
        mutating func next() async throws -> ByteBuffer? {
            guard let next = remaining.popFirst() else { throw Dropped() }
            return next
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(remaining: buffers[...]) }
}

/// Expects `body` to throw a `ContentError` with `code`.
@discardableResult
func expectContentError(
    _ code: ContentError.Code,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> Void
) async -> ContentError? {
    let error = await #expect(throws: ContentError.self, sourceLocation: sourceLocation) { try await body() }
    #expect(error?.code == code, "got \(error.map(String.init(describing:)) ?? "no error")", sourceLocation: sourceLocation)
    return error
}

/// Uploads `bytes` as a blob of `repository` in one chunk and returns its digest.
@discardableResult
func pushBlob(
    _ bytes: [UInt8],
    to repository: RepositoryName,
    in store: BlobStore,
    algorithm: OCIDigest.Algorithm = .sha256
) async throws
    -> OCIDigest
{
    var session = try await store.startUpload(in: repository)
    session = try await store.checkOut(session.id, in: repository)
    try await store.append(Chunks([ByteBuffer(bytes: bytes)]), to: &session)
    let digest = OCIDigest.of(bytes, algorithm: algorithm)
    _ = try await store.commit(session, expected: digest)
    return digest
}

func randomBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
}
