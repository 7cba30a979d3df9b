import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import SelfCareCore
import Synchronization

/// What HTTP/1.1 (RFC 9112) asks of a server that Hummingbird's HTTP/1 channel leaves to it, done once for every
/// route at the connection, between NIO's HTTP/1 codec and Hummingbird's conversion to HTTP types (where the
/// request's version is still known):
///
/// - a request of HTTP/1.1 or later without `Host` is answered 400 and the connection closed (§3.2);
/// - `Expect: 100-continue` gets `100 Continue` before the body is read, so a client does not wait a second
///   before sending it (RFC 9110 §10.1.1);
/// - an answer goes out in the request's version; an HTTP/1.0 request without `Connection: keep-alive`, or any
///   request with `Connection: close`, has its connection closed once its answer is sent (§9.3);
/// - a request the HTTP/1 decoder cannot read (a malformed chunk size, a bad header line) is answered 400 and
///   the connection closed, instead of reaching a route as a body that merely failed.
///
/// Methods a known path does not take are answered 405 with `Allow` by `MethodNotAllowedMiddleware`, and `HEAD` by
/// the router's own `autoGenerateHeadEndpoints`.
final class HTTPConformanceHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// A request passed on whose answer has not ended: the version to answer in, and whether the connection
    /// stays open after it.
    private struct Pending {
        var version: HTTPVersion
        var keepAlive: Bool
    }

    /// A refusal waiting for the answers owed before it (pipelined requests read earlier).
    private struct Refusal {
        var status: HTTPResponseStatus
        var reason: String
        /// Answers still to go out, in order, before the refusal.
        var after: Int
    }

    /// The gateway's clock, for the `Date` of the answers written here.
    private let clock: any TimeSource
    private var pending: [Pending] = []
    /// The connection is being refused: nothing more is read, and the routes' answers are dropped.
    private var refusing = false
    /// A refusal waiting for earlier answers; nothing more is read meanwhile.
    private var refusal: Refusal?
    /// A request that closes the connection was passed on: whatever follows it is not read (RFC 9112 §9.6).
    private var lastRequestRead = false
    /// A request after the last one is being dropped, head, body and end.
    private var dropping = false
    /// Part of an answer is out and its end is not.
    private var answering = false

    init(clock: any TimeSource) { self.clock = clock }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refusing, refusal == nil else { return }
        let part = unwrapInboundIn(data)
        guard case .head(let head) = part else {
            if !dropping { context.fireChannelRead(data) }
            return
        }
        if lastRequestRead {
            dropping = true
            return
        }
        if let (status, reason) = Self.fault(of: head) {
            // Behind answers still to be written, the refusal waits for them (and nothing more is read).
            refuse(context, status, reason, after: pending.count)
            return
        }
        let keepAlive = Self.keepsAlive(head)
        pending.append(Pending(version: head.version, keepAlive: keepAlive))
        if !keepAlive { lastRequestRead = true }
        let expectations = head.headers[canonicalForm: "expect"].map { $0.lowercased() }
        if head.version.atLeast11, expectations.contains("100-continue"), pending.count == 1 {
            // Only when no earlier answer is still being written: a 100 must not land inside another answer.
            context.writeAndFlush(
                wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
        }
        context.fireChannelRead(data)
    }

    /// Why a request head is refused before any route sees it, or nil.
    static func fault(of head: HTTPRequestHead) -> (HTTPResponseStatus, String)? {
        let hosts = head.headers["host"]
        // A tunnel is a proxy's work; after CONNECT the bytes are no longer HTTP (RFC 9110 §9.3.6).
        if head.method == .CONNECT { return (.notImplemented, "this server is not a proxy: CONNECT is not taken") }
        if head.version.atLeast11 && hosts.isEmpty { return (.badRequest, "an HTTP/1.1 request needs a Host header") }
        if hosts.count > 1 { return (.badRequest, "a request has one Host header") }
        if let host = hosts.first, host.contains(where: { $0 == " " || $0 == "/" || $0 == "\\" || $0 == "@" }) {
            return (.badRequest, "the Host header is not a host")
        }
        let codings = head.headers[canonicalForm: "transfer-encoding"].map { $0.lowercased() }
        if codings.contains(where: { $0 != "chunked" }) {
            return (.notImplemented, "the only transfer coding taken is chunked")
        }
        return nil
    }

    /// Whether the connection stays open after this request's answer: `close` wins; HTTP/1.0 needs
    /// `keep-alive`, and never keeps a connection whose request was chunked (RFC 9112 §6.1).
    static func keepsAlive(_ head: HTTPRequestHead) -> Bool {
        let tokens = head.headers[canonicalForm: "connection"].map { $0.lowercased() }
        if tokens.contains("close") { return false }
        guard head.version.atLeast11 else {
            return tokens.contains("keep-alive") && !head.headers.contains(name: "transfer-encoding")
        }
        return true
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard !refusing else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        switch unwrapOutboundIn(data) {
        case .head(var head) where head.status.code >= 200:
            guard let request = pending.first else { break }
            head.version = request.version
            var keepAlive = request.keepAlive
            // An HTTP/1.0 answer without a length ends with the connection.
            if !request.version.atLeast11 && !head.headers.contains(name: "content-length") { keepAlive = false }
            if head.headers[canonicalForm: "connection"].contains(where: { $0.lowercased() == "close" }) {
                keepAlive = false
            }
            pending[0].keepAlive = keepAlive
            answering = true
            head.headers.remove(name: "connection")
            if !keepAlive {
                head.headers.add(name: "connection", value: "close")
            } else if !request.version.atLeast11 {
                head.headers.add(name: "connection", value: "keep-alive")
            }
            context.write(wrapOutboundOut(.head(head)), promise: promise)
            return
        case .end:
            guard !pending.isEmpty else { break }
            let request = pending.removeFirst()
            answering = false
            if !request.keepAlive {
                refusing = true
                context.writeAndFlush(data).assumeIsolated().whenComplete { result in
                    promise?.completeWith(result)
                    context.close(promise: nil)
                }
                return
            }
            context.write(data, promise: promise)
            if var waiting = refusal {
                waiting.after -= 1
                refusal = waiting
                if waiting.after <= 0 {
                    context.flush()
                    refusal = nil
                    send(context, waiting.status, waiting.reason)
                }
            }
            return
        default:
            break
        }
        context.write(data, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        guard !refusing else { return }
        // Bytes after a request that closes the connection: the decoder refuses them, and they are not read;
        // the answers owed still go out, then the connection closes.
        if lastRequestRead, (error as? HTTPParserError) == .closedConnection {
            dropping = true
            return
        }
        // The request cannot be read to its end; its head was passed on (the last one pending) unless it was the
        // head itself that failed. Answers owed for the requests before it go out first, in order; then it is
        // answered 400 and the connection closes. Whatever a route still answers for it is dropped.
        let failedRequestPassedOn = !pending.isEmpty && refusal == nil
        let owedBefore = failedRequestPassedOn ? pending.count - 1 : pending.count
        if answering && owedBefore == 0 {
            // Part of this very request's answer is out: it cannot become a 400 any more.
            refusing = true
            context.close(promise: nil)
        } else if refusal == nil, (error as? HTTPParserError) == .invalidMethod {
            // A method the server does not know at all (RFC 9110 §9.1).
            refuse(context, .notImplemented, "the method is not one this server implements", after: owedBefore)
        } else if refusal == nil {
            refuse(context, .badRequest, "the request is not valid HTTP/1.1 (\(error))", after: owedBefore)
        }
        // The route reading the body must see it fail, not end: a cut body is never acted on.
        context.fireErrorCaught(error)
    }

    /// Refuses with `status` once `after` answers owed have gone out (at once when none are), then closes.
    private func refuse(_ context: ChannelHandlerContext, _ status: HTTPResponseStatus, _ reason: String, after: Int) {
        if after <= 0 {
            send(context, status, reason)
        } else {
            refusal = Refusal(status: status, reason: reason, after: after)
        }
    }

    /// Answers `status` with `reason` and closes the connection.
    private func send(_ context: ChannelHandlerContext, _ status: HTTPResponseStatus, _ reason: String) {
        refusing = true
        let body = context.channel.allocator.buffer(string: reason + "\n")
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "text/plain; charset=utf-8")
        headers.add(name: "content-length", value: String(body.readableBytes))
        headers.add(name: "connection", value: "close")
        headers.add(name: "date", value: httpDate(clock.now()))
        headers.add(name: "server", value: "selfcare")
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))),
            promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }
}

