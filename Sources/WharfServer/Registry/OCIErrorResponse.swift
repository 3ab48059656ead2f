import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import WharfCore
import WharfStorage

/// The one place that turns any error thrown under `/v2` into the spec's error JSON and status.
enum OCIErrorResponse {
    static func response(for error: any Error, method: HTTPRequest.Method, logger: Logger) -> Response {
        let registryError: RegistryError
        switch error {
        case let error as RegistryError:
            registryError = error
        case is NIOTooManyBytesError:
            registryError = RegistryError(.tooLarge, detail: "request body too large")
        case let error as StorageError:
            logger.error("storage failure", metadata: ["error": "\(error)"])
            registryError = RegistryError(.unknown, "storage failure")
        case let error as any HTTPResponseError:
            let status = error.status.code
            let code: RegistryError.Code = status == 413 ? .tooLarge : status == 404 ? .notFound : status == 405 ? .unsupported : .unknown
            registryError = RegistryError(code, detail: "\(error.status.reasonPhrase)")
        case is CancellationError:
            registryError = RegistryError(.unavailable, "request cancelled")
        default:
            logger.error("unexpected error", metadata: ["error": "\(error)"])
            registryError = RegistryError(.unknown)
        }
        return render(registryError, method: method)
    }

    static func render(_ error: RegistryError, method: HTTPRequest.Method) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        for (name, value) in error.headers {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        let status = HTTPResponse.Status(code: error.code.status)
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
