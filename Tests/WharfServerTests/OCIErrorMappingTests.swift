import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing
import WharfCore
import WharfDatabase
import WharfStorage

@testable import WharfServer

/// The one mapping of errors to OCI responses on `/v2` (``OCIErrorResponse``): every domain failure gets the
/// spec's code and status, its facts become the headers clients read, and failures below the domain (database,
/// storage) are told apart from the client's mistakes.
@Suite struct OCIErrorMappingTests {
    static let logger = Logger(label: "mapping-tests")

    /// Each domain code with the OCI code and status the spec gives it (the statuses WharfCoreTests and
    /// WharfStorageTests checked when the domain threw `RegistryError`).
    static let table: [(ContentError.Code, String, Int)] = [
        (.digestInvalid, "DIGEST_INVALID", 400),
        (.manifestInvalid, "MANIFEST_INVALID", 400),
        (.manifestUnknown, "MANIFEST_UNKNOWN", 404),
        (.manifestBlobUnknown, "MANIFEST_BLOB_UNKNOWN", 404),
        (.blobUnknown, "BLOB_UNKNOWN", 404),
        (.uploadUnknown, "BLOB_UPLOAD_UNKNOWN", 404),
        (.outOfOrder, "BLOB_UPLOAD_INVALID", 416),
        (.rangeInvalid, "RANGE_INVALID", 416),
        (.nameInvalid, "NAME_INVALID", 400),
        (.tagInvalid, "TAG_INVALID", 400),
        (.sizeInvalid, "SIZE_INVALID", 400),
        (.tooLarge, "SIZE_INVALID", 413),
        (.tooManyUploads, "TOOMANYREQUESTS", 429),
    ]

    /// What the mapping makes of `error` (its body is checked through the router in the last test).
    static func mapped(_ error: any Error) -> RegistryError {
        OCIErrorResponse.registryError(for: error, logger: logger)
    }

    @Test(arguments: 0..<table.count)
    func eachContentErrorHasItsOCICodeAndStatus(index: Int) {
        let (code, ociCode, status) = Self.table[index]
        let error = ContentError(code, detail: "the detail")
        let response = OCIErrorResponse.response(for: error, method: .get, logger: Self.logger)
        #expect(response.status.code == status, "\(code)")
        #expect(response.headers[.contentType] == "application/json; charset=utf-8")
        let mapped = Self.mapped(error)
        #expect(mapped.code.rawValue == ociCode, "\(code)")
        #expect(mapped.message == error.message)
        #expect(mapped.detail == "the detail")
    }

    @Test func theTableCoversEveryCodeTheDomainThrows() {
        // A code added to ContentError without a row here would map to 500 UNKNOWN unnoticed.
        for (code, _, _) in Self.table {
            #expect(OCIErrorResponse.registryError(for: ContentError(code)).code != .unknown, "\(code)")
        }
        #expect(Set(Self.table.map { $0.0.rawValue }).count == Self.table.count)
    }

    @Test func factsBecomeTheHeadersTheSpecNames() {
        let outOfOrder = OCIErrorResponse.response(for: ContentError(.outOfOrder, uploadOffset: 30000), method: .patch, logger: Self.logger)
        #expect(outOfOrder.headers[.range] == "0-29999")
        let empty = OCIErrorResponse.response(for: ContentError(.outOfOrder, uploadOffset: 0), method: .patch, logger: Self.logger)
        #expect(empty.headers[.range] == "0-0")
        let range = OCIErrorResponse.response(for: ContentError(.rangeInvalid, contentSize: 1000), method: .get, logger: Self.logger)
        #expect(range.headers[.contentRange] == "bytes */1000")
        let quota = OCIErrorResponse.response(for: ContentError(.tooManyUploads, retryAfterSeconds: 7), method: .post, logger: Self.logger)
        #expect(quota.headers[.retryAfter] == "7")
        let plain = OCIErrorResponse.response(for: ContentError(.blobUnknown), method: .get, logger: Self.logger)
        #expect(plain.headers[.range] == nil && plain.headers[.contentRange] == nil && plain.headers[.retryAfter] == nil)
    }

