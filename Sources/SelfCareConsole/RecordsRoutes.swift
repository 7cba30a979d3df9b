import Foundation
import Hummingbird
import NIOCore
import SelfCareCore
import SelfCareHTTP

/// The records view: filters, the chain's head and verify status, and the export of the filtered set.
extension ConsoleRoutes {
    static let recordRoles: [ConsoleRole] = [.auditor, .admin]
    /// Rows a page shows (the newest matching); the export has them all.
    static let rowsShown = 200
    /// Records scanned without a `since`: the latest this many.
    static let defaultScan: Int64 = 5_000

    /// The filters of the records view, as typed.
    struct RecordQuery: Sendable {
        var number = ""
        var operation = ""
        var result = ""
        var reason = ""
        var channel = ""
        var since = ""
        var until = ""
        var why = ""

        init(_ fields: [String: String]) {
            func field(_ name: String) -> String { (fields[name] ?? "").trimmingCharacters(in: .whitespaces) }
            number = field("number")
            operation = field("operation")
            result = field("result")
            reason = field("reason")
            channel = field("channel")
            since = field("since")
            until = field("until")
            why = field("why")
        }

        var fields: [(String, String)] {
            [
                ("number", number), ("operation", operation), ("result", result), ("reason", reason),
                ("channel", channel), ("since", since), ("until", until), ("why", why),
            ].filter { !$0.1.isEmpty }
        }

        /// The filters of the view as its access record keeps them (`filter.…`), the reason and the number apart.
        var details: [String: String] {
            var details: [String: String] = [:]
            for (name, value) in fields where !["why", "number"].contains(name) { details["filter." + name] = value }
            return details
        }

        /// A time typed in the form (`2026-12-01T10:00`, UTC) or ISO 8601; nil for a date or time that does not
        /// exist (`2026-02-30`, `25:00`), which a lenient parser would roll over.
        static func time(_ text: String) -> Date? {
            if text.isEmpty { return nil }
            let full = text.count == 16 ? text + ":00Z" : text.count == 19 ? text + "Z" : text
            guard let date = ISOTime.parse(full) else { return nil }
            // Its date and time as typed must be the ones it stands for, in the offset it was typed with.
            if let match = full.firstMatch(of: /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/) {
                var calendar = Calendar(identifier: .gregorian)
                let offset = full.hasSuffix("Z") ? 0 : Self.offsetSeconds(full) ?? 0
                calendar.timeZone = TimeZone(secondsFromGMT: offset) ?? TimeZone(identifier: "UTC")!
                let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
                guard parts.year == Int(match.1), parts.month == Int(match.2), parts.day == Int(match.3),
                    parts.hour == Int(match.4), parts.minute == Int(match.5)
                else { return nil }
            }
            return date
        }

        /// The `±HH:MM` offset at the end of an ISO 8601 time, in seconds.
        static func offsetSeconds(_ text: String) -> Int? {
            guard let match = text.firstMatch(of: /([+-])(\d{2}):?(\d{2})$/), let h = Int(match.2), let m = Int(match.3)
            else { return nil }
            return (match.1 == "-" ? -1 : 1) * (h * 3600 + m * 60)
        }
    }

    /// What a query selects, checked: nil and a message when a filter cannot be read.
    func recordSelection(
        _ query: RecordQuery, _ language: Language
    ) -> (RecordFilter, @Sendable (ServiceRecord) -> Bool)? {
        var filter = RecordFilter()
        if !query.number.isEmpty {
            guard let number = normalizeNumber(query.number) else { return nil }
            filter.subject = number
        }
        if !query.since.isEmpty {
            guard let since = RecordQuery.time(query.since) else { return nil }
            filter.since = since
        } else {
            let head = (try? engine.recordChainHead())?.id ?? 0
            filter.afterID = max(0, head - Self.defaultScan)
        }
        var until: String?
        if !query.until.isEmpty {
            guard let date = RecordQuery.time(query.until) else { return nil }
            until = ISOTime.format(date)
        }
        let (operation, result, reason, channel, last) = (
            query.operation, query.result, query.reason, query.channel, until
        )
        return (
            filter,
            { record in
                (operation.isEmpty || record.operation == operation) && (result.isEmpty || record.result == result)
                    && (reason.isEmpty || record.reason == reason) && (channel.isEmpty || record.channel == channel)
                    && (last.map { record.time <= $0 } ?? true)
            }
        )
    }

