import Foundation
import Logging
import Testing
import WharfCore
import WharfStorage

@Suite("UploadPurger")
struct UploadPurgerTests {
    @Test func purgeOnceRemovesAbandonedUploadsInEveryRepository() async throws {
        try await TemporaryStorage.with { storage in
            let store = BlobStore(driver: storage.driver)
            let nested = try RepositoryName("team/app/nested")
            let uploadsOnly = try RepositoryName("uploads/only")
            let withManifests = try RepositoryName("with/manifests")
            try storage.makeDirectory(storage.v2("repositories/with/manifests/_manifests"))

            let oldNested = try await store.startUpload(in: nested)
            let oldOnly = try await store.startUpload(in: uploadsOnly)
            let oldWithManifests = try await store.startUpload(in: withManifests)
            let fresh = try await store.startUpload(in: withManifests)
            for (name, id) in [("team/app/nested", oldNested.id), ("uploads/only", oldOnly.id), ("with/manifests", oldWithManifests.id)] {
                try storage.writeText(storage.uploadPath(name, id) + "/startedat", "2024-01-02T03:04:05.123456789Z")
            }

            let purger = UploadPurger(blobs: store, maxAge: .seconds(3600), interval: .seconds(60), logger: Logger(label: "wharf.tests.purger"))
            #expect(await purger.purgeOnce() == 3)
            #expect(!storage.exists(storage.uploadPath("team/app/nested", oldNested.id)))
            #expect(!storage.exists(storage.uploadPath("uploads/only", oldOnly.id)))
            #expect(!storage.exists(storage.uploadPath("with/manifests", oldWithManifests.id)))
            #expect(storage.exists(storage.uploadPath("with/manifests", fresh.id)))
            #expect(await purger.purgeOnce() == 0)

            // Seen from far enough in the future, the fresh one is abandoned too.
            #expect(await purger.purgeOnce(now: Date().addingTimeInterval(7200)) == 1)
            #expect(!storage.exists(storage.uploadPath("with/manifests", fresh.id)))
        }
    }
}
