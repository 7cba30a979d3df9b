import ArgumentParser
import Foundation
import SelfCareCore
import SelfCareCrypto
import SelfCareStore

struct RecordsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "records", abstract: "List and verify service records, and sign checkpoints of their chain.",
        subcommands: [List.self, Verify.self, Checkpoint.self])

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
            abstract: "Check the whole record chain; lists every broken record and exits 1 when there is one.",
            discussion: """
                With the pepper file at hand, each signed checkpoint (records checkpoint; serve writes one every \
                --checkpoint-interval) is checked too: its signature, and the hash of the record it covers, so \
                that a chain rewritten and recomputed by someone with access to the database is caught. Without \
                the pepper file the chain is checked alone and verify exits 2 when there are checkpoints it could \
                not check (--no-checkpoints: exit 0).
                """)

        @OptionGroup var global: GlobalOptions

        @Flag(help: "Check the chain alone, not the signed checkpoints (no pepper file at hand).")
        var noCheckpoints = false

        func run() async throws {
            try await reportingFailures {
                let runtime = try Runtime(global, access: .readonly)
                // Read before the walk: every record a checkpoint covers is then in the walk's snapshot.
                let checkpoints = try runtime.store.checkpoints()
                var signer: RecordCheckpointSigner?
                var pepperProblem = ""
                if !noCheckpoints {
                    do { signer = RecordCheckpointSigner(pepper: try Pepper.load(from: global.pepperPath)) } catch {
                        pepperProblem = "\(error)"
                    }
                }
                var forged: [RecordChainReport.Break] = []
                if let signer {
                    for checkpoint in checkpoints where !signer.isValid(checkpoint) {
                        forged.append(
                            .init(
                                recordID: checkpoint.lastID,
                                problem:
                                    "checkpoint \(checkpoint.id)'s signature does not match (forged or altered, or another pepper)"
                            ))
                    }
                    // Numbered 1, 2, 3…: a gap is checkpoints deleted.
                    for (expected, checkpoint) in zip(Int64(1)..., checkpoints) where checkpoint.id != expected {
                        forged.append(
                            .init(
                                recordID: checkpoint.lastID,
                                problem:
                                    "checkpoint \(checkpoint.id) follows checkpoint \(expected - 1): checkpoints were deleted"
                            ))
                        break
                    }
                }
                var result = try runtime.store.verifyRecords(checkpoints: signer == nil ? [] : checkpoints)
                result.breaks = (forged + result.breaks).sorted { $0.recordID < $1.recordID }
                result.brokenCount += forged.count
                if let broken = result.firstBreak {
                    // Every break, so that tampering after the first one is seen too.
                    for each in result.breaks { print("broken: \(each)") }
                    if result.brokenCount > result.breaks.count {
                        print("broken: … and \(result.brokenCount - result.breaks.count) more")
                    }
                    let count = result.brokenCount == 1 ? "1 break" : "\(result.brokenCount) breaks"
                    throw CommandFailure("records verify: \(broken) (\(count) in \(result.checked) records checked)")
                }
                let heads = try runtime.store.recordChainHeads()
                let head = heads.values.max { $0.id < $1.id }
                if heads.count > 1 {
                    print("ok: \(result.checked) records, \(heads.count) chains intact")
                } else {
                    print("ok: \(result.checked) records, chain intact\(head.map { ", head \($0.hash)" } ?? "")")
                }
                if let last = checkpoints.last {
                    let after = (head?.id ?? last.lastID) - last.lastID
                    if signer != nil && heads.count > 1 {
                        print(
                            "ok: \(checkpoints.count) signed checkpoints of \(Set(checkpoints.map(\.chain)).count) "
                                + "chains, the last at \(last.time)")
                    } else if signer != nil {
                        print(
                            "ok: \(checkpoints.count) signed checkpoint\(checkpoints.count == 1 ? "" : "s"), the last at "
                                + "\(last.time) covering records up to \(last.lastID) (\(after) after it)")
                    } else if noCheckpoints {
                        print(
                            "not checked: \(checkpoints.count) checkpoint\(checkpoints.count == 1 ? "" : "s") (--no-checkpoints)"
                        )
                    } else {
                        // A chain rewritten by someone without the pepper passes the walk alone: not a pass.
                        print("not checked: \(checkpoints.count) checkpoint\(checkpoints.count == 1 ? "" : "s")")
                        throw CommandFailure(
                            "records verify: the checkpoints cannot be checked: \(pepperProblem); pass --pepper-file, "
                                + "or --no-checkpoints to check the chain alone", code: 2)
                    }
                } else {
                    print("no signed checkpoint yet (records checkpoint, or serve's --checkpoint-interval)")
                }
            }
        }
    }

    struct Checkpoint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sign a checkpoint of the record chain's head now, and print it.",
            discussion: """
                A checkpoint holds the last record's id and hash, signed with a key derived from the pepper \
                (HMAC-SHA256), which stays outside the database. `records verify` then catches a chain rewritten \
                below it. Keep the printed line somewhere the database's users cannot write (a log server, a \
                ticket): it also shows checkpoints deleted from the end. Prints nothing new when no record came \
                since the last checkpoint. `serve` writes one every --checkpoint-interval seconds.
                """)

        @OptionGroup var global: GlobalOptions

        func run() async throws {
            try await reportingFailures {
                let runtime = try Runtime(global)
                let signer = RecordCheckpointSigner(pepper: try runtime.pepper())
                let written: [RecordCheckpoint]
                do {
                    written = try await signer.writeCheckpoints(to: runtime.store, now: runtime.clock.now())
                } catch let refusal as RecordCheckpointSigner.Refusal {
                    throw CommandFailure("records checkpoint: not signed: \(refusal); run `selfcare records verify`")
                }
                if !written.isEmpty {
                    for checkpoint in written { print(checkpoint.line) }
                } else if let last = try runtime.store.checkpoints().last {
                    print("no new record since \(last.line)")
                } else {
                    print("no record yet: nothing to sign")
                }
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
