import Foundation
import Logging
import NIOCore
import Testing
import WharfCore
import WharfStorage

@Suite("UploadQuota")
struct UploadQuotaTests {
    func ids(_ count: Int) -> [UploadID] { (0..<count).map { _ in UploadID.random() } }

    func refusal(_ body: () throws -> Void) -> ContentError? {
        do {
            try body()
            return nil
        } catch {
            return error as? ContentError
        }
    }

    @Test func refusesTheSessionBeyondTheLimitWith429AndRetryAfter() throws {
        let quota = UploadQuota(limit: 3, maxAge: .seconds(3600))
        for id in ids(3) { try quota.open(id, account: "account:alice") }
        let error = try #require(refusal { try quota.open(.random(), account: "account:alice") })
        #expect(error.code == .tooManyUploads)
        #expect(error.retryAfterSeconds.map { $0 > 0 } == true)
        #expect(quota.openCount(for: "account:alice") == 3)
    }

    @Test func eachAccountHasItsOwnLimit() throws {
        let quota = UploadQuota(limit: 2, maxAge: .seconds(3600))
        for id in ids(2) { try quota.open(id, account: "account:alice") }
        for id in ids(2) { try quota.open(id, account: "account:bob") }
        for id in ids(2) { try quota.open(id, account: "address:10.0.0.1") }
        #expect(refusal { try quota.open(.random(), account: "account:bob") } != nil)
        #expect(refusal { try quota.open(.random(), account: "address:10.0.0.1") } != nil)
    }

    @Test func aClosedSessionFreesItsPlace() throws {
        let quota = UploadQuota(limit: 2, maxAge: .seconds(3600))
        let open = ids(2)
        for id in open { try quota.open(id, account: "a") }
        #expect(refusal { try quota.open(.random(), account: "a") } != nil)
        quota.close(open[0])
        try quota.open(.random(), account: "a")
        // Closing an id twice, or one that never counted, frees nothing more.
        quota.close(open[0])
        quota.close(UploadID.random())
        #expect(refusal { try quota.open(.random(), account: "a") } != nil)
        quota.close([open[1]])
        try quota.open(.random(), account: "a")
    }

    @Test func sessionsOlderThanThePurgeAgeStopCounting() throws {
        let quota = UploadQuota(limit: 2, maxAge: .seconds(600))
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        for id in ids(2) { try quota.open(id, account: "a", now: start) }
        #expect(refusal { try quota.open(.random(), account: "a", now: start.addingTimeInterval(599)) } != nil)
        try quota.open(.random(), account: "a", now: start.addingTimeInterval(601))
        #expect(quota.openCount(for: "a", now: start.addingTimeInterval(601)) == 1)
        quota.forgetExpired(now: start.addingTimeInterval(10_000))
        #expect(quota.openCount(for: "a", now: start) == 0)
    }

    @Test func zeroMeansNoLimit() throws {
        let quota = UploadQuota(limit: 0, maxAge: .seconds(3600))
        for id in ids(1000) { try quota.open(id, account: "a") }
    }

    @Test func concurrentStartsNeverPassTheLimit() async throws {
        let quota = UploadQuota(limit: 10, maxAge: .seconds(3600))
        let admitted = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<200 {
                group.addTask { (try? quota.open(.random(), account: "a")) != nil }
            }
            var count = 0
            for await ok in group where ok { count += 1 }
            return count
        }
        #expect(admitted == 10)
    }

    @Test func thePurgerReleasesTheSessionsItRemoves() async throws {
        try await TemporaryStorage.with { storage in
            let store = BlobStore(driver: storage.driver)
            let quota = UploadQuota(limit: 2, maxAge: .seconds(3600))
            let repository = try RepositoryName("team/app")
            for _ in 0..<2 {
                let id = UploadID.random()
                try quota.open(id, account: "a")
                _ = try await store.startUpload(in: repository, id: id)
            }
            #expect(refusal { try quota.open(.random(), account: "a") } != nil)
            let purger = UploadPurger(blobs: store, maxAge: .seconds(3600), interval: .seconds(60), logger: Logger(label: "test"), quota: quota)
            // Seen from two hours on, both sessions are abandoned: purged, and no longer counted.
            #expect(await purger.purgeOnce(now: Date().addingTimeInterval(7200)) == 2)
            #expect(quota.openCount(for: "a", now: Date(timeIntervalSince1970: 0)) == 0)
            try quota.open(.random(), account: "a")
        }
    }
}

@Suite("BlobStore size limit")
struct BlobStoreSizeLimitTests {
    /// A body delivered in pieces, as a request without Content-Length arrives.
    func body(_ pieces: [[UInt8]]) -> AsyncStream<ByteBuffer> {
        AsyncStream { continuation in
            for piece in pieces { continuation.yield(ByteBuffer(bytes: piece)) }
            continuation.finish()
        }
    }

    @Test func aStreamedBodyStopsBeforeTheLimitIsPassed() async throws {
        try await TemporaryStorage.with { storage in
            let store = BlobStore(driver: storage.driver)
            let repository = try RepositoryName("big/app")
            var session = try await store.checkOut(try await store.startUpload(in: repository).id, in: repository)
            let pieces = Array(repeating: [UInt8](repeating: 7, count: 400), count: 5)
            do {
                try await store.append(body(pieces), to: &session, maxSize: 1000)
                Issue.record("2000 bytes were accepted under a 1000-byte limit")
            } catch let error as ContentError {
                #expect(error.code == .tooLarge)
            }
            // Nothing past the limit reached the file.
            #expect(session.offset == 800)
            let size = try FileManager.default.attributesOfItem(atPath: storage.uploadPath("big/app", session.id) + "/data")[.size] as? Int
            #expect(size == 800)
        }
    }

    @Test func aBodyUpToTheLimitIsAccepted() async throws {
        try await TemporaryStorage.with { storage in
            let store = BlobStore(driver: storage.driver)
            let repository = try RepositoryName("big/app")
            var session = try await store.checkOut(try await store.startUpload(in: repository).id, in: repository)
            try await store.append(body([[UInt8](repeating: 1, count: 600), [UInt8](repeating: 2, count: 400)]), to: &session, maxSize: 1000)
            #expect(session.offset == 1000)
        }
    }
}
