import ArgumentParser
import Foundation
import SelfCareCore
import SelfCareStore

struct RecordsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "records", abstract: "List and verify service records.",
        subcommands: [List.self, Verify.self])

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case jsonl
        case csv
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print records, oldest first.")

        @OptionGroup var global: GlobalOptions

        @Option(help: "Only records about this number.")
        var subject: String?

        @Option(help: "Only records at or after this ISO 8601 time.")
        var since: String?

        @Option(help: "jsonl (default) or csv.")
        var format: Format = .jsonl

        func run() async throws {
            try await reportingFailures {
                var filter = RecordFilter()
                if let subject {
                    guard let number = normalizeNumber(subject) else {
                        throw CommandFailure("--subject \(subject): expected a phone number")
                    }
                    filter.subject = number
                }
                if let since {
                    guard let date = ISOTime.parse(since) else {
                        throw CommandFailure("--since \(since): expected an ISO 8601 time such as 2026-11-24T00:00:00Z")
                    }
                    filter.since = date
                }
                let runtime = try Runtime(global, access: .readonly)
                // JSON Lines end in LF; CSV lines in CRLF, as RFC 4180 has them.
                let output = BufferedOutput(lineEnd: format == .csv ? ServiceRecord.csvLineEnd : "\n")
                if format == .csv { output.write(ServiceRecord.csvHeader) }
                try runtime.store.forEachRecord(matching: filter) { record in
                    output.write(format == .csv ? record.csvLine : record.jsonLine)
                }
                output.flush()
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the whole record chain; lists every broken record and exits 1 when there is one.")

        @OptionGroup var global: GlobalOptions

        func run() async throws {
            try await reportingFailures {
                let runtime = try Runtime(global, access: .readonly)
                let result = try runtime.store.verifyRecords()
                if let broken = result.firstBreak {
                    // Every break, so that tampering after the first one is seen too.
                    for each in result.breaks { print("broken: \(each)") }
                    if result.brokenCount > result.breaks.count {
                        print("broken: … and \(result.brokenCount - result.breaks.count) more")
                    }
                    let count = result.brokenCount == 1 ? "1 break" : "\(result.brokenCount) breaks"
                    throw CommandFailure("records verify: \(broken) (\(count) in \(result.checked) records checked)")
                }
                let head = try runtime.store.recordChainHead()
                print("ok: \(result.checked) records, chain intact\(head.map { ", head \($0.hash)" } ?? "")")
            }
        }
    }
}

/// Collects lines and writes them to standard output in large blocks.
final class BufferedOutput {
    private var buffer = [UInt8]()
    private let lineEnd: [UInt8]

    init(lineEnd: String = "\n") { self.lineEnd = Array(lineEnd.utf8) }

    func write(_ line: String) {
        buffer.append(contentsOf: line.utf8)
        buffer.append(contentsOf: lineEnd)
        if buffer.count >= 1 << 16 { flush() }
    }

    func flush() {
        guard !buffer.isEmpty else { return }
        FileHandle.standardOutput.write(Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }
}
