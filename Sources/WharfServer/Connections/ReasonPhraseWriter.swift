import NIOCore
import NIOHTTP1

/// Writes the reason phrase a ``ReasonPhraseKeeper`` noted into the next HTTP/1 response head.
final class ReasonPhraseWriter: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    var pending: String?

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard let phrase = pending, case .head(var head) = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        pending = nil
        guard phrase != head.status.reasonPhrase else {
            context.write(data, promise: promise)
            return
        }
        head.status = .custom(code: head.status.code, reasonPhrase: phrase)
        context.write(wrapOutboundOut(.head(head)), promise: promise)
    }
}
