import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import WharfAuth
import WharfCore
import WharfDatabase
import WharfStorage
import WharfSync

/// The one error shape of `/api/v1`: `{"error": {"code": "NAMESPACE_NOT_FOUND", "message": "…", "details": {…}}}`
/// with the status its code carries. ``from(_:)`` is the one place that maps the domain's errors to it.
struct APIError: Error, Sendable, HTTPResponseError {
    /// A stable name for scripts, and its status.
    struct Code: Sendable, Hashable {
        var name: String
        var status: HTTPResponse.Status

        static let badRequest = Code(name: "BAD_REQUEST", status: .badRequest)
        static let validation = Code(name: "VALIDATION_FAILED", status: .unprocessableContent)
        static let unsupportedMediaType = Code(name: "UNSUPPORTED_MEDIA_TYPE", status: .unsupportedMediaType)
        static let unauthorized = Code(name: "UNAUTHORIZED", status: .unauthorized)
        static let forbidden = Code(name: "FORBIDDEN", status: .forbidden)
        static let notFound = Code(name: "NOT_FOUND", status: .notFound)
        static let methodNotAllowed = Code(name: "METHOD_NOT_ALLOWED", status: .methodNotAllowed)
        static let conflict = Code(name: "CONFLICT", status: .conflict)
        static let tooManyRequests = Code(name: "TOO_MANY_REQUESTS", status: .tooManyRequests)
        static let unavailable = Code(name: "UNAVAILABLE", status: .serviceUnavailable)
        static let userNotFound = Code(name: "USER_NOT_FOUND", status: .notFound)
        static let teamNotFound = Code(name: "TEAM_NOT_FOUND", status: .notFound)
        static let namespaceNotFound = Code(name: "NAMESPACE_NOT_FOUND", status: .notFound)
        static let repositoryNotFound = Code(name: "REPOSITORY_NOT_FOUND", status: .notFound)
        static let tagNotFound = Code(name: "TAG_NOT_FOUND", status: .notFound)
        static let manifestNotFound = Code(name: "MANIFEST_NOT_FOUND", status: .notFound)
        static let tokenNotFound = Code(name: "TOKEN_NOT_FOUND", status: .notFound)
        static let commentNotFound = Code(name: "COMMENT_NOT_FOUND", status: .notFound)
        static let webhookNotFound = Code(name: "WEBHOOK_NOT_FOUND", status: .notFound)
        static let deliveryNotFound = Code(name: "DELIVERY_NOT_FOUND", status: .notFound)
        static let memberNotFound = Code(name: "MEMBER_NOT_FOUND", status: .notFound)
        static let userExists = Code(name: "USER_EXISTS", status: .conflict)
        static let teamExists = Code(name: "TEAM_EXISTS", status: .conflict)
        static let namespaceExists = Code(name: "NAMESPACE_EXISTS", status: .conflict)
        static let tokenExists = Code(name: "TOKEN_EXISTS", status: .conflict)
        static let tooManyTokens = Code(name: "TOO_MANY_TOKENS", status: .conflict)
        static let namespaceNotEmpty = Code(name: "NAMESPACE_NOT_EMPTY", status: .conflict)
        static let unownedContent = Code(name: "UNOWNED_CONTENT", status: .conflict)
        static let noContent = Code(name: "NO_CONTENT_TO_ADOPT", status: .conflict)
        static let notAllowed = Code(name: "NOT_ALLOWED", status: .conflict)
        static let bootstrapDone = Code(name: "BOOTSTRAP_DONE", status: .forbidden)
        static let deletesDisabled = Code(name: "DELETES_DISABLED", status: .forbidden)
        static let gcRunNotFound = Code(name: "GC_RUN_NOT_FOUND", status: .notFound)
        /// Another garbage collection holds the lease.
        static let gcBusy = Code(name: "GC_BUSY", status: .conflict)
        static let internalError = Code(name: "INTERNAL_ERROR", status: .internalServerError)
    }

    var code: Code
    var message: String
    var details: [String: JSONValue]
    var headers: HTTPFields

    init(_ code: Code, _ message: String, details: [String: JSONValue] = [:], headers: HTTPFields = [:]) {
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers
    }

