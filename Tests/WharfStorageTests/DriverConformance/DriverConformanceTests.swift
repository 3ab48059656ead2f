import Foundation
import NIOCore
import Synchronization
import Testing
import WharfCore
import WharfStorage

/// The ``StorageDriver`` contract, run against every driver (``DriverKind``): what the protocol's doc comments
/// promise, stated as tests. Each test makes a fresh storage.
@Suite("Storage driver conformance")
struct DriverConformanceTests {
    // MARK: Atomic visibility

    /// `write` replaces a file in one step: readers running at the same time see the old content or the new one,
    /// whole, and never a missing file.
    @Test(arguments: DriverKind.allCases)
    func writeReplacesAtomically(kind: DriverKind) async throws {
        try await kind.with { storage in
            let driver = storage.driver
            let contents = [[UInt8](repeating: 1, count: 65_537), [UInt8](repeating: 2, count: 98_307)]
            try await driver.write("a/file", contents: contents[0])
            let writesLeft = Countdown(2)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<2 {
                    group.addTask {
                        for round in 0..<60 {
                            try await driver.write("a/file", contents: contents[(round + writer) % 2], durable: round % 10 == 0)
                        }
                        writesLeft.done()
                    }
                }
                for _ in 0..<3 {
                    group.addTask {
                        // At least 20 rounds, then on until the writers are done.
                        var round = 0
                        while round < 20 || !writesLeft.isOver {
                            round += 1
                            // Compared as booleans: a failure message listing the bytes would take minutes to print.
                            let whole = try await driver.read("a/file", limit: 1 << 20)
                            let wholeMatches = whole == contents[0] || whole == contents[1]
                            #expect(wholeMatches, "read: \(whole?.count ?? -1) bytes")
                            let info = try await driver.stat("a/file")
                            #expect(info?.size == 65_537 || info?.size == 98_307, "stat: \(String(describing: info))")
                            let reader = try #require(try await driver.reader("a/file"))
                            var streamed: [UInt8] = []
                            for try await chunk in reader.chunks(chunkSize: 16_381) { streamed += chunk.readableBytesView }
                            let streamedMatches = streamed == contents[0] || streamed == contents[1]
                            #expect(streamedMatches, "reader: \(streamed.count) bytes")
                            #expect(Int64(streamed.count) == reader.size)
                            await Task.yield()
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await driver.list("a") == ["file"])
        }
    }

    /// What a writer wrote is visible, whole and with its final size, to `read`, `stat` and `reader` once it ends
    /// with `commit` or `close`; a writer opened on a missing file creates it.
    @Test(arguments: DriverKind.allCases)
    func writerContentIsVisibleOnceItEnds(kind: DriverKind) async throws {
        try await kind.with { storage in
            let driver = storage.driver
            for (index, ending) in ["commit", "close"].enumerated() {
                let path = "w\(index)/deeper/data"
                let writer = try await driver.writer(path, append: false)
                #expect(writer.size == 0)
                for part in ["one ", "two ", "three"] {
                    try await writer.append(ByteBuffer(string: part))
                }
                #expect(writer.size == 13)
                if ending == "commit" { try await writer.commit() } else { try await writer.close() }
                #expect(try await driver.read(path, limit: 100) == Array("one two three".utf8), "\(ending)")
                #expect(try await driver.stat(path)?.size == 13, "\(ending)")
                #expect(try await driver.stat(path)?.isDirectory == false, "\(ending)")
                #expect(try await driver.reader(path)?.size == 13, "\(ending)")
                #expect(try await storage.reopen().read(path, limit: 100) == Array("one two three".utf8), "\(ending)")
            }
            // Either mode creates a missing file, empty when nothing is appended (an upload starts so).
            for append in [false, true] {
                let path = "empty/\(append)"
                try await driver.writer(path, append: append).close()
                #expect(try await driver.stat(path)?.size == 0, "append: \(append)")
                #expect(try await driver.read(path, limit: 0) == [], "append: \(append)")
            }
        }
    }

    // MARK: Resumable writers

    /// A writer closed by one process is resumed by the next: a new driver on the same storage opens it with
    /// `append`, finds its size, and what it appends follows; `append: false` starts a new, empty file.
    @Test(arguments: DriverKind.allCases)
    func writersResumeAfterARestart(kind: DriverKind) async throws {
        try await kind.with { storage in
            let first = try await storage.driver.writer("w/data", append: false)
            try await first.append(ByteBuffer(string: "hello "))
            try await first.close()

            let restarted = storage.reopen()
            let resumed = try await restarted.writer("w/data", append: true)
            #expect(resumed.size == 6)
            try await resumed.append(ByteBuffer(string: "wor"))
            try await resumed.append(ByteBuffer(string: "ld"))
            #expect(resumed.size == 11)
            try await resumed.commit()
            #expect(try await restarted.read("w/data", limit: 100) == Array("hello world".utf8))
            #expect(try await storage.driver.read("w/data", limit: 100) == Array("hello world".utf8))

            let again = storage.reopen()
            let reader = try #require(try await again.reader("w/data"))
            #expect(reader.size == 11)
            let allocator = ByteBufferAllocator()
            #expect(String(buffer: try await reader.read(at: 0, length: 5, allocator: allocator)) == "hello")
            #expect(String(buffer: try await reader.read(at: 6, length: 3, allocator: allocator)) == "wor")
            #expect(String(buffer: try await reader.read(at: 1, length: 9, allocator: allocator)) == "ello worl")
            #expect(String(buffer: try await reader.read(at: 6, length: 100, allocator: allocator)) == "world")
            #expect(try await reader.read(at: 11, length: 10, allocator: allocator).readableBytes == 0)

            let fresh = try await again.writer("w/data", append: false)
            #expect(fresh.size == 0)
            try await fresh.append(ByteBuffer(string: "new"))
            try await fresh.commit()
            #expect(try await storage.driver.read("w/data", limit: 100) == Array("new".utf8))
        }
    }

    /// `read(at:length:into:)` gives exactly the bytes asked for, reusing the caller's buffer.
    @Test(arguments: DriverKind.allCases, [1, 10, 100, 1000, 5000, 65_535])
    func readerReturnsExactlyTheRequestedLength(kind: DriverKind, length: Int) async throws {
        try await kind.with { storage in
            let content = randomBytes(70_000)
            try await storage.driver.write("blob", contents: content)
            let reader = try #require(try await storage.driver.reader("blob"))
            let buffer = try await reader.read(at: 3, length: length, allocator: ByteBufferAllocator())
            #expect(buffer.readableBytes == length)
            // Compared by digest to keep failure messages short.
            #expect(OCIDigest.of(buffer.readableBytesView) == OCIDigest.of(content[3..<(3 + length)]))
            var reused = ByteBufferAllocator().buffer(string: "stale content that must go")
            #expect(try await reader.read(at: 69_990, length: length, into: &reused) == min(length, 10))
            #expect(Array(reused.readableBytesView) == Array(content[69_990..<(69_990 + min(length, 10))]))
        }
    }

    // MARK: Failed appends, cancel

    /// An append that throws leaves the file as it was before it: no part of its buffer stays. A full storage
    /// throws ``StorageError/Code/full``.
    @Test(arguments: DriverKind.allCases)
    func aFailedAppendLeavesTheFileAsItWas(kind: DriverKind) async throws {
        try await kind.withFullStorage { full in
            let writer = try await full.driver.writer(full.path, append: true)
            let start = writer.size
            #expect(start == Int64(full.content?.count ?? 0))
            let fitting = [UInt8](repeating: 42, count: full.room)
            if full.room > 0 { try await writer.append(ByteBuffer(bytes: fitting)) }
            let error = await #expect(throws: StorageError.self) {
                try await writer.append(ByteBuffer(bytes: [UInt8](repeating: 7, count: 4096)))
            }
            #expect(error?.code == .full, "\(String(describing: error))")
            #expect(writer.size == start + Int64(full.room))
            try await writer.close()
            if let content = full.content {
                #expect(try await full.driver.read(full.path, limit: 1 << 20) == content + fitting)
            }
            if full.checksWholeWrites {
                let error = await #expect(throws: StorageError.self) {
                    try await full.driver.write("data/other", contents: [UInt8](repeating: 1, count: 4096))
                }
                #expect(error?.code == .full)
                #expect(try await full.driver.stat("data/other") == nil)
            }
        }
    }

