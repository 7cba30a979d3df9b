import ArgumentParser
import Foundation
import SelfCareCore

/// `selfcare survey report`: the satisfaction ratings by week, operation and channel.
struct SurveyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "survey", abstract: "Report the satisfaction survey's ratings.", subcommands: [Report.self])

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text
        case csv
        case jsonl
    }

    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ratings by week (Monday to Sunday, local time), operation and channel.",
            discussion: """
                One row per week, operation and channel: the ratings given, the questions skipped, the average \
                rating and how many of each from 1 to 5, read from the survey.rate records. Turn the survey on \
                with SELFCARE_SURVEY_PERCENT (docs/operations.md).
                """)

        @OptionGroup var global: GlobalOptions

        @Option(help: "Only ratings at or after this ISO 8601 time.")
        var since: String?

        @Option(help: "text (default), csv or jsonl.")
        var format: Format = .text

        func run() async throws {
            try await reportingFailures {
                var filter = RecordFilter()
                if let since {
                    guard let date = ISOTime.parse(since) else {
                        throw CommandFailure("--since \(since): expected an ISO 8601 time such as 2026-11-24T00:00:00Z")
                    }
                    filter.since = date
                }
                let runtime = try Runtime(global, access: .readonly)
                var report = SurveyReport(calendar: runtime.configuration.calendar)
                try runtime.store.forEachRecord(matching: filter) { report.add($0) }
                let rows = report.rows
                let output = BufferedOutput(lineEnd: format == .csv ? ServiceRecord.csvLineEnd : "\n")
                switch format {
                case .csv:
                    output.write(SurveyReport.columns.joined(separator: ","))
                    for row in rows { output.write(row.cells.map(csvCell).joined(separator: ",")) }
                case .jsonl:
                    for row in rows {
                        let pairs = zip(SurveyReport.columns, row.cells).map { name, value in
                            let number = name != "week" && name != "operation" && name != "channel"
                            return jsonString(name) + ":"
                                + (number ? (value.isEmpty ? "null" : value) : jsonString(value))
                        }
                        output.write("{" + pairs.joined(separator: ",") + "}")
                    }
                case .text:
                    guard !rows.isEmpty else {
                        output.write("no ratings yet")
                        break
                    }
                    let table = [SurveyReport.columns] + rows.map { $0.cells.map { $0.isEmpty ? "-" : $0 } }
                    let widths = SurveyReport.columns.indices.map { column in
                        table.map { $0[column].count }.max() ?? 0
                    }
                    for line in table {
                        output.write(
                            zip(line, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }
                                .joined(separator: "  ").trimmingCharacters(in: .whitespaces))
                    }
                }
                output.flush()
            }
        }
    }
}
