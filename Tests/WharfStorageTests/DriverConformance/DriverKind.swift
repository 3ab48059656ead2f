import Foundation
import NIOCore
import Testing
import WharfStorage

/// Every driver the conformance suite runs against; a new driver (S3-compatible) adds a case here and passes the
/// whole suite.
enum DriverKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case filesystem
    case filesystemNotDurable = "filesystem, not durable"
    case memory

    var testDescription: String { rawValue }

    /// A fresh, empty storage for one test, removed afterwards.
    func with<T>(_ body: (DriverUnderTest) async throws -> T) async throws -> T {
        switch self {
        case .filesystem, .filesystemNotDurable:
            let durable = self == .filesystem
            return try await TemporaryStorage.with(durable: durable) { storage in
                let root = storage.root
                return try await body(DriverUnderTest(driver: storage.driver) { FilesystemDriver(root: root, durable: durable) })
            }
        case .memory:
            let driver = MemoryDriver()
            return try await body(DriverUnderTest(driver: driver) { MemoryDriver(sharing: driver) })
        }
    }

    /// A storage with no room left, where appends to `FullStorage.path` throw ``StorageError/Code/full``.
    func withFullStorage(_ body: (FullStorage) async throws -> Void) async throws {
        switch self {
        case .filesystem, .filesystemNotDurable:
            // `/dev/full` answers every write with ENOSPC (and reads as endless zeros: its content cannot be checked).
            try #require(FileManager.default.isWritableFile(atPath: "/dev/full"), "this test needs /dev/full")
            let driver = FilesystemDriver(root: "/dev", durable: self == .filesystem)
            try await body(FullStorage(driver: driver, path: "full", content: nil, room: 0, checksWholeWrites: false))
        case .memory:
            let driver = MemoryDriver(capacity: 1000)
            let content = (0..<990).map { UInt8(truncatingIfNeeded: $0) }
            try await driver.write("data/file", contents: content)
            try await body(FullStorage(driver: driver, path: "data/file", content: content, room: 10, checksWholeWrites: true))
        }
    }
}

/// A driver under test, and a way to open its storage again.
struct DriverUnderTest {
    let driver: any StorageDriver
    /// A new driver on the same storage, as a restarted process makes (same root, same backing store).
    let reopen: @Sendable () -> any StorageDriver
}

/// A driver whose storage is (almost) full.
struct FullStorage {
    let driver: any StorageDriver
    /// A file whose appends fail with ``StorageError/Code/full`` once `room` more bytes are written.
    let path: String
    /// What the file holds, or nil when it cannot be read back.
    let content: [UInt8]?
    /// How many more bytes fit.
    let room: Int
    /// Whether a whole-file `write` of more than `room` bytes elsewhere fails with ``StorageError/Code/full`` too
    /// (`/dev` takes new files: only the appends to `/dev/full` can fail there).
    let checksWholeWrites: Bool
}
