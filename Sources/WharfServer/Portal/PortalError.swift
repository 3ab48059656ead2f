import HTTPTypes
import Hummingbird

/// What a page says when something fails: the status, a heading and a sentence for a person. ``from(_:)`` is the
/// portal's one mapping of errors; the domain's errors get the status and message the API gives them
/// (``APIError/from(_:)``), since both surfaces tell the same facts.
struct PortalError: Error, Sendable {
    var status: HTTPResponse.Status
    var heading: String
    var message: String

    init(_ status: HTTPResponse.Status, _ heading: String, _ message: String) {
        self.status = status
        self.heading = heading
        self.message = message
    }

    static func notFound(_ message: String = "There is nothing at this address, or you may not see it.") -> PortalError {
        PortalError(.notFound, "Not found", message)
    }

    static let signInRequired = PortalError(.unauthorized, "Sign in required", "Sign in to see this page.")

    static func forbidden(_ message: String) -> PortalError { PortalError(.forbidden, "Not allowed", message) }

    /// The page for any error; nil means an unexpected one (a bug, logged by the caller and shown as a 500).
    static func from(_ error: any Error) -> PortalError? {
        switch error {
        case let error as PortalError: return error
        case let error as HTTPError:
            return PortalError(error.status, error.status.reasonPhrase, error.body ?? error.status.reasonPhrase)
        default:
            guard let api = APIError.from(error) else { return nil }
            let status = api.code.status
            // A page hides what a visitor may not see the same way: "not allowed" on something private reads as
            // "not found" only where the domain already said so.
            let heading =
                switch status.code {
                case 400, 422: "That did not work"
                case 401: "Sign in required"
                case 403: "Not allowed"
                case 404: "Not found"
                case 409: "That did not work"
                case 429: "Too many attempts"
                case 503: "Unavailable"
                default: status.reasonPhrase
                }
            return PortalError(status, heading, api.message)
        }
    }
}
