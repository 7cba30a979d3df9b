import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import Metrics
import NIOCore
import Prometheus
import SelfCareChannels
import SelfCareCore
import ServiceLifecycle
import Synchronization
import UnixSignals

/// Settings of the HTTP gateway.
public struct GatewayConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// Larger request bodies are refused with 413.
    public var maxBodyBytes = 64 * 1024
    /// Whether the USSD aggregator sends every input so far joined with `*` (Africa's Talking) or only
    /// the current one.
    public var ussdCumulativeText = true
    /// Seconds a stopping server waits for requests in flight before it exits anyway.
    public var shutdownGrace: Int64 = 30
    /// How often due pending changes are applied.
    public var tickInterval: TimeInterval = 60
    /// The bearer token of `GET /v1/records` and `POST /v1/admin/reload`; nil turns them off.
    public var adminToken: String?
    /// Reloads grammars and prompts atomically (SIGHUP, `POST /v1/admin/reload`); throws the diagnostics
    /// of a broken set, in which case the old one stays.
    public var reload: (@Sendable () throws -> Void)?
    /// Where the HTTP metrics go and `GET /metrics` reads from; nil turns the endpoint off.
    /// The program that serves bootstraps swift-metrics with its `factory`, once, so that every library's
    /// metrics land in the same registry (`selfcare serve` does).
    public var metrics: GatewayMetrics?
    /// The channel adapters to serve; nil is every shipped one (`Gateway.shippedAdapters`).
    public var adapters: [any ChannelAdapter]?
    /// Where a VoiceXML `<transfer>` sends a caller; `{queue}` is the agent queue (`agent`, `agent-vip`).
    public var agentURI = "sip:{queue}@localhost"
    /// The channels served (`SELFCARE_CHANNELS`); the routes of the others answer 404.
    public var channels: Set<SelfCareCore.Channel> = GrammarSet.servedChannels
    /// Seconds a kept-alive connection may wait for its next request before it is closed.
    public var idleTimeout: TimeInterval = 30
    /// Seconds a request head may take: from the connection's start for its first request, from the first byte
    /// for later ones.
    public var headerTimeout: TimeInterval = 10
    /// Seconds a request body may take after its head, however slowly it trickles in.
    public var bodyTimeout: TimeInterval = 20
    /// Seconds a connection may take no more bytes of an answer (a client that does not read) before it is closed.
    public var sendTimeout: TimeInterval = 20
    /// Connections served at once at most; nil: the open-files limit less a reserve for serving
    /// (`OpenFilesLimit.reserve`). A connection past it is answered 503 and closed at once.
    public var maxConnections: Int?
    /// The open-files limit the cap is computed from; nil: the process's, read at start.
    public var openFiles: Int?
    /// How often sessions idle past their timeout, and the adapters' caches of them, are freed.
    public var sweepInterval: TimeInterval = 10

    public init() {}

    /// The connection cap in force under an open-files limit of `openFiles`: `maxConnections`, but never more
    /// than the limit less the reserve.
    public func connectionCap(openFiles: Int) -> Int {
        let room = max(1, openFiles - OpenFilesLimit.reserve(for: openFiles))
        return min(maxConnections ?? room, room)
    }
}

/// The channels the HTTP adapters drive, over the one engine they share.
public struct GatewayChannels: Sendable {
    public let sms: SMSChannel
    public let ussd: USSDChannel
    public let ivr: IVRChannel
    /// The engine behind the three channels: what the operators' routes, health and the tick go through.
    public let engine: OperationEngine

    /// The adapters' per-session caches, swept with the sessions.
    public let caches = SessionCaches()

    /// The three channels must run on one engine (one store, one clock, one set of prompts).
    public init(sms: SMSChannel, ussd: USSDChannel, ivr: IVRChannel) {
        precondition(
            sms.engine === ussd.engine && sms.engine === ivr.engine, "the gateway's channels share one engine")
        self.sms = sms
        self.ussd = ussd
        self.ivr = ivr
        self.engine = sms.engine
    }

    /// The engine's clock, which sessions and adapters' caches expire on.
    public var clock: any TimeSource { engine.clock }

    /// Frees the sessions idle past their timeout, and the adapters' cached entries past theirs.
    public func sweep() async {
        let now = clock.now()
        await ussd.sessions.sweep(now: now)
        await ivr.sessions.sweep(now: now)
        await caches.sweep(now: now)
    }
}

