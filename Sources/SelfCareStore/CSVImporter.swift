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
        let text = used.decodeLines(data)
        let (allRows, unterminated) = CSVReader.rows(text)
        guard let headerRow = allRows.first else { throw ImportFileError(path: source, message: "the file is empty") }
        if let expected = options.expectedRows, allRows.count - 1 != expected {
            throw ImportFileError(
                path: source,
                message: "its .chk says \(expected) rows, the file has \(allRows.count - 1); nothing applied")
        }
        let header = headerRow.fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        try checkHeader(header, kind: kind, mode: options.mode, source: source)
        var columns: [String: Int] = [:]
        for (i, name) in header.enumerated() { columns[name] = i }
        // The columns a rejects file never shows: the password, and the hash billing may send instead.
        let secretColumns = ["password", "password_hash"].compactMap { columns[$0] }.sorted()

        // Shape checks, then parsing, then duplicates by the parsed key: a bad first row never hides a
        // later good row with the same key.
        var rejects: [RejectedRow] = []
        var parsed: [(line: Int, item: ParsedRow, blanked: [String])] = []
        var seenKeys: [String: Int] = [:]
        seenKeys.reserveCapacity(allRows.count)
        for row in allRows.dropFirst() {
            var blanked = row.fields
            if let first = secretColumns.first, first < blanked.count {
                // A row of the wrong shape may hold its password in another column: blank from the first secret
                // column on.
                let shifted = row.fields.count != header.count || row.line == unterminated
                if shifted {
                    for i in first..<blanked.count { blanked[i] = "" }
                } else {
                    for i in secretColumns where i < blanked.count { blanked[i] = "" }
                }
            }
            func reject(_ reason: String) {
                rejects.append(RejectedRow(line: row.line, reason: reason, fields: blanked))
            }
            if row.line == unterminated {
                reject("unterminated quoted field")
                continue
            }
            guard row.fields.count == header.count else {
                reject("expected \(header.count) fields, found \(row.fields.count)")
                continue
            }
            if row.fields.contains(where: { $0.unicodeScalars.contains("\u{FFFD}") }) {
                reject(used == .utf8 ? "invalid UTF-8" : "invalid \(used.rawValue.uppercased()) text")
                continue
            }
            switch Self.parse(kind, row.fields, columns) {
            case .failure(let problem):
                reject(problem.message)
            case .success(let item):
                let key = item.key
                if let first = seenKeys[key] {
                    reject("duplicate of line \(first)")
                    continue
                }
                seenKeys[key] = row.line
                parsed.append((row.line, item, blanked))
            }
        }
        let total = parsed.count
        // Hash passwords off the transaction, then apply everything in one transaction. A whole-or-nothing file with
        // bad rows already will not be applied: its rows only go through the engine to find the rest of its bad
        // rows, and nothing needs hashing.
        if !(options.wholeOrNothing && !rejects.isEmpty) {
            parsed = try await resolvePasswords(
                parsed, rejects: &rejects, source: source, progress: progress, total: total)
        }

        let entries = parsed.map { DataLoad.Entry(line: $0.line, item: $0.item.item, action: $0.item.action) }
        // The rows are in line order: a late reject finds its fields by a binary search, without a table of a
        // million entries built for the few rows the engine refuses.
        let lines = parsed.map(\.line)
        func blanked(_ line: Int) -> [String] {
            var (low, high) = (0, lines.count)
            while low < high {
                let mid = (low + high) / 2
                if lines[mid] < line { low = mid + 1 } else { high = mid }
            }
            return low < lines.count && lines[low] == line ? parsed[low].blanked : []
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
            let all = rejects.map { DataLoadRefusal.RejectedLine(line: $0.line, reason: $0.reason) } + found
            throw DataLoadRefusal.rejectedRows(all.sorted { $0.line < $1.line })
        }
        var summary = ImportSummary()
        summary.encoding = used
        summary.encodingDetected = encoding == nil
        summary.applied = outcome.applied
        summary.unchanged = outcome.unchanged
        summary.omitted = outcome.closedByOmission
        let lateRejects = outcome.rejected.map {
            RejectedRow(line: $0.line, reason: $0.reason, fields: blanked($0.line))
        }
        var result = summary
        rejects.append(contentsOf: lateRejects)
        rejects.sort { $0.line < $1.line }
        result.rejected = rejects.count
        return (result, rejects, headerRow.fields)
    }

    private func checkHeader(_ header: [String], kind: ImportKind, mode: LoadMode, source: String) throws {
        let known = Set(kind.requiredColumns + kind.optionalColumns)
        var seen = Set<String>()
        for name in header {
            if !seen.insert(name).inserted {
                throw ImportFileError(path: source, message: "line 1: column `\(name)` appears twice")
            }
            if !known.contains(name) {
                let hint = suggestion(for: name, among: Array(known)).map { "; did you mean `\($0)`?" } ?? ""
                throw ImportFileError(
                    path: source, message: "line 1: unknown column `\(name)` for a \(kind.rawValue) file\(hint)")
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

    /// Hashes the password of each row whose subscriber has none yet, on the hashing pool, a few at a
    /// time. A subscriber who already has a password keeps it (see `apply`), so nothing is hashed for them.
    private func resolvePasswords(
        _ parsed: [(line: Int, item: ParsedRow, blanked: [String])], rejects: inout [RejectedRow], source: String,
        progress: @escaping @Sendable (Int, Int) -> Void, total: Int
    ) async throws -> [(line: Int, item: ParsedRow, blanked: [String])] {
        var out = parsed
        let candidates = parsed.indices.filter { parsed[$0].item.password != nil }
        guard !candidates.isEmpty else { return parsed }
        let numbers = candidates.map { parsed[$0].item.item.key }
        let hasHash = try await engine.hasPassword(numbers)
        let toHash = zip(candidates, hasHash).filter { !$0.1 }.map(\.0)
        for i in candidates { out[i].item.password = nil }
        guard !toHash.isEmpty else { return out }
        guard let hasher, let pool else {
            throw ImportFileError(path: source, message: "passwords in the file, but \(missingHasherReason)")
        }
        var results = [String?](repeating: nil, count: toHash.count)
        try await withThrowingTaskGroup(of: (Int, String).self) { group in
            var next = 0
            var done = 0
            func add() {
                let k = next
                next += 1
                guard let password = parsed[toHash[k]].item.password else { return }
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
        for (k, i) in toHash.enumerated() {
            if case .subscriber(var s) = out[i].item.item {
                s.passwordHash = results[k]
                out[i].item.item = .subscriber(s)
            }
        }
        return out
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
        _ kind: ImportKind, _ fields: [String], _ columns: [String: Int]
    ) -> Result<ParsedRow, RowProblem> {
        do {
            let row = FieldReader(fields: fields, columns: columns)
            var action: LoadAction? = nil
            if columns["action"] != nil {
                let text = row.raw("action").lowercased()
                guard let given = LoadAction(rawValue: text) else {
                    throw RowProblem(message: "action: expected add, change or close, found `\(text.prefix(40))`")
                }
                action = given
                // A close row needs only its key.
                if given == .close {
                    return .success(
                        ParsedRow(
                            item: kind == .plans
                                ? .closePlan(try row.code("code")) : .closeSubscriber(try row.number("msisdn")),
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
            let code = try row.code("code")
            let payment = try row.oneOf("payment", Plan.Eligibility.self)
            return ParsedRow(
                item: .plan(
                    Plan(
                        code: code, nameZh: try row.text("name_zh"), nameEn: try row.text("name_en"),
                        monthlyFeeFen: try row.int("monthly_fee_fen", min: 0),
                        voiceMinutes: try row.int("voice_minutes", min: 0), sms: try row.int("sms", min: 0),
                        dataMB: try row.int("data_mb", min: 0), payment: payment, onSale: try row.bool("on_sale"),
                        contractOK: try row.bool("contract_ok"))))
        case .subscribers:
            let msisdn = try row.number("msisdn")
            let payment = try row.oneOf("payment", PaymentType.self)
            let periodText = row.raw("prepaid_period")
            var period: PrepaidPeriod? = nil
            if payment == .prepaid {
                guard !periodText.isEmpty else { throw RowProblem(message: "prepaid_period: required for prepaid") }
                period = try row.oneOf("prepaid_period", PrepaidPeriod.self)
            }  // A period given for a postpaid account means nothing and is ignored.
            let languageText = row.raw("language")
            guard let language = languageText.isEmpty ? Language.chinese : Language(parsing: languageText) else {
                throw RowProblem(message: "language: expected zh-CN or en, found `\(languageText.prefix(40))`")
            }
            let contractText = row.raw("contract_end")
            var contract: LocalDate? = nil
            if !contractText.isEmpty {
                // A date-time (`2027-06-30T23:59:59+08:00`) counts by its date.
                let dateText =
                    contractText.count > 10 && contractText.dropFirst(10).first == "T"
                    ? String(contractText.prefix(10)) : contractText
                guard let d = LocalDate(iso: dateText) else {
                    throw RowProblem(message: "contract_end: expected a date YYYY-MM-DD, found `\(contractText)`")
                }
                contract = d
            }
            let passwordText = row.raw("password")
            let hashText = row.has("password_hash") ? row.raw("password_hash") : ""
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
            let puk = row.has("puk") ? row.raw("puk") : ""
            let subscriber = Subscriber(
                msisdn: msisdn, name: try row.text("name"), status: try row.oneOf("status", SubscriberStatus.self),
                payment: payment, prepaidPeriod: period, planCode: try row.text("plan").uppercased(),
                balanceFen: try row.int("balance_fen"), points: try row.int("points", min: 0),
                tier: try row.oneOf("tier", Tier.self), language: language, premium: try row.bool("premium"),
                contractEnd: contract, blacklist: try row.bool("blacklist"),
                passwordHash: hashText.isEmpty ? nil : hashText, puk: puk.isEmpty ? nil : puk)
            return ParsedRow(item: .subscriber(subscriber), password: password)
        case .usage:
            let monthText = try row.text("month")
            guard let month = Month(monthText) else {
                throw RowProblem(message: "month: expected YYYY-MM, found `\(monthText.prefix(40))`")
            }
            return ParsedRow(
                item: .usage(
                    UsageMonth(
                        msisdn: try row.number("msisdn"), month: month,
                        voiceUsed: try row.int("voice_used", min: 0),
                        smsUsed: try row.int("sms_used", min: 0), dataUsedMB: try row.int("data_used_mb", min: 0),
                        chargesFen: try row.int("charges_fen", min: 0))))
        case .calls:
            let started = try row.time("started_at")
            let direction = try row.text("direction").lowercased()
            guard direction == "in" || direction == "out" else {
                throw RowProblem(message: "direction: expected in or out, found `\(direction)`")
            }
            guard let peer = normalizeNumber(try row.text("peer")) else {
                throw RowProblem(message: "peer: expected a phone number")
            }
            return ParsedRow(
                item: .call(
                    CallDetail(
                        msisdn: try row.number("msisdn"), startedAt: started, peer: peer,
                        outgoing: direction == "out",
                        durationSeconds: try row.int("duration_s", min: 0),
                        chargeFen: try row.int("charge_fen", min: 0)
                    )))
        case .payments:
            let amount = try row.int("amount_fen", min: 1)
            return ParsedRow(
                item: .payment(
                    Payment(
                        id: try row.identifier("id"), msisdn: try row.number("msisdn"),
                        paidAt: try row.time("paid_at"), amountFen: amount,
                        method: try row.oneOf("method", Payment.Method.self))))
        case .answers:
            let reason = row.has("reason") ? row.raw("reason") : ""
            guard reason.count <= 200,
                !reason.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
            else { throw RowProblem(message: "reason: at most 200 characters, no control characters") }
            let key = try row.text("key")
            guard ServiceOrder.isKey(key) else {
                throw RowProblem(message: "key: an order's key is SC- and 32 hex digits")
            }
            return ParsedRow(item: .answer(key: key, try row.oneOf("result", OrderAnswer.self), reason: reason))
        case .events:
            let detail = row.has("detail") ? row.raw("detail") : ""
            guard detail.count <= 200,
                !detail.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
            else { throw RowProblem(message: "detail: at most 200 characters, no control characters") }
            return ParsedRow(
                item: .event(
                    SubscriberEvent(
                        id: try row.identifier("id"), msisdn: try row.number("msisdn"), at: try row.time("at"),
                        kind: try row.oneOf("kind", SubscriberEvent.Kind.self), detail: detail)))
        }
    }

    struct FieldReader {
        let fields: [String]
        let columns: [String: Int]

        func raw(_ name: String) -> String {
            let field = fields[columns[name]!]
            // Most fields have nothing to trim: skip Foundation's trimming for them.
            guard let first = field.utf8.first, let last = field.utf8.last else { return field }
            if first != 0x20 && first != 0x09 && last != 0x20 && last != 0x09 && first < 0x80 && last < 0x80 {
                return field
            }
            return field.trimmingCharacters(in: .whitespaces)
        }

        func has(_ name: String) -> Bool { columns[name] != nil }

        /// U+202A–U+202E and U+2066–U+2069: the bidirectional embeddings, overrides and isolates.
        static let bidiControls: Set<UInt32> = [0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069]

        /// A plan code, upper-cased: letters, digits, `_` and `-`.
        func code(_ name: String) throws -> String {
            let code = try text(name).uppercased()
            guard code.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) else {
                throw RowProblem(message: "\(name): only letters, digits, `_` and `-`")
            }
            return code
        }

        /// Billing's id of a row: 1 to 64 ASCII letters, digits, `_`, `-`, `.` and `:`.
        func identifier(_ name: String) throws -> String {
            let id = try text(name)
            guard id.count <= 64,
                id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_-.:".contains($0)) })
            else {
                throw RowProblem(message: "\(name): 1 to 64 letters, digits, `_`, `-`, `.` or `:`")
            }
            return id
        }

        /// An ISO 8601 time with a date and a time of day, to the millisecond as stored.
        func time(_ name: String) throws -> Date {
            let text = try text(name)
            guard let parsed = ISOTime.parse(text), text.contains("T") else {
                throw RowProblem(message: "\(name): expected an ISO 8601 time, found `\(text.prefix(40))`")
            }
            // Stored to the millisecond: compare and key at the same precision. Round-tripping through the stored
            // text makes the value equal to what a read gives back.
            return ISOTime.parse(ISOTime.format(parsed)) ?? parsed
        }

        func text(_ name: String) throws -> String {
            let v = raw(name)
            guard !v.isEmpty else { throw RowProblem(message: "\(name): required") }
            // Nothing that would reach a terminal or a handset as a command: control characters and the bidi
            // overrides that make text read other than it is.
            // Printable ASCII needs no closer look.
            let plainASCII = v.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
            guard
                plainASCII
                    || !v.unicodeScalars.contains(where: {
                        $0.properties.generalCategory == .control || Self.bidiControls.contains($0.value)
                    })
            else { throw RowProblem(message: "\(name): control characters are not allowed") }
            return v
        }

        func int(_ name: String, min: Int? = nil) throws -> Int {
            let v = try text(name)
            guard v.count <= 18, let n = Int(v) else {
                throw RowProblem(message: "\(name): expected a whole number, found `\(v.prefix(40))`")
            }
            if let min, n < min { throw RowProblem(message: "\(name): must be at least \(min), found \(n)") }
            return n
        }

        func bool(_ name: String) throws -> Bool {
            switch raw(name).lowercased() {
            case "true": return true
            case "false", "": return false
            default: throw RowProblem(message: "\(name): expected true or false, found `\(raw(name).prefix(40))`")
            }
        }

        func number(_ name: String) throws -> String {
            let v = try text(name)
            guard let n = normalizeNumber(v) else {
                throw RowProblem(message: "\(name): expected a phone number, found `\(v.prefix(40))`")
            }
            return n
        }

        func oneOf<T: RawRepresentable & CaseIterable>(_ name: String, _: T.Type) throws -> T
        where T.RawValue == String {
            let v = try text(name)
            guard let value = T(rawValue: v.lowercased()) else {
                throw RowProblem(
                    message:
                        "\(name): expected one of \(T.allCases.map(\.rawValue).joined(separator: ", ")), found `\(v.prefix(40))`"
                )
            }
            return value
        }
    }
}