    func addRecords(to router: RouterGroup<BasicRequestContext>) {
        router.get("records") { request, _ in
            try await page(request, roles: Self.recordRoles) { visit in
                let query = RecordQuery(Self.queryFields(request))
                return try await recordsPage(visit, query)
            }
        }
        router.get("records/export") { request, _ in
            try await page(request, roles: Self.recordRoles) { visit in
                let query = RecordQuery(Self.queryFields(request))
                let format = Self.queryFields(request)["format"] ?? "csv"
                guard ["csv", "jsonl"].contains(format), let (filter, matches) = recordSelection(query, visit.language)
                else { return plain(.badRequest, "the filters or the format (csv, jsonl) cannot be read\n") }
                guard let why = Self.reason(query.why) else {
                    return plain(.badRequest, "a reason (4 to 200 characters) is needed to export records\n")
                }
                guard
                    await engine.recordAccess(
                        account: visit.session.account, role: visit.session.role.rawValue,
                        subject: filter.subject ?? OperationEngine.everyNumber, view: "records.export", reason: why,
                        session: visit.session.id, details: query.details) != nil
                else { return plain(.serviceUnavailable, "the access could not be recorded; nothing is shown\n") }
                let csv = format == "csv"
                let engine = self.engine
                return Response(
                    status: .ok,
                    headers: [
                        .contentType: csv ? "text/csv; charset=utf-8" : "application/x-ndjson; charset=utf-8",
                        .contentDisposition: "attachment; filename=\"records.\(format)\"",
                    ],
                    body: ResponseBody { writer in
                        let lineEnd = csv ? ServiceRecord.csvLineEnd : "\n"
                        if csv { try await writer.write(ByteBuffer(string: ServiceRecord.csvHeader + lineEnd)) }
                        var cursor = filter
                        cursor.limit = 500
                        while true {
                            let batch = try await engine.records(matching: cursor)
                            guard let last = batch.last else { break }
                            let text = batch.filter(matches).map { (csv ? $0.csvLine : $0.jsonLine) + lineEnd }.joined()
                            if !text.isEmpty { try await writer.write(ByteBuffer(string: text)) }
                            cursor.afterID = last.id
                            if batch.count < 500 { break }
                        }
                        try await writer.finish(nil)
                    })
            }
        }
        router.post("records/verify") { request, _ in
            try await form(request, roles: Self.recordRoles) { visit, fields in
                do {
                    let report = try await engine.verifyRecords(on: console.pool)
                    console.verification.withLock {
                        $0 = ChainStatus(
                            checked: report.checked, broken: report.brokenCount,
                            firstBreak: report.firstBreak?.description, at: engine.now(), by: visit.session.account)
                    }
                } catch {
                    console.logger.error("console: records verify failed", metadata: ["error": "\(error)"])
                }
                return try await recordsPage(visit, RecordQuery(fields))
            }
        }
    }

