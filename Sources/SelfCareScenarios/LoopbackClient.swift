import NIOCore
import NIOHTTP1
import NIOPosix

/// One kept-alive HTTP/1.1 connection to a server on this machine, sending one request at a time and reading its
/// whole answer: what the session flood pours its requests through, so they cross the real server, its
/// connection handling and its adapters exactly as a gateway's requests would.
///
/// ```swift
/// try await LoopbackClient.connect(port: 8080) { client in
///     let body = try await client.post("/v1/ivr", type: "application/json", body: #"{"call":"c1","start":true}"#)
/// }
/// ```
struct LoopbackClient {
    private let outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>
    private var inbound: NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator

    /// A request that got no whole answer: the server closed the connection, or answered with a failure status.
    struct Failure: Error, CustomStringConvertible {
        /// What went wrong, with the path asked for.
        var description: String
    }

    /// How long the connection may wait for a byte of an answer before it is closed (the request then fails):
    /// a server that stopped answering ends the flood instead of hanging it.
    static let answerTimeout: TimeAmount = .seconds(30)

    /// Connects from `localAddress` (any address of the loopback network, `127.0.0.2`: the server sees another
    /// client) to `127.0.0.1:port`, and runs `body` with the connection, which is closed afterwards.
    static func connect<T: Sendable>(
        port: Int, from localAddress: String = "127.0.0.1", _ body: (inout LoopbackClient) async throws -> T
    ) async throws -> T {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(to: try SocketAddress(ipAddress: localAddress, port: 0))
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        IdleStateHandler(readTimeout: answerTimeout), CloseWhenIdle())
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                        wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var client = LoopbackClient(outbound: outbound, inbound: inbound.makeAsyncIterator())
            return try await body(&client)
        }
    }

    /// POSTs `body` as `type` to `path` and returns the answer's body; a status of 400 or more is a `Failure`.
    mutating func post(_ path: String, type: String, body: String) async throws -> String {
        let bytes = ByteBuffer(string: body)
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: path)
        head.headers = ["Host": "127.0.0.1", "Content-Type": type, "Content-Length": String(bytes.readableBytes)]
        try await outbound.write(contentsOf: [.head(head), .body(.byteBuffer(bytes)), .end(nil)])
        var status: HTTPResponseStatus?
        var answer = ByteBuffer()
        while let part = try await inbound.next() {
            switch part {
            case .head(let response): status = response.status
            case .body(var chunk): answer.writeBuffer(&chunk)
            case .end:
                let text = String(buffer: answer)
                guard let status, status.code < 400 else {
                    throw Failure(description: "POST \(path): \(status?.code ?? 0) \(text.prefix(200))")
                }
                return text
            }
        }
        throw Failure(
            description: "POST \(path): no answer (the server closed the connection, or sent nothing for "
                + "\(Self.answerTimeout.nanoseconds / 1_000_000_000) s)")
    }
}

/// Closes the connection when `IdleStateHandler` says nothing was read for its read timeout.
private final class CloseWhenIdle: ChannelInboundHandler, Sendable {
    typealias InboundIn = NIOAny

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .read = event as? IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}
