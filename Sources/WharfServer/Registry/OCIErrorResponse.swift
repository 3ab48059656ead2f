import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import WharfAuth
import WharfCore
import WharfDatabase
import WharfStorage

/// The one place that turns any error thrown under `/v2` into the spec's error JSON and status: the HTTP layer's
/// own ``RegistryError``, the domain's ``ContentError`` (its facts become headers), a full storage (507, see
/// ``storageFull``), other storage failures (500, a bug or a broken disk), database failures (503 `UNAVAILABLE`:
/// the accounts or permissions could not be read, trying again later may work), bodies over a limit, cancellation.
enum OCIErrorResponse {
    /// What a client is told to wait before retrying when the database did not answer (as ``DatabaseGate`` says).
    static var databaseRetryAfterSeconds: Int { 5 }

    /// A full disk is logged once a minute at most (``LogThrottle``): every write fails until space is freed.
    static let storageFullLog = LogThrottle(interval: .seconds(60))

    /// A write that found the storage full: 507 Insufficient Storage, a status that says what happened and that
    /// it is neither a bug (500) nor something the client did (4xx). The OCI code is `UNAVAILABLE` (the spec has
    /// no code of its own for it; the push can work later, once space is freed) and the message names no path.
    ///
    /// What clients do with a 5xx on a blob `PATCH`/`PUT` decides the status line: docker (moby, through
    /// distribution's client `HandleErrorResponse`) reads the JSON body of a 4xx only and reports any 5xx as
    /// `received unexpected HTTP status: <status line>`, then retries the layer (5 attempts with backoff) unless
    /// the error's text contains `no space left on device` (moby's `retryOnError` makes that one final); containerd
    /// (`ErrUnexpectedStatus`) prints `unexpected status from PUT request to <url>: <status line>` and nothing of
    /// the body. So the reason phrase carries the message and the words moby stops on (kept on HTTP/1.1 by
    /// ``ReasonPhraseKeeper``; HTTP/2 has none, and clients print "507 Insufficient Storage"): `docker push` prints
    /// "507 Insufficient Storage: the registry's storage is full (no space left on device)" and stops. 503
    /// `UNAVAILABLE` with `Retry-After` would tell clients to try again soon, which a full disk does not warrant
    /// (docker would retry five times in vain; distribution itself answers 500 `UNKNOWN`). skopeo
    /// (containers/image) was not checked here.
    static var storageFull: RegistryError {
        RegistryError(.storageFull, "the registry's storage is full", detail: "free space on the registry's storage and push again")
    }

    static func response(for error: any Error, method: HTTPRequest.Method, logger: Logger) -> Response {
        render(registryError(for: error, logger: logger), method: method)
    }

    static func registryError(for error: any Error, logger: Logger) -> RegistryError {
        switch error {
        case let error as RegistryError:
            return error
        case let error as ContentError:
            return registryError(for: error)
        case let error as RetentionError where error.code == .immutableTag:
            return RegistryError(.denied, detail: error.message)
        case let error as AuthError where error.code == .denied:
            // The Authorizer's refusal (a push into a namespace that cannot be created): its reason as it is.
            return RegistryError(.denied, detail: error.message)
        case is NIOTooManyBytesError:
            return RegistryError(.tooLarge, detail: "request body too large")
        case let error as StorageError where error.code == .full:
            let admitted = storageFullLog.admit()
            if admitted.log {
                logger.error(
                    "the storage is full: writes fail until space is freed",
                    metadata: ["error": "\(error.message)", "suppressed": "\(admitted.suppressed)"]
                )
            }
            return storageFull
        case let error as StorageError:
            logger.error("storage failure", metadata: ["error": "\(error)"])
            return RegistryError(.unknown, "storage failure")
        case let error as DatabaseError:
            logger.warning("database failure on /v2", metadata: ["error": "\(error)"])
            return RegistryError(
                .unavailable,
                detail: "the account database did not answer",
                headers: [("Retry-After", String(databaseRetryAfterSeconds))]
            )
        case let error as any HTTPResponseError:
            let status = error.status.code
            let code: RegistryError.Code = status == 413 ? .tooLarge : status == 404 ? .notFound : status == 405 ? .unsupported : .unknown
            return RegistryError(code, detail: "\(error.status.reasonPhrase)")
        case is CancellationError:
            return RegistryError(.unavailable, "request cancelled")
        default:
            logger.error("unexpected error", metadata: ["error": "\(error)"])
            return RegistryError(.unknown)
        }
    }

