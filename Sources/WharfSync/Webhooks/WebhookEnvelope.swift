import Foundation

/// The body of a webhook request: distribution's notification envelope (`{"events":[…]}`, content type
/// ``mediaType``), field for field, so a receiver written for distribution's notifications reads Wharf's
/// unchanged. As in distribution, empty optional fields are left out, while `request.id`, `request.method` and
/// `request.useragent` are always present.
public struct WebhookEnvelope: Encodable, Sendable {
    public static let mediaType = "application/vnd.docker.distribution.events.v1+json"

    /// The registry node that sent the event (distribution's `source`): its host and port, and an id that
    /// changes at every start.
    public struct Source: Encodable, Sendable, Equatable {
        public var addr: String?
        public var instanceID: String?

        public init(addr: String, instanceID: String = UUID().uuidString.lowercased()) {
            self.addr = addr.isEmpty ? nil : addr
            self.instanceID = instanceID
        }
    }

    struct Descriptor: Encodable, Sendable {
        var mediaType: String?
        var size: Int64?
        var digest: String?
    }

    struct Target: Encodable, Sendable {
        var mediaType: String?
        var size: Int64?
        var digest: String?
        var length: Int64?
        var repository: String?
        var fromRepository: String?
        var url: String?
        var tag: String?
        var references: [Descriptor]?
    }

    struct Request: Encodable, Sendable {
        var id: String
        var addr: String?
        var host: String?
        var method: String
        var useragent: String
    }

    struct Actor: Encodable, Sendable {
        var name: String?
    }

    struct Event: Encodable, Sendable {
        var id: String
        var timestamp: String
        var action: String
        var target: Target
        var request: Request
        var actor: Actor
        var source: Source
    }

    var events: [Event]

    /// The envelope of one registry event.
    public init(_ event: RegistryEvent, source: Source) {
        let target = event.target
        events = [
            Event(
                id: event.id.isEmpty ? UUID().uuidString.lowercased() : event.id,
                timestamp: Self.timestamp(event.timestamp),
                action: event.action.rawValue,
                target: Target(
                    mediaType: Self.nonEmpty(target.mediaType),
                    size: target.size,
                    digest: Self.nonEmpty(target.digest),
                    length: target.size,
                    repository: Self.nonEmpty(target.repository),
                    fromRepository: Self.nonEmpty(target.fromRepository),
                    url: Self.nonEmpty(target.url),
                    tag: Self.nonEmpty(target.tag),
                    references: target.references.isEmpty ? nil : target.references.map { Descriptor(digest: $0) }
                ),
                request: Request(
                    id: event.request.id.isEmpty ? UUID().uuidString.lowercased() : event.request.id,
                    addr: Self.nonEmpty(event.request.addr),
                    host: Self.nonEmpty(event.request.host),
                    method: event.request.method,
                    useragent: event.request.userAgent
                ),
                actor: Actor(name: Self.nonEmpty(event.actor.name)),
                source: source
            )
        ]
    }

    /// The envelope of `wharf webhook test`: one event with action `ping` and no target, which a receiver can
    /// tell from a registry event and ignore.
    public static func ping(actor: String, source: Source, at date: Date = Date()) -> WebhookEnvelope {
        WebhookEnvelope(
            events: [
                Event(
                    id: UUID().uuidString.lowercased(),
                    timestamp: timestamp(date),
                    action: "ping",
                    target: Target(),
                    request: Request(id: UUID().uuidString.lowercased(), method: "", useragent: ""),
                    actor: Actor(name: nonEmpty(actor)),
                    source: source
                )
            ]
        )
    }

    private init(events: [Event]) { self.events = events }

    /// The body as sent: compact JSON with sorted keys and unescaped slashes.
    public func body() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Every field is a string, a number or an optional of them: encoding cannot fail.
        guard let data = try? encoder.encode(self) else { preconditionFailure("a webhook envelope did not encode") }
        return String(decoding: data, as: UTF8.self)
    }

    /// RFC 3339 in UTC with milliseconds, as Go writes a `time.Time` (it parses either way).
    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    static func nonEmpty(_ text: String?) -> String? {
        guard let text, !text.isEmpty else { return nil }
        return text
    }
}
