import Foundation
import SelfCareCore
import SelfCareCrypto

#if canImport(Glibc)
    import Glibc
#endif

/// The SHA-256 of `data`, lowercase hex.
func sha256Hex(_ data: Data) -> String { LibCrypto.sha256(data).hexString }

/// Drains an inbox of the billing system's feed files (docs/sync.md): each feed's files applied strictly in
/// sequence, each in one transaction with its `import` record; applied files moved to the archive, failed ones
/// to quarantine with a report beside them, later files held while one is missing.
public struct InboxSync: Sendable {
    /// Where the files are and how they are read.
    public struct Configuration: Sendable {
        /// The folder the billing system delivers to.
        public var inbox: String
        /// Where applied files go, in a folder a day (`archive/2026-12-06/`); `inbox/archive` by default.
        public var archive: String
        /// Where failed and skipped files go, each with a `.report.txt`; `inbox/quarantine` by default.
        public var quarantine: String
        /// How many days archived files are kept; nil keeps them for ever.
        public var retentionDays: Int? = 90
        /// The encoding of each source system's files (`BOSS` → GBK); detected when a source has none and its
        /// sidecar says none.
        public var encodings: [String: TextEncoding] = [:]
        /// The largest share of the open numbers a subscriber snapshot may close.
        public var snapshotCloseLimit = 0.1

        /// An inbox at `inbox`, with its archive and quarantine inside it.
        public init(inbox: String) {
            self.inbox = inbox
            self.archive = (inbox as NSString).appendingPathComponent("archive")
            self.quarantine = (inbox as NSString).appendingPathComponent("quarantine")
        }
    }

    /// What happened to one file in a pass.
    public enum Outcome: Sendable, Equatable {
        /// Applied and archived: the counts of its record.
        case applied(applied: Int, unchanged: Int, omitted: Int, mode: LoadMode, encoding: TextEncoding)
        /// Applied by an earlier pass that stopped before archiving it; archived now.
        case archivedLate
        /// A sequence number already applied, with other content or another name: moved to quarantine.
        case duplicate(String)
        /// Refused whole: moved to quarantine with a report.
        case quarantined(String)
        /// Waiting for the feed's missing file (`expecting`).
        case held(expecting: Int)
        /// Waiting for its sidecar (`.chk`): still arriving.
        case waiting
    }

    /// One file's outcome.
    public struct FileOutcome: Sendable, Equatable {
        /// The file's name in the inbox.
        public var name: String
        /// Its feed, when its name parses.
        public var feed: String?
        /// What happened.
        public var outcome: Outcome
        /// Where it went (archive or quarantine), when it moved; the report's path for a quarantined file.
        public var movedTo: String?
        /// The quarantine report, for a file set aside.
        public var report: String?
    }

    /// A feed's position and what waits in the inbox for it.
    public struct FeedState: Sendable, Equatable {
        /// The feed (`SUBS_BOSS`).
        public var feed: String
        /// The sequence number applied next.
        public var next: Int
        /// The last file applied, if any.
        public var last: FeedFile?
        /// Sequence numbers in the inbox after `next`: held until `next` arrives.
        public var held: [Int]
        /// Data files of the feed without their sidecar yet.
        public var waiting: [String]
        /// Files of the feed in quarantine.
        public var quarantined: Int

        /// The missing sequence numbers that hold later files (`next` up to the first held one), empty when
        /// nothing is held.
        public var gap: ClosedRange<Int>? {
            guard let first = held.first, first > next else { return nil }
            return next...(first - 1)
        }
    }

    /// A pass over the inbox.
    public struct Report: Sendable {
        /// Each file looked at, in the order handled.
        public var files: [FileOutcome] = []
        /// Every feed after the pass.
        public var feeds: [FeedState] = []
        /// Archive folders removed for being older than the retention.
        public var expired: [String] = []
    }

    /// Another pass holds the inbox's lock.
    public struct Busy: Error, CustomStringConvertible {
        /// The lock file.
        public var path: String
        /// What is busy, one line.
        public var description: String { "\(path): another sync is draining this inbox; try again shortly" }
    }

    /// Reads and applies the files.
    public let importer: CSVImporter
    /// Where and how.
    public let configuration: Configuration

    /// A sync applying through `importer`.
    public init(importer: CSVImporter, configuration: Configuration) {
        self.importer = importer
        self.configuration = configuration
    }

    private var fm: FileManager { .default }

