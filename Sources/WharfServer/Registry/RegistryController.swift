import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import WharfCore
import WharfStorage
import WharfSync

/// The OCI distribution API under `/v2`.
///
/// Repository names contain slashes and even endpoint words, so one recursive wildcard route takes every path
/// under `/v2` and the endpoint is parsed from the end of the path (`RegistryRoute`). Errors are thrown: the
/// group's ``RegistryResponseMiddleware`` renders them and finishes every response.
struct RegistryController<Context: WharfContext>: Sendable {
    let blobs: BlobStore
    let manifests: ManifestIndex
    let walker: RepositoryWalker
    /// The catalogue mirror: written by pushes and deletes in their request, read by `/v2/_catalog` when current.
    let catalog: CatalogMirror
    /// Where push, delete, pull and mount events go; publishing never waits for their consumers.
    let events: EventBus
    /// Open upload sessions per account (`uploads.max_open_per_account`).
    let quota: UploadQuota
    /// `uploads.max_blob_size`: the largest blob an upload may reach; nil for no limit.
    let maxBlobSize: Int64?
    /// What immutable tags refuse (a push moving one, a delete of one).
    var immutability: TagImmutability? = nil

    /// Blob bodies are streamed in chunks of this size (2 MiB measured 1.2x faster than 512 KiB on 64 MiB pulls;
    /// one buffer per download, reused while the client keeps up).
    static var downloadChunkSize: Int { 2 * 1024 * 1024 }
    /// The most entries one tags or catalog page returns.
    static var maxPageSize: Int { 10_000 }

    /// Every method: those no endpoint takes get the registry's `UNSUPPORTED` rather than the router's 404.
    static var methods: [HTTPRequest.Method] { [.get, .head, .post, .put, .patch, .delete, .options, .trace] }

    /// Adds the registry to the `/v2` group: its base, and every path below it through one recursive wildcard.
    func addRoutes(to group: RouterGroup<Context>) {
        for method in Self.methods {
            for path: RouterPath in ["", "**"] {
                group.on(path, method: method) { request, context in
                    try await dispatch(request, path: request.uri.path, context: context)
                }
            }
        }
    }

    func dispatch(_ request: Request, path: String, context: Context) async throws -> Response {
        let route: RegistryRoute
        do {
            route = try context.registryRoute ?? RegistryRoute(path: path)
        } catch let error as ContentError where error.code == .tagInvalid && request.method != .put {
            // A reference that cannot be a tag names no manifest: reading or deleting it is a 404.
            throw RegistryError(.manifestUnknown, detail: error.detail)
        }
        switch (route, request.method) {
        case (.base, .get), (.base, .head):
            return json(Data("{}".utf8), method: request.method)
        case (.catalog, .get):
            return try await catalog(request, access: context.registryAccess)
        case (.tags(let name), .get):
            return try await tags(request, name)
        case (.manifest(let name, let reference), .get), (.manifest(let name, let reference), .head):
            return try await getManifest(request, name, reference, context: context)
        case (.manifest(let name, let reference), .put):
            return try await putManifest(request, name, reference, context: context)
        case (.manifest(let name, let reference), .delete):
            return try await deleteManifest(request, name, reference, context: context)
        case (.blob(let name, let digest), .get), (.blob(let name, let digest), .head):
            return try await getBlob(request, name, digest)
        case (.blob(let name, let digest), .delete):
            try await blobs.unlinkBlob(digest, in: name)
            return Response(status: .accepted, headers: [.contentLength: "0"])
        case (.startUpload(let name), .post):
            return try await startUpload(request, name, context: context)
        case (.upload(let name, let id), .get):
            let session = try await blobs.status(of: id, in: name)
            return uploadResponse(.noContent, session)
        case (.upload(let name, let id), .patch):
            return try await patchUpload(request, name, id)
        case (.upload(let name, let id), .put):
            return try await finishUpload(request, name, id)
        case (.upload(let name, let id), .delete):
            try await blobs.cancel(id, in: name)
            quota.close(id)
            return Response(status: .noContent)
        case (.referrers(let name, let digest), .get):
            return try await referrers(request, name, digest)
        default:
            throw RegistryError(.unsupported, detail: "\(request.method) is not supported here")
        }
    }

