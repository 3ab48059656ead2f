import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import WharfDatabase

/// Makes one attempt at a delivery: checks the target (``WebhookTargetGuard``), POSTs the stored body with its
/// signature, and reports what happened as the attempt to log. Never throws: a refusal, a timeout or a bad
/// status is an attempt that failed.
public struct WebhookSender: Sendable {
    /// What one attempt did.
    public struct Outcome: Sendable {
        public var attempt: NewWebhookAttempt
        /// A 2xx answer came.
        public var delivered: Bool
    }

    let client: HTTPClient
    let targets: WebhookTargetGuard
    let timeout: Duration

    public init(client: HTTPClient, targets: WebhookTargetGuard, timeout: Duration = .seconds(10)) {
        self.client = client
        self.targets = targets
        self.timeout = timeout
    }

    /// An HTTP client for webhooks: no redirects (a redirect could lead past the SSRF guard), connect and read
    /// timeouts of `timeout`. The caller shuts it down.
    public static func makeClient(timeout: Duration) -> HTTPClient {
        let amount = TimeAmount.nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000)
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: amount, read: amount))
        configuration.httpVersion = .automatic
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    /// Runs `body` with a sender on a client of its own, shut down afterwards (the command line's way).
    public static func withSender<T: Sendable>(
        targets: WebhookTargetGuard,
        timeout: Duration,
        _ body: (WebhookSender) async throws -> T
    ) async throws -> T {
        let client = makeClient(timeout: timeout)
        do {
            let result = try await body(WebhookSender(client: client, targets: targets, timeout: timeout))
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// The request headers of a delivery, in order, with `Authorization` when the webhook has credentials.
    static func headers(for delivery: WebhookDelivery, of hook: Webhook) -> [(name: String, value: String)] {
        var headers = WebhookHeaders.decode(hook.headers)
        if let username = hook.username {
            let credentials = Data("\(username):\(hook.password ?? "")".utf8).base64EncodedString()
            headers.removeAll { $0.name.lowercased() == "authorization" }
            headers.append((name: "Authorization", value: "Basic \(credentials)"))
        }
        headers += [
            (name: "Content-Type", value: WebhookEnvelope.mediaType),
            (name: "User-Agent", value: "Wharf-Webhooks"),
            (name: "X-Wharf-Delivery", value: delivery.uuid),
            (name: "X-Wharf-Event", value: delivery.event),
            (name: WebhookSignature.headerName, value: WebhookSignature.sign(body: delivery.requestBody, secret: hook.secret)),
        ]
        return headers
    }

    /// `Name: value` lines for the delivery log. Only Wharf's own headers show their values: a custom header is
    /// as often a token (`X-Gitlab-Token`, `X-Api-Key`) as anything else, and credentials never show.
    static func logged(_ headers: [(name: String, value: String)]) -> String {
        headers.map { Self.shownInLog.contains($0.name.lowercased()) ? "\($0.name): \($0.value)" : "\($0.name): (hidden)" }
            .joined(separator: "\n")
    }

    static let shownInLog: Set<String> = [
        "content-type", "user-agent", "x-wharf-delivery", "x-wharf-event", WebhookSignature.headerName.lowercased(),
    ]

    public func send(_ delivery: WebhookDelivery, to hook: Webhook) async -> Outcome {
        let startedAt = Date()
        let clock = ContinuousClock()
        let start = clock.now
        var headers = Self.headers(for: delivery, of: hook)
        func failed(_ error: String, status: Int? = nil, responseHeaders: String = "", body: String = "") -> Outcome {
            Outcome(
                attempt: NewWebhookAttempt(
                    startedAt: startedAt,
                    duration: clock.now - start,
                    status: status,
                    error: error,
                    requestHeaders: Self.logged(headers),
                    responseHeaders: responseHeaders,
                    responseBody: body
                ),
                delivered: false
            )
        }
        let target: WebhookTargetGuard.Target
        do {
            target = try await targets.check(hook.url)
        } catch {
            return failed("\(error)")
        }
        if let host = target.hostHeader { headers.append((name: "Host", value: host)) }
        var request = HTTPClientRequest(url: target.url)
        request.method = .POST
        for header in headers { request.headers.add(name: header.name, value: header.value) }
        request.body = .bytes(ByteBuffer(string: delivery.requestBody))
        let deadline =
            NIODeadline.now() + .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000)
        do {
            let response = try await client.execute(request, deadline: deadline)
            let responseHeaders = response.headers.map { "\($0.name): \($0.value)" }.joined(separator: "\n")
            var body: [UInt8] = []
            var cut = false
            for try await chunk in response.body {
                let room = WebhookAttempt.maximumLoggedBytes - body.count
                if room > 0 { body += chunk.readableBytesView.prefix(room) }
                if chunk.readableBytes > room { cut = true }
                if NIODeadline.now() > deadline {
                    cut = true
                    break
                }
            }
            let text = String(decoding: body, as: UTF8.self) + (cut && body.count < WebhookAttempt.maximumLoggedBytes ? "…" : "")
            let status = Int(response.status.code)
            guard (200..<300).contains(status) else {
                return failed("the endpoint answered \(status)", status: status, responseHeaders: responseHeaders, body: text)
            }
            return Outcome(
                attempt: NewWebhookAttempt(
                    startedAt: startedAt,
                    duration: clock.now - start,
                    status: status,
                    requestHeaders: Self.logged(headers),
                    responseHeaders: responseHeaders,
                    responseBody: text
                ),
                delivered: true
            )
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            return failed("no answer within \(timeout.components.seconds) s (\(error))")
        } catch {
            return failed("\(error)")
        }
    }
}