    /// The OCI code for a domain failure, with its facts as the headers the spec asks for: where an upload stands
    /// (`Range`) with an out-of-order chunk, the content's size (`Content-Range`) with an unsatisfiable range, when
    /// to try again (`Retry-After`).
    static func registryError(for error: ContentError) -> RegistryError {
        let code: RegistryError.Code
        switch error.code {
        case .digestInvalid: code = .digestInvalid
        case .manifestInvalid: code = .manifestInvalid
        case .manifestUnknown: code = .manifestUnknown
        case .manifestBlobUnknown: code = .manifestBlobUnknown
        case .blobUnknown: code = .blobUnknown
        case .uploadUnknown: code = .blobUploadUnknown
        case .outOfOrder: code = .blobUploadOutOfOrder
        case .rangeInvalid: code = .rangeInvalid
        case .nameInvalid: code = .nameInvalid
        case .tagInvalid: code = .tagInvalid
        case .sizeInvalid: code = .sizeInvalid
        case .tooLarge: code = .tooLarge
        case .tooManyUploads: code = .tooManyRequests
        default: code = .unknown
        }
        var headers: [(name: String, value: String)] = []
        if let offset = error.uploadOffset { headers.append(("Range", UploadSession.rangeHeader(offset: offset))) }
        if let size = error.contentSize { headers.append(("Content-Range", "bytes */\(size)")) }
        if let seconds = error.retryAfterSeconds { headers.append(("Retry-After", String(seconds))) }
        return RegistryError(code, error.message, detail: error.detail, headers: headers)
    }

    /// A refusal as clients show it: they print `code: message` and drop `detail`, so a `DENIED` or
    /// `UNAUTHORIZED` whose message is the code's generic one says its reason (the `detail`) there; a 403's status
    /// line says it too, since containerd prints nothing else of a refusal (``ReasonPhraseKeeper`` keeps it on
    /// HTTP/1.1; HTTP/2 has no reason phrase).
    static func render(_ error: RegistryError, method: HTTPRequest.Method) -> Response {
        var error = error
        if error.code == .denied || error.code == .unauthorized, error.message == error.code.defaultMessage, let detail = error.detail {
            error.message = detail
        }
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        for (name, value) in error.headers {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        var status = HTTPResponse.Status(code: error.code.status)
        if error.code == .denied, error.message != error.code.defaultMessage {
            status = HTTPResponse.Status(code: error.code.status, reasonPhrase: "Forbidden: " + error.message)
        }
        if error.code == .storageFull {
            status = HTTPResponse.Status(code: error.code.status, reasonPhrase: "Insufficient Storage: \(error.message) (no space left on device)")
        }
        let body = ErrorBody(errors: [.init(code: error.code.rawValue, message: error.message, detail: error.detail)])
        let data = (try? encoder.encode(body)) ?? Data(#"{"errors":[{"code":"UNKNOWN","message":"unknown error"}]}"#.utf8)
        if method == .head {
            headers[.contentLength] = String(data.count)
            return Response(status: status, headers: headers, body: .init())
        }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Sorted keys: two refusals that differ only in the names asked about are the same bytes but for those names
    /// (Foundation's key order otherwise varies from one response to the next).
    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    struct ErrorBody: Encodable {
        struct Entry: Encodable {
            let code: String
            let message: String
            let detail: String?
        }

        let errors: [Entry]
    }
}
