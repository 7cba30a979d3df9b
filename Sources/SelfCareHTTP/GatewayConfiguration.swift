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
    /// Work the server does on its own every so often besides applying due changes (draining the feed inbox),
    /// started with the server and stopped with it.
    public var periodicJobs: [PeriodicJob] = []
    /// Routes served beside the channels' (the web console), added after them.
    public var extraRoutes: [any GatewayRoutes] = []

    public init() {}

    /// The connection cap in force under an open-files limit of `openFiles`: `maxConnections`, but never more
    /// than the limit less the reserve.
    public func connectionCap(openFiles: Int) -> Int {
        let room = max(1, openFiles - OpenFilesLimit.reserve(for: openFiles))
        return min(maxConnections ?? room, room)
    }
}

/// Work a server runs on its own every `interval`, first at its start; a failure is logged and tried again at
/// the next turn.
public struct PeriodicJob: Sendable {
    /// The job's name in logs (`sync`).
    public var name: String
    /// Seconds between the end of one run and the start of the next.
    public var interval: TimeInterval
    /// One run.
    public var run: @Sendable () async throws -> Void

    /// A job named `name` running `run` every `interval` seconds.
    public init(name: String, interval: TimeInterval, run: @escaping @Sendable () async throws -> Void) {
        self.name = name
        self.interval = interval
        self.run = run
    }
}
