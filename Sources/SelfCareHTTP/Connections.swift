import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import Metrics
import NIOCore
import NIOHTTP1
import Synchronization

import protocol SelfCareCore.TimeSource

#if canImport(Glibc)
    import Glibc
#endif

/// The address of the client whose request is being handled (`127.0.0.1`), for what is limited per source
/// (`SessionLimits.perSource`); nil outside a server connection (tests through the router).
public enum RequestSource {
    @TaskLocal public static var address: String?
}

/// The process's limit on open files: connections, the database's files and the event loops' all count.
public enum OpenFilesLimit {
    /// Raises the soft limit to the hard one where the system allows it; returns the soft limit in force.
    @discardableResult
    public static func raise() -> Int {
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(resource, &raised) == 0 { limit = raised }
        }
        return limit.rlim_cur >= rlim_t(Int32.max) ? Int(Int32.max) : Int(limit.rlim_cur)
    }

    /// The soft limit in force.
    public static func current() -> Int {
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return 1024 }
        return limit.rlim_cur >= rlim_t(Int32.max) ? Int(Int32.max) : Int(limit.rlim_cur)
    }

    #if os(Linux)
        private static let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
        private static let resource = RLIMIT_NOFILE
    #endif

    /// Descriptors kept out of the connection cap for serving: the database's files and reader connections, the
    /// event loops, logs, and connections being refused.
    public static func reserve(for limit: Int) -> Int { max(96, limit / 8) }
}

/// Counts the server's connections: those being served, and those being refused past the cap.
final class ConnectionCounter: Sendable {
    let served = Atomic<Int>(0)
    let refusing = Atomic<Int>(0)

    /// Takes a place when fewer than `cap` connections are served.
    func admit(cap: Int) -> Bool {
        var current = served.load(ordering: .relaxed)
        while current < cap {
            let (exchanged, original) = served.compareExchange(
                expected: current, desired: current + 1, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
        return false
    }
}

/// HTTP/1.1 connections with a cap and deadlines: Hummingbird's `HTTP1Channel` behind a count of connections
/// (past `cap`, a connection is answered 503 and closed at once, so that `accept` never runs out of
/// descriptors), and `RequestDeadlineHandler` in each pipeline.
struct GatewayChildChannel: ServerChildChannel {
    struct Value: ServerChildChannelValue {
        let http: HTTP1Channel.Value?
        let channel: any Channel
    }

    let http1: HTTP1Channel
    let cap: Int
    let counter: ConnectionCounter
    let refusals: Counter?
    /// The gateway's clock, for the `Date` of answers written below the router.
    let clock: any TimeSource

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        guard counter.admit(cap: cap) else {
            refusals?.increment()
            let refusing = counter.refusing.wrappingAdd(1, ordering: .relaxed).newValue
            let counter = self.counter
            channel.closeFuture.whenComplete { _ in counter.refusing.wrappingSubtract(1, ordering: .relaxed) }
            return channel.eventLoop.makeCompletedFuture {
                // A few refusals wait a moment for the request, so that the client reads the 503 rather than a
                // reset; under a flood of connections every other one is answered and closed at once.
                try channel.pipeline.syncOperations.addHandler(RefusalHandler(waitForRequest: refusing <= 16))
                return Value(http: nil, channel: channel)
            }
        }
        let counter = self.counter
        channel.closeFuture.whenComplete { _ in counter.served.wrappingSubtract(1, ordering: .relaxed) }
        let http1 = self.http1
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(ArrivalHandler())
        }.flatMap {
            http1.setup(channel: channel, logger: logger)
        }.flatMapThrowing { http in
            // Between NIO's HTTP/1 decoder and Hummingbird's conversion to HTTP types, where the version is known.
            let decoder = try channel.pipeline.syncOperations.handler(
                type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try channel.pipeline.syncOperations.addHandler(
                HTTPConformanceHandler(clock: clock), position: .after(decoder))
            return Value(http: http, channel: channel)
        }
    }

    func handle(value: Value, logger: Logger) async {
        guard let http = value.http else { return }  // a refused connection closes by itself
        await RequestSource.$address.withValue(value.channel.remoteAddress?.ipAddress) {
            await http1.handle(value: http, logger: logger)
        }
    }
}

/// Bytes of a request arrived (before its head is complete): the header timeout starts.
struct RequestBytesArrived {}

/// First in the pipeline: tells `RequestDeadlineHandler` when bytes arrive, which the HTTP decoder does not
/// until a whole head is in.
final class ArrivalHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireUserInboundEventTriggered(RequestBytesArrived())
        context.fireChannelRead(data)
    }
}