/// The methods each path of the router takes, filled once every route is added (`HEAD` with every `GET`).
final class KnownRoutes: Sendable {
    private let methods = Mutex<[String: [HTTPRequest.Method]]>([:])

    func record(_ routes: [(path: String, method: HTTPRequest.Method)]) {
        var table: [String: Set<String>] = [:]
        for (path, method) in routes {
            table[path, default: []].insert(method.rawValue)
            if method == .get { table[path, default: []].insert(HTTPRequest.Method.head.rawValue) }
        }
        let allowed = table.mapValues { $0.sorted().compactMap { HTTPRequest.Method(rawValue: $0) } }
        methods.withLock { $0 = allowed }
    }

    func allowed(_ path: String) -> [HTTPRequest.Method]? { methods.withLock { $0[path] } }
}

/// A path the router knows, asked with a method it does not take, is answered 405 with `Allow` (RFC 9110
/// §15.5.6) rather than the router's 404.
struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    let routes: KnownRoutes

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    )
        async throws -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            guard let allowed = routes.allowed(request.uri.path), !allowed.contains(request.method) else { throw error }
            // Counted under its route, not `NotFound`: the known paths are a fixed set.
            context.coreContext.endpointPath.value = request.uri.path
            let list = allowed.map(\.rawValue).joined(separator: ", ")
            var response = Gateway.plain(.methodNotAllowed, "\(request.uri.path) takes \(list)\n")
            response.headers[.allow] = list
            return response
        }
    }
}

extension HTTPVersion {
    /// HTTP/1.1 or later: `Host` required, persistent connections by default.
    fileprivate var atLeast11: Bool { major > 1 || (major == 1 && minor >= 1) }
}

/// `Sun, 06 Nov 1994 08:49:37 GMT`: the IMF-fixdate of RFC 9110 §5.6.7, for the `Date` of answers written here.
func httpDate(_ date: Date) -> String {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "GMT")!
    let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
    let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    func two(_ n: Int?) -> String { String(format: "%02d", n ?? 0) }
    return "\(days[(c.weekday ?? 1) - 1]), \(two(c.day)) \(months[(c.month ?? 1) - 1]) \(c.year ?? 1970) "
        + "\(two(c.hour)):\(two(c.minute)):\(two(c.second)) GMT"
}
