import ArgumentParser
import Foundation
import SelfCareCore
import SelfCareStore

extension ImportKind: ExpressibleByArgument {}
extension TextEncoding: ExpressibleByArgument {}

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract:
            "Import a billing CSV file: plans, subscribers, usage, calls, payments, events, answers, cards, packs, services or rewards.",
        discussion: """
            The file is applied in one transaction; importing it again changes nothing. Bad rows go to
            NAME.rejects.csv beside it with their line number and reason, and the command exits 2.
            The file may be UTF-8 (with or without a byte-order mark), GBK or GB18030; without --encoding
            the encoding is detected, and a file not in UTF-8 is said on standard error.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(
        help:
            "What the file holds: plans, subscribers, usage, calls, payments, events, answers, cards, packs, services or rewards."
    )
    var kind: ImportKind

    @Argument(help: "The CSV file.")
    var file: String

    @Option(help: "The file's encoding: utf-8, gbk or gb18030 (detected when absent).")
    var encoding: TextEncoding?

    func run() async throws {
        try await reportingFailures {
            let runtime = try Runtime(global)
            var importer = try runtime.importer(withHasher: false)
            if kind == .subscribers || kind == .cards {
                // Only a file that carries passwords or card PINs needs the pepper; say why it is unusable if it is.
                do { importer = try runtime.importer(withHasher: true) } catch {
                    importer.missingHasherReason = "\(error)"
                }
            }
            // A file name may hold anything but `/` and NUL: control characters are shown escaped, so a name cannot
            // split the summary line or send the terminal an escape sequence.
            let name = visible((file as NSString).lastPathComponent)
            let progress = RowProgress()
            let summary: ImportSummary
            do {
                summary = try await importer.importFile(kind, path: file, encoding: encoding) { done, total in
                    progress.report(name, done: done, total: total)
                }
            } catch let error as ImportFileError {
                throw CommandFailure("\(error)")
            }
            if summary.encoding != .utf8 {
                printError(
                    "\(name): read as \(summary.encoding.rawValue.uppercased())"
                        + (summary.encodingDetected ? " (detected; --encoding sets it)" : "")
                        + (summary.rejectsPath == nil ? "" : "; the rejects file is written in it too"))
            }
            print("\(name): \(visible(summary.description))")
            if let problem = summary.rejectsProblem {
                throw CommandFailure(
                    "\(name): applied \(summary.applied), unchanged \(summary.unchanged); \(summary.rejected) row"
                        + "\(summary.rejected == 1 ? "" : "s") rejected, but \(visible(problem))", code: 2)
            }
            if summary.rejected > 0 {
                throw CommandFailure(
                    "\(name): \(summary.rejected) row\(summary.rejected == 1 ? "" : "s") rejected; "
                        + "applied \(summary.applied), unchanged \(summary.unchanged); see \(visible(summary.rejectsPath ?? ""))",
                    code: 2)
            }
        }
    }
}