extension NIOAsyncChannel {
    typealias InboundPart = Inbound
    typealias OutboundPart = Outbound
}

/// Closes a connection that keeps the server waiting:
/// - **header timeout**: a request head must be complete within it, counted from the connection's start for its
///   first request and from the first byte for later ones;
/// - **body timeout**: a request's body must be complete within it of its head, however slowly it trickles in;
/// - **idle timeout**: a kept-alive connection with no request in progress is closed after it;
/// - **send timeout**: a connection that takes no more bytes (the client does not read its answers, or sends
///   requests it never reads the answers of) is closed once it has not for that long.
/// No other deadline runs while the server itself is answering.
final class RequestDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP1Channel.Value.InboundPart
    typealias InboundOut = HTTP1Channel.Value.InboundPart
    typealias OutboundIn = HTTP1Channel.Value.OutboundPart
    typealias OutboundOut = HTTP1Channel.Value.OutboundPart

    private let idle: TimeAmount
    private let header: TimeAmount
    private let body: TimeAmount
    private let send: TimeAmount
    /// Since when the connection has taken no more bytes; nil while it is writable.
    private var stalledSince: NIODeadline?
    /// The first request of the connection has not begun: its head is due within the header timeout.
    private var first = true
    /// A head was read and the end of its body was not.
    private var reading = false
    /// Requests read whose response has not ended.
    private var unanswered = 0
    /// Bytes of the next head arrived.
    private var headArriving = false
    /// When the present wait began: the connection's start, a response's end, or the first byte of a head.
    private var waitStart = NIODeadline.now()
    private var headRead = NIODeadline.now()
    private var timer: Scheduled<Void>?
    private var armedFor: NIODeadline?

    init(idle: TimeAmount, header: TimeAmount, body: TimeAmount, send: TimeAmount) {
        self.idle = idle
        self.header = header
        self.body = body
        self.send = send
    }

    private var deadline: NIODeadline? {
        if let stalledSince { return stalledSince + send }
        if reading { return headRead + body }
        if unanswered > 0 { return nil }
        if first || headArriving { return waitStart + header }
        return waitStart + idle
    }

    func handlerAdded(context: ChannelHandlerContext) {
        waitStart = .now()
        if context.channel.isActive { arm(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) { disarm() }

    func channelActive(context: ChannelHandlerContext) {
        arm(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        stalledSince = context.channel.isWritable ? nil : .now()
        arm(context)
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is RequestBytesArrived else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        guard !reading && !headArriving else { return }
        headArriving = true
        if !first { waitStart = .now() }
        arm(context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            first = false
            headArriving = false
            reading = true
            unanswered += 1
            headRead = .now()
            arm(context)
        case .body:
            break
        case .end:
            reading = false
            arm(context)
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            unanswered = max(0, unanswered - 1)
            if unanswered == 0 && !headArriving { waitStart = .now() }
            arm(context)
        }
        context.write(data, promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext) {
        guard let deadline else {
            disarm()
            return
        }
        if armedFor == deadline, timer != nil { return }
        disarm()
        armedFor = deadline
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = loopBound.value
            handler.timer = nil
            handler.armedFor = nil
            guard let due = handler.deadline else { return }
            if due <= .now() {
                context.close(promise: nil)
            } else {
                handler.arm(context)
            }
        }
    }

    private func disarm() {
        timer?.cancel()
        timer = nil
        armedFor = nil
    }
}

/// Answers a connection past the cap with 503 and closes it; with `waitForRequest`, reads the request first
/// (for at most 100 ms), so the client is not reset before it reads the answer.
final class RefusalHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let waitForRequest: Bool
    private var answered = false

    init(waitForRequest: Bool) { self.waitForRequest = waitForRequest }

    static let answer: String = {
        let body = "the server has too many connections; try again shortly\n"
        return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
            + "Content-Length: \(body.utf8.count)\r\nRetry-After: 1\r\nConnection: close\r\nServer: selfcare\r\n\r\n"
            + body
    }()

    func channelActive(context: ChannelHandlerContext) {
        if waitForRequest {
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: .milliseconds(100)) {
                let (handler, context) = loopBound.value
                handler.refuse(context)
            }
        } else {
            refuse(context)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) { refuse(context) }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }

    private func refuse(_ context: ChannelHandlerContext) {
        guard !answered else { return }
        answered = true
        let buffer = context.channel.allocator.buffer(string: Self.answer)
        context.writeAndFlush(wrapOutboundOut(buffer)).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }
}