    // MARK: Listing

    /// The repositories the caller may pull (all of them for admins, the service account, or with auth off), in
    /// tree order (`a`, `a/b`, `a-c`: the order of a walk of the folders). A page reads the catalogue mirror when
    /// it is current, else walks storage, only up to its end: from `last` on, in batches, until it holds `n`
    /// repositories the caller may pull, and one more to know whether a next page exists.
    func catalog(_ request: Request, access: RegistryAccess?) async throws -> Response {
        let size = try pageSize(request) ?? 1000
        let restricted = access.map { !$0.isUnrestricted } ?? false
        var page: [RepositoryName] = []
        var cursor = request.uri.queryParameters["last"].map(String.init)
        var more = false
        while size > 0 {
            // Filtering by access drops some: read a batch large enough that one usually fills the page.
            let wanted = size + 1 - page.count
            let limit = restricted ? max(wanted, 100) : wanted
            let batch = try await repositories(after: cursor, limit: limit)
            page += restricted ? try await access!.pullable(batch) : batch
            if page.count > size {
                page.removeLast(page.count - size)
                more = true
                break
            }
            guard batch.count == limit, let last = batch.last else { break }
            cursor = last.value
        }
        var response = json(try encode(["repositories": page.map(\.value)]), method: .get)
        if more, let last = page.last {
            response.headers[.link] = "<\(RegistryRoute.catalog.path)?\(Self.nextPageQuery(size: size, last: last.value))>; rel=\"next\""
        }
        return response
    }

    /// Repositories in tree order after `last`: from the mirror when it is current, else from storage.
    func repositories(after last: String?, limit: Int) async throws -> [RepositoryName] {
        if let names = try await catalog.repositoryNames(after: last, limit: limit) {
            return names.compactMap { try? RepositoryName($0) }
        }
        return try await walker.repositories(after: last, limit: limit)
    }

    func tags(_ request: Request, _ name: RepositoryName) async throws -> Response {
        guard let all = try await manifests.tags(in: name) else {
            throw RegistryError(.nameUnknown, detail: name.value)
        }
        let (page, next) = try paginate(all, request: request)
        var response = json(try encode(TagList(name: name.value, tags: page)), method: .get)
        if let next { response.headers[.link] = "<\(RegistryRoute.tags(name).path)?\(next)>; rel=\"next\"" }
        return response
    }

    /// The `n` of a paging request, at most ``maxPageSize``; nil when it has none.
    func pageSize(_ request: Request) throws -> Int? {
        guard let text = request.uri.queryParameters["n"] else { return nil }
        guard let n = Int(text), n >= 0 else { throw RegistryError(.paginationInvalid, detail: "n must be a non-negative number") }
        return min(n, Self.maxPageSize)
    }

    /// The query of the page after one of `size` entries ending at `last`.
    static func nextPageQuery(size: Int, last: String) -> String {
        "n=\(size)&last=\(last.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? last)"
    }

    /// Applies `n` and `last` to a sorted list (all of it without `n`). Returns the page and, when more follow, the
    /// next page's query.
    func paginate(_ sorted: [String], request: Request) throws -> ([String], String?) {
        let query = request.uri.queryParameters
        let size = try pageSize(request)
        var start = sorted.startIndex
        if let last = query["last"] {
            let lastText = String(last)
            start = sorted.firstIndex(where: { $0 > lastText }) ?? sorted.endIndex
        }
        let remaining = sorted[start...]
        guard let size, size < remaining.count else { return (Array(remaining), nil) }
        let page = Array(remaining.prefix(size))
        guard let lastInPage = page.last else { return ([], nil) }
        return (page, Self.nextPageQuery(size: size, last: lastInPage))
    }

    // MARK: Manifests

