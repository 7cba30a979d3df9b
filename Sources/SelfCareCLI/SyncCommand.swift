import ArgumentParser
import Foundation
import Logging
import Metrics
import SelfCareCore
import SelfCareStore

/// Where the feed inbox is and how its files are read: `selfcare sync` and `selfcare serve --inbox`.
struct SyncOptions: ParsableArguments {
    @Option(help: "The inbox folder the billing system delivers to (default: SELFCARE_INBOX).")
    var inbox: String?

    @Option(help: "Days applied files are kept in the archive (0 keeps them for ever).")
    var retentionDays = 90

    @Option(
        name: .customLong("source-encoding"),
        help: "A source system's encoding, SOURCE=utf-8|gbk|gb18030 (repeatable; e.g. BOSS=gbk).")
    var sourceEncodings: [String] = []

    @Option(help: "Percent of the open numbers a subscriber snapshot may close at most.")
    var snapshotCloseLimit = 10

    /// The inbox folder given, if any: the option, else SELFCARE_INBOX.
    var inboxFolder: String? {
        if let inbox { return inbox }
        if let env = ProcessInfo.processInfo.environment["SELFCARE_INBOX"], !env.isEmpty { return env }
        return nil
    }

    /// The sync's configuration.
    /// - Throws: `CommandFailure` (exit 64) for a missing inbox or a bad option.
    func configuration(command: String) throws -> InboxSync.Configuration {
        guard let folder = inboxFolder else {
            throw CommandFailure("\(command): no inbox; pass --inbox DIR or set SELFCARE_INBOX", code: 64)
        }
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
            throw CommandFailure("\(command): \(visible(folder)): no such folder (the inbox must exist)", code: 64)
        }
        guard (0...36_500).contains(retentionDays) else {
            throw CommandFailure("\(command): --retention-days \(retentionDays): use 0 to 36500", code: 64)
        }
        guard (0...100).contains(snapshotCloseLimit) else {
            throw CommandFailure("\(command): --snapshot-close-limit \(snapshotCloseLimit): use 0 to 100", code: 64)
        }
        var configuration = InboxSync.Configuration(inbox: folder)
        configuration.retentionDays = retentionDays == 0 ? nil : retentionDays
        configuration.snapshotCloseLimit = Double(snapshotCloseLimit) / 100
        for setting in sourceEncodings {
            let parts = setting.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, let encoding = TextEncoding(rawValue: parts[1].lowercased())
            else {
                throw CommandFailure(
                    "\(command): --source-encoding \(visible(setting)): expected SOURCE=utf-8, SOURCE=gbk or "
                        + "SOURCE=gb18030", code: 64)
            }
            configuration.encodings[parts[0].uppercased()] = encoding
        }
        return configuration
    }
}