    @Test func whatTheDomainThrowsMapsWithItsFacts() throws {
        // The real throwers, not hand-made errors: a range past the end and a second writer on one upload.
        let unsatisfiable = #expect(throws: ContentError.self) { _ = try ByteRange.parseRangeHeader("bytes=5000-6000", size: 1000) }
        let range = OCIErrorResponse.response(for: try #require(unsatisfiable), method: .get, logger: Self.logger)
        #expect(range.status.code == 416 && range.headers[.contentRange] == "bytes */1000")

        let quota = UploadQuota(limit: 1, maxAge: .seconds(3600))
        try quota.open(.random(), account: "account:alice")
        let refused = #expect(throws: ContentError.self) { try quota.open(.random(), account: "account:alice") }
        let tooMany = OCIErrorResponse.response(for: try #require(refused), method: .post, logger: Self.logger)
        #expect(tooMany.status.code == 429)
        #expect(tooMany.headers[.retryAfter].flatMap { Int($0) }.map { $0 > 0 } == true)
        #expect(Self.mapped(try #require(refused)).code.rawValue == "TOOMANYREQUESTS")
    }

    /// A full disk is no bug: 507 in OCI JSON, a message that says so without the path, and a status line that
    /// carries it (docker and containerd print only that of a 5xx).
    @Test func aFullStorageAnswers507WithoutThePath() {
        let error = StorageError.system("write", "/srv/wharf/registry/docker/registry/v2/x/data", systemError: ENOSPC)
        let response = OCIErrorResponse.response(for: error, method: .patch, logger: Self.logger)
        #expect(response.status.code == 507)
        #expect(response.status.reasonPhrase == "Insufficient Storage: the registry's storage is full (no space left on device)")
        let mapped = Self.mapped(error)
        #expect(mapped.code.rawValue == "UNAVAILABLE")
        #expect(mapped.message == "the registry's storage is full")
        #expect(!mapped.description.contains("/srv/wharf"))
        #expect(Self.mapped(StorageError.system("write", "/x", systemError: EDQUOT)).code.status == 507)
    }

    @Test func failuresBelowTheDomainAreToldApart() {
        let database = OCIErrorResponse.response(for: DatabaseError(.unavailable, "gone"), method: .get, logger: Self.logger)
        #expect(database.status == .serviceUnavailable)
        #expect(database.headers[.retryAfter] == "5")
        #expect(Self.mapped(DatabaseError(.unavailable, "gone")).code == .unavailable)
        // Whatever the database said stays in the log, not in the answer.
        #expect(Self.mapped(DatabaseError(.query, "no such table")).detail == "the account database did not answer")

        let storage = OCIErrorResponse.response(for: StorageError(.io, "disk on fire"), method: .get, logger: Self.logger)
        #expect(storage.status == .internalServerError)
        #expect(Self.mapped(StorageError(.io, "disk on fire")).code == .unknown)

        let body = OCIErrorResponse.response(for: NIOTooManyBytesError(maxBytes: 10), method: .put, logger: Self.logger)
        #expect(body.status == .contentTooLarge)
        #expect(Self.mapped(NIOTooManyBytesError(maxBytes: 10)).code.rawValue == "SIZE_INVALID")

        let cancelled = OCIErrorResponse.response(for: CancellationError(), method: .get, logger: Self.logger)
        #expect(cancelled.status == .serviceUnavailable)

        let head = OCIErrorResponse.response(for: ContentError(.manifestUnknown), method: .head, logger: Self.logger)
        #expect(head.status == .notFound && head.headers[.contentLength].flatMap { Int($0) }.map { $0 > 0 } == true)
        #expect(head.body.contentLength == 0)
    }

    /// A database failure past the door (the catalogue filtered by the caller's namespaces) is 503 UNAVAILABLE
    /// in OCI JSON, as the door answers one: trying again later may work, and the client is not at fault.
    @Test func aDatabaseFailureDuringTheCatalogueIs503() async throws {
        try await withAuthServer { fixture in
            let alice = RegistryAuthorizationTests.basic("alice", "alice-password")
            try await RegistryAuthorizationTests.pushImage(fixture, "alice/app", "v1", alice)
            let listed = try await fixture.client.execute(uri: "/v2/_catalog", method: .get, headers: alice)
            #expect(try json(listed)["repositories"] as? [String] == ["alice/app"])

            // The door reads users (still there); the catalogue's filter reads memberships (now gone).
            _ = try await fixture.pool.write { transaction in try transaction.execute("ALTER TABLE team_members RENAME TO team_members_gone") }
            let response = try await fixture.client.execute(uri: "/v2/_catalog", method: .get, headers: alice)
            #expect(response.status == .serviceUnavailable, "\(String(buffer: response.body))")
            #expect(errorCode(response) == "UNAVAILABLE")
            #expect(response.headers[.retryAfter] == "5")
            #expect(response.headers[.contentType] == "application/json; charset=utf-8")
            #expect(response.headers[.dockerDistributionAPIVersion] == "registry/2.0")
        }
    }
}