    /// `cancel` removes the file, whatever the writer's mode; a new writer then starts empty.
    @Test(arguments: DriverKind.allCases)
    func cancelRemovesTheFile(kind: DriverKind) async throws {
        try await kind.with { storage in
            let driver = storage.driver
            for append in [true, false] {
                try await driver.write("c/data", contents: Array("before".utf8))
                let writer = try await driver.writer("c/data", append: append)
                try await writer.append(ByteBuffer(string: "more"))
                try await writer.cancel()
                #expect(try await driver.stat("c/data") == nil, "append: \(append)")
                #expect(try await driver.read("c/data", limit: 100) == nil, "append: \(append)")
                #expect(try await driver.reader("c/data") == nil, "append: \(append)")
                #expect(try await driver.writer("c/data", append: true).size == 0, "append: \(append)")
                try await driver.delete("c/data")
            }
        }
    }

    // MARK: Concurrent writers

    /// Whole-file writes racing on one path: the file ends as one of them, whole.
    @Test(arguments: DriverKind.allCases)
    func racingWritesLeaveOneWholeContent(kind: DriverKind) async throws {
        try await kind.with { storage in
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
            let contents = try #require(try await driver.read("shared/file", limit: 1 << 20))
            #expect(contents.count == size)
            #expect(Set(contents).count == 1)
            #expect(try await driver.list("shared") == ["file"])
        }
    }