    var status: HTTPResponse.Status { code.status }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        response()
    }

    func response() -> Response {
        var body: [String: JSONValue] = ["code": .string(code.name), "message": .string(message)]
        if !details.isEmpty { body["details"] = .object(details) }
        let data = (try? JSONEncoder.api.encode(JSONValue.object(["error": .object(body)]))) ?? Data()
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: code.status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// A request that breaks its schema: 422 naming each field.
    static func validation(_ issues: [ValidationIssue]) -> APIError {
        let first = issues.first.map { "\($0.field) \($0.reason)" } ?? "invalid request"
        let fields = issues.map { JSONValue.object(["field": .string($0.field), "reason": .string($0.reason)]) }
        return APIError(.validation, first, details: ["fields": .array(fields)])
    }

    /// The API's answer to any error a handler throws; unknown errors are bugs (500, logged by the caller).
    static func from(_ error: any Error) -> APIError? {
        switch error {
        case let error as APIError: return error
        case let error as AccountError: return from(error)
        case let error as AuthError:
            switch error.code {
            case .denied: return APIError(.forbidden, error.message)
            case .invalidCredentials: return unauthorized("invalid credentials")
            case .passwordChecksThrottled:
                return APIError(.tooManyRequests, error.message, headers: retryAfter(error.retryAfter))
            case .passwordChecksBusy, .directoryUnavailable:
                return APIError(.unavailable, error.message, headers: retryAfter(error.retryAfter))
            case .passwordTooShort, .passwordTooLong, .passwordInvalid:
                return APIError(
                    .validation,
                    error.message,
                    details: ["fields": .array([.object(["field": .string("body.password"), "reason": .string(error.message)])])]
                )
            default: return APIError(.badRequest, error.message)
            }
        case let error as DatabaseError:
            switch error.code {
            case .conflict: return APIError(.conflict, "the change conflicts with another one made at the same time; try again")
            case .invalidValue: return APIError(.validation, error.message)
            default:
                return APIError(.unavailable, "the database is unavailable; try again shortly", headers: retryAfter(.seconds(5)))
            }
        case let error as CatalogQueryError:
            switch error.code {
            case .notFound:
                return APIError(error.message.hasPrefix("repository") ? .repositoryNotFound : .notFound, error.message)
            case .denied: return APIError(.forbidden, error.message)
            case .unauthenticated: return unauthorized(error.message)
            default: return APIError(.badRequest, error.message)
            }
        case let error as WebhookError:
            switch error.code {
            case .unknownWebhook: return APIError(.webhookNotFound, error.message)
            case .unknownNamespace: return APIError(.namespaceNotFound, error.message)
            case .unknownDelivery: return APIError(.deliveryNotFound, error.message)
            case .webhookExists: return APIError(.conflict, error.message)
            case .targetNotAllowed: return APIError(.forbidden, error.message)
            case .invalidValue where error.message.contains("is set by Wharf itself"): return APIError(.notAllowed, error.message)
            default: return APIError(.validation, error.message)
            }
        case let error as RetentionError:
            switch error.code {
            case .immutableTag, .denied: return APIError(.forbidden, error.message)
            case .namespaceUnknown: return APIError(.namespaceNotFound, error.message)
            default:
                return APIError(
                    .validation,
                    error.message,
                    details: ["fields": .array([.object(["field": .string(error.field ?? ""), "reason": .string(error.message)])])]
                )
            }
        case let error as GCRunError:
            switch error.code {
            case .busy: return APIError(.gcBusy, error.message)
            case .unknownRun: return APIError(.gcRunNotFound, error.message)
            default: return nil
            }
        case let error as StorageError where error.code == .full:
            return APIError(.unavailable, "the registry's storage is full")
        default: return nil
        }
    }

    static func from(_ error: AccountError) -> APIError {
        let code: Code =
            switch error.code {
            case .nameInvalid, .weakPassword, .expiryInvalid, .patternInvalid, .actionsInvalid: .validation
            case .denied: .forbidden
            case .userExists: .userExists
            case .unknownUser: .userNotFound
            case .tooManyTokens: .tooManyTokens
            case .tokenExists: .tokenExists
            case .unknownToken: .tokenNotFound
            case .unknownTeam: .teamNotFound
            case .teamExists: .teamExists
            case .unknownNamespace: .namespaceNotFound
            case .namespaceExists: .namespaceExists
            case .notAllowed: .notAllowed
            case .unownedContent: .unownedContent
            case .namespaceNotEmpty: .namespaceNotEmpty
            case .noContent: .noContent
            default: .conflict
            }
        return APIError(code, error.message)
    }

    static func unauthorized(_ message: String) -> APIError {
        APIError(.unauthorized, message, headers: [.wwwAuthenticate: #"Basic realm="Wharf API", charset="UTF-8""#])
    }

    static func retryAfter(_ duration: Duration?) -> HTTPFields {
        guard let duration else { return [:] }
        return [.retryAfter: String(max(1, duration.components.seconds))]
    }
}

extension JSONEncoder {
    /// How the API writes JSON: snake_case keys, RFC 3339 UTC times, sorted keys (stable output).
    static let api: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
}

extension JSONDecoder {
    /// How the API reads JSON bodies (after they passed the document's schema).
    static let api: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }()
}
