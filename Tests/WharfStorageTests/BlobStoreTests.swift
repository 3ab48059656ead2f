import Foundation
import NIOCore
import Synchronization
import Testing
import WharfCore

@testable import WharfStorage

@Suite("BlobStore")
struct BlobStoreTests {
    static let repo = try! RepositoryName("library/app")

    // MARK: Upload and commit

    @Test func chunkedUploadCommitsBlobAndLink() async throws {
        try await TemporaryStorage.with { storage in
            let store = BlobStore(driver: storage.driver)
            let content = randomBytes(100_000)
            let digest = OCIDigest.of(content)

            let started = try await store.startUpload(in: Self.repo)
            #expect(started.offset == 0)
            #expect(storage.exists(storage.uploadPath("library/app", started.id) + "/data"))
            #expect(storage.exists(storage.uploadPath("library/app", started.id) + "/startedat"))

            var session = try await store.checkOut(started.id, in: Self.repo)
            try await store.append(Chunks(Array(content[..<30_000]), chunkSize: 4096), to: &session)
            #expect(session.offset == 30_000)
            #expect(session.rangeHeader == "0-29999")
            try await store.append(Chunks(Array(content[30_000...]), chunkSize: 7000), to: &session)
            #expect(session.offset == 100_000)

            let size = try await store.commit(session, expected: digest)
            #expect(size == 100_000)

            let dataPath = storage.v2("blobs/sha256/\(digest.hex.prefix(2))/\(digest.hex)/data")
            #expect(storage.contents(dataPath) == content)
            #expect(storage.text(storage.v2("repositories/library/app/_layers/sha256/\(digest.hex)/link")) == "sha256:\(digest.hex)")
            #expect(!storage.exists(storage.uploadPath("library/app", session.id)))
            #expect(storage.entries(storage.v2("repositories/library/app/_uploads")).isEmpty)

            await #expect(try store.blobSize(digest, in: Self.repo) == 100_000)
            await #expect(try store.blobExists(digest))
            await #expect(try store.isLinked(digest, in: Self.repo))
            await #expect(try store.blobSize(digest, in: RepositoryName("other")) == nil)

            let reader = try await #require(try store.openBlob(digest, in: Self.repo))
            #expect(reader.size == 100_000)
            let head = try await reader.read(at: 0, length: 10, allocator: ByteBufferAllocator())
            #expect(Array(head.readableBytesView) == Array(content[..<10]))

            // The session is gone once committed.
            await expectContentError(.uploadUnknown) { _ = try await store.checkOut(session.id, in: Self.repo) }
        }
    }

    @Test func emptyBlob() async throws {
        try await TemporaryStorage.with { storage in
            let store = BlobStore(driver: storage.driver)
            let digest = try await pushBlob([], to: Self.repo, in: store)
            #expect(digest.hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
            #expect(storage.contents(storage.blobDataPath(digest)) == [])
            await #expect(try store.blobSize(digest, in: Self.repo) == 0)
        }
    }

    @Test func wrongDigestRemovesUploadAndStoresNothing() async throws {
        try await TemporaryStorage.with { storage in
            let store = BlobStore(driver: storage.driver)
            let content = Array("hello, world".utf8)
            var session = try await store.startUpload(in: Self.repo)
            session = try await store.checkOut(session.id, in: Self.repo)
            try await store.append(Chunks("hello, ", "world"), to: &session)
            let wrong = OCIDigest.of(Array("something else".utf8))

            await expectContentError(.digestInvalid) { _ = try await store.commit(session, expected: wrong) }
            #expect(!storage.exists(storage.uploadPath("library/app", session.id)))
            #expect(!storage.exists(storage.blobDataPath(wrong)))
            #expect(!storage.exists(storage.blobDataPath(OCIDigest.of(content))))
            #expect(!storage.exists(storage.layerLinkPath("library/app", wrong)))
            #expect(!storage.exists(storage.v2("blobs")) || storage.entries(storage.v2("blobs/sha256")).isEmpty)
            await #expect(try store.blobSize(wrong, in: Self.repo) == nil)
            await expectContentError(.uploadUnknown) { _ = try await store.checkOut(session.id, in: Self.repo) }
        }
    }

