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
        for routes in configuration.extraRoutes {
            routes.register(on: router, channels: channels, configuration: configuration)
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
            ] + configuration.periodicJobs.map { .init(service: PeriodicJobService(job: $0, logger: logger)) },
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
