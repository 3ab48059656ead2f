import HTTPTypes
import NIOCore
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// Keeps a response's own reason phrase on HTTP/1.1, where NIO would write the standard one of every status it
/// knows. Wharf's 403 refusals say their reason there (``OCIErrorResponse/render(_:method:)``): containerd
/// prints a refusal's status line and nothing else of it. HTTP/2 has no reason phrase.
///
/// One of Hummingbird's additional handlers (after the HTTP/1 codec, so it sees Hummingbird's response heads), it
/// notes an error's phrase and places a ``ReasonPhraseWriter`` before the codec, which puts
/// it back into the head the codec made (the codec's write runs within this handler's, so nothing comes between).
final class ReasonPhraseKeeper: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let writer = ReasonPhraseWriter()

    func handlerAdded(context: ChannelHandlerContext) {
        // Only on HTTP/1 pipelines; an HTTP/2 stream has no such codec.
        guard let codec = try? context.pipeline.syncOperations.handler(type: HTTP1ToHTTPServerCodec.self) else { return }
        try? context.pipeline.syncOperations.addHandler(writer, position: .before(codec))
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .head(let head) = unwrapOutboundIn(data), head.status.code >= 400, !head.status.reasonPhrase.isEmpty {
            writer.pending = head.status.reasonPhrase
        }
        context.write(data, promise: promise)
    }
}