extension GatewayChannels {
    /// The three channels over one engine and one set of grammars, each session store bounded by `sessions`:
    /// USSD sessions idle out after 120 seconds, IVR calls after 600.
    public init(
        engine: OperationEngine, grammars: GrammarSet, sms: SMSConfiguration = SMSConfiguration(),
        sessions: SessionLimits
    ) {
        self.init(
            sms: SMSChannel(engine: engine, grammars: grammars, configuration: sms),
            ussd: USSDChannel(
                engine: engine, grammars: grammars,
                sessions: MemorySessionStore<USSDSession>(idleTimeout: 120, limits: sessions)),
            ivr: IVRChannel(
                engine: engine, grammars: grammars,
                sessions: MemorySessionStore<IVRSession>(idleTimeout: 600, limits: sessions)))
    }
}

/// What adapters keep per session beside the channels' session stores (the inputs of a USSD session, the last
/// answer of each call): each registers how to sweep it, and the gateway sweeps them with the sessions.
public final class SessionCaches: Sendable {
    private let sweeps = Mutex<[@Sendable (Date) async -> Void]>([])

    public init() {}

    /// Adds a cache's sweep.
    public func register(_ sweep: @escaping @Sendable (Date) async -> Void) {
        sweeps.withLock { $0.append(sweep) }
    }

    func sweep(now: Date) async {
        for sweep in sweeps.withLock({ $0 }) { await sweep(now) }
    }
}