    /// Drains the inbox once: applies every file that is next in its feed, in order, until each feed runs out or
    /// waits for a missing file; then removes archive folders older than the retention.
    /// - Parameter progress: called now and then with a file's name, its rows handled and its total.
    /// - Throws: `Busy` when another pass holds the inbox; a file system error when the inbox cannot be listed.
    public func drain(
        progress: @escaping @Sendable (String, Int, Int) -> Void = { _, _, _ in }
    ) async throws -> Report {
        let lock = try acquireLock()
        defer { close(lock) }
        var report = Report()
        try createFolders()
        let listing = try listInbox()
        var positions = Dictionary(uniqueKeysWithValues: try await importer.engine.feedFiles().map { ($0.feed, $0) })

        // Files whose names do not parse can never be applied: say so once by moving them aside.
        for name in listing.unnamed {
            let why = "the name does not follow KIND_SOURCE_YYYYMMDD_NNNNNN.csv (docs/sync.md)"
            report.files.append(try quarantine(name, check: nil, feed: nil, sequence: nil, reason: why, rows: []))
        }
        for feed in listing.byFeed.keys.sorted() {
            var files = listing.byFeed[feed]!.sorted { ($0.sequence, $0.name) < ($1.sequence, $1.name) }
            while let file = files.first {
                files.removeFirst()
                let next = (positions[feed]?.sequence ?? 0) + 1
                let hasCheck = listing.names.contains(file.checkName)
                if file.sequence < next {
                    report.files.append(try await settleRepeated(file, hasCheck: hasCheck))
                    continue
                }
                if file.sequence > next {
                    report.files.append(FileOutcome(name: file.name, feed: feed, outcome: .held(expecting: next)))
                    for later in files {
                        report.files.append(
                            FileOutcome(name: later.name, feed: feed, outcome: .held(expecting: next)))
                    }
                    break
                }
                guard hasCheck else {
                    report.files.append(FileOutcome(name: file.name, feed: feed, outcome: .waiting))
                    // The feed cannot go past a file still arriving.
                    for later in files {
                        report.files.append(
                            FileOutcome(name: later.name, feed: feed, outcome: .held(expecting: next)))
                    }
                    break
                }
                let outcome = try await apply(file, progress: progress)
                report.files.append(outcome)
                if case .applied = outcome.outcome {
                    positions[feed] = try await importer.engine.feedFile(feed: feed, sequence: file.sequence)
                    continue
                }
                // A failed file keeps its number: the feed waits for it to be sent again.
                for later in files {
                    report.files.append(FileOutcome(name: later.name, feed: feed, outcome: .held(expecting: next)))
                }
                break
            }
        }
        // Sidecars of files applied earlier whose data file was archived just before a stop.
        for name in listing.orphanChecks {
            let base = String(name.dropLast(4))
            guard let file = FeedFileName(base + ".csv"), let applied = positions[file.feed],
                file.sequence <= applied.sequence
            else { continue }
            guard try await importer.engine.feedFile(feed: file.feed, sequence: file.sequence)?.name == file.name
            else { continue }
            _ = try moveToArchive(name)
        }
        report.expired = try expireArchive()
        report.feeds = try await status().feeds
        return report
    }

    /// Each feed's position and what waits for it, without applying anything.
    public func status() async throws -> Report {
        var report = Report()
        let listing = try listInbox()
        let positions = Dictionary(uniqueKeysWithValues: try await importer.engine.feedFiles().map { ($0.feed, $0) })
        // Quarantined files by feed (a second file of the same name there carries `-2`, `-3`… before `.csv`).
        var quarantined: [String: Int] = [:]
        for name in (try? fm.contentsOfDirectory(atPath: configuration.quarantine)) ?? [] where name.hasSuffix(".csv") {
            let stem = name.dropLast(4)
            let base =
                stem.split(separator: "-").count == 2 && stem.split(separator: "-")[1].allSatisfy(\.isNumber)
                ? String(stem.split(separator: "-")[0]) : String(stem)
            if let file = FeedFileName(base + ".csv") { quarantined[file.feed, default: 0] += 1 }
        }
        for feed in Set(positions.keys).union(listing.byFeed.keys).union(quarantined.keys).sorted() {
            let next = (positions[feed]?.sequence ?? 0) + 1
            let files = listing.byFeed[feed] ?? []
            let held = Array(Set(files.map(\.sequence).filter { $0 > next })).sorted()
            report.feeds.append(
                FeedState(
                    feed: feed, next: next, last: positions[feed], held: held,
                    waiting: files.filter { !listing.names.contains($0.checkName) }.map(\.name).sorted(),
                    quarantined: quarantined[feed] ?? 0))
        }
        return report
    }