    func recordsPage(_ visit: Visit, _ query: RecordQuery) async throws -> Response {
        let language = visit.language
        var values: [String: Any] = [
            "q_number": query.number, "q_reason": query.reason, "q_since": query.since, "q_until": query.until,
            "q_why": query.why,
            "operations": Self.options(Self.operationNames, selected: query.operation),
            "results": Self.options(["ok", "refused", "error"], selected: query.result),
            "channels": Self.options(["sms", "ussd", "ivr", "api", "console"], selected: query.channel),
        ]
        if let status = console.verification.withLock({ $0 }) {
            values["verified"] = true
            values["verify_ok"] = status.broken == 0
            values["verify_checked"] = status.checked
            values["verify_broken"] = status.broken
            values["verify_first"] = status.firstBreak ?? ""
            values["verify_at"] = engine.configuration.calendar.dateTime(of: status.at)
            values["verify_by"] = status.by
        }
        let exportQuery = URLForm.encode(query.fields)
        values["export_csv"] = "/console/records/export?" + URLForm.encode(query.fields + [("format", "csv")])
        values["export_jsonl"] = "/console/records/export?" + URLForm.encode(query.fields + [("format", "jsonl")])
        values["has_query"] = !exportQuery.isEmpty
        let headNow = try? engine.recordChainHead()
        values["head_id"] = headNow?.id ?? 0
        values["head_hash"] = headNow?.hash ?? ServiceRecord.genesisHash
        guard let (filter, matches) = recordSelection(query, language) else {
            values["notice"] = pages.text("filters_unreadable", language)
            values["has_notice"] = true
            return pages.render("records", visit, console: console, title: "records", values, status: .badRequest)
        }
        // Records hold customers' data: every view of them has its access record, of one number or of many (`*`,
        // with the filters), and its reason.
        guard let why = Self.reason(query.why) else {
            values["notice"] = pages.text(query.fields.isEmpty ? "rec_reason_first" : "reason_needed", language)
            values["has_notice"] = true
            values["ask_why"] = true
            return pages.render("records", visit, console: console, title: "records", values)
        }
        guard
            await engine.recordAccess(
                account: visit.session.account, role: visit.session.role.rawValue,
                subject: filter.subject ?? OperationEngine.everyNumber, view: "records", reason: why,
                session: visit.session.id, details: query.details) != nil
        else {
            return pages.render(
                "error", visit, console: console, title: "records",
                ["message": pages.text("access_not_recorded", language)], status: .serviceUnavailable)
        }
        // The head after this view's own access record: the page's rows and its head agree.
        let head = try? engine.recordChainHead()
        values["head_id"] = head?.id ?? 0
        values["head_hash"] = head?.hash ?? ServiceRecord.genesisHash
        var shown: [ServiceRecord] = []
        var total = 0
        var cursor = filter
        cursor.limit = 1_000
        var scanned = 0
        let scanLimit = console.configuration.recordsScanLimit
        cursor.limit = min(1_000, scanLimit)
        while scanned < scanLimit {
            let batch = try await engine.records(matching: cursor)
            guard let last = batch.last else { break }
            scanned += batch.count
            for record in batch where matches(record) {
                total += 1
                shown.append(record)
                if shown.count > Self.rowsShown { shown.removeFirst() }
            }
            cursor.afterID = last.id
            if batch.count < cursor.limit ?? 1_000 { break }
        }
        if scanned >= scanLimit {
            // The count is of the records searched: said, so that it is never taken for the whole.
            values["notice"] = pages.text("rec_scan_limit", language)
            values["has_notice"] = true
        }
        values["rows"] = shown.reversed().map(recordRow)
        values["total"] = total
        values["shown"] = shown.count
        values["has_rows"] = !shown.isEmpty
        return pages.render("records", visit, console: console, title: "records", values)
    }

    /// The operations the records can name, for the filter's list.
    static let operationNames: [String] =
        OperationName.all.map(\.rawValue)
        + [
            OperationName.help, .confirm, .unknown, .smsMessage, .passwordSet, .passwordNotice, .orderDeliver,
            .orderAck, .orderRetry, .noticeSend, .orderCompensate, .dataImport, .surveyRate, .consoleView,
            .passwordUnlock,
        ].map(\.rawValue)

    static func options(_ names: [String], selected: String) -> [[String: Any]] {
        names.map { ["value": $0, "selected": $0 == selected] }
    }
}
