import Foundation
import GRDB
import GRDBSQLite
import SelfCareCore

/// Reads and writes through one GRDB connection, inside the transaction the pool opened.
struct SQLiteAccess: StoreWriter {
    let db: Database
    /// The transaction's chain head, when the group committer runs it (the head row is then written
    /// once per transaction); nil: each append reads and writes the head row itself.
    var chain: ChainCursor? = nil

    func subscriber(_ msisdn: String) throws -> Subscriber? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT \(Self.subscriberColumns) FROM subscribers WHERE msisdn = ?"),
            arguments: [msisdn]
        ).map(Self.subscriber)
    }

    func plan(_ code: String) throws -> Plan? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM plans WHERE code = ?"), arguments: [code]).map(
            Self.plan)
    }

    func plans() throws -> [Plan] {
        try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM plans ORDER BY monthly_fee_fen, code")).map(Self.plan)
    }

    func usage(_ msisdn: String, month: Month) throws -> UsageMonth? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT \(Self.usageColumns) FROM usage WHERE msisdn = ? AND month = ?"),
            arguments: [msisdn, month.description]
        ).map(Self.usage)
    }

    func recentCalls(_ msisdn: String, limit: Int) throws -> [CallDetail] {
        try Row.fetchAll(
            db.cachedStatement(sql: "SELECT * FROM calls WHERE msisdn = ? ORDER BY started_at DESC LIMIT ?"),
            arguments: [msisdn, limit]
        ).map(Self.call)
    }

    func call(msisdn: String, startedAt: Date, peer: String) throws -> CallDetail? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT * FROM calls WHERE msisdn = ? AND started_at = ? AND peer = ?"),
            arguments: [msisdn, ISOTime.format(startedAt), peer]
        ).map(Self.call)
    }

    static func call(_ row: Row) throws -> CallDetail {
        CallDetail(
            msisdn: row["msisdn"], startedAt: try Self.time(row, "started_at", table: "calls"),
            peer: row["peer"], outgoing: (row["direction"] as String) == "out", durationSeconds: row["duration_s"],
            chargeFen: row["charge_fen"])
    }

    func pendingChanges(_ msisdn: String) throws -> [PendingChange] {
        try Row.fetchAll(
            db.cachedStatement(sql: "SELECT * FROM pending_changes WHERE msisdn = ? ORDER BY kind"), arguments: [msisdn]
        )
        .map(Self.pending)
    }

    func duePendingChanges(onOrBefore date: LocalDate) throws -> [PendingChange] {
        try Row.fetchAll(
            db.cachedStatement(
                sql: "SELECT * FROM pending_changes WHERE effective <= ? ORDER BY effective, msisdn, kind"),
            arguments: [date.description]
        ).map(Self.pending)
    }

    func save(_ s: Subscriber) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO subscribers (msisdn, name, status, status_before_loss, payment, prepaid_period, plan,
                    balance_fen, points, tier, language, premium, contract_end, blacklist, password_hash,
                    failed_password_attempts, password_locked_until, puk)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (msisdn) DO UPDATE SET name = excluded.name, status = excluded.status,
                    status_before_loss = excluded.status_before_loss, payment = excluded.payment,
                    prepaid_period = excluded.prepaid_period, plan = excluded.plan,
                    balance_fen = excluded.balance_fen, points = excluded.points, tier = excluded.tier,
                    language = excluded.language, premium = excluded.premium, contract_end = excluded.contract_end,
                    blacklist = excluded.blacklist, password_hash = excluded.password_hash,
                    failed_password_attempts = excluded.failed_password_attempts,
                    password_locked_until = excluded.password_locked_until, puk = excluded.puk
                """
        ).execute(
            arguments: [
                s.msisdn, s.name, s.status.rawValue, s.statusBeforeLoss?.rawValue, s.payment.rawValue,
                s.prepaidPeriod?.rawValue, s.planCode, s.balanceFen, s.points, s.tier.rawValue, s.language.rawValue,
                s.premium, s.contractEnd?.description, s.blacklist, s.passwordHash, s.failedPasswordAttempts,
                s.passwordLockedUntil.map(ISOTime.format), s.puk,
            ])
    }

    func insertIfAbsent(_ s: Subscriber) throws -> Bool {
        // The statement is bound and run through SQLite's own calls: a load adds up to millions of rows, and GRDB's
        // arguments (an array of values built for each row) cost more than the insert itself.
        let statement = try db.cachedStatement(sql: Self.insertSubscriberSQL)
        let handle = statement.sqliteStatement
        sqlite3_reset(handle)
        var bind = RawBinder(handle: handle)
        bind.text(s.msisdn)
        bind.text(s.name)
        bind.text(s.status.rawValue)
        bind.text(s.statusBeforeLoss?.rawValue)
        bind.text(s.payment.rawValue)
        bind.text(s.prepaidPeriod?.rawValue)
        bind.text(s.planCode)
        bind.int(s.balanceFen)
        bind.int(s.points)
        bind.text(s.tier.rawValue)
        bind.text(s.language.rawValue)
        bind.int(s.premium ? 1 : 0)
        bind.text(s.contractEnd?.description)
        bind.int(s.blacklist ? 1 : 0)
        bind.text(s.passwordHash)
        bind.int(s.failedPasswordAttempts)
        bind.text(s.passwordLockedUntil.map(ISOTime.format))
        bind.text(s.puk)
        if let failed = bind.failed { throw DatabaseError(resultCode: ResultCode(rawValue: failed)) }
        let code = sqlite3_step(handle)
        sqlite3_reset(handle)
        guard code == SQLITE_DONE else {
            throw DatabaseError(
                resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)),
                sql: Self.insertSubscriberSQL)
        }
        return sqlite3_changes(db.sqliteConnection) == 1
    }

    static let insertSubscriberSQL = """
        INSERT INTO subscribers (msisdn, name, status, status_before_loss, payment, prepaid_period, plan,
            balance_fen, points, tier, language, premium, contract_end, blacklist, password_hash,
            failed_password_attempts, password_locked_until, puk)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (msisdn) DO NOTHING
        """

    func save(_ change: PendingChange) throws {
        try db.cachedStatement(
            sql: """
                INSERT OR REPLACE INTO pending_changes (msisdn, kind, plan, effective, requested_at)
                VALUES (?, ?, ?, ?, ?)
                """
        ).execute(
            arguments: [
                change.msisdn, change.kind.rawValue, change.planCode, change.effective.description,
                ISOTime.format(change.requestedAt),
            ])
    }

    func confirmation(caller: String, channel: Channel) throws -> PendingConfirmation? {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM confirmations WHERE caller = ? AND channel = ?"),
                arguments: [caller, channel.rawValue])
        else { return nil }
        let arguments: String = row["arguments"]
        return PendingConfirmation(
            caller: row["caller"], channel: Channel(rawValue: row["channel"]),
            operation: OperationName(row["operation"] as String),
            subject: row["subject"],
            arguments: (try? JSONSerialization.jsonObject(with: Data(arguments.utf8))) as? [String: String] ?? [:],
            session: row["session"], requestedAt: try Self.time(row, "requested_at", table: "confirmations"),
            expiresAt: try Self.time(row, "expires_at", table: "confirmations"),
            language: (row["language"] as String?).map(Language.init(rawValue:)))
    }

    func save(_ c: PendingConfirmation) throws {
        try db.cachedStatement(
            sql: """
                INSERT OR REPLACE INTO confirmations
                    (caller, channel, operation, subject, arguments, session, requested_at, expires_at, language)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(
            arguments: [
                c.caller, c.channel.rawValue, c.operation.rawValue, c.subject, canonicalJSON(c.arguments), c.session,
                ISOTime.format(c.requestedAt), ISOTime.format(c.expiresAt), c.language?.rawValue,
            ])
    }

    func callerThrottle(_ caller: String) throws -> CallerThrottle? {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: "SELECT caller, failures, window_start, locked_until FROM caller_throttles WHERE caller = ?"),
                arguments: [caller])
        else { return nil }
        let locked: String? = row["locked_until"]
        return CallerThrottle(
            caller: row["caller"], failures: row["failures"],
            windowStart: try Self.time(row, "window_start", table: "caller_throttles"),
            lockedUntil: try locked.map { _ in try Self.time(row, "locked_until", table: "caller_throttles") })
    }

    func save(_ t: CallerThrottle) throws {
        try db.cachedStatement(
            sql: """
                INSERT OR REPLACE INTO caller_throttles (caller, failures, window_start, locked_until)
                VALUES (?, ?, ?, ?)
                """
        ).execute(
            arguments: [t.caller, t.failures, ISOTime.format(t.windowStart), t.lockedUntil.map(ISOTime.format)])
    }

    func deleteConfirmation(caller: String, channel: Channel) throws {
        try db.cachedStatement(sql: "DELETE FROM confirmations WHERE caller = ? AND channel = ?").execute(arguments: [
            caller, channel.rawValue,
        ])
    }

    /// A message id's first settling record (the repeat check): channel, session, caller.
    static let firstRecordSQL = """
        SELECT \(recordColumns) FROM records
        WHERE channel = ? AND session = ? AND caller = ? AND reason <> 'rate_limited'
        ORDER BY id LIMIT 1
        """

    /// A caller's records on a channel since a time (the rate limit): caller, time, channel.
    static let recordCountSQL =
        "SELECT COUNT(*) FROM records WHERE caller = ? AND time >= ? AND time <= ? AND channel = ?"

    func firstRecord(channel: Channel, session: String, caller: String) throws -> ServiceRecord? {
        try Row.fetchOne(
            db.cachedStatement(sql: Self.firstRecordSQL),
            arguments: [channel.rawValue, session, caller]
        ).map(Self.record)
    }

    func recordCount(channel: Channel, caller: String, since: Date, until: Date) throws -> Int {
        try Int.fetchOne(
            db.cachedStatement(sql: Self.recordCountSQL),
            arguments: [caller, ISOTime.format(since), ISOTime.format(until), channel.rawValue]) ?? 0
    }

    func orders(_ filter: OrderFilter) throws -> [ServiceOrder] {
        try page(
            of: "orders", columns: Self.orderColumns, state: filter.state?.rawValue, afterID: filter.afterID,
            subject: filter.subject, limit: filter.limit
        ).map(Self.order)
    }

    /// The rows of `table` in id order that match the criteria given: a state, ids after a cursor, a subject, a
    /// limit (the orders and notices lists).
    private func page(
        of table: String, columns: String, state: String?, afterID: Int64?, subject: String? = nil, limit: Int?
    ) throws -> [Row] {
        var conditions: [String] = []
        var arguments: [(any DatabaseValueConvertible)?] = []
        for (condition, value) in [("state = ?", state), ("subject = ?", subject)] {
            guard let value else { continue }
            conditions.append(condition)
            arguments.append(value)
        }
        if let afterID {
            conditions.append("id > ?")
            arguments.append(afterID)
        }
        let whereClause = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        let limitClause = limit.map { " LIMIT \(max(0, $0))" } ?? ""
        return try Row.fetchAll(
            db, sql: "SELECT \(columns) FROM \(table)\(whereClause) ORDER BY id\(limitClause)",
            arguments: StatementArguments(arguments))
    }

    func order(id: Int64) throws -> ServiceOrder? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT \(Self.orderColumns) FROM orders WHERE id = ?"), arguments: [id]
        ).map(Self.order)
    }

    func order(key: String) throws -> ServiceOrder? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT \(Self.orderColumns) FROM orders WHERE key = ?"), arguments: [key]
        ).map(Self.order)
    }

    func orderCounts() throws -> [OrderState: Int] {
        var counts: [OrderState: Int] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT state, count(*) FROM orders GROUP BY state") {
            let state: String = row[0]
            if let known = OrderState(rawValue: state) { counts[known] = row[1] }
        }
        return counts
    }

    func update(_ order: ServiceOrder) throws {
        try db.cachedStatement(
            sql: """
                UPDATE orders SET state = ?, attempts = ?, updated = ?, next_attempt = ?, last_error = ?, answer = ?,
                    outbox_file = ?
                WHERE id = ?
                """
        ).execute(arguments: [
            order.state.rawValue, order.attempts, order.updated, order.nextAttempt, order.lastError, order.answer,
            order.outboxFile, order.id,
        ])
    }

    func lastOutboxFile() throws -> Int {
        try Int.fetchOne(db.cachedStatement(sql: "SELECT max(outbox_file) FROM orders")) ?? 0
    }

    func orders(inOutboxFile file: Int) throws -> [ServiceOrder] {
        try Row.fetchAll(
            db.cachedStatement(sql: "SELECT \(Self.orderColumns) FROM orders WHERE outbox_file = ? ORDER BY id"),
            arguments: [file]
        ).map(Self.order)
    }

    func append(_ draft: OrderDraft) throws -> ServiceOrder {
        let last = try Int64.fetchOne(db.cachedStatement(sql: "SELECT max(id) FROM orders")) ?? 0
        let order = ServiceOrder(id: last + 1, draft: draft)
        try db.cachedStatement(
            sql: """
                INSERT INTO orders (id, key, operation, subject, channel, record_id, created, before, after, state,
                    attempts, updated)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            order.id, order.key, order.operation, order.subject, order.channel, order.record, order.created,
            ServiceOrder.jsonObject(order.before), ServiceOrder.jsonObject(order.after), order.state.rawValue,
            order.attempts, order.updated,
        ])
        return order
    }

    func recentPayments(_ msisdn: String, limit: Int) throws -> [Payment] {
        try Row.fetchAll(
            db.cachedStatement(
                sql:
                    "SELECT \(Self.paymentColumns) FROM payments WHERE msisdn = ? ORDER BY paid_at DESC, id DESC LIMIT ?"
            ), arguments: [msisdn, max(0, limit)]
        ).map(Self.payment)
    }

    func payment(id: String) throws -> Payment? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT \(Self.paymentColumns) FROM payments WHERE id = ?"), arguments: [id]
        ).map(Self.payment)
    }

    func event(id: String) throws -> SubscriberEvent? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT \(Self.eventColumns) FROM events WHERE id = ?"), arguments: [id]
        ).map(Self.event)
    }

    func recentEvents(_ msisdn: String, limit: Int) throws -> [SubscriberEvent] {
        try Row.fetchAll(
            db.cachedStatement(
                sql: "SELECT \(Self.eventColumns) FROM events WHERE msisdn = ? ORDER BY at DESC, id DESC LIMIT ?"),
            arguments: [msisdn, max(0, limit)]
        ).map(Self.event)
    }

    func openSubscriberNumbers() throws -> [String] {
        try String.fetchAll(db.cachedStatement(sql: "SELECT msisdn FROM subscribers WHERE status <> 'closed'"))
    }

    func lastFeedFiles() throws -> [FeedFile] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT \(Self.feedColumns) FROM feed_files f
                WHERE sequence = (SELECT max(sequence) FROM feed_files WHERE feed = f.feed) ORDER BY feed
                """
        ).map(Self.feedFile)
    }

    func feedFile(feed: String, sequence: Int) throws -> FeedFile? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT \(Self.feedColumns) FROM feed_files WHERE feed = ? AND sequence = ?"),
            arguments: [feed, sequence]
        ).map(Self.feedFile)
    }

    func deleteConfirmations(involving msisdn: String) throws {
        try db.cachedStatement(sql: "DELETE FROM confirmations WHERE caller = ? OR subject = ?").execute(arguments: [
            msisdn, msisdn,
        ])
    }

    func supersedeOrders(of msisdn: String) throws {
        try db.cachedStatement(sql: "UPDATE orders SET superseded = 1 WHERE subject = ?").execute(arguments: [msisdn])
    }

    func deleteHistory(of msisdn: String) throws {
        for sql in [
            "DELETE FROM usage WHERE msisdn = ?", "DELETE FROM calls WHERE msisdn = ?",
            "DELETE FROM payments WHERE msisdn = ?", "DELETE FROM events WHERE msisdn = ?",
            "DELETE FROM pending_changes WHERE msisdn = ?",
            "DELETE FROM caller_throttles WHERE caller = ?", "DELETE FROM subscriber_features WHERE msisdn = ?",
        ] {
            try db.cachedStatement(sql: sql).execute(arguments: [msisdn])
        }
        try deleteConfirmations(involving: msisdn)
    }

    func card(_ serial: String) throws -> RechargeCard? {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT serial, pin_digest, value_fen, validity_days, expires, state, used_at, used_for
                        FROM cards WHERE serial = ?
                        """), arguments: [serial])
        else { return nil }
        let expires: String = row[4]
        let state: String = row[5]
        let usedAt: String? = row[6]
        return RechargeCard(
            serial: row[0], pinDigest: row[1], valueFen: row[2], validityDays: row[3],
            expires: try Self.decode(LocalDate(iso: expires), "cards.expires", expires),
            state: try Self.decode(RechargeCard.State(rawValue: state), "cards.state", state),
            usedAt: try usedAt.map { try Self.decode(ISOTime.parse($0), "cards.used_at", $0) }, usedFor: row[7])
    }

    func save(_ card: RechargeCard) throws {
        try db.cachedStatement(
            sql: """
                INSERT OR REPLACE INTO cards (serial, pin_digest, value_fen, validity_days, expires, state, used_at,
                    used_for)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            card.serial, card.pinDigest, card.valueFen, card.validityDays, card.expires.description,
            card.state.rawValue, card.usedAt.map(ISOTime.format), card.usedFor,
        ])
    }

    func catalogueEntries(_ kind: CatalogueKind) throws -> [String: String] {
        var entries: [String: String] = [:]
        for row in try Row.fetchAll(
            db.cachedStatement(sql: "SELECT code, body FROM catalogue WHERE kind = ?"), arguments: [kind.rawValue])
        {
            entries[row[0]] = row[1]
        }
        return entries
    }

    func catalogueEntry(_ kind: CatalogueKind, code: String) throws -> String? {
        try String.fetchOne(
            db.cachedStatement(sql: "SELECT body FROM catalogue WHERE kind = ? AND code = ?"),
            arguments: [kind.rawValue, code])
    }

    func saveCatalogueEntry(_ kind: CatalogueKind, code: String, text: String) throws {
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO catalogue (kind, code, body) VALUES (?, ?, ?)").execute(
            arguments: [kind.rawValue, code, text])
    }

    func featuresText(_ msisdn: String) throws -> String? {
        try String.fetchOne(
            db.cachedStatement(sql: "SELECT body FROM subscriber_features WHERE msisdn = ?"), arguments: [msisdn])
    }

    func saveFeaturesText(_ text: String, of msisdn: String) throws {
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO subscriber_features (msisdn, body) VALUES (?, ?)")
            .execute(arguments: [msisdn, text])
    }

    func tickets(_ msisdn: String, limit: Int) throws -> [Ticket] {
        try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT id, msisdn, kind, category, text, offender, created FROM tickets
                    WHERE msisdn = ? ORDER BY id DESC LIMIT ?
                    """), arguments: [msisdn, limit]
        ).map { row in
            let kind: String = row[2]
            let created: String = row[6]
            return Ticket(
                id: row[0], msisdn: row[1], kind: try Self.decode(Ticket.Kind(rawValue: kind), "tickets.kind", kind),
                category: row[3], text: row[4], offender: row[5],
                created: try Self.decode(ISOTime.parse(created), "tickets.created", created))
        }
    }

    func lastTicketID() throws -> Int64 {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT max(id) FROM tickets")) ?? 0
    }

    func insert(_ filed: Ticket) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO tickets (id, msisdn, kind, category, text, offender, created) VALUES (?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            filed.id, filed.msisdn, filed.kind.rawValue, filed.category, filed.text, filed.offender,
            ISOTime.format(filed.created),
        ])
    }

    func save(_ payment: Payment) throws {
        try db.cachedStatement(
            sql: "INSERT OR REPLACE INTO payments (id, msisdn, paid_at, amount_fen, method) VALUES (?, ?, ?, ?, ?)"
        ).execute(arguments: [
            payment.id, payment.msisdn, ISOTime.format(payment.paidAt), payment.amountFen, payment.method.rawValue,
        ])
    }

    func save(_ event: SubscriberEvent) throws {
        try db.cachedStatement(
            sql: "INSERT OR REPLACE INTO events (id, msisdn, at, kind, detail) VALUES (?, ?, ?, ?, ?)"
        ).execute(arguments: [event.id, event.msisdn, ISOTime.format(event.at), event.kind.rawValue, event.detail])
    }

    func append(_ file: FeedFile) throws {
        try db.cachedStatement(
            sql: "INSERT INTO feed_files (feed, sequence, name, sha256, applied, record_id) VALUES (?, ?, ?, ?, ?, ?)"
        ).execute(arguments: [file.feed, file.sequence, file.name, file.sha256, file.applied, file.record])
    }

    static let paymentColumns = "id, msisdn, paid_at, amount_fen, method"
    static let eventColumns = "id, msisdn, at, kind, detail"
    static let feedColumns = "feed, sequence, name, sha256, applied, record_id"

    static func payment(_ row: Row) throws -> Payment {
        let methodText: String = row[4]
        return Payment(
            id: row[0], msisdn: row[1], paidAt: try time(row, "paid_at", table: "payments"), amountFen: row[3],
            method: try decode(Payment.Method(rawValue: methodText), "payments.method", methodText))
    }

    static func event(_ row: Row) throws -> SubscriberEvent {
        let kindText: String = row[3]
        return SubscriberEvent(
            id: row[0], msisdn: row[1], at: try time(row, "at", table: "events"),
            kind: try decode(SubscriberEvent.Kind(rawValue: kindText), "events.kind", kindText), detail: row[4])
    }

    static func feedFile(_ row: Row) -> FeedFile {
        FeedFile(feed: row[0], sequence: row[1], name: row[2], sha256: row[3], applied: row[4], record: row[5])
    }

    static let noticeColumns = """
        id, msisdn, kind, text, created, record_id, state, attempts, updated, next_attempt, last_error
        """

    static func notice(_ row: Row) throws -> Notice {
        let state: String = row[6]
        return Notice(
            id: row[0], msisdn: row[1], kind: row[2], text: row[3], created: row[4], record: row[5],
            state: try decode(NoticeState(rawValue: state), "notices.state", state), attempts: row[7],
            updated: row[8], nextAttempt: row[9], lastError: row[10])
    }

    func notices(_ filter: NoticeFilter) throws -> [Notice] {
        try page(
            of: "notices", columns: Self.noticeColumns, state: filter.state?.rawValue, afterID: filter.afterID,
            limit: filter.limit
        ).map(Self.notice)
    }

    func notice(id: Int64) throws -> Notice? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT \(Self.noticeColumns) FROM notices WHERE id = ?"), arguments: [id]
        ).map(Self.notice)
    }

    func append(_ draft: NoticeDraft) throws -> Notice {
        let last = try Int64.fetchOne(db.cachedStatement(sql: "SELECT max(id) FROM notices")) ?? 0
        let notice = Notice(id: last + 1, draft: draft)
        try db.cachedStatement(
            sql: """
                INSERT INTO notices (id, msisdn, kind, text, created, record_id, state, attempts, updated)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            notice.id, notice.msisdn, notice.kind, notice.text, notice.created, notice.record, notice.state.rawValue,
            notice.attempts, notice.updated,
        ])
        return notice
    }

    func update(_ notice: Notice) throws {
        try db.cachedStatement(
            sql:
                "UPDATE notices SET state = ?, attempts = ?, updated = ?, next_attempt = ?, last_error = ? WHERE id = ?"
        ).execute(arguments: [
            notice.state.rawValue, notice.attempts, notice.updated, notice.nextAttempt, notice.lastError, notice.id,
        ])
    }

    func deletePendingChange(msisdn: String, kind: PendingChange.Kind) throws {
        try db.cachedStatement(sql: "DELETE FROM pending_changes WHERE msisdn = ? AND kind = ?").execute(arguments: [
            msisdn, kind.rawValue,
        ])
    }

    func save(_ plan: Plan) throws {
        try db.cachedStatement(
            sql: """
                INSERT OR REPLACE INTO plans (code, name_zh, name_en, monthly_fee_fen, voice_minutes, sms, data_mb,
                    payment, on_sale, contract_ok)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(
            arguments: [
                plan.code, plan.nameZh, plan.nameEn, plan.monthlyFeeFen, plan.voiceMinutes, plan.sms, plan.dataMB,
                plan.payment.rawValue, plan.onSale, plan.contractOK,
            ])
    }

    func save(_ usage: UsageMonth) throws {
        try db.cachedStatement(
            sql: """
                INSERT OR REPLACE INTO usage (msisdn, month, voice_used, sms_used, data_used_mb, charges_fen)
                VALUES (?, ?, ?, ?, ?, ?)
                """
        ).execute(
            arguments: [
                usage.msisdn, usage.month.description, usage.voiceUsed, usage.smsUsed, usage.dataUsedMB,
                usage.chargesFen,
            ])
    }

    func save(_ call: CallDetail) throws {
        try db.cachedStatement(
            sql: """
                INSERT OR REPLACE INTO calls (msisdn, started_at, peer, direction, duration_s, charge_fen)
                VALUES (?, ?, ?, ?, ?, ?)
                """
        ).execute(
            arguments: [
                call.msisdn, ISOTime.format(call.startedAt), call.peer, call.outgoing ? "out" : "in",
                call.durationSeconds, call.chargeFen,
            ])
    }

    func recordChainHead() throws -> (id: Int64, hash: String)? {
        try chain?.load(db) ?? SQLiteServiceStore.head(db)
    }

    func latestCheckpoint() throws -> RecordCheckpoint? {
        try Row.fetchOne(
            db, sql: "SELECT id, time, last_id, hash, signature FROM record_checkpoints ORDER BY id DESC LIMIT 1"
        ).map(SQLiteServiceStore.checkpoint)
    }

    func insert(_ checkpoint: RecordCheckpoint) throws {
        try db.execute(
            sql: "INSERT INTO record_checkpoints (id, time, last_id, hash, signature) VALUES (?, ?, ?, ?, ?)",
            arguments: [checkpoint.id, checkpoint.time, checkpoint.lastID, checkpoint.hash, checkpoint.signature])
    }

    func append(_ draft: RecordDraft) throws -> ServiceRecord {
        let head = try chain?.load(db) ?? SQLiteServiceStore.head(db)
        let record = ServiceRecord.chained(
            draft, id: (head?.id ?? 0) + 1, prevHash: head?.hash ?? ServiceRecord.genesisHash)
        try db.cachedStatement(
            sql: """
                INSERT INTO records (id, time, channel, session, caller, subject, operation, inputs, auth, result,
                    reason, reply, duration_ms, prev_hash, hash)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            record.id, record.time, record.channel, record.session, record.caller, record.subject,
            record.operation, record.inputs, record.auth, record.result, record.reason, record.reply,
            record.durationMS, record.prevHash, record.hash,
        ])
        if let chain {
            chain.head = (record.id, record.hash)
        } else {
            try db.cachedStatement(
                sql: """
                    INSERT INTO record_chain (id, last_id, last_hash) VALUES (1, ?, ?)
                    ON CONFLICT (id) DO UPDATE SET last_id = excluded.last_id, last_hash = excluded.last_hash
                    """
            ).execute(arguments: [record.id, record.hash])
        }
        return record
    }

    // Rows on the hot paths are selected with these column lists and decoded by position: looking a
    // column up by name costs a lowercased copy of the name and a hash for every column of every row
    // (the request profile's largest item in the writer).

    /// The columns `subscriber(_:)` decodes, in its order.
    static let subscriberColumns = """
        msisdn, name, status, status_before_loss, payment, prepaid_period, plan, balance_fen, points, tier, \
        language, premium, contract_end, blacklist, password_hash, failed_password_attempts, \
        password_locked_until, puk
        """

    static func subscriber(_ row: Row) throws -> Subscriber {
        func value<T: RawRepresentable>(_ index: Int, _ column: String, _: T.Type) throws -> T
        where T.RawValue == String {
            let text: String = row[index]
            guard let v = T(rawValue: text) else { throw StoreError("subscribers.\(column): unknown value \(text)") }
            return v
        }
        let statusBefore: String? = row[3]
        let period: String? = row[5]
        let contract: String? = row[12]
        let locked: String? = row[16]
        return Subscriber(
            msisdn: row[0], name: row[1], status: try value(2, "status", SubscriberStatus.self),
            statusBeforeLoss: statusBefore.flatMap(SubscriberStatus.init(rawValue:)),
            payment: try value(4, "payment", PaymentType.self),
            prepaidPeriod: period.flatMap(PrepaidPeriod.init(rawValue:)),
            planCode: row[6], balanceFen: row[7], points: row[8],
            tier: try value(9, "tier", Tier.self), language: Language(rawValue: row[10]), premium: row[11],
            contractEnd: contract.flatMap { LocalDate(iso: $0) }, blacklist: row[13],
            passwordHash: row[14], failedPasswordAttempts: row[15],
            passwordLockedUntil: locked.flatMap(ISOTime.parse), puk: row[17])
    }

    static func plan(_ row: Row) throws -> Plan {
        let payment: String = row["payment"]
        return Plan(
            code: row["code"], nameZh: row["name_zh"], nameEn: row["name_en"], monthlyFeeFen: row["monthly_fee_fen"],
            voiceMinutes: row["voice_minutes"], sms: row["sms"], dataMB: row["data_mb"],
            payment: Plan.Eligibility(rawValue: payment) ?? .both, onSale: row["on_sale"],
            contractOK: row["contract_ok"])
    }

    /// The columns `usage(_:)` decodes, in its order.
    static let usageColumns = "msisdn, month, voice_used, sms_used, data_used_mb, charges_fen"

    static func usage(_ row: Row) throws -> UsageMonth {
        let month: String = row[1]
        return UsageMonth(
            msisdn: row[0], month: try Self.decode(Month(month), "usage.month", month),
            voiceUsed: row[2], smsUsed: row[3], dataUsedMB: row[4], chargesFen: row[5])
    }

    /// The ISO 8601 time in `column`, or a `StoreError` naming it.
    static func time(_ row: Row, _ column: String, table: String) throws -> Date {
        let text: String? = row[column]
        return try decode(text.flatMap(ISOTime.parse), "\(table).\(column)", text)
    }

    /// `value`, or a `StoreError` naming the column: a corrupt row is a fault, never a silent default.
    static func decode<T>(_ value: T?, _ column: String, _ raw: (any DatabaseValueConvertible)?) throws -> T {
        guard let value else { throw StoreError("\(column): unreadable value \(raw.map { "\($0)" } ?? "NULL")") }
        return value
    }

    static func pending(_ row: Row) throws -> PendingChange {
        let kind: String = row["kind"]
        let effective: String = row["effective"]
        guard let k = PendingChange.Kind(rawValue: kind), let date = LocalDate(iso: effective) else {
            throw StoreError("pending_changes: malformed row for \(row["msisdn"] as String)")
        }
        return PendingChange(
            msisdn: row["msisdn"], kind: k, planCode: row["plan"], effective: date,
            requestedAt: try Self.time(row, "requested_at", table: "pending_changes"))
    }

    /// The columns `record(_:)` decodes, in its order.
    static let recordColumns = """
        id, time, channel, session, caller, subject, operation, inputs, auth, result, reason, reply, duration_ms, \
        prev_hash, hash
        """

    static let orderColumns = """
        id, key, operation, subject, channel, record_id, created, before, after, state, attempts, updated,
        next_attempt, last_error, answer, outbox_file, superseded
        """

    static func order(_ row: Row) throws -> ServiceOrder {
        let state: String = row[9]
        return ServiceOrder(
            id: row[0], key: row[1], operation: row[2], subject: row[3], channel: row[4], record: row[5],
            created: row[6], before: ServiceOrder.values(fromJSON: row[7]),
            after: ServiceOrder.values(fromJSON: row[8]),
            state: try decode(OrderState(rawValue: state), "orders.state", state), attempts: row[10], updated: row[11],
            nextAttempt: row[12], lastError: row[13], answer: row[14], outboxFile: row[15], superseded: row[16])
    }

    static func record(_ row: Row) -> ServiceRecord {
        ServiceRecord(
            id: row[0], time: row[1], channel: row[2], session: row[3], caller: row[4], subject: row[5],
            operation: row[6], inputs: row[7], auth: row[8], result: row[9], reason: row[10], reply: row[11],
            durationMS: row[12], prevHash: row[13], hash: row[14])
    }
}

/// Binds a prepared statement's parameters in order through SQLite's own calls; the first failure is kept.
struct RawBinder {
    let handle: OpaquePointer
    var index: Int32 = 1
    var failed: Int32?

    /// SQLite copies the bytes before the call returns.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    mutating func text(_ value: String?) {
        let code: Int32
        if var value {
            code = value.withUTF8 { bytes in
                // An empty string may have no storage at all: a null pointer would bind NULL, not ''.
                guard let start = bytes.baseAddress, !bytes.isEmpty else {
                    return sqlite3_bind_text(handle, index, "", 0, Self.transient)
                }
                return UnsafeRawPointer(start).withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                    sqlite3_bind_text(handle, index, $0, Int32(bytes.count), Self.transient)
                }
            }
        } else {
            code = sqlite3_bind_null(handle, index)
        }
        finish(code)
    }

    mutating func int(_ value: Int) {
        finish(sqlite3_bind_int64(handle, index, Int64(value)))
    }

    private mutating func finish(_ code: Int32) {
        if code != SQLITE_OK && failed == nil { failed = code }
        index += 1
    }
}
