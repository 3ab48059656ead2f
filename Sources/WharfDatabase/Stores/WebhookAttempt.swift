import Foundation

/// One try at sending a delivery, as the delivery log shows it.
public struct WebhookAttempt: Sendable, Equatable, RowDecodable {
    public var id: Int64
    public var deliveryID: Int64
    /// 1 for the first try.
    public var number: Int
    public var startedAt: Date
    public var durationMilliseconds: Int64
    /// The HTTP status, nil when no answer came (refused, timed out, not allowed).
    public var status: Int?
    public var error: String?
    /// `Name: value` lines, credentials hidden.
    public var requestHeaders: String
    public var responseHeaders: String
    public var responseBody: String

    init(row: SQLRow) throws {
        id = try row.decode("id")
        deliveryID = try row.decode("delivery_id")
        number = try row.decode("number")
        startedAt = try row.decode("started_at")
        durationMilliseconds = try row.decode("duration_ms")
        status = try row.decode("status")
        error = try row.decode("error")
        requestHeaders = try row.decode("request_headers")
        responseHeaders = try row.decode("response_headers")
        responseBody = try row.decode("response_body")
    }
}

/// What an attempt records; texts longer than ``WebhookAttempt/maximumLoggedBytes`` are cut.
public struct NewWebhookAttempt: Sendable {
    public var startedAt: Date
    public var duration: Duration
    public var status: Int?
    public var error: String?
    public var requestHeaders: String
    public var responseHeaders: String
    public var responseBody: String

    public init(
        startedAt: Date,
        duration: Duration,
        status: Int?,
        error: String? = nil,
        requestHeaders: String = "",
        responseHeaders: String = "",
        responseBody: String = ""
    ) {
        self.startedAt = startedAt
        self.duration = duration
        self.status = status
        self.error = error
        self.requestHeaders = requestHeaders
        self.responseHeaders = responseHeaders
        self.responseBody = responseBody
    }
}

extension WebhookAttempt {
    /// Headers and bodies are logged up to this many bytes each (64 KiB).
    public static let maximumLoggedBytes = 64 << 10

    /// `text` cut to at most `maximumLoggedBytes` UTF-8 bytes, between two characters' code points.
    public static func truncated(_ text: String) -> String {
        guard text.utf8.count > maximumLoggedBytes else { return text }
        let bytes = Array(text.utf8.prefix(maximumLoggedBytes + 1))
        var end = maximumLoggedBytes
        // A continuation byte (10xxxxxx) at the cut belongs to the code point before it.
        while end > 0 && bytes[end] & 0xC0 == 0x80 { end -= 1 }
        return String(decoding: bytes[..<end], as: UTF8.self)
    }
}
