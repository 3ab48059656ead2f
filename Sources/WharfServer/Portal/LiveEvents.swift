import Foundation
import HTTPTypes
import Hummingbird
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle
import WharfAuth
import WharfSync

/// `/live`: pushes and deletes as server-sent events, so the repository page and the dashboard follow the registry
/// without reloading (the page's script reloads its live parts when an event arrives). `?repository=NAME` follows
/// one repository; without it, every repository the visitor may pull. A comment line every 15 s keeps proxies from
/// closing the stream; while it is open the request counts as in flight, so the connection's idle timeout does not
/// apply. Each person (each address for visitors) may hold a few streams at once; graceful shutdown ends them.
struct LiveEvents<Context: WharfContext>: Sendable {
    let portal: Portal
    let heartbeat: Duration
    let perPerson: Int
    private let open = NIOLockedValueBox<[String: Int]>([:])

    init(portal: Portal, heartbeat: Duration = .seconds(15), perPerson: Int = 8) {
        self.portal = portal
        self.heartbeat = heartbeat
        self.perPerson = perPerson
    }

    func addRoutes(to router: some RouterMethods<Context>) {
        router.get("/live", use: live)
    }

    @Sendable func live(_ request: Request, context: Context) async throws -> Response {
        let visit = context.portal
        if visit.user == nil && !portal.policy.anonymousBrowsing { throw PortalError.signInRequired }
        let subject = visit.caller.subject
        let reader = portal.services.reader
        let only = request.uri.queryParameters.get("repository").map { String($0) }
        let namespace = request.uri.queryParameters.get("namespace").map { String($0) }
        // A repository or namespace the visitor may not see is the same 404 as its page.
        if let only { _ = try await reader.repository(only, for: subject) }
        if let namespace { _ = try await NamespacesAPI(api: portal.services).visible(namespace, caller: visit.caller) }
        let key = visit.user?.name ?? "address:" + visit.address
        let admitted = open.withLockedValue { counts -> Bool in
            guard counts[key, default: 0] < perPerson else { return false }
            counts[key, default: 0] += 1
            return true
        }
        guard admitted else {
            throw PortalError(
                .tooManyRequests,
                "Too many live pages",
                "Close some of your Wharf tabs: each person may follow \(perPerson) pages live at once."
            )
        }
        let events = portal.services.services.events.subscribe("live \(key)", buffer: 256) { event in
            (event.action == .push || event.action == .delete) && (only == nil || event.target.repository == only)
                && (namespace == nil || event.namespace == namespace)
        }
        let heartbeat = self.heartbeat
        let open = self.open
        let body = ResponseBody { writer in
            defer { open.withLockedValue { $0[key, default: 1] -= 1 } }
            // One stream of lines to write, fed by the events and by the heartbeat; the writer is used by this
            // task alone.
            let (lines, sink) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(256))
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    var visible: [String: Bool] = [:]
                    for await event in events {
                        let name = event.target.repository
                        if visible[name] == nil {
                            // A delete's repository may be gone already: within a followed repository or namespace
                            // (checked above), it is shown; elsewhere only what the visitor can still see.
                            visible[name] = (try? await reader.repository(name, for: subject)) != nil || only != nil || namespace != nil
                        }
                        guard visible[name] == true else { continue }
                        sink.yield(Self.message(event))
                    }
                    sink.finish()
                }
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: heartbeat)
                        sink.yield(": heartbeat\n\n")
                    }
                }
                // Graceful shutdown ends the stream of lines, and so the response.
                await withGracefulShutdownHandler {
                    do {
                        try await writer.write(ByteBuffer(string: "retry: 5000\n: connected\n\n"))
                        for await line in lines { try await writer.write(ByteBuffer(string: line)) }
                    } catch {
                        // The browser went away.
                    }
                } onGracefulShutdown: {
                    sink.finish()
                }
                group.cancelAll()
            }
            try await writer.finish(nil)
        }
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-store", HTTPField.Name("X-Accel-Buffering")!: "no"],
            body: body
        )
    }

    /// One event: `event: push` or `delete`, and the facts as JSON (what the page shows anyway).
    static func message(_ event: RegistryEvent) -> String {
        var fields: [String: String] = ["repository": event.target.repository, "time": PortalFormat.iso(event.timestamp)]
        if let tag = event.target.tag { fields["tag"] = tag }
        if let digest = event.target.digest { fields["digest"] = digest }
        if !event.actor.name.isEmpty { fields["actor"] = event.actor.name }
        let json = (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return "event: \(event.action.rawValue)\ndata: \(json)\n\n"
    }
}
