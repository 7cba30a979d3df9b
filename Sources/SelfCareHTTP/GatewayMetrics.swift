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
        "selfcare_order_deliveries_total":
            "Deliveries of service orders to billing, by outcome (delivered, failed, dead).",
        "selfcare_orders": "Service orders by state (pending, delivered, accepted, rejected, dead).",
        "selfcare_orders_oldest_pending_seconds": "Age of the oldest service order not yet delivered, 0 when none.",
        "selfcare_orders_stale": "Service orders delivered and not answered within the answer timeout.",
        "selfcare_sync_files_total": "Feed files handled by the inbox watch, by outcome (applied, quarantined).",
        "selfcare_sync_next_sequence": "The sequence number each feed applies next.",
        "selfcare_sync_held_files": "Files of a feed held in the inbox behind a missing one.",
        "selfcare_sync_gap": "1 while a missing file of the feed holds later ones, else 0.",
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
