import Foundation
import NIOCore
import Testing
import WharfStorage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A full disk (`ENOSPC`) or quota (`EDQUOT`) is its own ``StorageError`` code, so the HTTP layer can say the
/// storage is full instead of answering a bug's 500; any other failure stays `io`.
@Suite("Storage full")
struct StorageFullTests {
    @Test(arguments: [ENOSPC, EDQUOT])
    func aFullDiskOrQuotaIsFull(systemError: Int32) {
        let error = StorageError.system("write", "/data/registry/x/data", systemError: systemError)
        #expect(error.code == .full)
        // The log line needs the path and the system's text.
        #expect(error.message.contains("/data/registry/x/data"))
        #expect(error.message.contains(String(cString: strerror(systemError))))
        #expect(error.message.contains("full"))
    }

    @Test(arguments: [EIO, EACCES, EROFS, ENOENT])
    func otherFailuresStayIO(systemError: Int32) {
        let error = StorageError.system("write", "/data/x", systemError: systemError)
        #expect(error.code == .io)
        #expect(error.message == "write /data/x: \(String(cString: strerror(systemError)))")
    }

    /// The driver's own write path: `/dev/full` answers every write with `ENOSPC`.
    @Test func theDriverReportsAFullDeviceAsFull() async throws {
        try #require(FileManager.default.isWritableFile(atPath: "/dev/full"), "this test needs /dev/full")
        let driver = FilesystemDriver(root: "/dev", durable: false)
        let writer = try await driver.writer("full", append: true)
        let error = await #expect(throws: StorageError.self) {
            try await writer.append(ByteBuffer(bytes: [UInt8](repeating: 7, count: 4096)))
        }
        try await writer.close()
        #expect(error?.code == .full)
        #expect(error?.message.contains("/dev/full") == true)
    }
}
