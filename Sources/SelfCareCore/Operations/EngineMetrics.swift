import Metrics

/// The engine's metrics, through swift-metrics: to the configured factory, else the bootstrapped one (a
/// no-op until the process bootstraps a backend; `selfcare serve` bootstraps Prometheus and serves them
/// at `GET /metrics`).
///
/// - `selfcare_operations_total{channel, operation, result, reason}`: every attempt, as recorded.
/// - `selfcare_operation_duration_seconds{channel, operation}`: the engine's time per attempt (histogram).
/// - `selfcare_password_failures_total{channel}`: wrong service passwords.
/// - `selfcare_password_locks_total{channel}`: passwords locked by the last allowed wrong attempt.
/// - `selfcare_third_party_locks_total{channel}`: callers locked out of attempts on other numbers.
public struct EngineMetrics: Sendable {
    let factory: (any MetricsFactory)?

    private var resolved: any MetricsFactory { factory ?? MetricsSystem.factory }

    /// Counts deliveries of service orders by outcome (`delivered`, `failed`, `dead`).
    func orderDeliveries(_ outcome: String, count: Int) {
        guard count > 0 else { return }
        Counter(label: "selfcare_order_deliveries_total", dimensions: [("outcome", outcome)], factory: resolved)
            .increment(by: count)
    }

    func observe(_ outcome: OperationOutcome, channel: Channel, operation: String, elapsed: Duration?) {
        let channel = channel.rawValue
        let operation = count(
            channel: channel, operation: operation, result: outcome.result.rawValue, reason: outcome.reason.rawValue)
        let factory = resolved
        if let elapsed {
            Timer(
                label: "selfcare_operation_duration_seconds",
                dimensions: [("channel", channel), ("operation", operation)], factory: factory
            ).record(duration: elapsed)
        }
        if outcome.record?.auth == AuthOutcome.failed.rawValue {
            Counter(label: "selfcare_password_failures_total", dimensions: [("channel", channel)], factory: factory)
                .increment()
        }
    }

    /// Counts one attempt; returns the operation's label value.
    @discardableResult
    func count(channel: String, operation: String, result: String, reason: String) -> String {
        // An operation name from outside the known set is one bucket, so no input can grow the label set.
        let operation = Self.labelled.contains(operation) ? operation : "other"
        Counter(
            label: "selfcare_operations_total",
            dimensions: [("channel", channel), ("operation", operation), ("result", result), ("reason", reason)],
            factory: resolved
        ).increment()
        return operation
    }

    func passwordLocked(channel: Channel) {
        Counter(label: "selfcare_password_locks_total", dimensions: [("channel", channel.rawValue)], factory: resolved)
            .increment()
    }

    func callerLocked(channel: Channel) {
        Counter(
            label: "selfcare_third_party_locks_total", dimensions: [("channel", channel.rawValue)], factory: resolved
        ).increment()
    }

    /// The HELP text of each family the engine exports, for backends that print one (Prometheus).
    public static let help: [String: String] = [
        "selfcare_operations_total": "Self-service attempts by channel, operation, result and reason, as recorded.",
        "selfcare_operation_duration_seconds": "Time the engine spent on an attempt, by channel and operation.",
        "selfcare_password_failures_total": "Wrong service passwords, the owner's own and third parties', by channel.",
        "selfcare_password_locks_total":
            "Service passwords locked by the owner's last allowed wrong attempt, by channel.",
        "selfcare_third_party_locks_total":
            "Calling numbers locked out of password attempts on other numbers, by channel.",
    ]

    /// Registers the engine's counters that have no other label than the channel at zero, so that a scrape shows
    /// them before the first event (a rate over a series that appears only with its first lock misses it).
    public static func registerAtZero(channels: [Channel], factory: any MetricsFactory) {
        for channel in channels {
            for label in [
                "selfcare_password_failures_total", "selfcare_password_locks_total",
                "selfcare_third_party_locks_total",
            ] {
                Counter(label: label, dimensions: [("channel", channel.rawValue)], factory: factory).increment(by: 0)
            }
        }
    }

    /// The operation names used as label values; anything else counts as `other`.
    static let labelled: Set<String> = Set(
        (OperationName.all + [.help, .confirm, .unknown, .smsMessage, .passwordSet]).map(\.rawValue))
}
