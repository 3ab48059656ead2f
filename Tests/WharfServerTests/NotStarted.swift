import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

/// An application as built, before any of its services (the database service among them) or its before-start
/// processes ran: what the first request of a starting server meets.
struct NotStarted<Base: ApplicationProtocol>: ApplicationProtocol {
    let base: Base

    init(_ base: Base) { self.base = base }

    var responder: Base.Responder { get async throws { try await base.responder } }
    var server: HTTPServerBuilder { base.server }
    var eventLoopGroup: any EventLoopGroup { base.eventLoopGroup }
    var configuration: ApplicationConfiguration { base.configuration }
    var logger: Logger { base.logger }
}