    // MARK: - One file

    /// Applies the feed's next file, checked against its sidecar, and archives it; quarantines it when anything
    /// about it is wrong.
    private func apply(
        _ file: FeedFileName, progress: @escaping @Sendable (String, Int, Int) -> Void
    ) async throws -> FileOutcome {
        let path = inboxPath(file.name)
        guard
            (try? fm.attributesOfItem(atPath: inboxPath(file.checkName)))?[.type] as? FileAttributeType == .typeRegular
        else { return try quarantine(file, check: nil, reason: "\(file.checkName): not a regular file") }
        let checkData = fm.contents(atPath: inboxPath(file.checkName)) ?? Data()
        let check: FeedCheck
        do { check = try FeedCheck.parse(checkData) } catch {
            return try quarantine(file, check: nil, reason: "\(file.checkName): \(error)")
        }
        guard check.file == file.name else {
            return try quarantine(file, check: check, reason: "\(file.checkName): names `\(check.file)`, not this file")
        }
        // Only a regular file is read, and only when its size is the sidecar's: a link could point anywhere, and a
        // file cut short or grown need not be read to be refused.
        let attributes = try? fm.attributesOfItem(atPath: path)
        guard attributes?[.type] as? FileAttributeType == .typeRegular else {
            return try quarantine(file, check: check, reason: "not a regular file (a link, a folder or a device)")
        }
        if let size = attributes?[.size] as? Int, size != check.bytes {
            return try quarantine(
                file, check: check,
                reason: "the file has \(size) bytes, its .chk says \(check.bytes): cut short or changed in transfer")
        }
        guard let data = fm.contents(atPath: path) else {
            return try quarantine(file, check: check, reason: "cannot read the file")
        }
        guard data.count == check.bytes else {
            return try quarantine(
                file, check: check,
                reason:
                    "the file has \(data.count) bytes, its .chk says \(check.bytes): cut short or changed in transfer")
        }
        let sha = sha256Hex(data)
        guard sha == check.sha256 else {
            return try quarantine(
                file, check: check, reason: "the file's SHA-256 differs from its .chk: damaged or changed in transfer")
        }
        var options = ImportOptions()
        options.mode = check.mode
        options.wholeOrNothing = true
        options.expectedRows = check.rows
        options.snapshotCloseLimit = configuration.snapshotCloseLimit
        options.feedPosition = DataLoad.FeedPosition(
            feed: file.feed, sequence: file.sequence, name: file.name, sha256: sha)
        let encoding = check.encoding ?? configuration.encodings[file.source]
        let summary: ImportSummary
        do {
            // The record names the file by where it is kept once applied.
            let archived = (archiveFolder() as NSString).appendingPathComponent(file.name)
            (summary, _, _) = try await importer.importData(
                file.kind, data: data, source: file.name, encoding: encoding,
                recordedAs: URL(fileURLWithPath: archived).standardizedFileURL.path, options: options
            ) { done, total in progress(file.name, done, total) }
        } catch let refusal as DataLoadRefusal {
            if case .rejectedRows(let rows) = refusal {
                return try quarantine(
                    file, check: check, reason: "\(rows.count) row\(rows.count == 1 ? "" : "s") refused",
                    rows: rows.map { "line \($0.line): \($0.reason)" })
            }
            if case .outOfSequence = refusal {
                // Another node or pass applied a file of this feed meanwhile: leave this one for the next pass.
                return FileOutcome(name: file.name, feed: file.feed, outcome: .held(expecting: file.sequence))
            }
            return try quarantine(file, check: check, reason: "\(refusal)")
        } catch let error as ImportFileError {
            return try quarantine(file, check: check, reason: error.message)
        }
        let moved = try moveToArchive(file.name)
        _ = try moveToArchive(file.checkName)
        return FileOutcome(
            name: file.name, feed: file.feed,
            outcome: .applied(
                applied: summary.applied, unchanged: summary.unchanged, omitted: summary.omitted, mode: check.mode,
                encoding: summary.encoding),
            movedTo: moved)
    }