    @Test func sha512Commit() async throws {
        try await TemporaryStorage.with { storage in
            let store = BlobStore(driver: storage.driver)
            let content = randomBytes(50_000)
            let digest = OCIDigest.of(content, algorithm: .sha512)
            var session = try await store.startUpload(in: Self.repo)
            session = try await store.checkOut(session.id, in: Self.repo)
            try await store.append(Chunks(content, chunkSize: 3333), to: &session)
            #expect(try await store.commit(session, expected: digest) == 50_000)

            let dataPath = storage.v2("blobs/sha512/\(digest.hex.prefix(2))/\(digest.hex)/data")
            #expect(storage.contents(dataPath) == content)
            #expect(storage.text(storage.v2("repositories/library/app/_layers/sha512/\(digest.hex)/link")) == "sha512:\(digest.hex)")
            #expect(!storage.exists(storage.blobDataPath(OCIDigest.of(content))))
            #expect(!storage.exists(storage.uploadPath("library/app", session.id)))
            await #expect(try store.blobSize(digest, in: Self.repo) == 50_000)
        }
    }

    @Test func wrongSHA512DigestIsRejected() async throws {
        try await TemporaryStorage.with { storage in
            let store = BlobStore(driver: storage.driver)
            var session = try await store.startUpload(in: Self.repo)
            session = try await store.checkOut(session.id, in: Self.repo)
            try await store.append(Chunks("abc"), to: &session)
            let wrong = OCIDigest.of(Array("abd".utf8), algorithm: .sha512)
            await expectContentError(.digestInvalid) { _ = try await store.commit(session, expected: wrong) }
            #expect(!storage.exists(storage.uploadPath("library/app", session.id)))
            #expect(!storage.exists(storage.blobDataPath(wrong)))
        }
    }

    @Test func committingExistingContentKeepsOneBlob() async throws {
        try await TemporaryStorage.with { storage in
            let store = BlobStore(driver: storage.driver)
            let content = Array("same bytes".utf8)
            let first = try await pushBlob(content, to: Self.repo, in: store)
            let second = try await pushBlob(content, to: RepositoryName("other/repo"), in: store)
            #expect(first == second)
            #expect(storage.contents(storage.blobDataPath(first)) == content)
            #expect(storage.entries(storage.v2("blobs/sha256/\(first.hex.prefix(2))/\(first.hex)")) == ["data"])
            #expect(storage.text(storage.layerLinkPath("other/repo", first)) == first.description)
            #expect(storage.entries(storage.v2("repositories/other/repo/_uploads")).isEmpty)
        }
    }

    // MARK: Appending

    @Test func appendOverLimitKeepsWholeChunks() async throws {
        try await TemporaryStorage.with { storage in
            let store = BlobStore(driver: storage.driver)
            var session = try await store.startUpload(in: Self.repo)
            session = try await store.checkOut(session.id, in: Self.repo)
            await expectContentError(.sizeInvalid) {
                try await store.append(Chunks("abc", "def"), to: &session, limit: 5)
            }
            #expect(session.offset == 3)
            #expect(storage.contents(storage.uploadPath("library/app", session.id) + "/data") == Array("abc".utf8))
            try await store.append(Chunks("de"), to: &session, limit: 2)
            let digest = OCIDigest.of(Array("abcde".utf8))
            #expect(try await store.commit(session, expected: digest) == 5)
            #expect(storage.contents(storage.blobDataPath(digest)) == Array("abcde".utf8))
        }
    }

