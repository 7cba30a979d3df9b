import ArgumentParser
import Foundation
import SelfCareCore

/// `selfcare orders`: the service orders (工单) the gateway owes the billing system.
struct OrdersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "orders", abstract: "List and show service orders to the billing system.",
        subcommands: [List.self, Show.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print service orders, oldest first.")

        @OptionGroup var global: GlobalOptions

        @Option(help: "Only orders in this state: pending, delivered, accepted, rejected or dead.")
        var state: String?

        @Option(help: "jsonl (default) or csv.")
        var format: RecordsCommand.Format = .jsonl

        func run() async throws {
            try await reportingFailures {
                var filter = OrderFilter(limit: 1_000)
                if let state {
                    guard let known = OrderState(rawValue: state) else {
                        let states = OrderState.allCases.map(\.rawValue).joined(separator: ", ")
                        throw CommandFailure("--state \(visible(state)): expected one of \(states)", code: 64)
                    }
                    filter.state = known
                }
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
}