    /// A file whose sequence number was applied already: the same file left behind by a pass that stopped before
    /// archiving it is archived; anything else is a duplicate, set aside.
    private func settleRepeated(_ file: FeedFileName, hasCheck: Bool) async throws -> FileOutcome {
        let applied = try await importer.engine.feedFile(feed: file.feed, sequence: file.sequence)
        let data = fm.contents(atPath: inboxPath(file.name)) ?? Data()
        if let applied, applied.name == file.name, applied.sha256 == sha256Hex(data) {
            let moved = try moveToArchive(file.name)
            if hasCheck { _ = try moveToArchive(file.checkName) }
            return FileOutcome(name: file.name, feed: file.feed, outcome: .archivedLate, movedTo: moved)
        }
        let what =
            applied.map {
                "sequence \(FeedFileName.format(file.sequence)) of \($0.feed) was applied at \($0.applied) from "
                    + "\($0.name)" + ($0.sha256 == sha256Hex(data) ? " (the same content)" : " (other content)")
            } ?? "sequence \(FeedFileName.format(file.sequence)) of \(file.feed) is behind the feed's position"
        var outcome = try quarantine(
            file,
            check: hasCheck ? try? FeedCheck.parse(fm.contents(atPath: inboxPath(file.checkName)) ?? Data()) : nil,
            reason: "\(what); this file was skipped. Send new changes with the next sequence number.",
            moveCheck: hasCheck)
        outcome.outcome = .duplicate(what)
        return outcome
    }

    // MARK: - Moving files

    private func quarantine(
        _ file: FeedFileName, check: FeedCheck?, reason: String, rows: [String] = [], moveCheck: Bool = true
    ) throws -> FileOutcome {
        try quarantine(
            file.name, check: moveCheck && fm.fileExists(atPath: inboxPath(file.checkName)) ? file.checkName : nil,
            feed: file.feed, sequence: file.sequence, reason: reason, rows: rows)
    }

    /// Moves `name` (and its sidecar) to quarantine and writes `NAME.report.txt` beside it.
    private func quarantine(
        _ name: String, check: String?, feed: String?, sequence: Int?, reason: String, rows: [String]
    ) throws -> FileOutcome {
        let target = freeName(for: name, in: configuration.quarantine)
        let stem = target.hasSuffix(".csv") ? String(target.dropLast(4)) : target
        var text = "file: \(escaped(name))\n"
        if let feed, let sequence { text += "feed: \(feed)\nsequence: \(FeedFileName.format(sequence))\n" }
        text += "quarantined: \(ISOTime.format(importer.engine.now()))\nreason: \(escaped(reason))\n"
        for row in rows.prefix(1000) { text += "\(escaped(row))\n" }
        if rows.count > 1000 { text += "… and \(rows.count - 1000) more\n" }
        text += "Nothing of this file was applied."
        if let sequence {
            text += " The feed waits for a file numbered \(FeedFileName.format(sequence)) if this one was next."
        }
        text += "\n"
        let reportPath = (configuration.quarantine as NSString).appendingPathComponent(stem + ".report.txt")
        try Data(text.utf8).write(to: URL(fileURLWithPath: reportPath), options: .atomic)
        try fm.moveItem(
            atPath: inboxPath(name), toPath: (configuration.quarantine as NSString).appendingPathComponent(target))
        if let check {
            try fm.moveItem(
                atPath: inboxPath(check),
                toPath: (configuration.quarantine as NSString).appendingPathComponent(stem + ".chk"))
        }
        return FileOutcome(
            name: name, feed: feed, outcome: .quarantined(reason), movedTo: reportPath, report: text)
    }

    /// Moves `name` from the inbox into today's archive folder; returns where it went.
    private func moveToArchive(_ name: String) throws -> String {
        let folder = archiveFolder()
        try fm.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let target = (folder as NSString).appendingPathComponent(freeName(for: name, in: folder))
        try fm.moveItem(atPath: inboxPath(name), toPath: target)
        return target
    }

    /// `archive/2026-12-06`: the folder of the files archived today (UTC).
    private func archiveFolder() -> String {
        (configuration.archive as NSString).appendingPathComponent(
            String(ISOTime.format(importer.engine.now()).prefix(10)))
    }