    @Test func droppedBodyKeepsWhatArrived() async throws {
        try await TemporaryStorage.with { storage in
            let store = BlobStore(driver: storage.driver)
            var session = try await store.startUpload(in: Self.repo)
            session = try await store.checkOut(session.id, in: Self.repo)
            await #expect(throws: FailingChunks.Dropped.self) {
                try await store.append(FailingChunks(buffers: [ByteBuffer(string: "hello ")]), to: &session)
            }
            #expect(session.offset == 6)
            await store.checkIn(session)
            #expect(try await store.status(of: session.id, in: Self.repo).offset == 6)
            var resumed = try await store.checkOut(session.id, in: Self.repo)
            try await store.append(Chunks("world"), to: &resumed)
            let digest = OCIDigest.of(Array("hello world".utf8))
            #expect(try await store.commit(resumed, expected: digest) == 11)
        }
    }

    // MARK: Sessions

    @Test func resumeAfterRestart() async throws {
        try await TemporaryStorage.with { storage in
            let content = randomBytes(200_000)
            let id: UploadID
            do {
                let store = BlobStore(driver: storage.driver)
                var session = try await store.startUpload(in: Self.repo)
                session = try await store.checkOut(session.id, in: Self.repo)
                try await store.append(Chunks(Array(content[..<120_000]), chunkSize: 10_000), to: &session)
                id = session.id
                // The process dies here: no checkIn, the store is dropped.
            }

            let restarted = BlobStore(driver: FilesystemDriver(root: storage.root))
            let status = try await restarted.status(of: id, in: Self.repo)
            #expect(status.offset == 120_000)
            #expect(status.rangeHeader == "0-119999")

            var session = try await restarted.checkOut(id, in: Self.repo)
            #expect(session.offset == 120_000)
            try await restarted.append(Chunks(Array(content[120_000...]), chunkSize: 9_999), to: &session)
            #expect(session.offset == 200_000)
            let digest = OCIDigest.of(content)
            #expect(try await restarted.commit(session, expected: digest) == 200_000)
            #expect(storage.contents(storage.blobDataPath(digest)) == content)
            #expect(storage.text(storage.layerLinkPath("library/app", digest)) == digest.description)
            #expect(!storage.exists(storage.uploadPath("library/app", id)))
        }
    }

    @Test func commitAfterRestartWithoutAppending() async throws {
        try await TemporaryStorage.with { storage in
            let content = randomBytes(5_000)
            let id: UploadID
            do {
                let store = BlobStore(driver: storage.driver)
                var session = try await store.startUpload(in: Self.repo)
                session = try await store.checkOut(session.id, in: Self.repo)
                try await store.append(Chunks(content, chunkSize: 1000), to: &session)
                await store.checkIn(session)
                id = session.id
            }
            let restarted = BlobStore(driver: storage.driver)
            let session = try await restarted.checkOut(id, in: Self.repo)
            #expect(session.offset == 5_000)
            #expect(try await restarted.commit(session, expected: OCIDigest.of(content)) == 5_000)
            #expect(storage.contents(storage.blobDataPath(OCIDigest.of(content))) == content)
        }
    }

    @Test func secondCheckOutIsOutOfOrder() async throws {
        try await TemporaryStorage.with { storage in
            let store = BlobStore(driver: storage.driver)
            let session = try await store.startUpload(in: Self.repo)
            var held = try await store.checkOut(session.id, in: Self.repo)
            let error = await expectContentError(.outOfOrder) { _ = try await store.checkOut(session.id, in: Self.repo) }
            #expect(error?.uploadOffset == 0)

            // Given back, it can be taken again.
            try await store.append(Chunks("abc"), to: &held)
            await store.checkIn(held)
            let again = try await store.checkOut(session.id, in: Self.repo)
            #expect(again.offset == 3)
        }
    }

    @Test func concurrentCheckOutsOnlyOneWins() async throws {
        try await TemporaryStorage.with { storage in
            let store = BlobStore(driver: storage.driver)
            let id = try await store.startUpload(in: Self.repo).id
            let repo = Self.repo
            let outcomes = await withTaskGroup(of: (any Error)?.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        do {
                            _ = try await store.checkOut(id, in: repo)
                            return nil
                        } catch {
                            return error
                        }
                    }
                }
                var outcomes: [(any Error)?] = []
                for await outcome in group { outcomes.append(outcome) }
                return outcomes
            }
            #expect(outcomes.filter { $0 == nil }.count == 1)
            let failures = outcomes.compactMap { $0 }
            #expect(failures.count == 7)
            #expect(failures.allSatisfy { ($0 as? ContentError)?.code == .outOfOrder })
        }
    }

    @Test func concurrentCheckOutsAfterRestartOnlyOneWins() async throws {
        try await TemporaryStorage.with { storage in
            let id = try await BlobStore(driver: storage.driver).startUpload(in: Self.repo).id
            let store = BlobStore(driver: storage.driver)
            let repo = Self.repo
            async let first: UploadSession? = try? store.checkOut(id, in: repo)
            async let second: UploadSession? = try? store.checkOut(id, in: repo)
            let results = await [first, second]
            #expect(results.compactMap { $0 }.count == 1)
        }
    }

    @Test func checkOutFromAnotherRepositoryIsUnknown() async throws {
        try await TemporaryStorage.with { storage in
            let store = BlobStore(driver: storage.driver)
            let session = try await store.startUpload(in: Self.repo)
            let other = try RepositoryName("other")
            await expectContentError(.uploadUnknown) { _ = try await store.checkOut(session.id, in: other) }
            await expectContentError(.uploadUnknown) { _ = try await store.status(of: session.id, in: other) }
            await expectContentError(.uploadUnknown) { try await store.cancel(session.id, in: other) }
            // After a restart the session is found only through its own repository too.
            let restarted = BlobStore(driver: storage.driver)
            await expectContentError(.uploadUnknown) { _ = try await restarted.checkOut(session.id, in: other) }
            #expect(try await restarted.checkOut(session.id, in: Self.repo).offset == 0)
        }
    }

    @Test func unknownSession() async throws {
        try await TemporaryStorage.with { storage in
            let store = BlobStore(driver: storage.driver)
            let id = UploadID.random()
            await expectContentError(.uploadUnknown) { _ = try await store.checkOut(id, in: Self.repo) }
            await expectContentError(.uploadUnknown) { _ = try await store.status(of: id, in: Self.repo) }
            await expectContentError(.uploadUnknown) { try await store.cancel(id, in: Self.repo) }
        }
    }

    @Test func sixteenConcurrentUploadsOfTheSameContent() async throws {
        try await TemporaryStorage.with { storage in
            let store = BlobStore(driver: storage.driver)
            let content = randomBytes(1 << 20)
            let digest = OCIDigest.of(content)
            let repo = Self.repo
            let sizes = try await withThrowingTaskGroup(of: Int64.self) { group in
                for index in 0..<16 {
                    group.addTask {
                        var session = try await store.startUpload(in: repo)
                        session = try await store.checkOut(session.id, in: repo)
                        try await store.append(Chunks(content, chunkSize: 16_384 + index), to: &session)
                        return try await store.commit(session, expected: digest)
                    }
                }
                var sizes: [Int64] = []
                for try await size in group { sizes.append(size) }
                return sizes
            }
            #expect(sizes == [Int64](repeating: 1 << 20, count: 16))
            let stored = try #require(storage.contents(storage.blobDataPath(digest)))
            #expect(stored.count == content.count)
            #expect(OCIDigest.of(stored) == digest)
            #expect(storage.entries(storage.v2("blobs/sha256")) == [String(digest.hex.prefix(2))])
            #expect(storage.entries(storage.v2("blobs/sha256/\(digest.hex.prefix(2))")) == [digest.hex])
            #expect(storage.entries(storage.v2("blobs/sha256/\(digest.hex.prefix(2))/\(digest.hex)")) == ["data"])
            #expect(storage.text(storage.layerLinkPath("library/app", digest)) == digest.description)
            #expect(storage.entries(storage.v2("repositories/library/app/_layers/sha256/\(digest.hex)")) == ["link"])
            #expect(storage.entries(storage.v2("repositories/library/app/_uploads")).isEmpty)
        }
    }

    @Test func cancelRemovesTheUpload() async throws {
        try await TemporaryStorage.with { storage in
            let store = BlobStore(driver: storage.driver)
            var session = try await store.startUpload(in: Self.repo)
            session = try await store.checkOut(session.id, in: Self.repo)
            try await store.append(Chunks("partial"), to: &session)
            await store.checkIn(session)
            #expect(storage.exists(storage.uploadPath("library/app", session.id)))

            try await store.cancel(session.id, in: Self.repo)
            #expect(!storage.exists(storage.uploadPath("library/app", session.id)))
            await expectContentError(.uploadUnknown) { _ = try await store.checkOut(session.id, in: Self.repo) }
            await expectContentError(.uploadUnknown) { try await store.cancel(session.id, in: Self.repo) }
        }
    }

    @Test func cancelAfterRestart() async throws {
        try await TemporaryStorage.with { storage in
            let session = try await BlobStore(driver: storage.driver).startUpload(in: Self.repo)
            let restarted = BlobStore(driver: storage.driver)
            try await restarted.cancel(session.id, in: Self.repo)
            #expect(!storage.exists(storage.uploadPath("library/app", session.id)))
        }
    }

    @Test func cancelWhileAChunkIsBeingWrittenLeavesNoGhost() async throws {
        try await TemporaryStorage.with { storage in
            let store = BlobStore(driver: storage.driver)
            let started = try await store.startUpload(in: Self.repo)
            var session = try await store.checkOut(started.id, in: Self.repo)
            // DELETE arrives while the PATCH holds the session; the PATCH then writes and gives it back.
            try await store.cancel(started.id, in: Self.repo)
            try await store.append(Chunks("late chunk"), to: &session)
            let kept = await store.checkIn(session)
            #expect(!kept)
            #expect(!storage.exists(storage.uploadPath("library/app", started.id)))
            await expectContentError(.uploadUnknown) { _ = try await store.status(of: started.id, in: Self.repo) }
            await expectContentError(.uploadUnknown) { _ = try await store.checkOut(started.id, in: Self.repo) }
        }
    }

    @Test func failureOfACancelledSessionIsReportedAsUnknown() async throws {
        try await TemporaryStorage.with { storage in
            let store = BlobStore(driver: storage.driver)
            let started = try await store.startUpload(in: Self.repo)
            let session = try await store.checkOut(started.id, in: Self.repo)
            try await store.cancel(started.id, in: Self.repo)
            let reported = await store.checkIn(session, after: StorageError(.io, "open: No such file or directory"))
            #expect((reported as? ContentError)?.code == .uploadUnknown)

            let other = try await store.startUpload(in: Self.repo)
            let held = try await store.checkOut(other.id, in: Self.repo)
            let kept = await store.checkIn(held, after: ContentError(.sizeInvalid))
            #expect((kept as? ContentError)?.code == .sizeInvalid)
        }
    }

    @Test func cancelBeforeCommitIsUnknownNotAStorageFailure() async throws {
        try await TemporaryStorage.with { storage in
            let store = BlobStore(driver: storage.driver)
            let content = Array("content".utf8)
            let started = try await store.startUpload(in: Self.repo)
            var session = try await store.checkOut(started.id, in: Self.repo)
            try await store.append(Chunks([ByteBuffer(bytes: content)]), to: &session)
            try await store.cancel(started.id, in: Self.repo)
            await expectContentError(.uploadUnknown) { _ = try await store.commit(session, expected: OCIDigest.of(content)) }
            await expectContentError(.uploadUnknown) {
                _ = try await store.commit(session, expected: OCIDigest.of(content, algorithm: .sha512))
            }
            await expectContentError(.uploadUnknown) { _ = try await store.status(of: started.id, in: Self.repo) }
            #expect(!storage.exists(storage.uploadPath("library/app", started.id)))
            await #expect(!(try store.blobExists(OCIDigest.of(content))))
        }
    }

    @Test func sessionRemovedFromStorageByAnotherProcessIsUnknown() async throws {
        try await TemporaryStorage.with { storage in
            let store = BlobStore(driver: storage.driver)
            var session = try await store.startUpload(in: Self.repo)
            session = try await store.checkOut(session.id, in: Self.repo)
            try await store.append(Chunks("abc"), to: &session)
            await store.checkIn(session)
            // Another replica (or distribution on the same folder) purges the session.
            try FileManager.default.removeItem(atPath: storage.uploadPath("library/app", session.id))
            await expectContentError(.uploadUnknown) { _ = try await store.status(of: session.id, in: Self.repo) }
            await expectContentError(.uploadUnknown) { _ = try await store.checkOut(session.id, in: Self.repo) }
            #expect(!storage.exists(storage.uploadPath("library/app", session.id)))
        }
    }

    @Test func sessionAppendedToByAnotherProcessResumesFromStorage() async throws {
        try await TemporaryStorage.with { storage in
            let store = BlobStore(driver: storage.driver)
            var session = try await store.startUpload(in: Self.repo)
            session = try await store.checkOut(session.id, in: Self.repo)
            try await store.append(Chunks("abc"), to: &session)
            await store.checkIn(session)
            // Another replica received the next chunk.
            var other = try await BlobStore(driver: storage.driver).checkOut(session.id, in: Self.repo)
            try await BlobStore(driver: storage.driver).append(Chunks("def"), to: &other)

            #expect(try await store.status(of: session.id, in: Self.repo).offset == 6)
            session = try await store.checkOut(session.id, in: Self.repo)
            #expect(session.offset == 6)
            try await store.append(Chunks("ghi"), to: &session)
            #expect(try await store.commit(session, expected: OCIDigest.of(Array("abcdefghi".utf8))) == 9)
        }
    }

    // MARK: Purging

    @Test func purgeRemovesOldSessionsAndKeepsFreshOnes() async throws {
        try await TemporaryStorage.with { storage in
            let store = BlobStore(driver: storage.driver)
            let old = try await store.startUpload(in: Self.repo)
            let fresh = try await store.startUpload(in: Self.repo)
            try storage.writeText(storage.uploadPath("library/app", old.id) + "/startedat", "2020-01-02T03:04:05Z")

            let removed = await store.purgeUploads(startedBefore: Date().addingTimeInterval(-3600), repositories: [Self.repo])
            #expect(removed == 1)
            #expect(!storage.exists(storage.uploadPath("library/app", old.id)))
            #expect(storage.exists(storage.uploadPath("library/app", fresh.id)))
            await expectContentError(.uploadUnknown) { _ = try await store.checkOut(old.id, in: Self.repo) }
            #expect(try await store.checkOut(fresh.id, in: Self.repo).offset == 0)
        }
    }

    @Test(arguments: [
        "2024-01-02T03:04:05.123456789Z",
        "2024-01-02T03:04:05.5Z",
        "2024-01-02T03:04:05.123Z",
        "2024-01-02T03:04:05.123456789+02:00",
        "2024-01-02T03:04:05+02:00",
        "2024-01-02T03:04:05-07:00",
        "2024-01-02T03:04:05.123456789Z\n",
    ])
    func purgeUnderstandsGoTimestamps(startedAt: String) async throws {
        try await TemporaryStorage.with { storage in
            let store = BlobStore(driver: storage.driver)
            let old = try await store.startUpload(in: Self.repo)
            try storage.writeText(storage.uploadPath("library/app", old.id) + "/startedat", startedAt)
            let removed = await store.purgeUploads(startedBefore: Date().addingTimeInterval(-3600), repositories: [Self.repo])
            #expect(removed == 1)
            #expect(!storage.exists(storage.uploadPath("library/app", old.id)))
        }
    }

    @Test func purgeKeepsABusySession() async throws {
        try await TemporaryStorage.with { storage in
            let store = BlobStore(driver: storage.driver)
            let session = try await store.startUpload(in: Self.repo)
            try storage.writeText(storage.uploadPath("library/app", session.id) + "/startedat", "2020-01-02T03:04:05Z")
            _ = try await store.checkOut(session.id, in: Self.repo)
            let removed = await store.purgeUploads(startedBefore: Date(), repositories: [Self.repo])
            #expect(removed == 0)
            #expect(storage.exists(storage.uploadPath("library/app", session.id)))
        }
    }

    /// No storage call runs inside the actor: while one session's file check is stuck in the kernel (a blocking
    /// call, as a slow disk or a network filesystem makes one), other uploads are checked out, written, given
    /// back and asked about. (Before, the check ran inside the actor and every upload waited behind it.)
    @Test func aStuckStorageCallHoldsUpOnlyItsOwnUpload() async throws {
        try await TemporaryStorage.with { storage in
            let plain = BlobStore(driver: storage.driver)
            let slow = try await plain.startUpload(in: Self.repo)
            let other = try await plain.startUpload(in: Self.repo)
            let driver = StuckStatDriver(base: storage.driver, stuckPath: RegistryPaths.uploadData(Self.repo, slow.id))
            // A new store: both sessions are only in storage, as after a restart.
            let store = BlobStore(driver: driver)
            let stuck = Task { try await store.checkOut(slow.id, in: Self.repo) }
            while !driver.isStuck { try await Task.sleep(for: .milliseconds(1)) }
            var session = try await store.checkOut(other.id, in: Self.repo)
            try await store.append(Chunks(Array("meanwhile".utf8), chunkSize: 4), to: &session)
            #expect(await store.checkIn(session))
            #expect(try await store.status(of: other.id, in: Self.repo).offset == 9)
            #expect(driver.isStuck, "the other upload waited for the stuck call to end")
            driver.release()
            #expect(try await stuck.value.offset == 0)
        }
    }

    @Test func purgeRacingAResumedUploadLeavesNoGhost() async throws {
        try await TemporaryStorage.with { storage in
            let driver = SlowRemoveDriver(base: storage.driver)
            let old = try await BlobStore(driver: storage.driver).startUpload(in: Self.repo)
            try storage.writeText(storage.uploadPath("library/app", old.id) + "/startedat", "2020-01-02T03:04:05Z")
            // After a restart: the session is only in storage. The purge claims it; a PATCH resumes it meanwhile.
            let store = BlobStore(driver: driver)
            let purge = Task { await store.purgeUploads(startedBefore: Date(), repositories: [Self.repo]) }
            while !driver.removing.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(1)) }
            let resumed = try? await store.checkOut(old.id, in: Self.repo)
            #expect(await purge.value == 1)
            #expect(resumed == nil, "the purge removed the files of a session a request holds")
            #expect(!storage.exists(storage.uploadPath("library/app", old.id)))
        }
    }

    @Test func purgeOnlyLooksAtTheGivenRepositoriesAndIgnoresStrayFolders() async throws {
        try await TemporaryStorage.with { storage in
            let store = BlobStore(driver: storage.driver)
            let other = try RepositoryName("other")
            let mine = try await store.startUpload(in: Self.repo)
            let theirs = try await store.startUpload(in: other)
            try storage.makeDirectory(storage.v2("repositories/library/app/_uploads/not-an-upload-id"))
            let removed = await store.purgeUploads(startedBefore: Date().addingTimeInterval(3600), repositories: [Self.repo])
            #expect(removed == 1)
            #expect(!storage.exists(storage.uploadPath("library/app", mine.id)))
            #expect(storage.exists(storage.uploadPath("other", theirs.id)))
            #expect(storage.exists(storage.v2("repositories/library/app/_uploads/not-an-upload-id")))
        }
    }

    @Test func startedAtRoundTrips() throws {
        let now = Date(timeIntervalSince1970: 1_704_164_645)
        let text = BlobStore.format(now)
        #expect(text == "2024-01-02T03:04:05Z")
        #expect(BlobStore.parse(text) == now)
    }

    @Test(arguments: [
        ("2024-01-02T03:04:05Z", 1_704_164_645.0),
        ("2024-01-02T03:04:05.123456789Z", 1_704_164_645.123),
        ("2024-01-02T03:04:05.5Z", 1_704_164_645.5),
        ("2024-01-02T05:04:05.123456789+02:00", 1_704_164_645.123),
        ("2024-01-02T05:04:05+02:00", 1_704_164_645.0),
        ("2024-01-01T20:04:05-07:00", 1_704_164_645.0),
        (" 2024-01-02T03:04:05Z\n", 1_704_164_645.0),
    ])
    func parsesRFC3339(text: String, seconds: Double) throws {
        let date = try #require(BlobStore.parse(text))
        // Fractions may be dropped, never the seconds.
        #expect(abs(date.timeIntervalSince1970 - seconds) < 1)
        #expect(date.timeIntervalSince1970 >= 1_704_164_645)
    }

    @Test(arguments: ["", "yesterday", "2024-13-45T99:99:99Z", "1704164645"])
    func rejectsGarbageTimestamps(text: String) {
        #expect(BlobStore.parse(text) == nil)
    }

    // MARK: Mounting and unlinking

    @Test func mountFromRepositoryThatHasTheBlob() async throws {
        try await TemporaryStorage.with { storage in
            let store = BlobStore(driver: storage.driver)
            let content = Array("mount me".utf8)
            let digest = try await pushBlob(content, to: Self.repo, in: store)
            let target = try RepositoryName("team/target")

            let size = try await store.mount(digest, into: target, from: Self.repo)
            #expect(size == Int64(content.count))
            #expect(storage.text(storage.layerLinkPath("team/target", digest)) == digest.description)
            await #expect(try store.blobSize(digest, in: target) == Int64(content.count))
        }
    }

    @Test func mountFromRepositoryWithoutTheBlob() async throws {
        try await TemporaryStorage.with { storage in
            let store = BlobStore(driver: storage.driver)
            let digest = try await pushBlob(Array("secret".utf8), to: Self.repo, in: store)
            let stranger = try RepositoryName("stranger")
            let target = try RepositoryName("target")

            #expect(try await store.mount(digest, into: target, from: stranger) == nil)
            #expect(!storage.exists(storage.layerLinkPath("target", digest)))
            await #expect(try store.blobSize(digest, in: target) == nil)

            let missing = OCIDigest.of(Array("never uploaded".utf8))
            #expect(try await store.mount(missing, into: target, from: nil) == nil)
            #expect(try await store.mount(missing, into: target, from: Self.repo) == nil)
            #expect(!storage.exists(storage.layerLinkPath("target", missing)))
        }
    }

    @Test func unlinkKeepsTheData() async throws {
        try await TemporaryStorage.with { storage in
            let store = BlobStore(driver: storage.driver)
            let digest = try await pushBlob(Array("unlink me".utf8), to: Self.repo, in: store)
            try await store.unlinkBlob(digest, in: Self.repo)
            #expect(!storage.exists(storage.layerLinkPath("library/app", digest)))
            await #expect(try store.blobSize(digest, in: Self.repo) == nil)
            #expect(storage.exists(storage.blobDataPath(digest)))
            await expectContentError(.blobUnknown) { try await store.unlinkBlob(digest, in: Self.repo) }
        }
    }
}