    func getManifest(_ request: Request, _ name: RepositoryName, _ reference: Reference, context: Context) async throws -> Response {
        guard let manifest = try await manifests.get(reference, in: name) else {
            throw RegistryError(.manifestUnknown, detail: "\(name.value):\(reference)")
        }
        try checkAccept(request, manifest)
        if request.method == .get {
            events.publish(
                event(
                    .pull,
                    target: target(name, reference, digest: manifest.digest, mediaType: manifest.mediaType, size: Int64(manifest.bytes.count)),
                    request,
                    context
                )
            )
        }
        var headers = HTTPFields()
        headers[.contentType] = manifest.mediaType
        headers[.dockerContentDigest] = manifest.digest.description
        headers[.eTag] = "\"\(manifest.digest)\""
        headers[.contentLength] = String(manifest.bytes.count)
        if request.method == .head { return Response(status: .ok, headers: headers) }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: manifest.bytes)))
    }

    /// The spec lets a client say which manifest types it can read: when it lists manifest types and none
    /// (nor a wildcard) matches, the manifest is not served in a form the client could misread.
    func checkAccept(_ request: Request, _ manifest: StoredManifest) throws {
        let accepted = request.headers[values: .accept]
            .flatMap { $0.split(separator: ",") }
            .map { MediaType.essence($0) }
        guard accepted.contains(where: { MediaType.manifests.contains($0) }) else { return }
        if accepted.contains(manifest.mediaType) || accepted.contains("*/*") || accepted.contains("application/*") { return }
        throw RegistryError(
            .manifestUnknown,
            "manifest is not available in an accepted media type",
            detail: "stored as \(manifest.mediaType)"
        )
    }

    func putManifest(_ request: Request, _ name: RepositoryName, _ reference: Reference, context: Context) async throws -> Response {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > Manifest.maxSize {
            throw RegistryError(.tooLarge, "manifest too large", detail: "limit is \(Manifest.maxSize) bytes")
        }
        var request = request
        let buffer = try await request.collectBody(upTo: Manifest.maxSize)
        let bytes = Array(buffer.readableBytesView)
        if case .tag(let tag) = reference, let immutability {
            // The digest the put will compute (by tag: SHA-256), checked before anything is written.
            try await immutability.checkPush(tag: tag, digest: OCIDigest.of(bytes), in: name)
        }
        let (digest, manifest) = try await manifests.put(
            bytes,
            contentType: request.headers[.contentType],
            reference: reference,
            in: name,
            blobs: blobs
        )
        var target = target(name, reference, digest: digest, mediaType: manifest.mediaType, size: Int64(bytes.count))
        target.references = (manifest.blobReferences + manifest.manifestReferences).map(\.description)
        var pushed = event(.push, target: target, request, context)
        pushed.webhooksQueued = await catalog.recordPush(pushed, manifest: bytes)
        events.publish(pushed)
        var headers = HTTPFields()
        headers[.location] = RegistryRoute.manifest(name, .digest(digest)).path
        headers[.dockerContentDigest] = digest.description
        headers[.contentLength] = "0"
        if let subject = manifest.subject { headers[.ociSubject] = subject.description }
        return Response(status: .created, headers: headers)
    }

    func deleteManifest(_ request: Request, _ name: RepositoryName, _ reference: Reference, context: Context) async throws -> Response {
        let described = event(.delete, target: RegistryEvent.Target(repository: name.value), request, context)
        try await ContentDeleter(manifests: manifests, catalog: catalog, events: events, immutability: immutability).delete(
            reference,
            in: name,
            request: described.request,
            actor: described.actor
        )
        return Response(status: .accepted, headers: [.contentLength: "0"])
    }

    func referrers(_ request: Request, _ name: RepositoryName, _ digest: OCIDigest) async throws -> Response {
        let artifactType = request.uri.queryParameters["artifactType"].map(String.init)
        let descriptors = try await manifests.referrers(of: digest, in: name, artifactType: artifactType)
        var response = json(try encode(ReferrersIndex(manifests: descriptors)), method: .get, contentType: MediaType.ociIndex)
        if artifactType != nil { response.headers[.ociFiltersApplied] = "artifactType" }
        return response
    }

    // MARK: Blobs

    func getBlob(_ request: Request, _ name: RepositoryName, _ digest: OCIDigest) async throws -> Response {
        guard let reader = try await blobs.openBlob(digest, in: name) else {
            throw RegistryError(.blobUnknown, detail: digest.description)
        }
        let size = reader.size
        var headers = HTTPFields()
        headers[.contentType] = MediaType.octetStream
        headers[.dockerContentDigest] = digest.description
        headers[.eTag] = "\"\(digest)\""
        headers[.acceptRanges] = "bytes"
        headers[.cacheControl] = "max-age=31536000"
        var status = HTTPResponse.Status.ok
        var range: ClosedRange<Int64> = 0...max(size - 1, 0)
        if let header = request.headers[.range], let requested = try ByteRange.parseRangeHeader(header, size: size) {
            status = .partialContent
            range = requested
            headers[.contentRange] = "bytes \(requested.lowerBound)-\(requested.upperBound)/\(size)"
        }
        let length = size == 0 ? 0 : range.upperBound - range.lowerBound + 1
        headers[.contentLength] = String(length)
        if request.method == .head || length == 0 { return Response(status: status, headers: headers) }
        let start = range.lowerBound
        let body = ResponseBody(contentLength: Int(length)) { writer in
            var chunk = ByteBufferAllocator().buffer(capacity: Int(min(Int64(Self.downloadChunkSize), length)))
            var offset = start
            let end = start + length
            while offset < end {
                let read = try await reader.read(at: offset, length: Int(min(Int64(Self.downloadChunkSize), end - offset)), into: &chunk)
                guard read > 0 else { throw RegistryError(.blobUnknown, detail: "blob shorter than its size") }
                offset += Int64(read)
                try await writer.write(chunk)
            }
            try await writer.finish(nil)
        }
        return Response(status: status, headers: headers, body: body)
    }

    // MARK: Uploads

    /// Where a mount may read `digest` from, or nil to fall back to an upload (as the spec allows). Without auth,
    /// or for admins and the service account, `from` as given (nil: any repository). Otherwise only a repository
    /// the caller may pull: `from` when the token or the rules allow it, else (no `from`) the first pullable
    /// repository that links the blob, so a mount never reveals content the caller could not read.
    func mountSource(_ digest: OCIDigest, from source: RepositoryName?, access: RegistryAccess?) async throws -> RepositoryName?? {
        guard let access, !access.isUnrestricted else { return .some(source) }
        if let source { return try await access.mayPull(source) ? .some(source) : nil }
        guard try await blobs.blobExists(digest) else { return nil }
        var candidates: [RepositoryName] = []
        // A repository holding only pushed layers (no manifest yet) is a source too.
        for repository in try await walker.repositories(includeLayersOnly: true) where try await blobs.isLinked(digest, in: repository) {
            candidates.append(repository)
            if candidates.count >= Self.mountCandidates { break }
        }
        return try await access.pullable(candidates).first.map { .some($0) }
    }

    /// How many repositories linking a blob a mount without `from` considers.
    static var mountCandidates: Int { 100 }

    func startUpload(_ request: Request, _ name: RepositoryName, context: Context) async throws -> Response {
        let query = request.uri.queryParameters
        if let mountText = query["mount"] {
            let digest = try OCIDigest(parsing: mountText)
            let source = try query["from"].map { try RepositoryName($0) }
            if let source = try await mountSource(digest, from: source, access: context.registryAccess),
                let size = try await blobs.mount(digest, into: name, from: source)
            {
                var target = RegistryEvent.Target(repository: name.value, digest: digest.description, size: size, fromRepository: source?.value)
                target.url = RegistryRoute.blob(name, digest).path
                events.publish(event(.mount, target: target, request, context))
                return blobCreated(name, digest)
            }
        }
        try checkSize(declaredLength(request), after: 0)
        if let digestText = query["digest"] {
            // A monolithic upload finishes (or fails) within this request, so its session never counts against the quota.
            let digest = try OCIDigest(parsing: digestText)
            var session = try await blobs.checkOut(try await blobs.startUpload(in: name).id, in: name)
            do {
                try await appendBody(of: request, to: &session, limit: declaredLength(request))
                try checkComplete(session, start: 0, request: request, range: nil)
            } catch {
                await blobs.checkIn(session)
                try? await blobs.cancel(session.id, in: name)
                throw error
            }
            _ = try await blobs.commit(session, expected: digest)
            return blobCreated(name, digest)
        }
        let id = UploadID.random()
        try quota.open(id, account: Self.uploadAccount(context))
        var session: UploadSession
        do {
            session = try await blobs.startUpload(in: name, id: id)
        } catch {
            quota.close(id)
            throw error
        }
        // A body sent with the POST (known length, or streamed without one) is the upload's first chunk.
        if declaredLength(request).map({ $0 > 0 }) ?? true {
            session = try await blobs.checkOut(session.id, in: name)
            do {
                try await appendBody(of: request, to: &session, limit: declaredLength(request))
            } catch {
                throw await checkIn(session, after: error)
            }
            await blobs.checkIn(session)
        }
        return uploadResponse(.accepted, session)
    }

    /// Whose quota an upload session counts against: the authenticated account, or the client's address when auth
    /// is off or the caller is anonymous.
    static func uploadAccount(_ context: Context) -> String {
        if let subject = context.registryAccess?.caller.subject, !subject.name.isEmpty {
            return "account:" + subject.name
        }
        return "address:" + (context.remoteAddress?.ipAddress ?? "unknown")
    }

    /// Refuses, before any byte is read, an upload whose declared size would pass `uploads.max_blob_size`.
    /// - Parameters:
    ///   - length: the bytes this request declares (nil: unknown; checked while streaming instead).
    ///   - offset: the bytes the upload already holds.
    func checkSize(_ length: Int64?, after offset: Int64) throws {
        guard let maxBlobSize, let length else { return }
        if length > maxBlobSize - offset { throw BlobStore.tooLarge(maxBlobSize) }
    }

    /// Gives a session back after a failed write and returns the error to report. A blob over
    /// `uploads.max_blob_size` can never be committed, so its session ends with the 413 (nothing of it stays).
    func checkIn(_ session: UploadSession, after error: any Error) async -> any Error {
        let reported = await blobs.checkIn(session, after: error)
        if let failure = error as? ContentError, failure.code == .tooLarge {
            try? await blobs.cancel(session.id, in: session.repository)
            quota.close(session.id)
        }
        return reported
    }

    func patchUpload(_ request: Request, _ name: RepositoryName, _ id: UploadID) async throws -> Response {
        let range = try contentRange(request)
        var session = try await blobs.checkOut(id, in: name)
        let start = session.offset
        do {
            try checkRange(range, session: session, request: request)
            let length = range.map { $0.upperBound - $0.lowerBound + 1 } ?? declaredLength(request)
            try checkSize(length, after: start)
            try await appendBody(of: request, to: &session, limit: length)
            try checkComplete(session, start: start, request: request, range: range)
        } catch {
            throw await checkIn(session, after: error)
        }
        // A DELETE may have cancelled the upload while this chunk was being written.
        guard await blobs.checkIn(session) else { throw RegistryError(.blobUploadUnknown, detail: id.value) }
        return uploadResponse(.accepted, session)
    }

    func finishUpload(_ request: Request, _ name: RepositoryName, _ id: UploadID) async throws -> Response {
        guard let digestText = request.uri.queryParameters["digest"] else {
            throw RegistryError(.digestInvalid, "digest parameter missing")
        }
        let digest = try OCIDigest(parsing: digestText)
        let range = try contentRange(request)
        var session = try await blobs.checkOut(id, in: name)
        let start = session.offset
        do {
            try checkRange(range, session: session, request: request)
            let length = range.map { $0.upperBound - $0.lowerBound + 1 } ?? declaredLength(request)
            // `after: 0` as well: a session from before the limit was lowered may already hold more.
            try checkSize(start, after: 0)
            try checkSize(length, after: start)
            try await appendBody(of: request, to: &session, limit: length)
            try checkComplete(session, start: start, request: request, range: range)
        } catch {
            throw await checkIn(session, after: error)
        }
        do {
            _ = try await blobs.commit(session, expected: digest)
        } catch let error as ContentError where error.code == .digestInvalid {
            // A wrong digest removes the session.
            quota.close(id)
            throw error
        }
        quota.close(id)
        return blobCreated(name, digest)
    }

    func contentRange(_ request: Request) throws -> ClosedRange<Int64>? {
        guard let header = request.headers[.contentRange] else { return nil }
        guard let range = ByteRange.parseContentRange(header) else {
            throw RegistryError(.blobUploadOutOfOrder, "invalid Content-Range", detail: String(header.prefix(100)))
        }
        return range
    }

    func declaredLength(_ request: Request) -> Int64? {
        request.headers[.contentLength].flatMap { Int64($0) }
    }

    /// A chunk must start where the upload stands, and its length must agree with Content-Length.
    func checkRange(_ range: ClosedRange<Int64>?, session: UploadSession, request: Request) throws {
        guard let range else { return }
        guard range.lowerBound == session.offset else {
            throw RegistryError(
                .blobUploadOutOfOrder,
                detail: "chunk starts at \(range.lowerBound), upload is at \(session.offset)",
                headers: [("Range", session.rangeHeader), ("Location", RegistryRoute.upload(session.repository, session.id).path)]
            )
        }
        if let length = declaredLength(request), length != range.upperBound - range.lowerBound + 1 {
            throw RegistryError(.blobUploadOutOfOrder, "Content-Range and Content-Length disagree")
        }
    }

    /// The body must have been as long as the request said.
    func checkComplete(_ session: UploadSession, start: Int64, request: Request, range: ClosedRange<Int64>?) throws {
        let received = session.offset - start
        let expected = range.map { $0.upperBound - $0.lowerBound + 1 } ?? declaredLength(request)
        if let expected, received != expected {
            throw RegistryError(.sizeInvalid, detail: "received \(received) bytes, expected \(expected)")
        }
    }

    func uploadResponse(_ status: HTTPResponse.Status, _ session: UploadSession) -> Response {
        var headers = HTTPFields()
        headers[.location] = RegistryRoute.upload(session.repository, session.id).path
        headers[.range] = session.rangeHeader
        headers[.dockerUploadUUID] = session.id.value
        headers[.contentLength] = "0"
        return Response(status: status, headers: headers)
    }

    func blobCreated(_ name: RepositoryName, _ digest: OCIDigest) -> Response {
        var headers = HTTPFields()
        headers[.location] = RegistryRoute.blob(name, digest).path
        headers[.dockerContentDigest] = digest.description
        headers[.contentLength] = "0"
        return Response(status: .created, headers: headers)
    }

    // MARK: Events

    /// An event of this request: who (the authenticated caller; anonymous with auth off), from where, how.
    func event(_ action: RegistryEvent.Action, target: RegistryEvent.Target, _ request: Request, _ context: Context) -> RegistryEvent {
        let subject = context.registryAccess?.caller.subject
        var target = target
        if let url = target.url, url.hasPrefix("/") { target.url = context.externalBase + url }
        // A pull's ids are made only if a webhook sends it (the envelope fills them): most pulls go nowhere.
        let id = action == .pull ? "" : UUID().uuidString.lowercased()
        return RegistryEvent(
            id: id,
            action: action,
            target: target,
            request: RegistryEvent.Request(
                id: id,
                addr: context.remoteAddress?.ipAddress ?? "",
                host: request.head.authority ?? "",
                method: request.method.rawValue,
                userAgent: request.headers[.userAgent] ?? ""
            ),
            actor: RegistryEvent.Actor(name: subject?.name ?? "", userID: subject?.userID)
        )
    }

    /// A manifest event's target, with the URL it is fetched from.
    func target(_ name: RepositoryName, _ reference: Reference, digest: OCIDigest, mediaType: String, size: Int64) -> RegistryEvent.Target {
        var tag: String? = nil
        if case .tag(let value) = reference { tag = value.value }
        return RegistryEvent.Target(
            repository: name.value,
            mediaType: mediaType,
            digest: digest.description,
            size: size,
            tag: tag,
            url: RegistryRoute.manifest(name, .digest(digest)).path
        )
    }

    // MARK: Helpers

    func json(_ data: Data, method: HTTPRequest.Method, contentType: String = "application/json; charset=utf-8") -> Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        headers[.contentLength] = String(data.count)
        if method == .head { return Response(status: .ok, headers: headers) }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    func encode(_ value: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return try encoder.encode(value)
    }
}

struct TagList: Encodable {
    let name: String
    let tags: [String]
}

struct ReferrersIndex: Encodable {
    var schemaVersion = 2
    var mediaType = MediaType.ociIndex
    let manifests: [Descriptor]
}