    /// Writers opened with `append: false` racing on one path, each appending in parts: the file ends as the whole
    /// content of one of them (the last to end), never a mix.
    @Test(arguments: DriverKind.allCases)
    func racingNewFileWritersLeaveOneWholeContent(kind: DriverKind) async throws {
        try await kind.with { storage in
            let driver = storage.driver
            for round in 0..<4 {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for writer in 0..<6 {
                        group.addTask {
                            let file = try await driver.writer("shared/data", append: false)
                            for _ in 0..<5 {
                                try await file.append(ByteBuffer(bytes: [UInt8](repeating: UInt8(writer), count: 4099 + 512 * writer)))
                                await Task.yield()
                            }
                            if writer % 2 == 0 { try await file.commit() } else { try await file.close() }
                        }
                    }
                    try await group.waitForAll()
                }
                let contents = try #require(try await driver.read("shared/data", limit: 1 << 20))
                let winner = try #require(contents.first)
                let whole = contents == [UInt8](repeating: winner, count: 5 * (4099 + 512 * Int(winner)))
                #expect(whole, "round \(round): \(contents.count) bytes, \(Set(contents).sorted()) from writers")
                #expect(try await driver.list("shared") == ["data"], "round \(round)")
            }
        }
    }

    // MARK: Listing and walking

    static let orderedNames = ["B", "a", "a-c", "a.b", "a_b", "b", "sub", "é"]

    /// `list` gives the names of a folder's files and folders in the byte order of their UTF-8, and nil for a
    /// missing folder or a file.
    @Test(arguments: DriverKind.allCases)
    func listsNamesInByteOrder(kind: DriverKind) async throws {
        try await kind.with { storage in
            let driver = storage.driver
            for name in Self.orderedNames.reversed() where name != "sub" {
                try await driver.write("d/\(name)", contents: Array(name.utf8))
            }
            try await driver.write("d/sub/x", contents: [])
            #expect(try await driver.list("d") == Self.orderedNames)
            #expect(try await driver.list("d/sub") == ["x"])
            #expect(try await driver.list("missing") == nil)
            #expect(try await driver.list("d/missing") == nil)
            #expect(try await driver.list("d/a") == nil)
            #expect(try await driver.list("d/a/below") == nil)
        }
    }

    /// Listings never show the work in progress of writes: a folder being written to lists its files only.
    @Test(arguments: DriverKind.allCases)
    func listingsDuringWritesShowOnlyFiles(kind: DriverKind) async throws {
        try await kind.with { storage in
            let driver = storage.driver
            try await driver.write("d/file", contents: [1])
            let open = try await driver.writer("d/new", append: false)
            try await open.append(ByteBuffer(string: "x"))
            let listed = try await driver.list("d") ?? []
            #expect(Set(listed).isSubset(of: ["file", "new"]), "\(listed)")
            try await open.close()
            #expect(try await driver.list("d") == ["file", "new"])
            try await driver.delete("d/new")

            let writesLeft = Countdown(2)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<2 {
                    group.addTask {
                        // Durable writes (on a durable driver) keep their work in progress around longest.
                        for _ in 0..<60 { try await driver.write("d/file", contents: [UInt8](repeating: 1, count: 65_536)) }
                        writesLeft.done()
                    }
                }
                group.addTask {
                    var round = 0
                    while round < 20 || !writesLeft.isOver {
                        round += 1
                        let names = try await driver.list("d")
                        #expect(names == ["file"])
                        var walked: [String] = []
                        try await driver.walk("d") { entry in
                            walked.append(entry.path)
                            return .descend
                        }
                        #expect(walked == ["d/file"])
                        await Task.yield()
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    static let tree = ["w/a/x", "w/a/y/z", "w/a-b", "w/a.c/q", "w/b", "w/é/e"]

    /// Walks `w` (made of ``tree``) and returns the paths visited; `step` decides each visit.
    static func walk(
        _ driver: any StorageDriver,
        _ path: String = "w",
        step: (StorageEntry) -> WalkStep = { _ in .descend }
    ) async throws
        -> [String]
    {
        var visited: [String] = []
        try await driver.walk(path) { entry in
            visited.append(entry.path)
            return step(entry)
        }
        return visited
    }

    /// `walk` goes depth first, a folder before its content, the entries of each folder in the byte order of their
    /// names (so `w/a/x` comes before `w/a-b`, though `/` sorts after `-`).
    @Test(arguments: DriverKind.allCases)
    func walkGoesDepthFirstInByteOrder(kind: DriverKind) async throws {
        try await kind.with { storage in
            let driver = storage.driver
            for path in Self.tree.reversed() { try await driver.write(path, contents: Array(path.utf8)) }
            var entries: [StorageEntry] = []
            try await driver.walk("w") { entry in
                entries.append(entry)
                return .descend
            }
            #expect(entries.map(\.path) == ["w/a", "w/a/x", "w/a/y", "w/a/y/z", "w/a-b", "w/a.c", "w/a.c/q", "w/b", "w/é", "w/é/e"])
            let folders = Set(["w/a", "w/a/y", "w/a.c", "w/é"])
            for entry in entries {
                #expect(entry.isDirectory == folders.contains(entry.path), "\(entry.path)")
                if let file = entry.file { #expect(file.size == Int64(entry.path.utf8.count) && !file.isDirectory, "\(entry.path)") }
                #expect(entry.name == entry.path.split(separator: "/").last, "\(entry.path)")
            }
            #expect(try await Self.walk(driver, "w/a") == ["w/a/x", "w/a/y", "w/a/y/z"])
        }
    }

    /// `.skip` does not go into the folder; `.stop` ends the walk at once; an error thrown by `visit` ends it and
    /// is rethrown; a missing folder, or a file, visits nothing.
    @Test(arguments: DriverKind.allCases)
    func walkSkipsAndStops(kind: DriverKind) async throws {
        try await kind.with { storage in
            let driver = storage.driver
            for path in Self.tree { try await driver.write(path, contents: []) }
            #expect(
                try await Self.walk(driver) { $0.path == "w/a" || $0.path == "w/a.c" ? .skip : .descend }
                    == ["w/a", "w/a-b", "w/a.c", "w/b", "w/é", "w/é/e"]
            )
            // Skipping a file is going on.
            #expect(try await Self.walk(driver) { $0.isDirectory ? .descend : .skip }.count == 10)
            #expect(try await Self.walk(driver) { $0.path == "w/a/y" ? .stop : .descend } == ["w/a", "w/a/x", "w/a/y"])
            #expect(try await Self.walk(driver) { _ in .stop } == ["w/a"])
            #expect(try await Self.walk(driver) { $0.path == "w/é/e" ? .stop : .descend }.count == 10)

            struct Found: Error {}
            var visits = 0
            await #expect(throws: Found.self) {
                try await driver.walk("w") { entry in
                    visits += 1
                    if entry.path == "w/a-b" { throw Found() }
                    return .descend
                }
            }
            #expect(visits == 5)

            #expect(try await Self.walk(driver, "missing").isEmpty)
            #expect(try await Self.walk(driver, "w/b").isEmpty)
            #expect(try await Self.walk(driver, "w/b/below").isEmpty)
        }
    }

    // MARK: Missing paths

    /// Missing paths are answered, not failures: nil from `read`, `stat`, `reader` and `list`; `delete` does
    /// nothing; only `move` needs its source and throws ``StorageError/Code/notFound``.
    @Test(arguments: DriverKind.allCases)
    func missingPaths(kind: DriverKind) async throws {
        try await kind.with { storage in
            let driver = storage.driver
            try await driver.write("d/one", contents: Array("12345".utf8))
            try await driver.write("d/two", contents: [])
            for path in ["missing", "missing/deeper", "d/missing", "d/one/below"] {
                #expect(try await driver.read(path, limit: 10) == nil, "\(path)")
                #expect(try await driver.stat(path) == nil, "\(path)")
                #expect(try await driver.reader(path) == nil, "\(path)")
                #expect(try await driver.list(path) == nil, "\(path)")
                try await driver.delete(path)
                let error = await #expect(throws: StorageError.self, "\(path)") { try await driver.move(path, to: "elsewhere") }
                #expect(error?.code == .notFound, "\(path): \(String(describing: error))")
                #expect(try await driver.stat("elsewhere") == nil)
            }
            // A folder is no file to read.
            #expect(try await driver.read("d", limit: 10) == nil)
            #expect(try await driver.reader("d") == nil)

            #expect(try await driver.read("d/one", limit: 5) == Array("12345".utf8))
            #expect(try await driver.read("d/two", limit: 0) == [])
            let info = try #require(try await driver.stat("d/one"))
            #expect(info.size == 5)
            #expect(!info.isDirectory)
            #expect(abs(info.modified - Date().timeIntervalSince1970) < 60)
            #expect(try await driver.stat("d")?.isDirectory == true)
            #expect(try await driver.list("d") == ["one", "two"])

            try await driver.delete("d/one")
            #expect(try await driver.stat("d/one") == nil)
            #expect(try await driver.list("d") == ["two"])
            try await driver.delete("d")
            #expect(try await driver.stat("d") == nil)
            #expect(try await driver.stat("d/two") == nil)
            #expect(try await driver.list("d") == nil)
        }
    }

    /// `move` replaces the destination, makes its parents, and the source is gone.
    @Test(arguments: DriverKind.allCases)
    func moveMakesParentsAndReplaces(kind: DriverKind) async throws {
        try await kind.with { storage in
            let driver = storage.driver
            try await driver.write("src", contents: Array("new".utf8))
            try await driver.write("deep/er/dst", contents: Array("old".utf8))
            try await driver.move("src", to: "deep/er/dst")
            #expect(try await driver.read("deep/er/dst", limit: 10) == Array("new".utf8))
            #expect(try await driver.stat("src") == nil)
            try await driver.write("src2", contents: Array("x".utf8))
            try await driver.move("src2", to: "brand/new/place")
            #expect(try await driver.read("brand/new/place", limit: 10) == Array("x".utf8))
            #expect(try await driver.stat("src2") == nil)
            #expect(try await driver.list("brand/new") == ["place"])
        }
    }

    /// `pruneFolder` removes an empty folder and leaves one that holds something, a file, and nothing alone.
    @Test(arguments: DriverKind.allCases)
    func pruneFolderRemovesOnlyEmptyFolders(kind: DriverKind) async throws {
        try await kind.with { storage in
            let driver = storage.driver
            try await driver.write("blobs/ab/one/data", contents: Array("x".utf8))
            try await driver.write("blobs/ab/two/data", contents: Array("y".utf8))
            try await driver.move("blobs/ab/one/data", to: "trash/one")
            try await driver.pruneFolder("blobs/ab/one")
            try await driver.pruneFolder("blobs/ab/two")
            try await driver.pruneFolder("blobs/ab/two/data")
            try await driver.pruneFolder("blobs/missing")
            #expect(try await driver.list("blobs/ab") == ["two"])
            #expect(try await driver.read("blobs/ab/two/data", limit: 10) == Array("y".utf8))
            #expect(try await driver.read("trash/one", limit: 10) == Array("x".utf8))
        }
    }

    // MARK: Large files

    /// A file of more than 64 MiB written by appends of odd sizes reads back the same, by ranges at random offsets
    /// and as chunk streams.
    @Test(arguments: DriverKind.allCases)
    func largeFilesReadBackByRanges(kind: DriverKind) async throws {
        try await kind.with { storage in
            var random = SplitMix64(seed: 0x5EED_0000 + UInt64(kind.rawValue.utf8.count))
            // A random block of prime length, repeated: cheap to make, and no range lines up with it.
            let block = (0..<1_000_003).map { _ in UInt8.random(in: 0...255, using: &random) }
            var content: [UInt8] = []
            content.reserveCapacity(64 << 20 + 12_345)
            while content.count < 64 << 20 + 12_345 { content += block.prefix(64 << 20 + 12_345 - content.count) }
            #expect(content.count == 67_121_209)

            let writer = try await storage.driver.writer("big/data", append: false)
            let sizes = [1_048_583, 333_333, 65_537, 4093, 1, 2_097_169]
            var offset = 0
            var index = 0
            while offset < content.count {
                let end = min(offset + sizes[index % sizes.count], content.count)
                try await writer.append(ByteBuffer(bytes: content[offset..<end]))
                offset = end
                index += 1
            }
            #expect(writer.size == Int64(content.count))
            try await writer.commit()
            #expect(try await storage.driver.stat("big/data")?.size == Int64(content.count))

            let reader = try #require(try await storage.reopen().reader("big/data"))
            #expect(reader.size == Int64(content.count))
            var whole = ContentHasher()
            for try await chunk in reader.chunks() { chunk.withUnsafeReadableBytes { whole.update(bufferPointer: $0) } }
            #expect(whole.finalize() == OCIDigest.of(content))

            var buffer = ByteBufferAllocator().buffer(capacity: 0)
            for _ in 0..<24 {
                let start = Int.random(in: 0..<content.count, using: &random)
                let length = Int.random(in: 1...(3 << 20), using: &random)
                let expected = content[start..<min(start + length, content.count)]
                #expect(try await reader.read(at: Int64(start), length: length, into: &buffer) == expected.count)
                #expect(digest(buffer) == OCIDigest.of(expected), "read(at: \(start), length: \(length))")
            }
            for _ in 0..<6 {
                let start = Int.random(in: 0..<content.count, using: &random)
                let length = Int.random(in: 0...(content.count - start), using: &random)
                let chunkSize = Int.random(in: 1000...(1 << 20), using: &random)
                var hasher = ContentHasher()
                var total = 0
                for try await chunk in reader.chunks(from: Int64(start), length: Int64(length), chunkSize: chunkSize) {
                    #expect(chunk.readableBytes <= chunkSize)
                    total += chunk.readableBytes
                    chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
                }
                #expect(total == length)
                #expect(hasher.finalize() == OCIDigest.of(content[start..<(start + length)]), "chunks(from: \(start), length: \(length))")
            }
            // A stream that asks for more than the file holds ends with notFound.
            let error = await #expect(throws: StorageError.self) {
                for try await _ in reader.chunks(from: Int64(content.count) - 10, length: 20) {}
            }
            #expect(error?.code == .notFound)
        }
    }

    // MARK: Cancellation

    /// A task appending that is cancelled keeps a consistent file: an append either completes or throws
    /// (`CancellationError` allowed) with the file as before, and the file holds exactly the completed appends,
    /// whether the task then closes its writer or just drops it.
    @Test(arguments: DriverKind.allCases, [true, false])
    func aCancelledAppendingTaskKeepsItsCompletedAppends(kind: DriverKind, closes: Bool) async throws {
        try await kind.with { storage in
            let driver = storage.driver
            let (started, startedSignal) = AsyncStream<Void>.makeStream()
            let task = Task {
                defer { startedSignal.finish() }
                let writer = try await driver.writer("up/data", append: false)
                var completed = 0
                for _ in 0..<3 {
                    try await writer.append(ByteBuffer(bytes: [UInt8](repeating: UInt8(completed), count: 1000)))
                    completed += 1
                }
                startedSignal.yield()
                // Waits to be cancelled (the sleep throws then).
                try? await Task.sleep(for: .seconds(600))
                #expect(Task.isCancelled)
                do {
                    try await writer.append(ByteBuffer(bytes: [UInt8](repeating: UInt8(completed), count: 1000)))
                    completed += 1
                } catch is CancellationError {}
                #expect(writer.size == Int64(completed * 1000))
                if closes { try await writer.close() }
                return completed
            }
            for await _ in started { break }
            task.cancel()
            let completed = try await task.value
            let expected = (0..<completed).flatMap { [UInt8](repeating: UInt8($0), count: 1000) }
            let resumed = try await storage.reopen().writer("up/data", append: true)
            #expect(resumed.size == Int64(expected.count))
            try await resumed.close()
            let kept = try await driver.read("up/data", limit: 1 << 20)
            #expect(kept == expected, "\(kept?.count ?? -1) bytes of \(expected.count)")
        }
    }

    /// A cancelled task reading a chunk stream gets `CancellationError` from the stream's next chunk, and the file
    /// is untouched: a new reader reads all of it.
    @Test(arguments: DriverKind.allCases)
    func aCancelledChunkStreamEndsWithCancellationError(kind: DriverKind) async throws {
        try await kind.with { storage in
            let driver = storage.driver
            let content = randomBytes(300_000)
            try await driver.write("down/data", contents: content)
            let (started, startedSignal) = AsyncStream<Void>.makeStream()
            let task = Task { () -> (first: Int, cancelled: Bool) in
                defer { startedSignal.finish() }
                let reader = try #require(try await driver.reader("down/data"))
                var chunks = reader.chunks(chunkSize: 65_536).makeAsyncIterator()
                let first = try await chunks.next()?.readableBytes ?? 0
                startedSignal.yield()
                try? await Task.sleep(for: .seconds(600))
                do {
                    _ = try await chunks.next()
                    return (first, false)
                } catch is CancellationError {
                    return (first, true)
                }
            }
            for await _ in started { break }
            task.cancel()
            let result = try await task.value
            #expect(result.first == 65_536)
            #expect(result.cancelled)
            let reader = try #require(try await driver.reader("down/data"))
            var read: [UInt8] = []
            for try await chunk in reader.chunks(chunkSize: 65_536) { read += chunk.readableBytesView }
            let same = read == content
            #expect(same, "\(read.count) bytes of \(content.count)")
        }
    }

    // MARK: Errors

    static let invalidPaths = ["..", "../escape", "a/../../escape", "a/..", ".", "a/./b", "/etc/passwd", "a//b", "a/", "", "a\0b"]

    /// Every method refuses a path with an empty, `.` or `..` component or a NUL with ``StorageError/Code/invalidPath``.
    @Test(arguments: DriverKind.allCases, invalidPaths)
    func invalidPathsAreRefused(kind: DriverKind, path: String) async throws {
        try await kind.with { storage in
            let driver = storage.driver
            try await driver.write("a/file", contents: Array("x".utf8))
            await expectInvalidPath(path) { try await driver.write(path, contents: Array("x".utf8)) }
            await expectInvalidPath(path) { try await driver.write(path, contents: Array("x".utf8), durable: false) }
            await expectInvalidPath(path) { _ = try await driver.read(path, limit: 1024) }
            await expectInvalidPath(path) { _ = try await driver.stat(path) }
            await expectInvalidPath(path) { _ = try await driver.list(path) }
            await expectInvalidPath(path) { try await driver.delete(path) }
            await expectInvalidPath(path) { try await driver.pruneFolder(path) }
            await expectInvalidPath(path) { _ = try await driver.writer(path, append: true) }
            await expectInvalidPath(path) { _ = try await driver.writer(path, append: false) }
            await expectInvalidPath(path) { _ = try await driver.reader(path) }
            await expectInvalidPath(path) { try await driver.walk(path) { _ in .descend } }
            await expectInvalidPath(path) { try await driver.move("a/file", to: path) }
            await expectInvalidPath(path) { try await driver.move(path, to: "b") }
            #expect(try await driver.read("a/file", limit: 10) == Array("x".utf8))
            #expect(try await driver.list("a") == ["file"])
            #expect(try await driver.stat("b") == nil)
        }
    }

    /// `read` refuses a file larger than its limit (``StorageError/Code/io``); a file cannot replace a folder, nor
    /// be put below a file (``StorageError/Code/io``), and what was there stays.
    @Test(arguments: DriverKind.allCases)
    func impossibleRequestsThrowStorageErrors(kind: DriverKind) async throws {
        try await kind.with { storage in
            let driver = storage.driver
            try await driver.write("d/one", contents: Array("12345".utf8))
            let tooLarge = await #expect(throws: StorageError.self) { _ = try await driver.read("d/one", limit: 4) }
            #expect(tooLarge?.code == .io)

            try await driver.write("dir/target/occupant", contents: Array("x".utf8))
            let onFolder = await #expect(throws: StorageError.self) { try await driver.write("dir/target", contents: Array("data".utf8)) }
            #expect(onFolder?.code == .io)
            let belowFile = await #expect(throws: StorageError.self) { try await driver.write("d/one/below", contents: [1]) }
            #expect(belowFile?.code == .io)
            let writerOnFolder = await #expect(throws: StorageError.self) { _ = try await driver.writer("dir/target", append: true) }
            #expect(writerOnFolder?.code == .io)
            // A new file's writer may find out when it opens or when it ends.
            let newWriterOnFolder = await #expect(throws: StorageError.self) {
                let writer = try await driver.writer("dir/target", append: false)
                try await writer.close()
            }
            #expect(newWriterOnFolder?.code == .io)
            #expect(try await driver.list("dir") == ["target"])
            #expect(try await driver.list("dir/target") == ["occupant"])
            #expect(try await driver.read("d/one", limit: 5) == Array("12345".utf8))
        }
    }
}

/// Expects `body` to throw ``StorageError/Code/invalidPath``.
private func expectInvalidPath(_ path: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void) async {
    let error = await #expect(throws: StorageError.self, "\(path.debugDescription)", sourceLocation: sourceLocation) { try await body() }
    #expect(error?.code == .invalidPath, sourceLocation: sourceLocation)
}

private func digest(_ buffer: ByteBuffer) -> OCIDigest {
    var hasher = ContentHasher()
    buffer.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
    return hasher.finalize()
}

/// Counts down the tasks still running, for tasks that go on until the others are done.
private final class Countdown: Sendable {
    private let left: Atomic<Int>

    init(_ count: Int) { left = Atomic(count) }

    func done() { left.subtract(1, ordering: .relaxed) }

    var isOver: Bool { left.load(ordering: .relaxed) <= 0 }
}

/// A small seeded generator, so a failing range can be read again.
private struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