/// A filesystem driver whose removal of an upload folder announces itself and then takes a while.
final class SlowRemoveDriver: StorageDriver {
    init(base: FilesystemDriver) { self.base = base }

    let base: FilesystemDriver
    let removing = Mutex(false)

    func read(_ path: String, limit: Int) async throws -> [UInt8]? { try await base.read(path, limit: limit) }
    func write(_ path: String, contents: [UInt8], durable: Bool) async throws { try await base.write(path, contents: contents, durable: durable) }
    func stat(_ path: String) async throws -> FileInfo? { try await base.stat(path) }
    func list(_ path: String) async throws -> [String]? { try await base.list(path) }
    func delete(_ path: String) async throws {
        if path.contains("/_uploads/") {
            removing.withLock { $0 = true }
            try await Task.sleep(for: .milliseconds(300))
        }
        try await base.delete(path)
    }
    func move(_ source: String, to destination: String, durable: Bool) async throws {
        try await base.move(source, to: destination, durable: durable)
    }
    func pruneFolder(_ path: String) async throws { try await base.pruneFolder(path) }
    func writer(_ path: String, append: Bool) async throws -> any StorageWriter { try await base.writer(path, append: append) }
    func reader(_ path: String) async throws -> (any StorageReader)? { try await base.reader(path) }
    func walk(_ path: String, visit: (StorageEntry) async throws -> WalkStep) async throws { try await base.walk(path, visit: visit) }
}

