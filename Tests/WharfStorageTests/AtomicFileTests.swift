import Foundation
import NIOPosix
import Testing
import WharfStorage

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("AtomicFile")
struct AtomicFileTests {
    static func withFolder(_ body: (String) async throws -> Void) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-atomic-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try await body(folder)
    }

    static func entries(_ folder: String) throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: folder).sorted() }

    static func mode(_ path: String) -> Int {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_mode) & 0o777 : -1
    }

    static func text(_ path: String) -> String? { FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) } }

    @Test(arguments: [0o600, 0o640, 0o644] as [mode_t])
    func givesExactlyTheRequestedPermissionsAndLeavesNoTemporaryFile(permissions: mode_t) async throws {
        try await Self.withFolder { folder in
            let path = folder + "/secret"
            try AtomicFile.write(Array("one".utf8), to: path, permissions: permissions, durability: .fileAndFolder)
            #expect(Self.mode(path) == Int(permissions))
            #expect(Self.text(path) == "one")
            #expect(try Self.entries(folder) == ["secret"])

            let other = folder + "/other"
            try await AtomicFile.write(Array("two".utf8), to: other, permissions: permissions, durability: .file, threadPool: .singleton)
            #expect(Self.mode(other) == Int(permissions))
            #expect(Self.text(other) == "two")
            #expect(try Self.entries(folder) == ["other", "secret"])
        }
    }

    @Test func replacesTheContentInOneStep() async throws {
        try await Self.withFolder { folder in
            let path = folder + "/link"
            try AtomicFile.write(Array("old content".utf8), to: path, durability: .none)
            // A reader that opened the old file keeps reading all of it: the new content is a new file under the
            // same name, never written into the old one.
            let reader = try #require(FileHandle(forReadingAtPath: path))
            defer { try? reader.close() }
            try await AtomicFile.write(Array("new".utf8), to: path, durability: .file, threadPool: .singleton)
            #expect(String(decoding: try reader.readToEnd() ?? Data(), as: UTF8.self) == "old content")
            #expect(Self.text(path) == "new")
            #expect(try Self.entries(folder) == ["link"])
        }
    }

    @Test func aPreparedFileIsInvisibleUntilPublishedAndDiscardRemovesIt() async throws {
        try await Self.withFolder { folder in
            let path = folder + "/server.key"
            let prepared = try AtomicFile.prepare(Array("key".utf8), for: path, permissions: 0o600, syncing: true)
            #expect(!FileManager.default.fileExists(atPath: path))
            let hidden = try Self.entries(folder)
            #expect(hidden.count == 1)
            #expect(hidden.allSatisfy { $0.hasPrefix(".server.key.") && $0.hasSuffix(".tmp") })
            #expect(prepared.temporaryPath == folder + "/" + hidden[0])
            prepared.discard()
            #expect(try Self.entries(folder).isEmpty)

            let second = try await AtomicFile.prepare(Array("key".utf8), for: path, permissions: 0o600, syncing: true, threadPool: .singleton)
            try second.publish(.creatingOnly)
            #expect(Self.text(path) == "key")
            #expect(try Self.entries(folder) == ["server.key"])
        }
    }

    @Test func creatingOnlyNeverReplacesAndCleansUp() async throws {
        try await Self.withFolder { folder in
            let path = folder + "/secrets"
            try AtomicFile.write(Array("first".utf8), to: path, permissions: 0o600, durability: .none, publication: .creatingOnly)
            let error = #expect(throws: AtomicFileError.self) {
                try AtomicFile.write(Array("second".utf8), to: path, permissions: 0o600, durability: .fileAndFolder, publication: .creatingOnly)
            }
            #expect(error?.code == .exists)
            #expect(error?.path == path)
            #expect(Self.text(path) == "first")
            #expect(try Self.entries(folder) == ["secrets"])
            // A dangling symbolic link is an entry too: reported, not replaced.
            let dangling = folder + "/dangling"
            #expect(symlink(folder + "/nowhere", dangling) == 0)
            #expect(throws: AtomicFileError.self) { try AtomicFile.write([1], to: dangling, durability: .none, publication: .creatingOnly) }
            #expect(try Self.entries(folder) == ["dangling", "secrets"])
        }
    }

    @Test func failuresLeaveNoTemporaryFile() async throws {
        try await Self.withFolder { folder in
            // The folder does not exist: nothing can be created.
            let missing = #expect(throws: AtomicFileError.self) {
                try AtomicFile.write([1, 2, 3], to: folder + "/absent/file", durability: .file)
            }
            #expect(missing?.code == .create)
            #expect(missing?.systemError == ENOENT)
            #expect(missing?.description.contains("No such file") == true)
            // The final name is a folder that is not empty: the rename fails, after the content was written.
            try FileManager.default.createDirectory(atPath: folder + "/taken/inside", withIntermediateDirectories: true)
            let taken = await #expect(throws: AtomicFileError.self) {
                try await AtomicFile.write([1, 2, 3], to: folder + "/taken", durability: .file, threadPool: .singleton)
            }
            #expect(taken?.code == .publish)
            #expect(try Self.entries(folder) == ["taken"])
            #expect(try Self.entries(folder + "/taken") == ["inside"])
        }
    }
}