/// Builds the HTTP application over the given channels: the channel adapters (`ChannelAdapter`), the
/// operators' endpoints (`/v1/records`, `/v1/admin/reload`), `/healthz` and `/metrics`.
public enum Gateway {
    /// The router with every route.
    public static func router(
        _ channels: GatewayChannels, configuration: GatewayConfiguration
    ) -> Router<
        BasicRequestContext
    > {
        // HEAD on every GET route, answered as GET without the body (RFC 9110 §9.3.2).
        let router = Router(options: .autoGenerateHeadEndpoints)
        if let metrics = configuration.metrics {
            metrics.registerAtZero(channels: configuration.channels)
            router.add(middleware: RequestMetricsMiddleware(factory: metrics.factory))
        }
        let known = KnownRoutes()
        router.add(middleware: MethodNotAllowedMiddleware(routes: known))
        router.add(middleware: StoreFaultMiddleware(engine: channels.engine))
        // Liveness: the process answers.
        router.get("/healthz") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: "ok\n")))
        }
        // The contract of the JSON routes.
        router.get("/openapi.yaml") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: openAPIDocument)))
        }
        // Readiness: the store can commit, into the file it opened.
        router.get("/readyz") { _, _ in
            let readiness = await channels.engine.readiness()
            guard readiness.isReady else {
                return plain(.serviceUnavailable, "not ready: " + readiness.problems.joined(separator: "; ") + "\n")
            }
            return plain(.ok, "ready\n")
        }
        for adapter in configuration.adapters ?? Gateway.shippedAdapters(configuration) {
            adapter.register(on: router, channels: channels, configuration: configuration)
        }
        JSONAPI.addOperations(to: router, channels, configuration)
        if let metrics = configuration.metrics {
            router.get("/metrics") { _, _ -> Response in
                // Live sessions are read when scraped, not counted on every step, once the idle ones are freed.
                await channels.sweep()
                Gauge(label: "selfcare_live_sessions", dimensions: [("channel", "ussd")], factory: metrics.factory)
                    .record(await channels.ussd.sessions.count())
                Gauge(label: "selfcare_live_sessions", dimensions: [("channel", "ivr")], factory: metrics.factory)
                    .record(await channels.ivr.sessions.count())
                return Response(
                    status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                    body: .init(byteBuffer: ByteBuffer(bytes: metrics.registry.emitToBuffer())))
            }
        }
        known.record(router.routes.map { ($0.path.description, $0.method) })
        return router
    }

    /// Kannel `sms-service`, the USSD aggregator convention, VoiceXML, IVR actions as JSON and the generic
    /// JSON messages API.
    public static func shippedAdapters(_ configuration: GatewayConfiguration) -> [any ChannelAdapter] {
        [
            KannelAdapter(), USSDAggregatorAdapter(cumulativeText: configuration.ussdCumulativeText),
            VoiceXMLAdapter(), IVRJSONAdapter(), MessagesJSONAdapter(),
        ]
    }

    /// The answer of a route whose channel the server does not run.
    public static func channelOff(_ channel: SelfCareCore.Channel) -> Response {
        plain(.notFound, "the \(channel) channel is turned off on this server\n")
    }

    /// The answer to `HEAD` on a route whose `GET` acts (delivers a message, opens a call): its content type, no
    /// body, and nothing run.
    public static func headOnly(_ contentType: String) -> Response {
        Response(status: .ok, headers: [.contentType: contentType])
    }

    /// A plain-text response: adapters' refusals (`400 missing from`) and replies.
    public static func plain(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(
            status: status, headers: [.contentType: "text/plain; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// Runs the server until SIGTERM or SIGINT under a swift-service-lifecycle group: the HTTP server,
    /// the periodic application of due pending changes, and reloading on SIGHUP. On the signal the
    /// server stops accepting and finishes the requests in flight; every record is committed before
    /// its reply leaves, so nothing is left to flush.
    public static func run(
        _ channels: GatewayChannels, configuration: GatewayConfiguration,
        logger: Logger
    ) async throws {
        let app = application(
            channels, configuration: configuration, logger: logger,
            onServerRunning: { channel in
                // The bound address, so `--port 0` (any free port) can be found by scripts and tests.
                let port = channel.localAddress?.port ?? configuration.port
                // An IPv6 address goes in brackets in a URL.
                let host = configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host
                FileHandle.standardError.write(Data("selfcare: serving on http://\(host):\(port)\n".utf8))
            })
        var groupConfiguration = ServiceGroupConfiguration(
            services: [
                .init(service: app),
                .init(
                    service: PendingChangeService(
                        engine: channels.engine, interval: configuration.tickInterval, logger: logger)),
                .init(service: ReloadService(reload: configuration.reload)),
                .init(service: SweepService(channels: channels, interval: configuration.sweepInterval)),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        // A request stuck past this does not keep a stopping server alive.
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(configuration.shutdownGrace)
        try await ServiceGroup(configuration: groupConfiguration).run()
    }
}

extension Gateway {
    /// The HTTP application over the router, with the connection limits of `configuration`: the idle, header and
    /// body timeouts (`RequestDeadlineHandler`), and at most `connectionCap` connections served at once, those
    /// past it answered 503 and closed at once.
    public static func application(
        _ channels: GatewayChannels, configuration: GatewayConfiguration,
        logger: Logger,
        onServerRunning: @escaping @Sendable (any NIOCore.Channel) async -> Void = { _ in }
    ) -> Application<RouterResponder<BasicRequestContext>> {
        let cap = configuration.connectionCap(openFiles: configuration.openFiles ?? OpenFilesLimit.current())
        let counter = ConnectionCounter()
        let refusals = configuration.metrics.map {
            Counter(label: "selfcare_http_connections_refused_total", factory: $0.factory)
        }
        func amount(_ seconds: TimeInterval) -> TimeAmount { .milliseconds(Int64(seconds * 1000)) }
        let (idle, header, body, send) = (
            amount(configuration.idleTimeout), amount(configuration.headerTimeout), amount(configuration.bodyTimeout),
            amount(configuration.sendTimeout)
        )
        let server = HTTPServerBuilder { responder in
            GatewayChildChannel(
                http1: HTTP1Channel(
                    responder: responder,
                    configuration: .init(
                        additionalChannelHandlers: [
                            RequestDeadlineHandler(idle: idle, header: header, body: body, send: send)
                        ])),
                cap: cap, counter: counter, refusals: refusals, clock: channels.clock)
        }
        return Application(
            router: router(channels, configuration: configuration), server: server,
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), serverName: "selfcare"),
            onServerRunning: onServerRunning, logger: logger)
    }
}

/// Frees idle sessions and the adapters' caches of them every `interval`, so a flood's memory is given back even
/// when no request comes to trigger it.
struct SweepService: Service {
    let channels: GatewayChannels
    let interval: TimeInterval

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(interval))
                await channels.sweep()
            }
        }
    }
}

/// Once the store reports a fault (its database file removed or replaced), answers every request but the health,
/// readiness and metrics endpoints with 503 and the reason, and logs it once: nothing written from then on could
/// be kept.
final class StoreFaultMiddleware<Context: RequestContext>: RouterMiddleware {
    let engine: OperationEngine
    private let logged = Mutex(false)