/// A filesystem driver whose `stat` of one path blocks its thread (as a stuck disk does) until released, or for
/// at most 5 seconds.
final class StuckStatDriver: StorageDriver {
    init(base: FilesystemDriver, stuckPath: String) {
        self.base = base
        self.stuckPath = stuckPath
    }

    let base: FilesystemDriver
    let stuckPath: String
    private let state = Mutex((stuck: false, released: false))

    var isStuck: Bool { state.withLock { $0.stuck } }
    func release() { state.withLock { $0.released = true } }

    func stat(_ path: String) async throws -> FileInfo? {
        if path == stuckPath {
            state.withLock { $0.stuck = true }
            let deadline = Date().addingTimeInterval(5)
            while !state.withLock({ $0.released }) && Date() < deadline { usleep(1000) }
            state.withLock { $0.stuck = false }
        }
        return try await base.stat(path)
    }
    func read(_ path: String, limit: Int) async throws -> [UInt8]? { try await base.read(path, limit: limit) }
    func write(_ path: String, contents: [UInt8], durable: Bool) async throws { try await base.write(path, contents: contents, durable: durable) }
    func list(_ path: String) async throws -> [String]? { try await base.list(path) }
    func delete(_ path: String) async throws { try await base.delete(path) }
    func move(_ source: String, to destination: String, durable: Bool) async throws {
        try await base.move(source, to: destination, durable: durable)
    }
    func pruneFolder(_ path: String) async throws { try await base.pruneFolder(path) }
    func writer(_ path: String, append: Bool) async throws -> any StorageWriter { try await base.writer(path, append: append) }
    func reader(_ path: String) async throws -> (any StorageReader)? { try await base.reader(path) }
    func walk(_ path: String, visit: (StorageEntry) async throws -> WalkStep) async throws { try await base.walk(path, visit: visit) }
}
