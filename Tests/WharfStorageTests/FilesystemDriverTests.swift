import Foundation
import NIOCore
import Testing
import WharfCore
import WharfStorage

@Suite("FilesystemDriver")
struct FilesystemDriverTests {
    static let badPaths = [
        "..",
        "../escape",
        "a/../../escape",
        "a/..",
        ".",
        "a/./b",
        "/etc/passwd",
        "a//b",
        "a/",
        "",
        "a\0b",
    ]

    static func expectInvalidPath(_ path: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void) async {
        let error = await #expect(throws: StorageError.self, "\(path.debugDescription)", sourceLocation: sourceLocation) { try await body() }
        #expect(error?.code == .invalidPath, sourceLocation: sourceLocation)
    }

    @Test(arguments: badPaths)
    func refusesPathsThatLeaveTheRoot(path: String) async throws {
        try await TemporaryStorage.with { storage in
            let driver = FilesystemDriver(root: storage.root + "/inner")
            try storage.makeDirectory(storage.root + "/inner/a")
            try storage.writeText(storage.root + "/escape", "outside")
            await Self.expectInvalidPath(path) { try await driver.write(path, contents: Array("x".utf8)) }
            await Self.expectInvalidPath(path) { _ = try await driver.read(path, limit: 1024) }
            await Self.expectInvalidPath(path) { _ = try await driver.stat(path) }
            await Self.expectInvalidPath(path) { _ = try await driver.list(path) }
            await Self.expectInvalidPath(path) { try await driver.delete(path) }
            await Self.expectInvalidPath(path) { _ = try await driver.writer(path, append: true) }
            await Self.expectInvalidPath(path) { _ = try await driver.reader(path) }
            await Self.expectInvalidPath(path) { try await driver.walk(path) { _ in .descend } }
            await Self.expectInvalidPath(path) { try await driver.move("a", to: path) }
            await Self.expectInvalidPath(path) { try await driver.move(path, to: "b") }
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

    @Test func concurrentWritersNeverMix() async throws {
        try await TemporaryStorage.with { storage in
            let driver = storage.driver
            let size = 64 * 1024
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<32 {
                    group.addTask {
                        try await driver.write("shared/file", contents: [UInt8](repeating: UInt8(writer), count: size))
                    }
                }
                try await group.waitForAll()
            }
            let contents = try #require(storage.contents(storage.root + "/shared/file"))
            #expect(contents.count == size)
            #expect(Set(contents).count == 1)
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

    @Test func readInfoListRemove() async throws {
        try await TemporaryStorage.with { storage in
            let driver = storage.driver
            #expect(try await driver.read("missing", limit: 10) == nil)
            #expect(try await driver.read("missing/deeper", limit: 10) == nil)
            #expect(try await driver.stat("missing") == nil)
            #expect(try await driver.list("missing") == nil)
            try await driver.delete("missing")

            try await driver.write("d/one", contents: Array("12345".utf8))
            try await driver.write("d/two", contents: [])
            #expect(try await driver.read("d/one", limit: 5) == Array("12345".utf8))
            await #expect(throws: StorageError.self) { _ = try await driver.read("d/one", limit: 4) }
            #expect(try await driver.read("d", limit: 10) == nil)
            #expect(try await driver.read("d/one/below", limit: 10) == nil)

            let info = try #require(try await driver.stat("d/one"))
            #expect(info.size == 5)
            #expect(!info.isDirectory)
            #expect(abs(info.modified - Date().timeIntervalSince1970) < 60)
            #expect(try await driver.stat("d")?.isDirectory == true)
            #expect(try await driver.list("d") == ["one", "two"])

            try await driver.delete("d")
            #expect(!storage.exists(storage.root + "/d"))
        }
    }

    @Test func moveMakesParentsAndReplaces() async throws {
        try await TemporaryStorage.with { storage in
            let driver = storage.driver
            try await driver.write("src", contents: Array("new".utf8))
            try await driver.write("deep/er/dst", contents: Array("old".utf8))
            try await driver.move("src", to: "deep/er/dst")
            #expect(storage.text(storage.root + "/deep/er/dst") == "new")
            #expect(!storage.exists(storage.root + "/src"))
            try await driver.write("src2", contents: Array("x".utf8))
            try await driver.move("src2", to: "brand/new/place")
            #expect(storage.text(storage.root + "/brand/new/place") == "x")
        }
    }

    @Test func writerAndReaderAtOffsets() async throws {
        try await TemporaryStorage.with { storage in
            let driver = storage.driver
            let writer = try await driver.writer("w/data", append: false)
            try await writer.append(ByteBuffer(string: "hello "))
            try await writer.close()
            let resumed = try await driver.writer("w/data", append: true)
            #expect(resumed.size == 6)
            try await resumed.append(ByteBuffer(string: "world"))
            try await resumed.commit()
            #expect(storage.text(storage.root + "/w/data") == "hello world")

            let reader = try #require(try await driver.reader("w/data"))
            #expect(reader.size == 11)
            let allocator = ByteBufferAllocator()
            #expect(String(buffer: try await reader.read(at: 0, length: 5, allocator: allocator)) == "hello")
            #expect(String(buffer: try await reader.read(at: 6, length: 3, allocator: allocator)) == "wor")
            #expect(String(buffer: try await reader.read(at: 1, length: 9, allocator: allocator)) == "ello worl")
            #expect(String(buffer: try await reader.read(at: 6, length: 100, allocator: allocator)) == "world")
            #expect(try await reader.read(at: 11, length: 10, allocator: allocator).readableBytes == 0)
            #expect(try await driver.reader("w") == nil)
            #expect(try await driver.reader("w/missing") == nil)
        }
    }

    @Test(arguments: [1, 10, 100, 1000, 5000, 65_535])
    func readerReturnsExactlyTheRequestedLength(length: Int) async throws {
        try await TemporaryStorage.with { storage in
            let content = randomBytes(70_000)
            try await storage.driver.write("blob", contents: content)
            let reader = try #require(try await storage.driver.reader("blob"))
            let buffer = try await reader.read(at: 3, length: length, allocator: ByteBufferAllocator())
            #expect(buffer.readableBytes == length)
            // Compared by digest to keep failure messages short.
            #expect(OCIDigest.of(buffer.readableBytesView) == OCIDigest.of(content[3..<(3 + length)]))
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
