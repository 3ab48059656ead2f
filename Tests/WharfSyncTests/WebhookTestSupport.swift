import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import WharfDatabase

@testable import WharfSync

/// A fresh, migrated SQLite database for one test, removed afterwards.
func withTestDatabase(_ body: (DatabasePool) async throws -> Void) async throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-sync-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let pool = DatabasePool(location: .sqlite(path: folder + "/wharf.sqlite", poolSize: 4), logger: Logger(label: "wharf-sync-tests"))
    _ = try await pool.prepare()
    do {
        try await body(pool)
        await pool.close()
    } catch {
        await pool.close()
        throw error
    }
}

/// Polls `check` every 20 ms until it holds, for at most `timeout`; returns whether it did.
func eventually(timeout: Duration = .seconds(30), _ check: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await check() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await check()
}

/// An HTTP endpoint on 127.0.0.1 that records each request and answers with the next status of its script
/// (200 once the script is used up).
final class TestReceiver: Sendable {
    struct Request: Sendable {
        var head: HTTPRequestHead
        var body: String
    }

    private let box: StateBox
    private let channel: any Channel

    var port: Int { channel.localAddress?.port ?? 0 }
    var requests: [Request] { box.state.withLock { $0.requests } }

    init(statuses: [Int] = []) async throws {
        let box = StateBox(state: Mutex((statuses, [])))
        self.box = box
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(box: box))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func close() async {
        try? await channel.close()
    }

    private final class StateBox: Sendable {
        let state: Mutex<(script: [Int], requests: [Request])>
        init(state: consuming Mutex<(script: [Int], requests: [Request])>) { self.state = state }
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let box: StateBox
        var head: HTTPRequestHead?
        var body = ""

        init(box: StateBox) { self.box = box }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body = ""
            case .body(let buffer):
                body += String(buffer: buffer)
            case .end:
                guard let head else { return }
                let status = box.state.withLock { state -> Int in
                    state.requests.append(Request(head: head, body: body))
                    return state.script.isEmpty ? 200 : state.script.removeFirst()
                }
                var headers = HTTPHeaders()
                headers.add(name: "Content-Length", value: "2")
                headers.add(name: "X-Test", value: "yes")
                context.write(
                    wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .init(statusCode: status), headers: headers))),
                    promise: nil
                )
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "ok")))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}
