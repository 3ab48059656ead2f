import Foundation

/// One body to send to one webhook, and where its sending stands. The queue is the table: a delivery is written
/// before anything is sent, so a restart loses nothing that was queued.
public struct WebhookDelivery: Sendable, Equatable, RowDecodable {
    /// Where a delivery stands. `sending` is a claim with a lease (`nextAttemptAt` is its end): a process that
    /// dies while sending leaves the delivery due again once the lease ends, and two processes on one database
    /// never send the same delivery at once.
    public enum State: String, Sendable, CaseIterable {
        case pending
        case sending
        case delivered
        case failed
    }

    public var id: Int64
    public var webhookID: Int64
    /// Sent as the delivery's id header; a re-send has a new one.
    public var uuid: String
    /// The action of the event (`push`, `delete`, `pull`), or `ping` for a test.
    public var event: String
    public var requestBody: String
    public var state: State
    public var attempts: Int
    /// When the next attempt is due (pending), or when the claim ends (sending); nil once delivered or failed.
    public var nextAttemptAt: Date?
    /// The status of the last attempt that got an answer.
    public var responseStatus: Int?
    public var createdAt: Date
    public var deliveredAt: Date?

    init(row: SQLRow) throws {
        id = try row.decode("id")
        webhookID = try row.decode("webhook_id")
        uuid = try row.decode("uuid")
        event = try row.decode("event")
        requestBody = try row.decode("request_body")
        let stateName: String = try row.decode("state")
        guard let state = State(rawValue: stateName) else { throw DatabaseError(.invalidValue, "unknown webhook delivery state \(stateName)") }
        self.state = state
        attempts = try row.decode("attempts")
        nextAttemptAt = try row.decode("next_attempt_at")
        responseStatus = try row.decode("response_status")
        createdAt = try row.decode("created_at")
        deliveredAt = try row.decode("delivered_at")
    }
}
