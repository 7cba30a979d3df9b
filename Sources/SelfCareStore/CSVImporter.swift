import Foundation
import SelfCareCore
import SelfCareCrypto

/// Imports the billing system's batch CSV files (SPEC §3): idempotent, one transaction a file,
/// every bad row written to `NAME.rejects.csv` with its line number and reason.
///
/// The importer reads, checks and hashes; the engine applies each file (`OperationEngine.load`) in one
/// transaction with its `import` record.
public struct CSVImporter: Sendable {
    /// The engine that applies each file.
    public let engine: OperationEngine
    /// Hashes the `password` column of subscriber files; nil refuses rows that carry a password.
    public let hasher: (any PasswordHasher)?
    /// Where the passwords are hashed, a few at a time; nil with no hasher.
    public let pool: BlockingWorkPool?
    /// Why there is no hasher, for the message when a file carries passwords anyway.
    public var missingHasherReason = "no pepper to hash them with"

    /// An importer applying through `engine`, hashing passwords with `hasher` on `pool`.
    public init(engine: OperationEngine, hasher: (any PasswordHasher)?, pool: BlockingWorkPool?) {
        self.engine = engine
        self.hasher = hasher
        self.pool = pool
    }

    /// Imports the file at `path`, writing its bad rows beside it. The import record names the file by its
    /// absolute path.
    /// - Parameter progress: called now and then with the rows handled so far and the total.
    /// - Throws: `ImportFileError` when the file cannot be read, its header is wrong or its rejects file could not
    ///   be written beside it (nothing is applied then).
    public func importFile(
        _ kind: ImportKind, path: String, encoding: TextEncoding? = nil,
        progress: @escaping @Sendable (Int, Int) -> Void = { _, _ in }
    ) async throws -> ImportSummary {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ImportFileError(path: path, message: "cannot read the file")
        }
        let rejectsPath = Self.rejectsPath(for: path)
        // The rows are applied before their rejects are written: make sure the rejects file can be written first,
        // so that a file whose bad rows would have nowhere to go is refused before anything is applied.
        try Self.checkWritable(rejectsPath)
        let (summary, rejects, header) = try await importData(
            kind, data: data, source: path, encoding: encoding,
            recordedAs: URL(fileURLWithPath: path).standardizedFileURL.path, progress: progress)
        var result = summary
        if rejects.isEmpty {
            try? FileManager.default.removeItem(atPath: rejectsPath)
        } else {
            var text = (["line", "reason"] + header).map(csvField).joined(separator: ",") + "\n"
            for row in rejects {
                text += ([String(row.line), row.reason] + row.fields).map(csvField).joined(separator: ",") + "\n"
            }
            do {
                // In the input's encoding, so the rows read back as they were sent.
                let bytes = summary.encoding.encode(text) ?? Data(text.utf8)
                try bytes.write(to: URL(fileURLWithPath: rejectsPath), options: .atomic)
                result.rejectsPath = rejectsPath
            } catch {
                // The good rows are committed with their record: say so, and where the bad ones could not go.
                result.rejectsProblem =
                    "\(rejectsPath): cannot write the rejects file (\((error as NSError).localizedDescription))"
            }
        }
        return result
    }

    /// Throws when a rejects file could not be written at `path`: a folder in its place, or a folder that does not
    /// let this user create or replace it.
    static func checkWritable(_ path: String) throws {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
            throw ImportFileError(path: path, message: "a folder stands where the rejects file goes; nothing applied")
        }
        let folder = (path as NSString).deletingLastPathComponent
        let parent = folder.isEmpty ? "." : folder
        guard FileManager.default.isWritableFile(atPath: parent) else {
            throw ImportFileError(
                path: path, message: "the folder does not let the rejects file be written here; nothing applied")
        }
    }

    /// `data/plans.csv` → `data/plans.rejects.csv`.
    public static func rejectsPath(for path: String) -> String {
        (path.hasSuffix(".csv") ? String(path.dropLast(4)) : path) + ".rejects.csv"
    }

    /// Imports CSV bytes; returns the summary, the bad rows (secrets blanked) and the header.
    /// - Parameters:
    ///   - source: the data's name in error messages.
    ///   - encoding: what the bytes are in; detected when nil (`TextEncoding.detect`).
    ///   - recordedAs: its name in the import record (the source by default).
    ///   - options: how the rows relate to the database (a feed's file: delta or snapshot, whole or nothing).
    public func importData(
        _ kind: ImportKind, data: Data, source: String, encoding: TextEncoding? = nil, recordedAs: String? = nil,
        options: ImportOptions = ImportOptions(), progress: @escaping @Sendable (Int, Int) -> Void = { _, _ in }
    ) async throws -> (ImportSummary, [RejectedRow], [String]) {
        let used: TextEncoding
        switch encoding.map(TextEncoding.Detection.found) ?? TextEncoding.detect(data) {
        case .found(let found): used = found
        case .undecided(let why): throw ImportFileError(path: source, message: why)
        }
        // The reader reads UTF-8 bytes: the file's own, or the file converted line by line.
        let utf8 = used == .utf8 ? data : Data(used.decodeLines(data).utf8)
        let read = try utf8.withUnsafeBytes { raw in
            try Self.read(
                kind, bytes: raw.bindMemory(to: UInt8.self), source: source, mode: options.mode, encoding: used)
        }
        var rejects = read.rejects
        if let expected = options.expectedRows, read.rows != expected {
            throw ImportFileError(
                path: source, message: "its .chk says \(expected) rows, the file has \(read.rows); nothing applied")
        }
        var entries = read.entries
        // Hash passwords off the transaction, then apply everything in one transaction. A whole-or-nothing file with
        // bad rows already will not be applied: its rows only go through the engine to find the rest of its bad
        // rows, and nothing needs hashing.
        if kind == .cards {
            try digestPINs(&entries, pins: read.passwords, source: source)
        } else if !(options.wholeOrNothing && !rejects.isEmpty) {
            try await resolvePasswords(&entries, passwords: read.passwords, source: source, progress: progress)
        }
        // The rows are in line order: a late reject finds its bytes by a binary search and is read again, so that
        // nothing of a million good rows is kept for the few the engine refuses.
        func blanked(_ line: Int) -> [String] {
            var (low, high) = (0, entries.count)
            while low < high {
                let mid = (low + high) / 2
                if entries[mid].line < line { low = mid + 1 } else { high = mid }
            }
            guard low < entries.count, entries[low].line == line else { return [] }
            let span = read.spans[low]
            return utf8.withUnsafeBytes { raw in
                let input = raw.bindMemory(to: UInt8.self)
                let fields = CSVScanner(input).fields(of: span, line: line)
                return read.blank(fields, suspect: read.isSuspect(fields, span: span, in: input, unterminated: false))
            }
        }
        var load = DataLoad(
            kind: kind.rawValue, source: recordedAs ?? source, entries: entries, rejectedBefore: rejects.count)
        load.mode = options.mode
        load.feedPosition = options.feedPosition
        load.snapshotCloseLimit = options.snapshotCloseLimit
        load.wholeOrNothing = options.wholeOrNothing
        let outcome: DataLoadOutcome
        do {
            outcome = try await engine.load(load, progress: progress)
        } catch DataLoadRefusal.rejectedRows(let found) {
            // Every bad row of the file, the loader's and the engine's, in line order.
            let all =
                rejects.map { DataLoadRefusal.RejectedLine(line: $0.line, reason: $0.reason) }
                + found.map { DataLoadRefusal.RejectedLine(line: $0.line, reason: read.shown($0.reason)) }
            throw DataLoadRefusal.rejectedRows(all.sorted { $0.line < $1.line })
        }
        var summary = ImportSummary()
        summary.encoding = used
        summary.encodingDetected = encoding == nil
        summary.applied = outcome.applied
        summary.unchanged = outcome.unchanged
        summary.omitted = outcome.closedByOmission
        let lateRejects = outcome.rejected.map {
            RejectedRow(line: $0.line, reason: read.shown($0.reason), fields: blanked($0.line))
        }
        var result = summary
        rejects.append(contentsOf: lateRejects)
        rejects.sort { $0.line < $1.line }
        result.rejected = rejects.count
        return (result, rejects, read.header)
    }

    /// A good row as read: its line, what it holds, and where it is in the bytes read (to read it again should the
    /// engine refuse it).
    struct ParsedLine: Sendable {
        var line: Int
        var item: ParsedRow
        var bytes: Range<Int>

        /// The row's fields, read again from the bytes the file was read from.
        func fields(in input: UnsafeBufferPointer<UInt8>) -> [String] {
            CSVScanner(input).fields(of: bytes, line: line)
        }
    }

    /// What reading a file gave: its header, its rows parsed or rejected.
    struct FileRead: Sendable {
        /// The header's fields as written.
        var header: [String]
        /// The data rows (records after the header).
        var rows = 0
        /// The good rows, in line order, duplicates removed.
        var entries: [DataLoad.Entry] = []
        /// Where each good row is in the bytes read (to read it again should the engine refuse it).
        var spans: [Range<Int>] = []
        /// The clear passwords of good rows, by their index in `entries`, to be hashed.
        var passwords: [(entry: Int, password: Secret)] = []
        /// The bad rows, secrets blanked.
        var rejects: [RejectedRow] = []
        /// The columns a rejects file never shows (the password, and the hash billing may send instead), in order.
        var secretColumns: [Int] = []
        /// The number of columns.
        var width = 0

        /// The position of the row's key column (`msisdn`), shown as it is in a rejects file.
        var keyColumn: Int?

        /// Whether a rejected row may hold a password outside its column: a row of the wrong width, one whose quote
        /// was left open, or one whose quotes swallowed a line end (and with it, maybe, other rows).
        func isSuspect(
            _ fields: [String], span: Range<Int>, in input: UnsafeBufferPointer<UInt8>, unterminated: Bool
        )
            -> Bool
        {
            fields.count != width || unterminated
                || UnsafeBufferPointer(rebasing: input[span]).contains { $0 == 0x0A || $0 == 0x0D }
        }

        /// `fields` as a rejects file shows them, in a file with a password or hash column: a suspect row (see
        /// `isSuspect`) blank but for its first field when that is a number of seven digits or more (no password
        /// is), others with their secret columns blank and every run of six or more digits outside the key column
        /// masked (a password shifted into another column by a missing field).
        func blank(_ fields: [String], suspect: Bool) -> [String] {
            guard !secretColumns.isEmpty else { return fields }
            if suspect {
                return fields.enumerated().map { i, field in
                    i == 0 && field.count >= 7 && field.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } ? field : ""
                }
            }
            var blanked = fields
            for i in secretColumns where i < blanked.count { blanked[i] = "" }
            for i in blanked.indices where i != keyColumn { blanked[i] = Self.maskLongDigits(blanked[i]) }
            return blanked
        }

        /// `reason` as a rejects file or a report shows it: in a file with a password or hash column, the values it
        /// quotes (between backquotes) have their runs of six or more digits masked, for the same reason.
        func shown(_ reason: String) -> String {
            guard !secretColumns.isEmpty, reason.contains("`") else { return reason }
            return reason.split(separator: "`", omittingEmptySubsequences: false).enumerated().map {
                $0.offset % 2 == 1 ? Self.maskLongDigits(String($0.element)) : String($0.element)
            }.joined(separator: "`")
        }

        /// `text` with every run of six or more consecutive digits masked (a date's groups are shorter).
        static func maskLongDigits(_ text: String) -> String {
            maskDigitGroups(text, joinedBy: { _ in false }) { digits, _ in digits.count >= 6 }
        }
    }

    /// Reads the UTF-8 `bytes` of a file of `kind`: its header, checked, then its rows, parsed on every core
    /// (a large file is read in parts split at record boundaries), then duplicates by the parsed key, in line order,
    /// so that a bad first row never hides a later good row with the same key.
    static func read(
        _ kind: ImportKind, bytes: UnsafeBufferPointer<UInt8>, source: String, mode: LoadMode, encoding: TextEncoding
    ) throws -> FileRead {
        struct Stop: Error {}
        let scanner = CSVScanner(bytes)
        var headerRecord: CSVRecord?
        do {
            try scanner.forEach { record in
                headerRecord = record
                throw Stop()
            }
        } catch is Stop {}
        guard let headerRecord else { throw ImportFileError(path: source, message: "the file is empty") }
        var read = FileRead(header: headerRecord.fields)
        let header = headerRecord.fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        try checkHeader(header, kind: kind, mode: mode, source: source)
        let columns = ColumnPositions(header: header)
        read.secretColumns = [Column.password, .passwordHash, .pin].compactMap { columns[$0] }.sorted()
        read.keyColumn = columns[.msisdn] ?? columns[.serial]
        read.width = header.count
        guard !headerRecord.unterminated,
            let body = scanner.boundaries(after: [headerRecord.bytes.upperBound]).first
        else { return read }

        // The parts: one a core for a file of some size, each starting at a record boundary.
        let rest = scanner.part(from: body.offset, line: body.line, to: bytes.count)
        let cores = min(max(ProcessInfo.processInfo.activeProcessorCount, 1), 8)
        let length = bytes.count - body.offset
        let count = length < 1 << 20 ? 1 : cores
        var starts = [(offset: body.offset, line: body.line)]
        if count > 1 {
            for found in rest.boundaries(after: (1..<count).map { body.offset + length * $0 / count })
            where found.offset > starts.last!.offset {
                starts.append(found)
            }
        }
        let parts = starts.indices.map { k in
            rest.part(
                from: starts[k].offset, line: starts[k].line,
                to: k + 1 < starts.count ? starts[k + 1].offset : bytes.count)
        }
        let snapshot = read
        let outputs = PartOutputs(count: parts.count)
        DispatchQueue.concurrentPerform(iterations: parts.count) { k in
            outputs.set(k, readPart(parts[k], kind: kind, columns: columns, file: snapshot, encoding: encoding))
        }

        var seen = SeenKeys()
        for k in parts.indices {
            let (parsed, rejects, rows) = outputs.take(k)
            read.rows += rows
            read.rejects.append(contentsOf: rejects)
            seen.reserve(parsed.count)
            read.entries.reserveCapacity(read.entries.count + parsed.count)
            read.spans.reserveCapacity(read.spans.count + parsed.count)
            for row in parsed {
                if let first = seen.first(row.item.key, line: row.line) {
                    let fields = row.fields(in: bytes)
                    let suspect = read.isSuspect(fields, span: row.bytes, in: bytes, unterminated: false)
                    read.rejects.append(
                        RejectedRow(
                            line: row.line, reason: "duplicate of line \(first)",
                            fields: read.blank(fields, suspect: suspect)))
                    continue
                }
                if let password = row.item.password { read.passwords.append((read.entries.count, password)) }
                read.entries.append(DataLoad.Entry(line: row.line, item: row.item.item, action: row.item.action))
                read.spans.append(row.bytes)
            }
        }
        read.rejects.sort { $0.line < $1.line }
        return read
    }

    /// The rows of one part of a file: parsed or rejected, and how many records it had.
    static func readPart(
        _ part: CSVScanner, kind: ImportKind, columns: ColumnPositions, file: FileRead, encoding: TextEncoding
    ) -> ([ParsedLine], [RejectedRow], Int) {
        var parsed: [ParsedLine] = []
        var rejects: [RejectedRow] = []
        var rows = 0
        part.forEach { record in
            rows += 1
            func reject(_ reason: String) {
                let suspect = file.isSuspect(
                    record.fields, span: record.bytes, in: part.bytes, unterminated: record.unterminated)
                rejects.append(
                    RejectedRow(
                        line: record.line, reason: file.shown(reason),
                        fields: file.blank(record.fields, suspect: suspect)))
            }
            if record.unterminated { return reject("unterminated quoted field") }
            guard record.fields.count == file.width else {
                return reject("expected \(file.width) fields, found \(record.fields.count)")
            }
            if record.unreadable {
                return reject(encoding == .utf8 ? "invalid UTF-8" : "invalid \(encoding.rawValue.uppercased()) text")
            }
            switch parse(kind, record.fields, columns) {
            case .failure(let problem): reject(problem.message)
            case .success(let item): parsed.append(ParsedLine(line: record.line, item: item, bytes: record.bytes))
            }
        }
        return (parsed, rejects, rows)
    }

    /// What each part's reader found, each written once from its own thread and taken after all have finished.
    final class PartOutputs: @unchecked Sendable {
        private var outputs: [([ParsedLine], [RejectedRow], Int)?]
        private let lock = NSLock()

        init(count: Int) { outputs = Array(repeating: nil, count: count) }

        func set(_ k: Int, _ output: ([ParsedLine], [RejectedRow], Int)) {
            lock.withLock { outputs[k] = output }
        }

        func take(_ k: Int) -> ([ParsedLine], [RejectedRow], Int) {
            lock.withLock {
                defer { outputs[k] = nil }
                return outputs[k]!
            }
        }
    }

    private static func checkHeader(_ header: [String], kind: ImportKind, mode: LoadMode, source: String) throws {
        let known = Set(kind.requiredColumns + kind.optionalColumns)
        var seen = Set<String>()
        for name in header {
            if !seen.insert(name).inserted {
                throw ImportFileError(path: source, message: "line 1: column `\(Self.shownName(name))` appears twice")
            }
            if !known.contains(name) {
                let hint = suggestion(for: name, among: Array(known)).map { "; did you mean `\($0)`?" } ?? ""
                throw ImportFileError(
                    path: source,
                    message: "line 1: unknown column `\(Self.shownName(name))` for a \(kind.rawValue) file\(hint)")
            }
        }
        if seen.contains("action") && mode == .snapshot {
            throw ImportFileError(path: source, message: "line 1: a snapshot has no `action` column")
        }
        if mode == .delta && kind.hasLifeCycle && !seen.contains("action") {
            throw ImportFileError(
                path: source,
                message: "line 1: a delta \(kind.rawValue) file needs an `action` column (add, change, close)")
        }
        let missing = kind.requiredColumns.filter { !seen.contains($0) }
        if !missing.isEmpty {
            throw ImportFileError(
                path: source,
                message: "line 1: missing column\(missing.count > 1 ? "s" : "") "
                    + missing.map { "`\($0)`" }.joined(separator: ", ") + " for a \(kind.rawValue) file")
        }
    }

    /// A header's column name as an error message shows it: at most 40 characters, control characters escaped
    /// (`\u{1B}`), runs of six or more digits masked. A stray quote in a header swallows the rows after it into one
    /// "name", passwords and all: none of that may reach a terminal or a report.
    static func shownName(_ name: String) -> String {
        var shown = ""
        for scalar in name.unicodeScalars.prefix(40) {
            if FieldReader.isForbidden(scalar) {
                shown += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            } else {
                shown.unicodeScalars.append(scalar)
            }
        }
        return FileRead.maskLongDigits(shown) + (name.unicodeScalars.count > 40 ? "…" : "")
    }

    /// Digests each card's PIN into the card (`PasswordHasher.cardPINDigest`): fast, so in line, and the PIN goes no
    /// further than this.
    private func digestPINs(
        _ entries: inout [DataLoad.Entry], pins: [(entry: Int, password: Secret)], source: String
    ) throws {
        guard !pins.isEmpty else { return }
        guard let hasher else {
            throw ImportFileError(path: source, message: "card PINs in the file, but \(missingHasherReason)")
        }
        for (entry, pin) in pins {
            guard case .card(var card) = entries[entry].item else { continue }
            card.pinDigest = try hasher.cardPINDigest(pin, serial: card.serial)
            entries[entry].item = .card(card)
        }
    }

    /// Hashes the password of each row whose subscriber has none yet, on the hashing pool, a few at a
    /// time, into the row's subscriber. A subscriber who already has a password keeps it (see `apply`), so nothing
    /// is hashed for them.
    private func resolvePasswords(
        _ entries: inout [DataLoad.Entry], passwords: [(entry: Int, password: Secret)], source: String,
        progress: @escaping @Sendable (Int, Int) -> Void
    ) async throws {
        guard !passwords.isEmpty else { return }
        let hasHash = try await engine.hasPassword(passwords.map { entries[$0.entry].item.key })
        let toHash = zip(passwords, hasHash).filter { !$0.1 }.map(\.0)
        guard !toHash.isEmpty else { return }
        guard let hasher, let pool else {
            throw ImportFileError(path: source, message: "passwords in the file, but \(missingHasherReason)")
        }
        let total = entries.count
        var results = [String?](repeating: nil, count: toHash.count)
        try await withThrowingTaskGroup(of: (Int, String).self) { group in
            var next = 0
            var done = 0
            func add() {
                let k = next
                next += 1
                let password = toHash[k].password
                group.addTask { try await pool.run { (k, try hasher.hash(password)) } }
            }
            while next < toHash.count && next < pool.threads * 2 { add() }
            while let (k, hash) = try await group.next() {
                results[k] = hash
                done += 1
                if done % 100 == 0 { progress(done, total) }
                if next < toHash.count { add() }
            }
        }
        for (k, row) in toHash.enumerated() {
            if case .subscriber(var s) = entries[row.entry].item {
                s.passwordHash = results[k]
                entries[row.entry].item = .subscriber(s)
            }
        }
    }

    /// The keys of the rows read so far, each with the line it was first seen on. Phone numbers (every key of the
    /// subscriber, usage, call and payment files but their ids) are kept as integers: hashing a million of them is
    /// the cost of a duplicate check.
    struct SeenKeys {
        private var numbers: [UInt64: Int] = [:]
        private var others: [String: Int] = [:]

        mutating func reserve(_ more: Int) { numbers.reserveCapacity(numbers.count + more) }

        /// The line `key` was first seen on, if it was; else remembers it on `line`.
        mutating func first(_ key: String, line: Int) -> Int? {
            if let number = Self.number(key) {
                if let first = numbers[number] { return first }
                numbers[number] = line
            } else {
                if let first = others[key] { return first }
                others[key] = line
            }
            return nil
        }

        /// 1 to 15 ASCII digits as one integer: the digits' value, with their count above it (`0123` is not `123`).
        static func number(_ key: String) -> UInt64? {
            let utf8 = key.utf8
            guard (1...15).contains(utf8.count) else { return nil }
            var value: UInt64 = 0
            for byte in utf8 {
                guard byte >= 0x30 && byte <= 0x39 else { return nil }
                value = value * 10 + UInt64(byte - 0x30)
            }
            return UInt64(utf8.count) << 52 | value
        }
    }

    // MARK: - Rows

    /// A row as parsed: what the engine applies, what a delta row asks for, and a password not hashed yet.
    struct ParsedRow: Sendable {
        var item: LoadItem
        var action: LoadAction? = nil
        /// Set until it has been hashed into the subscriber's `passwordHash`.
        var password: Secret? = nil

        /// What makes two rows the same row: the table's primary key, normalised.
        var key: String { item.key }
    }

    struct RowProblem: Error { let message: String }

    static func parse(
        _ kind: ImportKind, _ fields: [String], _ columns: ColumnPositions
    ) -> Result<ParsedRow, RowProblem> {
        do {
            let row = FieldReader(fields: fields, columns: columns)
            var action: LoadAction? = nil
            if columns[.action] != nil {
                let text = row.raw(.action).lowercased()
                guard let given = LoadAction(rawValue: text) else {
                    throw RowProblem(message: "action: expected add, change or close, found `\(text.prefix(40))`")
                }
                action = given
                // A close row needs only its key.
                if given == .close {
                    return .success(
                        ParsedRow(
                            item: kind == .plans
                                ? .closePlan(try row.code(.code)) : .closeSubscriber(try row.number(.msisdn)),
                            action: .close))
                }
            }
            var parsed = try parseItem(kind, row)
            parsed.action = action
            return .success(parsed)
        } catch let problem as RowProblem {
            return .failure(problem)
        } catch {
            return .failure(RowProblem(message: "\(error)"))
        }
    }

    /// Parses a row that adds or replaces (every row but a delta's `close`).
    private static func parseItem(_ kind: ImportKind, _ row: FieldReader) throws -> ParsedRow {
        switch kind {
        case .plans:
            let code = try row.code(.code)
            let payment = try row.oneOf(.payment, Plan.Eligibility.self)
            return ParsedRow(
                item: .plan(
                    Plan(
                        code: code, nameZh: try row.text(.nameZh), nameEn: try row.text(.nameEn),
                        monthlyFeeFen: try row.int(.monthlyFeeFen, min: 0),
                        voiceMinutes: try row.int(.voiceMinutes, min: 0), sms: try row.int(.sms, min: 0),
                        dataMB: try row.int(.dataMb, min: 0), payment: payment, onSale: try row.bool(.onSale),
                        contractOK: try row.bool(.contractOk))))
        case .subscribers:
            let msisdn = try row.number(.msisdn)
            let payment = try row.oneOf(.payment, PaymentType.self)
            let periodText = row.raw(.prepaidPeriod)
            var period: PrepaidPeriod? = nil
            if payment == .prepaid {
                guard !periodText.isEmpty else { throw RowProblem(message: "prepaid_period: required for prepaid") }
                period = try row.oneOf(.prepaidPeriod, PrepaidPeriod.self)
            }  // A period given for a postpaid account means nothing and is ignored.
            let languageText = row.raw(.language)
            guard let language = languageText.isEmpty ? Language.chinese : Language(parsing: languageText) else {
                throw RowProblem(message: "language: expected zh-CN or en, found `\(languageText.prefix(40))`")
            }
            let contractText = row.raw(.contractEnd)
            var contract: LocalDate? = nil
            if !contractText.isEmpty {
                // A date-time (`2027-06-30T23:59:59+08:00`) counts by its date.
                let dateText =
                    contractText.count > 10 && contractText.dropFirst(10).first == "T"
                    ? String(contractText.prefix(10)) : contractText
                guard let d = LocalDate(iso: dateText) else {
                    throw RowProblem(
                        message: "contract_end: expected a date YYYY-MM-DD, found `\(contractText.prefix(40))`")
                }
                contract = d
            }
            let passwordText = row.raw(.password)
            let hashText = row.has(.passwordHash) ? row.raw(.passwordHash) : ""
            var password: Secret? = nil
            if !hashText.isEmpty {
                guard passwordText.isEmpty else {
                    throw RowProblem(message: "password_hash: give the password or its hash, not both")
                }
                guard PBKDF2PasswordHasher.isStoredHash(hashText) else {
                    throw RowProblem(message: "password_hash: expected a $pbkdf2-sha256$v=1$… PHC string")
                }
            }
            if !passwordText.isEmpty {
                guard passwordText.count == 6, passwordText.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                    throw RowProblem(message: "password: expected six digits")
                }
                password = Secret(passwordText)
            }
            let puk = row.has(.puk) ? row.raw(.puk) : ""
            // Told to the customer by `query.puk`: nothing a handset or a terminal would take as a command.
            guard puk.unicodeScalars.count <= 32, !puk.unicodeScalars.contains(where: FieldReader.isForbidden) else {
                throw RowProblem(message: "puk: at most 32 characters, no control characters")
            }
            let subscriber = Subscriber(
                msisdn: msisdn, name: try row.text(.name), status: try row.oneOf(.status, SubscriberStatus.self),
                payment: payment, prepaidPeriod: period, planCode: try row.text(.plan).uppercased(),
                balanceFen: try row.int(.balanceFen), points: try row.int(.points, min: 0),
                tier: try row.oneOf(.tier, Tier.self), language: language, premium: try row.bool(.premium),
                contractEnd: contract, blacklist: try row.bool(.blacklist),
                passwordHash: hashText.isEmpty ? nil : hashText, puk: puk.isEmpty ? nil : puk)
            return ParsedRow(item: .subscriber(subscriber), password: password)
        case .usage:
            let monthText = try row.text(.month)
            guard let month = Month(monthText) else {
                throw RowProblem(message: "month: expected YYYY-MM, found `\(monthText.prefix(40))`")
            }
            return ParsedRow(
                item: .usage(
                    UsageMonth(
                        msisdn: try row.number(.msisdn), month: month,
                        voiceUsed: try row.int(.voiceUsed, min: 0),
                        smsUsed: try row.int(.smsUsed, min: 0), dataUsedMB: try row.int(.dataUsedMb, min: 0),
                        chargesFen: try row.int(.chargesFen, min: 0))))
        case .calls:
            let started = try row.time(.startedAt)
            let direction = try row.text(.direction).lowercased()
            guard direction == "in" || direction == "out" else {
                throw RowProblem(message: "direction: expected in or out, found `\(direction.prefix(40))`")
            }
            guard let peer = normalizeNumber(try row.text(.peer)) else {
                throw RowProblem(message: "peer: expected a phone number")
            }
            return ParsedRow(
                item: .call(
                    CallDetail(
                        msisdn: try row.number(.msisdn), startedAt: started, peer: peer,
                        outgoing: direction == "out",
                        durationSeconds: try row.int(.durationS, min: 0),
                        chargeFen: try row.int(.chargeFen, min: 0)
                    )))
        case .payments:
            let amount = try row.int(.amountFen, min: 1)
            return ParsedRow(
                item: .payment(
                    Payment(
                        id: try row.identifier(.id), msisdn: try row.number(.msisdn),
                        paidAt: try row.time(.paidAt), amountFen: amount,
                        method: try row.oneOf(.method, Payment.Method.self))))
        case .answers:
            let reason = row.has(.reason) ? row.raw(.reason) : ""
            guard reason.count <= 200, !reason.unicodeScalars.contains(where: FieldReader.isForbidden) else {
                throw RowProblem(message: "reason: at most 200 characters, no control characters")
            }
            let key = try row.text(.key)
            guard ServiceOrder.isKey(key) else {
                throw RowProblem(message: "key: an order's key is SC- and 32 hex digits")
            }
            return ParsedRow(item: .answer(key: key, try row.oneOf(.result, OrderAnswer.self), reason: reason))
        case .cards:
            let serial = try row.text(.serial)
            guard RechargeCard.isSerial(serial) else { throw RowProblem(message: "serial: expected 10 to 20 digits") }
            let pin = try row.text(.pin)
            guard (6...20).contains(pin.utf8.count), pin.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                throw RowProblem(message: "pin: expected 6 to 20 digits")
            }
            let expiresText = try row.text(.expires)
            guard let expires = LocalDate(iso: expiresText) else {
                throw RowProblem(message: "expires: expected a date YYYY-MM-DD, found `\(expiresText.prefix(40))`")
            }
            let state = try row.oneOf(.state, RechargeCard.State.self)
            let usedText = row.has(.usedAt) ? row.raw(.usedAt) : ""
            var usedAt: Date? = nil
            if !usedText.isEmpty { usedAt = try row.time(.usedAt) }
            if state == .used && usedAt == nil { throw RowProblem(message: "used_at: required for a used card") }
            let card = RechargeCard(
                serial: serial, pinDigest: "", valueFen: try row.int(.valueFen, min: 1, max: FieldReader.maximumFen),
                validityDays: try row.int(.validityDays, min: 0, max: 3650), expires: expires, state: state,
                usedAt: state == .used ? usedAt : nil)
            return ParsedRow(item: .card(card), password: Secret(pin))
        case .packs:
            let plansText = row.has(.plans) ? row.raw(.plans) : ""
            var plans: [String] = []
            for code in plansText.split(whereSeparator: { $0 == " " || $0 == "|" || $0 == ";" }) {
                let upper = code.uppercased()
                guard upper.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) else {
                    throw RowProblem(message: "plans: plan codes separated by `|`, found `\(code.prefix(40))`")
                }
                plans.append(upper)
            }
            return ParsedRow(
                item: .pack(
                    DataPack(
                        code: try row.code(.code), nameZh: try row.text(.nameZh), nameEn: try row.text(.nameEn),
                        feeFen: try row.int(.feeFen, min: 0, max: FieldReader.maximumFen),
                        dataMB: try row.int(.dataMb, min: 1, max: 100_000_000),
                        payment: try row.oneOf(.payment, Plan.Eligibility.self), plans: plans,
                        onSale: try row.bool(.onSale))))
        case .services:
            return ParsedRow(
                item: .service(
                    BasicService(
                        code: try row.code(.code), nameZh: try row.text(.nameZh), nameEn: try row.text(.nameEn),
                        monthlyFeeFen: try row.int(.monthlyFeeFen, min: 0, max: FieldReader.maximumFen),
                        onSale: try row.bool(.onSale))))
        case .rewards:
            return ParsedRow(
                item: .reward(
                    Reward(
                        code: try row.code(.code), nameZh: try row.text(.nameZh), nameEn: try row.text(.nameEn),
                        points: try row.int(.points, min: 1, max: 1_000_000_000),
                        valueFen: try row.int(.valueFen, min: 1, max: FieldReader.maximumFen))))
        case .events:
            let detail = row.has(.detail) ? row.raw(.detail) : ""
            guard detail.count <= 200, !detail.unicodeScalars.contains(where: FieldReader.isForbidden) else {
                throw RowProblem(message: "detail: at most 200 characters, no control characters")
            }
            return ParsedRow(
                item: .event(
                    SubscriberEvent(
                        id: try row.identifier(.id), msisdn: try row.number(.msisdn), at: try row.time(.at),
                        kind: try row.oneOf(.kind, SubscriberEvent.Kind.self), detail: detail)))
        }
    }

    /// Every column an import file may have, of any kind: a row's fields are found by position, without hashing
    /// a column's name for every field of every row.
    enum Column: Int, CaseIterable {
        case action
        case amountFen
        case at
        case balanceFen
        case blacklist
        case chargeFen
        case chargesFen
        case code
        case contractEnd
        case contractOk
        case dataMb
        case dataUsedMb
        case detail
        case expires
        case feeFen
        case pin
        case plans
        case serial
        case state
        case usedAt
        case validityDays
        case valueFen
        case direction
        case durationS
        case id
        case key
        case kind
        case language
        case method
        case month
        case monthlyFeeFen
        case msisdn
        case name
        case nameEn
        case nameZh
        case onSale
        case paidAt
        case password
        case passwordHash
        case payment
        case peer
        case plan
        case points
        case premium
        case prepaidPeriod
        case puk
        case reason
        case result
        case sms
        case smsUsed
        case startedAt
        case status
        case tier
        case voiceMinutes
        case voiceUsed

        /// The column's name in a file's header.
        var name: String {
            switch self {
            case .action: "action"
            case .amountFen: "amount_fen"
            case .at: "at"
            case .balanceFen: "balance_fen"
            case .blacklist: "blacklist"
            case .chargeFen: "charge_fen"
            case .chargesFen: "charges_fen"
            case .code: "code"
            case .contractEnd: "contract_end"
            case .contractOk: "contract_ok"
            case .dataMb: "data_mb"
            case .dataUsedMb: "data_used_mb"
            case .detail: "detail"
            case .expires: "expires"
            case .feeFen: "fee_fen"
            case .pin: "pin"
            case .plans: "plans"
            case .serial: "serial"
            case .state: "state"
            case .usedAt: "used_at"
            case .validityDays: "validity_days"
            case .valueFen: "value_fen"
            case .direction: "direction"
            case .durationS: "duration_s"
            case .id: "id"
            case .key: "key"
            case .kind: "kind"
            case .language: "language"
            case .method: "method"
            case .month: "month"
            case .monthlyFeeFen: "monthly_fee_fen"
            case .msisdn: "msisdn"
            case .name: "name"
            case .nameEn: "name_en"
            case .nameZh: "name_zh"
            case .onSale: "on_sale"
            case .paidAt: "paid_at"
            case .password: "password"
            case .passwordHash: "password_hash"
            case .payment: "payment"
            case .peer: "peer"
            case .plan: "plan"
            case .points: "points"
            case .premium: "premium"
            case .prepaidPeriod: "prepaid_period"
            case .puk: "puk"
            case .reason: "reason"
            case .result: "result"
            case .sms: "sms"
            case .smsUsed: "sms_used"
            case .startedAt: "started_at"
            case .status: "status"
            case .tier: "tier"
            case .voiceMinutes: "voice_minutes"
            case .voiceUsed: "voice_used"
            }
        }

        /// The column named `name` in a header, if any.
        init?(name: String) {
            guard let found = Self.allCases.first(where: { $0.name == name }) else { return nil }
            self = found
        }
    }

    /// Where each column is in a file's rows (-1: not in the file), by `Column`'s raw value.
    struct ColumnPositions: Sendable {
        var positions: [Int]

        /// The positions of the columns in `header` (lower-cased names).
        init(header: [String]) {
            positions = Array(repeating: -1, count: Column.allCases.count)
            for (i, name) in header.enumerated() {
                if let column = Column(name: name) { positions[column.rawValue] = i }
            }
        }

        /// The column's position, if the file has it.
        subscript(_ column: Column) -> Int? {
            let at = positions[column.rawValue]
            return at < 0 ? nil : at
        }
    }

    struct FieldReader {
        let fields: [String]
        let columns: ColumnPositions

        func raw(_ column: Column) -> String {
            let field = fields[columns[column]!]
            // Most fields have nothing to trim: look at their first and last characters before trimming.
            guard let first = field.unicodeScalars.first, let last = field.unicodeScalars.last,
                Self.isBlank(first) || Self.isBlank(last)
            else { return field }
            return field.trimmingCharacters(in: .whitespaces)
        }

        /// What `CharacterSet.whitespaces` holds: the tab and the space separators (category Zs).
        static func isBlank(_ scalar: Unicode.Scalar) -> Bool {
            if scalar.value < 0x80 { return scalar == " " || scalar == "\t" }
            return scalar.properties.generalCategory == .spaceSeparator
        }

        func has(_ column: Column) -> Bool { columns[column] != nil }

        /// Control characters (category Cc: U+0000–U+001F and U+007F–U+009F) and the bidirectional embeddings,
        /// overrides and isolates (U+202A–U+202E, U+2066–U+2069).
        static func isForbidden(_ scalar: Unicode.Scalar) -> Bool {
            let v = scalar.value
            return v < 0x20 || (0x7F...0x9F).contains(v) || (0x202A...0x202E).contains(v)
                || (0x2066...0x2069).contains(v)
        }

        /// A plan code, upper-cased: letters, digits, `_` and `-`.
        func code(_ column: Column) throws -> String {
            let code = try text(column).uppercased()
            guard code.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) else {
                throw RowProblem(message: "\(column.name): only letters, digits, `_` and `-`")
            }
            return code
        }

        /// Billing's id of a row: 1 to 64 ASCII letters, digits, `_`, `-`, `.` and `:`.
        func identifier(_ column: Column) throws -> String {
            let id = try text(column)
            guard id.count <= 64,
                id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_-.:".contains($0)) })
            else {
                throw RowProblem(message: "\(column.name): 1 to 64 letters, digits, `_`, `-`, `.` or `:`")
            }
            return id
        }

        /// An ISO 8601 time with a date and a time of day, to the millisecond as stored.
        func time(_ column: Column) throws -> Date {
            let text = try text(column)
            guard let parsed = ISOTime.parse(text), text.contains("T") else {
                throw RowProblem(message: "\(column.name): expected an ISO 8601 time, found `\(text.prefix(40))`")
            }
            // Stored to the millisecond: compare and key at the same precision. Round-tripping through the stored
            // text makes the value equal to what a read gives back.
            return ISOTime.parse(ISOTime.format(parsed)) ?? parsed
        }

        func text(_ column: Column) throws -> String {
            let v = raw(column)
            guard !v.isEmpty else { throw RowProblem(message: "\(column.name): required") }
            // Nothing that would reach a terminal or a handset as a command: control characters and the bidi
            // overrides that make text read other than it is.
            // Printable ASCII needs no closer look.
            let plainASCII = v.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
            guard plainASCII || !v.unicodeScalars.contains(where: Self.isForbidden) else {
                throw RowProblem(message: "\(column.name): control characters are not allowed")
            }
            return v
        }

        func int(_ column: Column, min: Int? = nil, max: Int? = nil) throws -> Int {
            let v = try text(column)
            guard v.count <= 18, let n = Int(v) else {
                throw RowProblem(message: "\(column.name): expected a whole number, found `\(v.prefix(40))`")
            }
            if let min, n < min { throw RowProblem(message: "\(column.name): must be at least \(min), found \(n)") }
            // The value in backquotes: a rejects report masks long runs of digits there (a PIN in the wrong column).
            if let max, n > max { throw RowProblem(message: "\(column.name): must be at most \(max), found `\(n)`") }
            return n
        }

        /// The most fen a catalogue amount may be (CNY 1,000,000.00): far above any card or fee, far below what
        /// could overflow a balance.
        static let maximumFen = 100_000_000

        func bool(_ column: Column) throws -> Bool {
            switch raw(column).lowercased() {
            case "true": return true
            case "false", "": return false
            default:
                throw RowProblem(message: "\(column.name): expected true or false, found `\(raw(column).prefix(40))`")
            }
        }

        func number(_ column: Column) throws -> String {
            let v = try text(column)
            guard let n = normalizeNumber(v) else {
                throw RowProblem(message: "\(column.name): expected a phone number, found `\(v.prefix(40))`")
            }
            return n
        }

        func oneOf<T: RawRepresentable & CaseIterable>(_ column: Column, _: T.Type) throws -> T
        where T.RawValue == String {
            let v = try text(column)
            guard let value = T(rawValue: v.lowercased()) else {
                throw RowProblem(
                    message:
                        "\(column.name): expected one of \(T.allCases.map(\.rawValue).joined(separator: ", ")), found `\(v.prefix(40))`"
                )
            }
            return value
        }
    }
}