/// `selfcare sync`: the billing system's feed files, applied in sequence from an inbox (docs/sync.md).
struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync", abstract: "Apply the billing system's feed files from an inbox, in sequence.",
        subcommands: [Drain.self, Status.self], defaultSubcommand: Drain.self)

    struct Drain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply every file that is next in its feed, once (the default).",
            discussion: """
                Files are named KIND_SOURCE_YYYYMMDD_NNNNNN.csv, each with a KIND_SOURCE_YYYYMMDD_NNNNNN.chk \
                sidecar written after it (rows, bytes, sha256). Applied files move to ARCHIVE/YYYY-MM-DD/; a file \
                that fails moves to quarantine with a .report.txt and nothing of it is applied. A missing sequence \
                number holds the feed's later files. Exit status: 0, or 2 when a file was set aside.
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var sync: SyncOptions

        func run() async throws {
            try await reportingFailures {
                let configuration = try sync.configuration(command: "sync")
                let runtime = try Runtime(global)
                var importer = try runtime.importer(withHasher: false)
                do { importer = try runtime.importer(withHasher: true) } catch {
                    importer.missingHasherReason = "\(error)"
                }
                let progress = RowProgress()
                let report: InboxSync.Report
                do {
                    report = try await InboxSync(importer: importer, configuration: configuration).drain {
                        name, done, total in progress.report(name, done: done, total: total)
                    }
                } catch let busy as InboxSync.Busy {
                    throw CommandFailure("sync: \(busy)", code: 75)
                }
                for file in report.files { print(SyncText.line(file)) }
                if report.files.isEmpty { print("sync: nothing to apply in \(visible(configuration.inbox))") }
                for day in report.expired { print("archive: removed \(day) (older than \(sync.retentionDays) days)") }
                for feed in report.feeds { if let alert = SyncText.gapAlert(feed) { print("gap: \(alert)") } }
                let setAside = report.files.filter {
                    switch $0.outcome {
                    case .quarantined, .duplicate: true
                    default: false
                    }
                }
                if !setAside.isEmpty {
                    throw CommandFailure(
                        "sync: \(setAside.count) file\(setAside.count == 1 ? "" : "s") set aside in "
                            + "\(visible(configuration.quarantine)); see the .report.txt beside each", code: 2)
                }
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show each feed's next sequence number, held files and gaps; apply nothing.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var sync: SyncOptions

        @Option(help: "text (default) or jsonl.")
        var format: SyncText.Format = .text

        func run() async throws {
            try await reportingFailures {
                let configuration = try sync.configuration(command: "sync status")
                let runtime = try Runtime(global, access: .readonly)
                let importer = CSVImporter(engine: runtime.quietEngine(), hasher: nil, pool: nil)
                let report = try await InboxSync(importer: importer, configuration: configuration).status()
                switch format {
                case .jsonl:
                    for feed in report.feeds { print(SyncText.json(feed)) }
                case .text:
                    if report.feeds.isEmpty {
                        print("no feeds yet: nothing applied and nothing in \(visible(configuration.inbox))")
                        return
                    }
                    print(SyncText.table(report.feeds))
                    for feed in report.feeds { if let alert = SyncText.gapAlert(feed) { print("gap: \(alert)") } }
                }
            }
        }
    }
}

/// How `selfcare sync` says what it did.
enum SyncText {
    enum Format: String, ExpressibleByArgument { case text, jsonl }

    static func line(_ file: InboxSync.FileOutcome) -> String {
        let name = visible(file.name)
        switch file.outcome {
        case .applied(let applied, let unchanged, let omitted, let mode, let encoding):
            var detail = mode.rawValue
            if mode == .snapshot {
                detail += file.name.hasPrefix("PLAN_") ? ", taken off sale \(omitted)" : ", closed \(omitted)"
            }
            if encoding != .utf8 { detail += ", \(encoding.rawValue.uppercased())" }
            return "\(name): applied \(applied), unchanged \(unchanged) (\(detail)); archived"
        case .archivedLate:
            return "\(name): applied by an earlier sync that stopped before archiving it; archived now"
        case .duplicate(let why):
            return "\(name): skipped: \(visible(why)); moved to quarantine"
        case .quarantined(let why):
            return "\(name): quarantined: \(visible(why)); nothing applied (see \(visible(file.movedTo ?? "")))"
        case .held(let expecting):
            return "\(name): held until \(file.feed ?? "") \(FeedFileName.format(expecting)) is applied"
        case .waiting:
            return "\(name): waiting for its .chk"
        }
    }

    static func gapAlert(_ feed: InboxSync.FeedState) -> String? {
        guard let gap = feed.gap else { return nil }
        let missing =
            gap.count == 1
            ? FeedFileName.format(gap.lowerBound)
            : "\(FeedFileName.format(gap.lowerBound))–\(FeedFileName.format(gap.upperBound))"
        return "\(feed.feed) misses \(missing); \(feed.held.count) later file\(feed.held.count == 1 ? "" : "s") held"
    }

    static func table(_ feeds: [InboxSync.FeedState]) -> String {
        var rows = [["FEED", "NEXT", "LAST APPLIED", "AT", "HELD", "WAITING", "QUARANTINED"]]
        for feed in feeds {
            rows.append([
                feed.feed, FeedFileName.format(feed.next), feed.last?.name ?? "-", feed.last?.applied ?? "-",
                feed.held.isEmpty ? "-" : feed.held.map(FeedFileName.format).joined(separator: ","),
                String(feed.waiting.count), String(feed.quarantined),
            ])
        }
        let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            zip(row, widths).map { $0.0.padding(toLength: $0.1, withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }

    static func json(_ feed: InboxSync.FeedState) -> String {
        var object: [String: Any] = [
            "feed": feed.feed, "next": feed.next, "held": feed.held, "waiting": feed.waiting,
            "quarantined": feed.quarantined,
        ]
        if let last = feed.last {
            object["last"] = [
                "name": last.name, "sequence": last.sequence, "applied": last.applied, "record": last.record,
            ]
        }
        if let gap = feed.gap { object["gap"] = [gap.lowerBound, gap.upperBound] }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

/// The server's watch of the feed inbox: each drain's files logged, and the feeds' state in /metrics.
enum SyncWatch {
    static let logger = Logger(label: "selfcare.sync")

    /// Drains `inbox` once; logs what happened to each file and sets the sync metrics.
    static func drain(_ inbox: InboxSync) async throws {
        let report: InboxSync.Report
        do { report = try await inbox.drain() } catch is InboxSync.Busy {
            logger.info("the inbox is being drained by another sync; next turn")
            return
        }
        for file in report.files {
            let line = SyncText.line(file)
            switch file.outcome {
            case .applied, .archivedLate:
                logger.notice("\(line)")
                Counter(label: "selfcare_sync_files_total", dimensions: [("outcome", "applied")]).increment()
            case .quarantined, .duplicate:
                logger.error("\(line)")
                Counter(label: "selfcare_sync_files_total", dimensions: [("outcome", "quarantined")]).increment()
            case .held, .waiting:
                logger.debug("\(line)")
            }
        }
        for feed in report.feeds {
            let dimensions = [("feed", feed.feed)]
            Gauge(label: "selfcare_sync_next_sequence", dimensions: dimensions).record(feed.next)
            Gauge(label: "selfcare_sync_held_files", dimensions: dimensions).record(feed.held.count)
            Gauge(label: "selfcare_sync_gap", dimensions: dimensions).record(feed.gap == nil ? 0 : 1)
            if let alert = SyncText.gapAlert(feed) { logger.warning("\(alert)") }
        }
    }
}
