import ArgumentParser
import Foundation
import Logging
import Metrics
import SelfCareCore
import SelfCareHTTP
import SelfCareStore

/// `selfcare orders`: the service orders (工单) the gateway owes the billing system.
struct OrdersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "orders", abstract: "List, show, deliver and answer service orders to the billing system.",
        subcommands: [List.self, Show.self, Deliver.self, Answer.self, Retry.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print service orders, oldest first.")

        @OptionGroup var global: GlobalOptions

        @Option(help: "Only orders in this state: pending, delivered, accepted, rejected or dead.")
        var state: String?

        @Option(help: "jsonl (default) or csv.")
        var format: RecordsCommand.Format = .jsonl

        @Flag(help: "Only orders delivered and not answered within --answer-hours (escalated).")
        var stale = false

        @OptionGroup var delivery: OrderDeliveryOptions

        func run() async throws {
            try await reportingFailures {
                if stale {
                    guard state == nil || state == "delivered" else {
                        throw CommandFailure("--stale lists delivered orders; leave out --state", code: 64)
                    }
                    let engine = try Runtime(global, access: .readonly).quietEngine()
                    let output = BufferedOutput(lineEnd: format == .csv ? ServiceRecord.csvLineEnd : "\n")
                    if format == .csv { output.write(ServiceOrder.csvHeader) }
                    for order in try await engine.staleOrders(policy: try delivery.policy()) {
                        output.write(format == .csv ? order.csvLine : order.jsonLine)
                    }
                    output.flush()
                    return
                }
                var filter = OrderFilter(limit: 1_000)
                if let state { filter.state = try stateOption(state, OrderState.self) }
                let engine = try Runtime(global, access: .readonly).quietEngine()
                let output = BufferedOutput(lineEnd: format == .csv ? ServiceRecord.csvLineEnd : "\n")
                if format == .csv { output.write(ServiceOrder.csvHeader) }
                // Page by id, so a long backlog is never held in memory at once.
                while true {
                    let page = try await engine.orders(filter)
                    for order in page { output.write(format == .csv ? order.csvLine : order.jsonLine) }
                    guard let last = page.last, page.count == filter.limit else { break }
                    filter.afterID = last.id
                }
                output.flush()
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print one service order as JSON.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The order's id.")
        var id: Int64

        func run() async throws {
            try await reportingFailures {
                let engine = try Runtime(global, access: .readonly).quietEngine()
                guard let order = try await engine.order(id: id) else {
                    throw CommandFailure("orders show: no order \(id)")
                }
                print(order.jsonLine)
            }
        }
    }

    struct Deliver: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Hand every due order to billing once: as outbox files or to its webhook.",
            discussion: """
                --outbox DIR writes ORDER_SELFCARE_YYYYMMDD_NNNNNN.jsonl files with .chk sidecars; --webhook URL \
                posts each order as JSON with an Idempotency-Key header. Exit status 0, or 2 when a delivery failed \
                (it is tried again after a growing wait).
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var delivery: OrderDeliveryOptions

        func run() async throws {
            try await reportingFailures {
                let engine = try Runtime(global).quietEngine()
                guard let job = try delivery.job(engine: engine, command: "orders deliver") else {
                    throw CommandFailure("orders deliver: give --outbox DIR or --webhook URL", code: 64)
                }
                let said = try await job()
                for line in said.lines { print(line) }
                if said.failed {
                    throw CommandFailure("orders deliver: a delivery failed; it is tried again later", code: 2)
                }
            }
        }
    }

    struct Answer: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record billing's answer to an order by hand: accepted or rejected.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The order's key (SC-…).")
        var key: String

        @Argument(help: "accepted or rejected.")
        var result: String

        @Option(help: "Billing's reason.")
        var reason = ""

        func run() async throws {
            try await reportingFailures {
                guard reason.count <= 200,
                    !reason.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
                else {
                    throw CommandFailure(
                        "orders answer: --reason: at most 200 characters, no control characters", code: 64)
                }
                guard ServiceOrder.isKey(key) else {
                    throw CommandFailure(
                        "orders answer: \(visible(key)): an order's key is SC- and 32 hex digits", code: 64)
                }
                guard let answer = OrderAnswer(rawValue: result) else {
                    throw CommandFailure("orders answer: \(visible(result)): expected accepted or rejected", code: 64)
                }
                let engine = try Runtime(global).quietEngine()
                switch try await engine.answerOrder(key: key, answer: answer, reason: reason, source: "cli") {
                case .closed(let order): print("order \(order.id): \(order.state.rawValue)")
                case .unchanged(let order): print("order \(order.id): \(order.state.rawValue) already")
                case .refused(let why): throw CommandFailure("orders answer: \(visible(key)): \(why)")
                }
            }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send a dead order again: pending, due now.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The order's id.")
        var id: Int64

        @Option(help: "Who retries it, for the record.")
        var by = "operator"

        func run() async throws {
            try await reportingFailures {
                let engine = try Runtime(global).quietEngine()
                do {
                    guard let order = try await engine.retryOrder(id: id, by: by) else {
                        throw CommandFailure("orders retry: no order \(id)")
                    }
                    print("order \(order.id): pending again")
                } catch let refusal as OrderRetryRefusal {
                    throw CommandFailure("orders retry: \(refusal)")
                }
            }
        }
    }
}

/// How service orders reach billing: `orders deliver`, `orders list --stale` and `serve`.
struct OrderDeliveryOptions: ParsableArguments {
    @Option(name: .customLong("outbox"), help: "Deliver orders as files in this folder.")
    var outbox: String?

    @Option(name: .customLong("webhook"), help: "Deliver orders by POST to this http(s) URL.")
    var webhook: String?

    @Option(help: "Deliveries tried before an order is dead.")
    var maxAttempts = 8

    @Option(help: "Hours billing may take to answer a delivered order before it is stale.")
    var answerHours = 24

    /// The delivery policy of the options.
    func policy() throws -> OrderDeliveryPolicy {
        guard (1...100).contains(maxAttempts) else { throw CommandFailure("--max-attempts: use 1 to 100", code: 64) }
        guard (1...24 * 90).contains(answerHours) else {
            throw CommandFailure("--answer-hours: use 1 to 2160", code: 64)
        }
        var policy = OrderDeliveryPolicy()
        policy.maxAttempts = maxAttempts
        policy.answerTimeout = TimeInterval(answerHours) * 3600
        return policy
    }

    /// One delivery pass as configured, saying what it did; nil when no delivery is configured.
    func job(
        engine: OperationEngine, command: String
    ) throws -> (@Sendable () async throws -> (lines: [String], failed: Bool))? {
        let policy = try policy()
        switch (outbox, webhook) {
        case (nil, nil):
            return nil
        case (.some, .some):
            throw CommandFailure("\(command): give --outbox or --webhook, not both", code: 64)
        case (let folder?, nil):
            var outbox = OrderOutbox(engine: engine, folder: folder)
            outbox.policy = policy
            let configured = outbox
            return {
                let files = try await configured.drain()
                return (
                    files.map {
                        "\($0.name): \($0.orders) order\($0.orders == 1 ? "" : "s")"
                            + ($0.failure.map { ", failed: \($0)" } ?? " written")
                    },
                    files.contains { $0.failure != nil }
                )
            }
        case (nil, let address?):
            guard let url = URL(string: address), ["http", "https"].contains(url.scheme?.lowercased() ?? ""),
                url.host != nil
            else {
                throw CommandFailure(
                    "\(command): --webhook \(visible(address)): expected an http or https URL", code: 64)
            }
            var webhook = OrderWebhook(engine: engine, url: url)
            webhook.policy = policy
            if let token = ProcessInfo.processInfo.environment["SELFCARE_WEBHOOK_TOKEN"], !token.isEmpty {
                webhook.token = token
            }
            let configured = webhook
            return {
                let pass = try await configured.drain()
                return (["webhook: \(pass.delivered) delivered, \(pass.failed) failed"], pass.failed > 0)
            }
        }
    }
}

/// The server's delivery of service orders: what it logs, and the backlog in /metrics.
enum OrderWatch {
    static let logger = Logger(label: "selfcare.orders")

    /// Sets the order gauges: orders by state, the age of the oldest pending one, and the stale ones.
    static func measure(_ engine: OperationEngine, policy: OrderDeliveryPolicy) async throws {
        let (counts, oldest) = try await engine.orderBacklog()
        for state in OrderState.allCases {
            Gauge(label: "selfcare_orders", dimensions: [("state", state.rawValue)]).record(counts[state] ?? 0)
        }
        let age = oldest.map { max(0, engine.now().timeIntervalSince($0)) } ?? 0
        Gauge(label: "selfcare_orders_oldest_pending_seconds").record(age)
        let stale = try await engine.staleOrders(policy: policy, limit: 10_000).count
        Gauge(label: "selfcare_orders_stale").record(stale)
        if stale > 0 {
            logger.warning("\(stale) service order\(stale == 1 ? "" : "s") delivered and not answered in time")
        }
    }
}

/// The value of a `--state` option among `T`'s cases (`orders list`, `notices list`).
/// - Throws: `CommandFailure` (exit 64) naming the states when `text` is none of them.
func stateOption<T: RawRepresentable & CaseIterable>(_ text: String, _: T.Type) throws -> T where T.RawValue == String {
    guard let known = T(rawValue: text) else {
        let states = T.allCases.map(\.rawValue).joined(separator: ", ")
        throw CommandFailure("--state \(visible(text)): expected one of \(states)", code: 64)
    }
    return known
}