    init(engine: OperationEngine) { self.engine = engine }

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        switch request.uri.path {
        case "/healthz", "/readyz", "/metrics": return try await next(request, context)
        default: break
        }
        guard let fault = engine.storeFault() else { return try await next(request, context) }
        let first = logged.withLock { logged in
            defer { logged = true }
            return !logged
        }
        if first { context.logger.critical("\(fault)") }
        return Gateway.plain(.serviceUnavailable, "the gateway cannot keep records: \(fault)\n")
    }
}

/// Applies due pending changes every `interval` until shutdown.
struct PendingChangeService: Service {
    let engine: OperationEngine
    let interval: TimeInterval
    let logger: Logger

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(interval))
                do {
                    try await engine.applyDueChanges()
                } catch {
                    // The changes stay pending and the next tick tries again; the fault is said each time.
                    logger.error("applying due pending changes failed", metadata: ["error": "\(error)"])
                }
            }
        }
    }
}

/// Reloads grammars and prompts on SIGHUP; a broken set is refused and the old one stays.
struct ReloadService: Service {
    let reload: (@Sendable () throws -> Void)?

    func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in hangups {
                guard let reload else { continue }
                do {
                    try reload()
                    FileHandle.standardError.write(Data("selfcare: reloaded grammars and prompts\n".utf8))
                } catch {
                    FileHandle.standardError.write(
                        Data("selfcare: reload refused, the old grammars and prompts stay:\n\(error)\n".utf8))
                }
            }
        }
    }
}

/// A Prometheus registry and the swift-metrics factory that fills it, with a HELP line for every family SelfCare
/// exports (`GatewayMetrics.help`).
public struct GatewayMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    public let factory: DescribedMetricsFactory

    /// The HELP text of every family the gateway exports: the engine's and the HTTP server's.
    public static let help: [String: String] = EngineMetrics.help.merging([
        "selfcare_http_requests_total": "HTTP requests answered, by route and status.",
        "selfcare_http_request_duration_seconds": "Time to answer an HTTP request, by route.",
        "selfcare_http_connections_refused_total":
            "Connections answered 503 and closed at once because the connection cap was reached.",
        "selfcare_live_sessions": "USSD sessions and IVR calls held in memory, counted when scraped.",
    ]) { engine, _ in engine }

    /// A registry of its own (tests, or several gateways in one process); give `factory` to the engine's
    /// configuration too.
    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        // Our requests take from a fraction of a millisecond (queries) to tens (password checks).
        factory.defaultDurationHistogramBuckets = [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1),
            .seconds(5),
        ]
        self.factory = DescribedMetricsFactory(factory, help: Self.help)
    }

    /// Registers the families that would otherwise appear only with their first event, at zero.
    func registerAtZero(channels: Set<SelfCareCore.Channel>) {
        EngineMetrics.registerAtZero(
            channels: (channels.union([.api])).sorted { $0.rawValue < $1.rawValue }, factory: factory)
        Counter(label: "selfcare_http_connections_refused_total", factory: factory).increment(by: 0)
    }
}

/// Counts requests by route and status and times them: `selfcare_http_requests_total{route, status}` and
/// `selfcare_http_request_duration_seconds{route}`. Unknown paths share the route `unknown`.
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let factory: any MetricsFactory

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    )
        async throws -> Response
    {
        let started = ContinuousClock.now
        let status: HTTPResponse.Status
        let response: Response
        do {
            response = try await next(request, context)
            status = response.status
        } catch {
            status = (error as? any HTTPResponseError)?.status ?? .internalServerError
            record(context.endpointPath ?? "unknown", status, .now - started)
            throw error
        }
        record(context.endpointPath ?? "unknown", status, .now - started)
        return response
    }

    private func record(_ route: String, _ status: HTTPResponse.Status, _ elapsed: Duration) {
        Counter(
            label: "selfcare_http_requests_total", dimensions: [("route", route), ("status", String(status.code))],
            factory: factory
        ).increment()
        Timer(label: "selfcare_http_request_duration_seconds", dimensions: [("route", route)], factory: factory)
            .record(duration: elapsed)
    }
}

/// Whether `error`, from collecting a request body, says the body is over the limit (as opposed to a body that
/// could not be read at all).
func isOverLimit(_ error: any Error) -> Bool {
    error is NIOTooManyBytesError || (error as? HTTPError)?.status == .contentTooLarge
}
