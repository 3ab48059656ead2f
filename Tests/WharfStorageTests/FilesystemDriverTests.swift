import Foundation
import NIOCore
import Testing
import WharfCore
import WharfStorage

@Suite("FilesystemDriver")
struct FilesystemDriverTests {
    /// The conformance suite checks that every method refuses these paths (``DriverConformanceTests``); here, that
    /// none of the refused calls touched anything outside the root.
    @Test(arguments: DriverConformanceTests.invalidPaths)
    func refusedPathsTouchNothingOutsideTheRoot(path: String) async throws {
        try await TemporaryStorage.with { storage in
            let driver = FilesystemDriver(root: storage.root + "/inner")
            try storage.makeDirectory(storage.root + "/inner/a")
            try storage.writeText(storage.root + "/escape", "outside")
            try? await driver.write(path, contents: Array("x".utf8))
            _ = try? await driver.read(path, limit: 1024)
            _ = try? await driver.stat(path)
            _ = try? await driver.list(path)
            try? await driver.delete(path)
            _ = try? await driver.writer(path, append: true)
            _ = try? await driver.reader(path)
            try? await driver.walk(path) { _ in .descend }
            try? await driver.move("a", to: path)
            try? await driver.move(path, to: "b")
            #expect(storage.text(storage.root + "/escape") == "outside")
            #expect(storage.entries(storage.root) == ["escape", "inner"])
            #expect(storage.entries(storage.root + "/inner") == ["a"])
        }
    }

    @Test func writeIsAtomicAndLeavesNoTemporaryFiles() async throws {
        try await TemporaryStorage.with { storage in
            let driver = storage.driver
            for round in 0..<5 {
                try await driver.write("x/y/file", contents: Array("round \(round)".utf8))
                #expect(storage.text(storage.root + "/x/y/file") == "round \(round)")
                #expect(storage.entries(storage.root + "/x/y") == ["file"])
            }
            #expect(storage.entries(storage.root) == ["x"])
            #expect(storage.entries(storage.root + "/x") == ["y"])
        }
    }

    /// The conformance suite checks that racing writes leave one whole content; here, that they leave no
    /// temporary file behind.
    @Test func concurrentWritesLeaveNoTemporaryFiles() async throws {
        try await TemporaryStorage.with { storage in
            let driver = storage.driver
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<32 {
                    group.addTask {
                        try await driver.write("shared/file", contents: [UInt8](repeating: UInt8(writer), count: 64 * 1024))
                    }
                }
                try await group.waitForAll()
            }
            #expect(storage.contents(storage.root + "/shared/file")?.count == 64 * 1024)
            #expect(storage.entries(storage.root + "/shared") == ["file"])
        }
    }

    /// A tag PUT racing a tag DELETE: each side may win, but neither may fail on the other's half-done work.
    @Test func writeRacingARemovalOfItsFolderNeverFails() async throws {
        try await TemporaryStorage.with(durable: false) { storage in
            let driver = storage.driver
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for _ in 0..<2000 { try await driver.write("tags/t/index/sha256/abc/link", contents: Array("x".utf8)) }
                }
                group.addTask {
                    for _ in 0..<2000 { try await driver.write("tags/t/current/link", contents: Array("x".utf8)) }
                }
                group.addTask {
                    for _ in 0..<2000 {
                        try await driver.delete("tags/t")
                        await Task.yield()
                    }
                }
                try await group.waitForAll()
            }
            try await driver.delete("tags/t")
            #expect(storage.entries(storage.root + "/tags").isEmpty)
        }
    }

    @Test func failedWriteLeavesNoTemporaryFile() async throws {
        try await TemporaryStorage.with { storage in
            // The destination is a non-empty folder, so the final rename fails.
            try storage.writeText(storage.root + "/dir/target/occupant", "x")
            await #expect(throws: StorageError.self) { try await storage.driver.write("dir/target", contents: Array("data".utf8)) }
            #expect(storage.entries(storage.root + "/dir") == ["target"])
            #expect(storage.entries(storage.root + "/dir/target") == ["occupant"])
        }
    }

    @Test func rootTrailingSlashesAreIgnored() async throws {
        try await TemporaryStorage.with { storage in
            let driver = FilesystemDriver(root: storage.root + "///", durable: false)
            #expect(driver.root == storage.root)
            try await driver.write("f", contents: Array("ok".utf8))
            #expect(storage.text(storage.root + "/f") == "ok")
        }
    }
}