    /// `name`, or `name` with `-2`, `-3`… before its extension when `folder` holds one by that name already.
    private func freeName(for name: String, in folder: String) -> String {
        let ext = (name as NSString).pathExtension
        let stem = ext.isEmpty ? name : String(name.dropLast(ext.count + 1))
        var candidate = name
        var n = 1
        // A data file, its sidecar and its report share a stem: a name is free when none of them is taken.
        func taken(_ candidate: String) -> Bool {
            let stem = ext == "csv" ? String(candidate.dropLast(4)) : nil
            let names = [candidate] + (stem.map { [$0 + ".chk", $0 + ".report.txt"] } ?? [])
            return names.contains {
                fm.fileExists(atPath: (folder as NSString).appendingPathComponent($0)) || isLink($0, in: folder)
            }
        }
        while taken(candidate) {
            n += 1
            candidate = "\(stem)-\(n)" + (ext.isEmpty ? "" : ".\(ext)")
        }
        return candidate
    }

    /// Removes archive day folders older than the retention; returns their names.
    private func expireArchive() throws -> [String] {
        guard let days = configuration.retentionDays else { return [] }
        let cutoff = String(ISOTime.format(importer.engine.now().addingTimeInterval(-Double(days) * 86_400)).prefix(10))
        var removed: [String] = []
        for name in (try? fm.contentsOfDirectory(atPath: configuration.archive)) ?? []
        where LocalDate(iso: name) != nil && name < cutoff
            && (try? fm.attributesOfItem(atPath: (configuration.archive as NSString).appendingPathComponent(name)))?[
                .type] as? FileAttributeType == .typeDirectory
        {
            try fm.removeItem(atPath: (configuration.archive as NSString).appendingPathComponent(name))
            removed.append(name)
        }
        return removed.sorted()
    }

    // MARK: - The inbox

    private struct Listing {
        var names: Set<String> = []
        var byFeed: [String: [FeedFileName]] = [:]
        var unnamed: [String] = []
        var orphanChecks: [String] = []
    }

    /// The inbox's data files by feed, the `.csv` files whose names do not parse, and sidecars without a data
    /// file. Folders, hidden files and other extensions (a sender's `.tmp` or `.part`) are left alone.
    private func listInbox() throws -> Listing {
        var listing = Listing()
        for name in try fm.contentsOfDirectory(atPath: configuration.inbox) where !name.hasPrefix(".") {
            var isFolder: ObjCBool = false
            guard fm.fileExists(atPath: inboxPath(name), isDirectory: &isFolder), !isFolder.boolValue else { continue }
            listing.names.insert(name)
        }
        for name in listing.names {
            if name.hasSuffix(".csv") {
                if let file = FeedFileName(name) {
                    listing.byFeed[file.feed, default: []].append(file)
                } else {
                    listing.unnamed.append(name)
                }
            } else if name.hasSuffix(".chk"), !listing.names.contains(String(name.dropLast(4)) + ".csv") {
                listing.orphanChecks.append(name)
            }
        }
        listing.unnamed.sort()
        listing.orphanChecks.sort()
        return listing
    }

    private func inboxPath(_ name: String) -> String { (configuration.inbox as NSString).appendingPathComponent(name) }

    /// Creates the archive and quarantine; refuses either when it is a link or not a folder, so that nothing is
    /// moved or removed outside them by a link someone put in the inbox.
    private func createFolders() throws {
        for folder in [configuration.archive, configuration.quarantine] {
            let type = (try? fm.attributesOfItem(atPath: folder))?[.type] as? FileAttributeType
            if type == nil {
                try fm.createDirectory(atPath: folder, withIntermediateDirectories: true)
            } else if type != .typeDirectory {
                throw ImportFileError(
                    path: folder,
                    message: "not a folder (a link or a file): the sync moves and removes files only in real folders")
            }
        }
    }

    /// Whether `name` in `folder` is a symbolic link (dangling ones included, which `fileExists` does not see).
    private func isLink(_ name: String, in folder: String) -> Bool {
        (try? fm.attributesOfItem(atPath: (folder as NSString).appendingPathComponent(name)))?[.type]
            as? FileAttributeType
            == .typeSymbolicLink
    }

    /// Takes the inbox's lock, so that a server's watcher and `selfcare sync` never move the same files.
    private func acquireLock() throws -> Int32 {
        let path = inboxPath(".selfcare-sync.lock")
        let fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else {
            throw ImportFileError(
                path: configuration.inbox, message: "cannot open the inbox (\(String(cString: strerror(errno))))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw Busy(path: path)
        }
        return fd
    }

    /// Text with its control characters written as `\u{…}`, so a name or reason cannot break a report's lines.
    private func escaped(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            if scalar.properties.generalCategory == .control || scalar.properties.generalCategory == .format {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
