import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics
import Prometheus
import SelfCareChannels
import SelfCareCore
import ServiceLifecycle
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
    /// `GatewayMetrics.bootstrapped` is the process's, which swift-metrics reports to.
    public var metrics: GatewayMetrics?
    /// The channel adapters to serve; nil is every shipped one (`Gateway.shippedAdapters`).
    public var adapters: [any ChannelAdapter]?
    /// Where a VoiceXML `<transfer>` sends a caller; `{queue}` is the agent queue (`agent`, `agent-vip`).
    public var agentURI = "sip:{queue}@localhost"

    public init() {}
}

/// The channels the HTTP adapters drive.
public struct GatewayChannels: Sendable {
    public var sms: SMSChannel
    public var ussd: USSDChannel
    public var ivr: IVRChannel

    public init(sms: SMSChannel, ussd: USSDChannel, ivr: IVRChannel) {
        self.sms = sms
        self.ussd = ussd
        self.ivr = ivr
    }

    /// The engine's clock, which adapters' caches expire on.
    public var clock: any TimeSource { sms.engine.clock }
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
        let router = Router()
        if let metrics = configuration.metrics {
            router.add(middleware: RequestMetricsMiddleware(factory: metrics.factory))
        }
        router.get("/healthz") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: "ok\n")))
        }
        for adapter in configuration.adapters ?? Gateway.shippedAdapters(configuration) {
            adapter.register(on: router, channels: channels, configuration: configuration)
        }
        JSONAPI.addOperations(to: router, channels, configuration)
        if let metrics = configuration.metrics {
            router.get("/metrics") { _, _ -> Response in
                // Live sessions are read when scraped, not counted on every step.
                Gauge(label: "selfcare_live_sessions", dimensions: [("channel", "ussd")], factory: metrics.factory)
                    .record(await channels.ussd.sessions.count())
                Gauge(label: "selfcare_live_sessions", dimensions: [("channel", "ivr")], factory: metrics.factory)
                    .record(await channels.ivr.sessions.count())
                return Response(
                    status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                    body: .init(byteBuffer: ByteBuffer(bytes: metrics.registry.emitToBuffer())))
            }
        }
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
        logger: Logger = Logger(label: "selfcare.gateway")
    ) async throws {
        let app = Application(
            router: router(channels, configuration: configuration),
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), serverName: "selfcare"),
            onServerRunning: { channel in
                // The bound address, so `--port 0` (any free port) can be found by scripts and tests.
                let port = channel.localAddress?.port ?? configuration.port
                // An IPv6 address goes in brackets in a URL.
                let host = configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host
                FileHandle.standardError.write(Data("selfcare: serving on http://\(host):\(port)\n".utf8))
            },
            logger: logger)
        var groupConfiguration = ServiceGroupConfiguration(
            services: [
                .init(service: app),
                .init(service: PendingChangeService(engine: channels.sms.engine, interval: configuration.tickInterval)),
                .init(service: ReloadService(reload: configuration.reload)),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        // A request stuck past this does not keep a stopping server alive.
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(configuration.shutdownGrace)
        try await ServiceGroup(configuration: groupConfiguration).run()
    }
}

/// Applies due pending changes every `interval` until shutdown.
struct PendingChangeService: Service {
    let engine: OperationEngine
    let interval: TimeInterval

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(interval))
                _ = try? await engine.applyDueChanges()
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
                        Data("selfcare: reload refused, the old grammars stay:\n\(error)\n".utf8))
                }
            }
        }
    }
}

/// A Prometheus registry and the swift-metrics factory that fills it.
public struct GatewayMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    public let factory: PrometheusMetricsFactory

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
        self.factory = factory
    }

    /// The process's metrics, bootstrapped into swift-metrics on first use (once per process), so every
    /// library's metrics land in the same registry.
    public static let bootstrapped: GatewayMetrics = {
        let metrics = GatewayMetrics()
        MetricsSystem.bootstrap(metrics.factory)
        return metrics
    }()
}

/// Counts requests by route and status and times them: `selfcare_http_requests_total{route, status}` and
/// `selfcare_http_request_duration_seconds{route}`. Unknown paths share the route `unknown`.
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let factory: PrometheusMetricsFactory

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

/// Request parameters from the query string and, for a form POST, the body (x-www-form-urlencoded).
enum FormFields {
    /// A route handler that reads the request's fields first: a body over the limit gets 413 and one of
    /// another type 415, as plain text, before `body` runs.
    static func handler(
        _ configuration: GatewayConfiguration, _ body: @escaping @Sendable ([String: String]) async throws -> Response
    ) -> @Sendable (Request, BasicRequestContext) async throws -> Response {
        { request, _ in
            var request = request
            let fields: [String: String]
            do {
                fields = try await of(&request, maxBodyBytes: configuration.maxBodyBytes)
            } catch let error as HTTPError {
                return Gateway.plain(error.status, "\(error.body ?? "bad request")\n")
            }
            return try await body(fields)
        }
    }

    static func of(_ request: inout Request, maxBodyBytes: Int) async throws -> [String: String] {
        var fields = parse(request.uri.query ?? "")
        if request.method == .post {
            let body: ByteBuffer
            do {
                body = try await request.collectBody(upTo: maxBodyBytes)
            } catch {
                throw HTTPError(.contentTooLarge, message: "the body is over \(maxBodyBytes) bytes")
            }
            let type = request.headers[.contentType] ?? ""
            if type.isEmpty || type.lowercased().hasPrefix("application/x-www-form-urlencoded") {
                for (k, v) in parse(String(buffer: body)) { fields[k] = v }
            } else if type.lowercased().hasPrefix("text/plain") {
                fields["text"] = String(decoding: body.readableBytesView, as: UTF8.self)
            } else {
                throw HTTPError(.unsupportedMediaType, message: "send application/x-www-form-urlencoded or text/plain")
            }
        }
        return fields
    }

    /// `a=1&b=x+y%21` → `["a": "1", "b": "x y!"]`; invalid UTF-8 after decoding becomes U+FFFD.
    static func parse(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = decode(kv[0])
            out[key] = kv.count > 1 ? decode(kv[1]) : ""
        }
        return out
    }

    static func decode(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let b = utf8.popFirst() {
            if b == UInt8(ascii: "+") {
                bytes.append(0x20)
            } else if b == UInt8(ascii: "%"), utf8.count >= 2,
                let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(b)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
