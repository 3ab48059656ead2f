/// Why a webhook operation (CLI, later the portal and the API) was refused or a delivery could not be made. Every
/// code is something the caller or the endpoint causes; ``description`` is one line, ready for `wharf: …`.
public struct WebhookError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let unknownWebhook = Code("unknownWebhook")
        public static let unknownNamespace = Code("unknownNamespace")
        public static let unknownDelivery = Code("unknownDelivery")
        public static let webhookExists = Code("webhookExists")
        /// A name, URL, event filter or header that is not valid.
        public static let invalidValue = Code("invalidValue")
        /// The URL's host resolves to an address outside `webhooks.allowed_networks` (or does not resolve).
        public static let targetNotAllowed = Code("targetNotAllowed")
        /// The endpoint answered with something other than 2xx, or not at all.
        public static let deliveryFailed = Code("deliveryFailed")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
