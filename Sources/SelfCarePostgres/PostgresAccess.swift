import Foundation
import SelfCareCore
import SelfCareCrypto

import class NIOCore.EventLoopFuture
import struct PostgresNIO.PostgresRow

/// Reads and writes through one PostgreSQL session, inside the transaction the store opened: the same contract,
/// rows and merge semantics as the SQLite store's access (the store contract tests run on both).
///
/// A write transaction holds either every partition (the store's write lock, exclusive) or one partition of the
/// numbers (`RecordPartitions`). In one partition it may read and write only that partition's numbers' rows, and
/// read what only whole-store writes change (plans, orders, notices, feeds, checkpoints); anything else throws
/// `OutOfPartition` before its statement is sent, and the store runs the write again holding everything.
struct PostgresAccess: StoreWriter {
    let session: PostgresSession
    /// The partition this transaction holds; nil: all of them.
    var partition: Int?
    /// How many partitions the database's numbers are split into (`RecordPartitions`).
    var partitions = 1

    /// A write in one partition reached beyond it.
    struct OutOfPartition: Error, CustomStringConvertible {
        let description = "the write reaches beyond its partition"
    }

    init(session: PostgresSession, partition: Int? = nil, partitions: Int = 1) {
        self.session = session
        self.partition = partition
        self.partitions = partitions
    }

    /// Reads asked for ahead of time, by this write only.
    private final class Ahead: @unchecked Sendable {
        var subscriber: (msisdn: String, rows: EventLoopFuture<[PostgresRow]>)?
        var expected: [ExpectedRead: EventLoopFuture<[PostgresRow]>] = [:]
    }
    private let ahead = Ahead()

    private static let subscriberSelect = "SELECT \(subscriberColumns) FROM subscribers WHERE msisdn = $1"

    /// Asks, without waiting, for `msisdn`'s subscriber row, which a write about that caller almost always reads,
    /// and for the reads `expected` of this partition: the write's first such read then finds its rows there
    /// instead of asking and waiting, all of them answered in one round trip. Nobody else writes these rows while
    /// this transaction holds the number's partition; this write's own changes drop what they change (a save of
    /// the row, any record appended).
    func readAhead(subscriber msisdn: String, expected: [ExpectedRead]) throws {
        try own(msisdn)
        ahead.subscriber = (msisdn, try session.sendPrepared(Self.subscriberSelect, Binds(msisdn)))
        for read in Set(expected) {
            let (number, sql, binds) = Self.query(read)
            guard partition == nil || RecordPartitions.partition(of: number, count: partitions) == partition else {
                continue
            }
            ahead.expected[read] = try session.sendPrepared(sql, binds)
        }
    }

    /// The number an expected read is about, its statement and its values: the very ones the read itself runs.
    private static func query(_ read: ExpectedRead) -> (number: String, sql: String, binds: Binds) {
        switch read {
        case .usage(let msisdn, let month):
            return (
                msisdn, "SELECT \(usageColumns) FROM usage WHERE msisdn = $1 AND month = $2",
                Binds(msisdn, month.description)
            )
        case .recordCount(let channel, let caller, let since, let until):
            return (
                caller, "SELECT count(*) FROM records WHERE caller = $1 AND time >= $2 AND time <= $3 AND channel = $4",
                Binds(caller, ISOTime.format(since), ISOTime.format(until), channel.rawValue)
            )
        case .firstRecord(let channel, let session, let caller):
            return (
                caller,
                """
                SELECT \(recordColumns) FROM records
                WHERE channel = $1 AND session = $2 AND caller = $3 AND reason <> $4
                ORDER BY id LIMIT 1
                """,
                Binds(channel.rawValue, session, caller, "rate_limited")
            )
        }
    }

    /// The rows of `read`: those asked for ahead when they are there, else asked for now.
    private func rows(of read: ExpectedRead) throws -> [Cells] {
        guard let future = ahead.expected.removeValue(forKey: read) else {
            let (_, sql, binds) = Self.query(read)
            return try rows(sql, binds)
        }
        return try session.answer(future).map { Cells($0, prepared: true) }
    }

    /// Throws `OutOfPartition` unless this transaction holds `number`'s partition.
    private func own(_ number: String) throws {
        guard let partition else { return }
        guard RecordPartitions.partition(of: number, count: partitions) == partition else { throw OutOfPartition() }
    }

    /// Throws `OutOfPartition` unless this transaction holds every partition.
    private func everything() throws {
        if partition != nil { throw OutOfPartition() }
    }

    private func rows(_ sql: String, _ binds: Binds = Binds()) throws -> [Cells] {
        try session.execute(sql, binds).map { Cells($0, prepared: true) }
    }

    private func one(_ sql: String, _ binds: Binds = Binds()) throws -> Cells? {
        try rows(sql, binds).first
    }

    private func run(_ sql: String, _ binds: Binds = Binds()) throws {
        try session.execute(sql, binds)
    }

    // MARK: - Subscribers and plans

    static let subscriberColumns = """
        msisdn, name, status, status_before_loss, payment, prepaid_period, plan, balance_fen, points, tier, \
        language, premium, contract_end, blacklist, password_hash, failed_password_attempts, \
        password_locked_until, puk
        """

    func subscriber(_ msisdn: String) throws -> Subscriber? {
        try own(msisdn)
        if let ahead = ahead.subscriber, ahead.msisdn == msisdn {
            self.ahead.subscriber = nil
            return try session.answer(ahead.rows).first.map { try Self.subscriber(Cells($0, prepared: true)) }
        }
        return try one(Self.subscriberSelect, Binds(msisdn)).map(Self.subscriber)
    }

    private static func subscriberBinds(_ s: Subscriber) -> Binds {
        Binds(
            s.msisdn, s.name, s.status.rawValue, s.statusBeforeLoss?.rawValue, s.payment.rawValue,
            s.prepaidPeriod?.rawValue, s.planCode, s.balanceFen, s.points, s.tier.rawValue, s.language.rawValue,
            s.premium, s.contractEnd?.description, s.blacklist, s.passwordHash, s.failedPasswordAttempts,
            s.passwordLockedUntil.map(ISOTime.format), s.puk)
    }

    private static let subscriberInsert = """
        INSERT INTO subscribers (\(subscriberColumns))
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
        """

    func save(_ s: Subscriber) throws {
        try own(s.msisdn)
        if ahead.subscriber?.msisdn == s.msisdn { ahead.subscriber = nil }
        try run(
            Self.subscriberInsert + """

                ON CONFLICT (msisdn) DO UPDATE SET name = excluded.name, status = excluded.status,
                    status_before_loss = excluded.status_before_loss, payment = excluded.payment,
                    prepaid_period = excluded.prepaid_period, plan = excluded.plan,
                    balance_fen = excluded.balance_fen, points = excluded.points, tier = excluded.tier,
                    language = excluded.language, premium = excluded.premium, contract_end = excluded.contract_end,
                    blacklist = excluded.blacklist, password_hash = excluded.password_hash,
                    failed_password_attempts = excluded.failed_password_attempts,
                    password_locked_until = excluded.password_locked_until, puk = excluded.puk
                """, Self.subscriberBinds(s))
    }

    func insertIfAbsent(_ s: Subscriber) throws -> Bool {
        try own(s.msisdn)
        if ahead.subscriber?.msisdn == s.msisdn { ahead.subscriber = nil }
        let sql = Self.subscriberInsert + "\nON CONFLICT (msisdn) DO NOTHING"
        return try session.query(sql, Self.subscriberBinds(s)).metadata.rows == 1
    }

    static func subscriber(_ row: Cells) throws -> Subscriber {
        func value<T: RawRepresentable>(_ index: Int, _ column: String, _: T.Type) throws -> T
        where T.RawValue == String {
            let text = try row.string(index)
            guard let v = T(rawValue: text) else {
                throw PostgresStoreError("subscribers.\(column): unknown value \(text)")
            }
            return v
        }
        return Subscriber(
            msisdn: try row.string(0), name: try row.string(1), status: try value(2, "status", SubscriberStatus.self),
            statusBeforeLoss: try row.optionalString(3).flatMap(SubscriberStatus.init(rawValue:)),
            payment: try value(4, "payment", PaymentType.self),
            prepaidPeriod: try row.optionalString(5).flatMap(PrepaidPeriod.init(rawValue:)),
            planCode: try row.string(6), balanceFen: try row.int(7), points: try row.int(8),
            tier: try value(9, "tier", Tier.self), language: Language(rawValue: try row.string(10)),
            premium: try row.bool(11), contractEnd: try row.optionalString(12).flatMap { LocalDate(iso: $0) },
            blacklist: try row.bool(13), passwordHash: try row.optionalString(14),
            failedPasswordAttempts: try row.int(15),
            passwordLockedUntil: try row.optionalString(16).flatMap(ISOTime.parse), puk: try row.optionalString(17))
    }

    static let planColumns =
        "code, name_zh, name_en, monthly_fee_fen, voice_minutes, sms, data_mb, payment, on_sale, contract_ok"

    static func plan(_ row: Cells) throws -> Plan {
        Plan(
            code: try row.string(0), nameZh: try row.string(1), nameEn: try row.string(2),
            monthlyFeeFen: try row.int(3), voiceMinutes: try row.int(4), sms: try row.int(5), dataMB: try row.int(6),
            payment: Plan.Eligibility(rawValue: try row.string(7)) ?? .both, onSale: try row.bool(8),
            contractOK: try row.bool(9))
    }

    func plan(_ code: String) throws -> Plan? {
        try one("SELECT \(Self.planColumns) FROM plans WHERE code = $1", Binds(code)).map(Self.plan)
    }

    func plans() throws -> [Plan] {
        try rows("SELECT \(Self.planColumns) FROM plans ORDER BY monthly_fee_fen, code").map(Self.plan)
    }

    func save(_ plan: Plan) throws {
        try everything()
        try run(
            """
            INSERT INTO plans (\(Self.planColumns)) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            ON CONFLICT (code) DO UPDATE SET name_zh = excluded.name_zh, name_en = excluded.name_en,
                monthly_fee_fen = excluded.monthly_fee_fen, voice_minutes = excluded.voice_minutes, sms = excluded.sms,
                data_mb = excluded.data_mb, payment = excluded.payment, on_sale = excluded.on_sale,
                contract_ok = excluded.contract_ok
            """,
            Binds(
                plan.code, plan.nameZh, plan.nameEn, plan.monthlyFeeFen, plan.voiceMinutes, plan.sms, plan.dataMB,
                plan.payment.rawValue, plan.onSale, plan.contractOK))
    }

    func openSubscriberNumbers() throws -> [String] {
        try everything()
        return try rows("SELECT msisdn FROM subscribers WHERE status <> 'closed'").map { try $0.string(0) }
    }

    // MARK: - Usage, calls, payments, events

    static let usageColumns = "msisdn, month, voice_used, sms_used, data_used_mb, charges_fen"

    func usage(_ msisdn: String, month: Month) throws -> UsageMonth? {
        try own(msisdn)
        return try rows(of: .usage(msisdn: msisdn, month: month)).first.map { row in
            let text = try row.string(1)
            guard let month = Month(text) else { throw PostgresStoreError("usage.month: unreadable value \(text)") }
            return UsageMonth(
                msisdn: try row.string(0), month: month, voiceUsed: try row.int(2), smsUsed: try row.int(3),
                dataUsedMB: try row.int(4), chargesFen: try row.int(5))
        }
    }

    func save(_ usage: UsageMonth) throws {
        try own(usage.msisdn)
        ahead.expected[.usage(msisdn: usage.msisdn, month: usage.month)] = nil
        try run(
            """
            INSERT INTO usage (\(Self.usageColumns)) VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (msisdn, month) DO UPDATE SET voice_used = excluded.voice_used, sms_used = excluded.sms_used,
                data_used_mb = excluded.data_used_mb, charges_fen = excluded.charges_fen
            """,
            Binds(
                usage.msisdn, usage.month.description, usage.voiceUsed, usage.smsUsed, usage.dataUsedMB,
                usage.chargesFen))
    }

    static let callColumns = "msisdn, started_at, peer, direction, duration_s, charge_fen"

    static func call(_ row: Cells) throws -> CallDetail {
        CallDetail(
            msisdn: try row.string(0), startedAt: try time(try row.string(1), "calls.started_at"),
            peer: try row.string(2), outgoing: try row.string(3) == "out", durationSeconds: try row.int(4),
            chargeFen: try row.int(5))
    }

    func recentCalls(_ msisdn: String, limit: Int) throws -> [CallDetail] {
        try own(msisdn)
        return try rows(
            "SELECT \(Self.callColumns) FROM calls WHERE msisdn = $1 ORDER BY started_at DESC LIMIT $2",
            Binds(msisdn, max(0, limit))
        ).map(Self.call)
    }

    func call(msisdn: String, startedAt: Date, peer: String) throws -> CallDetail? {
        try own(msisdn)
        return try one(
            "SELECT \(Self.callColumns) FROM calls WHERE msisdn = $1 AND started_at = $2 AND peer = $3",
            Binds(msisdn, ISOTime.format(startedAt), peer)
        ).map(Self.call)
    }

    func save(_ call: CallDetail) throws {
        try own(call.msisdn)
        try run(
            """
            INSERT INTO calls (\(Self.callColumns)) VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (msisdn, started_at, peer) DO UPDATE SET direction = excluded.direction,
                duration_s = excluded.duration_s, charge_fen = excluded.charge_fen
            """,
            Binds(
                call.msisdn, ISOTime.format(call.startedAt), call.peer, call.outgoing ? "out" : "in",
                call.durationSeconds, call.chargeFen))
    }

    static let paymentColumns = "id, msisdn, paid_at, amount_fen, method"

    static func payment(_ row: Cells) throws -> Payment {
        let method = try row.string(4)
        guard let known = Payment.Method(rawValue: method) else {
            throw PostgresStoreError("payments.method: unreadable value \(method)")
        }
        return Payment(
            id: try row.string(0), msisdn: try row.string(1), paidAt: try time(try row.string(2), "payments.paid_at"),
            amountFen: try row.int(3), method: known)
    }

    func recentPayments(_ msisdn: String, limit: Int) throws -> [Payment] {
        try own(msisdn)
        return try rows(
            "SELECT \(Self.paymentColumns) FROM payments WHERE msisdn = $1 ORDER BY paid_at DESC, id DESC LIMIT $2",
            Binds(msisdn, max(0, limit))
        ).map(Self.payment)
    }

    func payment(id: String) throws -> Payment? {
        try everything()
        return try one("SELECT \(Self.paymentColumns) FROM payments WHERE id = $1", Binds(id)).map(Self.payment)
    }

    func save(_ payment: Payment) throws {
        try everything()
        try run(
            """
            INSERT INTO payments (\(Self.paymentColumns)) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (id) DO UPDATE SET msisdn = excluded.msisdn, paid_at = excluded.paid_at,
                amount_fen = excluded.amount_fen, method = excluded.method
            """,
            Binds(
                payment.id, payment.msisdn, ISOTime.format(payment.paidAt), payment.amountFen,
                payment.method.rawValue))
    }

    static let eventColumns = "id, msisdn, at, kind, detail"

    static func event(_ row: Cells) throws -> SubscriberEvent {
        let kind = try row.string(3)
        guard let known = SubscriberEvent.Kind(rawValue: kind) else {
            throw PostgresStoreError("events.kind: unreadable value \(kind)")
        }
        return SubscriberEvent(
            id: try row.string(0), msisdn: try row.string(1), at: try time(try row.string(2), "events.at"),
            kind: known, detail: try row.string(4))
    }

    func event(id: String) throws -> SubscriberEvent? {
        try everything()
        return try one("SELECT \(Self.eventColumns) FROM events WHERE id = $1", Binds(id)).map(Self.event)
    }

    func recentEvents(_ msisdn: String, limit: Int) throws -> [SubscriberEvent] {
        try own(msisdn)
        return try rows(
            "SELECT \(Self.eventColumns) FROM events WHERE msisdn = $1 ORDER BY at DESC, id DESC LIMIT $2",
            Binds(msisdn, max(0, limit))
        ).map(Self.event)
    }

    func save(_ event: SubscriberEvent) throws {
        try everything()
        try run(
            """
            INSERT INTO events (\(Self.eventColumns)) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (id) DO UPDATE SET msisdn = excluded.msisdn, at = excluded.at, kind = excluded.kind,
                detail = excluded.detail
            """,
            Binds(event.id, event.msisdn, ISOTime.format(event.at), event.kind.rawValue, event.detail))
    }

    // MARK: - Pending changes, confirmations, throttles

    func pendingChanges(_ msisdn: String) throws -> [PendingChange] {
        try own(msisdn)
        return try rows(
            "SELECT msisdn, kind, plan, effective, requested_at FROM pending_changes WHERE msisdn = $1 ORDER BY kind",
            Binds(msisdn)
        ).map(Self.pending)
    }

    func duePendingChanges(onOrBefore date: LocalDate) throws -> [PendingChange] {
        try everything()
        return try rows(
            """
            SELECT msisdn, kind, plan, effective, requested_at FROM pending_changes WHERE effective <= $1
            ORDER BY effective, msisdn, kind
            """, Binds(date.description)
        ).map(Self.pending)
    }

    static func pending(_ row: Cells) throws -> PendingChange {
        let msisdn = try row.string(0)
        guard let kind = PendingChange.Kind(rawValue: try row.string(1)),
            let effective = LocalDate(iso: try row.string(3))
        else { throw PostgresStoreError("pending_changes: malformed row for \(msisdn)") }
        return PendingChange(
            msisdn: msisdn, kind: kind, planCode: try row.optionalString(2), effective: effective,
            requestedAt: try time(try row.string(4), "pending_changes.requested_at"))
    }

    func save(_ change: PendingChange) throws {
        try own(change.msisdn)
        try run(
            """
            INSERT INTO pending_changes (msisdn, kind, plan, effective, requested_at) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (msisdn, kind) DO UPDATE SET plan = excluded.plan, effective = excluded.effective,
                requested_at = excluded.requested_at
            """,
            Binds(
                change.msisdn, change.kind.rawValue, change.planCode, change.effective.description,
                ISOTime.format(change.requestedAt)))
    }

    func deletePendingChange(msisdn: String, kind: PendingChange.Kind) throws {
        try own(msisdn)
        try run("DELETE FROM pending_changes WHERE msisdn = $1 AND kind = $2", Binds(msisdn, kind.rawValue))
    }

    func confirmation(caller: String, channel: Channel) throws -> PendingConfirmation? {
        try own(caller)
        return try one(
            """
            SELECT caller, channel, operation, subject, arguments, session, requested_at, expires_at, language
            FROM confirmations WHERE caller = $1 AND channel = $2
            """, Binds(caller, channel.rawValue)
        ).map { row in
            let arguments = try row.string(4)
            return PendingConfirmation(
                caller: try row.string(0), channel: Channel(rawValue: try row.string(1)),
                operation: OperationName(try row.string(2)), subject: try row.string(3),
                arguments: (try? JSONSerialization.jsonObject(with: Data(arguments.utf8))) as? [String: String] ?? [:],
                session: try row.optionalString(5),
                requestedAt: try Self.time(try row.string(6), "confirmations.requested_at"),
                expiresAt: try Self.time(try row.string(7), "confirmations.expires_at"),
                language: try row.optionalString(8).map(Language.init(rawValue:)))
        }
    }

    func save(_ c: PendingConfirmation) throws {
        try own(c.caller)
        try run(
            """
            INSERT INTO confirmations
                (caller, channel, operation, subject, arguments, session, requested_at, expires_at, language)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            ON CONFLICT (caller, channel) DO UPDATE SET operation = excluded.operation, subject = excluded.subject,
                arguments = excluded.arguments, session = excluded.session, requested_at = excluded.requested_at,
                expires_at = excluded.expires_at, language = excluded.language
            """,
            Binds(
                c.caller, c.channel.rawValue, c.operation.rawValue, c.subject, canonicalJSON(c.arguments), c.session,
                ISOTime.format(c.requestedAt), ISOTime.format(c.expiresAt), c.language?.rawValue))
    }

    func deleteConfirmation(caller: String, channel: Channel) throws {
        try own(caller)
        try run("DELETE FROM confirmations WHERE caller = $1 AND channel = $2", Binds(caller, channel.rawValue))
    }

    func deleteConfirmations(involving msisdn: String) throws {
        try everything()
        try run("DELETE FROM confirmations WHERE caller = $1 OR subject = $1", Binds(msisdn))
    }

    func callerThrottle(_ caller: String) throws -> CallerThrottle? {
        try own(caller)
        return try one(
            "SELECT caller, failures, window_start, locked_until FROM caller_throttles WHERE caller = $1",
            Binds(caller)
        ).map { row in
            CallerThrottle(
                caller: try row.string(0), failures: try row.int(1),
                windowStart: try Self.time(try row.string(2), "caller_throttles.window_start"),
                lockedUntil: try row.optionalString(3).map { try Self.time($0, "caller_throttles.locked_until") })
        }
    }

    func save(_ t: CallerThrottle) throws {
        try own(t.caller)
        try run(
            """
            INSERT INTO caller_throttles (caller, failures, window_start, locked_until) VALUES ($1, $2, $3, $4)
            ON CONFLICT (caller) DO UPDATE SET failures = excluded.failures, window_start = excluded.window_start,
                locked_until = excluded.locked_until
            """,
            Binds(t.caller, t.failures, ISOTime.format(t.windowStart), t.lockedUntil.map(ISOTime.format)))
    }

    func deleteHistory(of msisdn: String) throws {
        try everything()
        for sql in [
            "DELETE FROM usage WHERE msisdn = $1", "DELETE FROM calls WHERE msisdn = $1",
            "DELETE FROM payments WHERE msisdn = $1", "DELETE FROM events WHERE msisdn = $1",
            "DELETE FROM pending_changes WHERE msisdn = $1", "DELETE FROM caller_throttles WHERE caller = $1",
            "DELETE FROM subscriber_features WHERE msisdn = $1",
        ] {
            try run(sql, Binds(msisdn))
        }
        try deleteConfirmations(involving: msisdn)
    }

    // MARK: - Cards, catalogues, features and tickets

    func card(_ serial: String) throws -> RechargeCard? {
        try one(
            """
            SELECT serial, pin_digest, value_fen, validity_days, expires, state, used_at, used_for
            FROM cards WHERE serial = $1
            """, Binds(serial)
        ).map { row in
            let expires = try row.string(4)
            let state = try row.string(5)
            guard let date = LocalDate(iso: expires), let cardState = RechargeCard.State(rawValue: state) else {
                throw PostgresStoreError("cards \(try row.string(0)): unreadable expiry or state")
            }
            return RechargeCard(
                serial: try row.string(0), pinDigest: try row.string(1), valueFen: try row.int(2),
                validityDays: try row.int(3), expires: date, state: cardState,
                usedAt: try row.optionalString(6).map { try Self.time($0, "cards.used_at") },
                usedFor: try row.optionalString(7))
        }
    }

    func save(_ card: RechargeCard) throws {
        // Cards are not any number's: a transaction that changes one holds the whole store.
        try everything()
        try run(
            """
            INSERT INTO cards (serial, pin_digest, value_fen, validity_days, expires, state, used_at, used_for)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT (serial) DO UPDATE SET pin_digest = excluded.pin_digest, value_fen = excluded.value_fen,
                validity_days = excluded.validity_days, expires = excluded.expires, state = excluded.state,
                used_at = excluded.used_at, used_for = excluded.used_for
            """,
            Binds(
                card.serial, card.pinDigest, card.valueFen, card.validityDays, card.expires.description,
                card.state.rawValue, card.usedAt.map(ISOTime.format), card.usedFor))
    }

    func catalogueEntries(_ kind: CatalogueKind) throws -> [String: String] {
        var entries: [String: String] = [:]
        for row in try rows("SELECT code, body FROM catalogue WHERE kind = $1", Binds(kind.rawValue)) {
            entries[try row.string(0)] = try row.string(1)
        }
        return entries
    }

    func catalogueEntry(_ kind: CatalogueKind, code: String) throws -> String? {
        try one("SELECT body FROM catalogue WHERE kind = $1 AND code = $2", Binds(kind.rawValue, code)).map {
            try $0.string(0)
        }
    }

    func saveCatalogueEntry(_ kind: CatalogueKind, code: String, text: String) throws {
        try everything()
        try run(
            """
            INSERT INTO catalogue (kind, code, body) VALUES ($1, $2, $3)
            ON CONFLICT (kind, code) DO UPDATE SET body = excluded.body
            """, Binds(kind.rawValue, code, text))
    }

    func featuresText(_ msisdn: String) throws -> String? {
        try own(msisdn)
        return try one("SELECT body FROM subscriber_features WHERE msisdn = $1", Binds(msisdn)).map {
            try $0.string(0)
        }
    }

    func saveFeaturesText(_ text: String, of msisdn: String) throws {
        try own(msisdn)
        try run(
            """
            INSERT INTO subscriber_features (msisdn, body) VALUES ($1, $2)
            ON CONFLICT (msisdn) DO UPDATE SET body = excluded.body
            """, Binds(msisdn, text))
    }

    func tickets(_ msisdn: String, limit: Int) throws -> [Ticket] {
        try own(msisdn)
        return try rows(
            """
            SELECT id, msisdn, kind, category, text, offender, created FROM tickets
            WHERE msisdn = $1 ORDER BY id DESC LIMIT $2
            """, Binds(msisdn, limit)
        ).map { row in
            let kind = try row.string(2)
            guard let ticketKind = Ticket.Kind(rawValue: kind) else {
                throw PostgresStoreError("tickets \(try row.int64(0)): unknown kind \(kind)")
            }
            return Ticket(
                id: try row.int64(0), msisdn: try row.string(1), kind: ticketKind, category: try row.string(3),
                text: try row.string(4), offender: try row.optionalString(5),
                created: try Self.time(try row.string(6), "tickets.created"))
        }
    }

    func lastTicketID() throws -> Int64 {
        // Ticket numbers are one sequence for the whole store.
        try everything()
        return try one("SELECT COALESCE(max(id), 0) FROM tickets").map { try $0.int64(0) } ?? 0
    }

    func insert(_ filed: Ticket) throws {
        try everything()
        try run(
            "INSERT INTO tickets (id, msisdn, kind, category, text, offender, created) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            Binds(
                filed.id, filed.msisdn, filed.kind.rawValue, filed.category, filed.text, filed.offender,
                ISOTime.format(filed.created)))
    }

    // MARK: - Feeds

    static let feedColumns = "feed, sequence, name, sha256, applied, record_id"

    static func feedFile(_ row: Cells) throws -> FeedFile {
        FeedFile(
            feed: try row.string(0), sequence: try row.int(1), name: try row.string(2), sha256: try row.string(3),
            applied: try row.string(4), record: try row.int64(5))
    }

    func lastFeedFiles() throws -> [FeedFile] {
        try rows(
            """
            SELECT \(Self.feedColumns) FROM feed_files f
            WHERE sequence = (SELECT max(sequence) FROM feed_files WHERE feed = f.feed) ORDER BY feed
            """
        ).map(Self.feedFile)
    }

    func feedFile(feed: String, sequence: Int) throws -> FeedFile? {
        try one(
            "SELECT \(Self.feedColumns) FROM feed_files WHERE feed = $1 AND sequence = $2", Binds(feed, sequence)
        ).map(Self.feedFile)
    }

    func append(_ file: FeedFile) throws {
        try everything()
        try run(
            "INSERT INTO feed_files (\(Self.feedColumns)) VALUES ($1, $2, $3, $4, $5, $6)",
            Binds(file.feed, file.sequence, file.name, file.sha256, file.applied, file.record))
    }

    // MARK: - Orders and notices

    static let orderColumns = """
        id, key, operation, subject, channel, record_id, created, before, after, state, attempts, updated,
        next_attempt, last_error, answer, outbox_file, superseded
        """

    static func order(_ row: Cells) throws -> ServiceOrder {
        let state = try row.string(9)
        guard let known = OrderState(rawValue: state) else {
            throw PostgresStoreError("orders.state: unreadable value \(state)")
        }
        return ServiceOrder(
            id: try row.int64(0), key: try row.string(1), operation: try row.string(2), subject: try row.string(3),
            channel: try row.string(4), record: try row.int64(5), created: try row.string(6),
            before: ServiceOrder.values(fromJSON: try row.string(7)),
            after: ServiceOrder.values(fromJSON: try row.string(8)), state: known, attempts: try row.int(10),
            updated: try row.string(11), nextAttempt: try row.optionalString(12), lastError: try row.optionalString(13),
            answer: try row.optionalString(14), outboxFile: try row.optionalInt(15), superseded: try row.bool(16))
    }

    /// The rows of `table` in id order that match the criteria given (the orders and notices lists).
    private func page(
        of table: String, columns: String, state: String?, afterID: Int64?, subject: String? = nil, limit: Int?
    ) throws -> [Cells] {
        var conditions: [String] = []
        var binds = Binds()
        var count = 0
        for (column, value) in [("state", state), ("subject", subject)] {
            guard let value else { continue }
            count += 1
            conditions.append("\(column) = $\(count)")
            binds.add(value)
        }
        if let afterID {
            count += 1
            conditions.append("id > $\(count)")
            binds.add(afterID)
        }
        let whereClause = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        let limitClause = limit.map { " LIMIT \(max(0, $0))" } ?? ""
        return try rows("SELECT \(columns) FROM \(table)\(whereClause) ORDER BY id\(limitClause)", binds)
    }

    func orders(_ filter: OrderFilter) throws -> [ServiceOrder] {
        try page(
            of: "orders", columns: Self.orderColumns, state: filter.state?.rawValue, afterID: filter.afterID,
            subject: filter.subject, limit: filter.limit
        ).map(Self.order)
    }

    func order(id: Int64) throws -> ServiceOrder? {
        try one("SELECT \(Self.orderColumns) FROM orders WHERE id = $1", Binds(id)).map(Self.order)
    }

    func order(key: String) throws -> ServiceOrder? {
        try one("SELECT \(Self.orderColumns) FROM orders WHERE key = $1", Binds(key)).map(Self.order)
    }

    func orderCounts() throws -> [OrderState: Int] {
        var counts: [OrderState: Int] = [:]
        for row in try rows("SELECT state, count(*) FROM orders GROUP BY state") {
            if let known = OrderState(rawValue: try row.string(0)) { counts[known] = try row.int(1) }
        }
        return counts
    }

    func update(_ order: ServiceOrder) throws {
        try everything()
        try run(
            """
            UPDATE orders SET state = $1, attempts = $2, updated = $3, next_attempt = $4, last_error = $5,
                answer = $6, outbox_file = $7
            WHERE id = $8
            """,
            Binds(
                order.state.rawValue, order.attempts, order.updated, order.nextAttempt, order.lastError, order.answer,
                order.outboxFile, order.id))
    }

    func lastOutboxFile() throws -> Int {
        try one("SELECT max(outbox_file) FROM orders")?.optionalInt(0) ?? 0
    }

    func orders(inOutboxFile file: Int) throws -> [ServiceOrder] {
        try rows("SELECT \(Self.orderColumns) FROM orders WHERE outbox_file = $1 ORDER BY id", Binds(file)).map(
            Self.order)
    }

    func append(_ draft: OrderDraft) throws -> ServiceOrder {
        try everything()
        let last = try one("SELECT max(id) FROM orders")?.optionalInt(0) ?? 0
        let order = ServiceOrder(id: Int64(last) + 1, draft: draft)
        try run(
            """
            INSERT INTO orders (id, key, operation, subject, channel, record_id, created, before, after, state,
                attempts, updated)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
            """,
            Binds(
                order.id, order.key, order.operation, order.subject, order.channel, order.record, order.created,
                ServiceOrder.jsonObject(order.before), ServiceOrder.jsonObject(order.after), order.state.rawValue,
                order.attempts, order.updated))
        return order
    }

    func supersedeOrders(of msisdn: String) throws {
        try everything()
        try run("UPDATE orders SET superseded = true WHERE subject = $1", Binds(msisdn))
    }

    static let noticeColumns =
        "id, msisdn, kind, text, created, record_id, state, attempts, updated, next_attempt, last_error"

    static func notice(_ row: Cells) throws -> Notice {
        let state = try row.string(6)
        guard let known = NoticeState(rawValue: state) else {
            throw PostgresStoreError("notices.state: unreadable value \(state)")
        }
        return Notice(
            id: try row.int64(0), msisdn: try row.string(1), kind: try row.string(2), text: try row.string(3),
            created: try row.string(4), record: try row.int64(5), state: known, attempts: try row.int(7),
            updated: try row.string(8), nextAttempt: try row.optionalString(9), lastError: try row.optionalString(10))
    }

    func notices(_ filter: NoticeFilter) throws -> [Notice] {
        try page(
            of: "notices", columns: Self.noticeColumns, state: filter.state?.rawValue, afterID: filter.afterID,
            limit: filter.limit
        ).map(Self.notice)
    }

    func notice(id: Int64) throws -> Notice? {
        try one("SELECT \(Self.noticeColumns) FROM notices WHERE id = $1", Binds(id)).map(Self.notice)
    }

    func append(_ draft: NoticeDraft) throws -> Notice {
        try everything()
        let last = try one("SELECT max(id) FROM notices")?.optionalInt(0) ?? 0
        let notice = Notice(id: Int64(last) + 1, draft: draft)
        try run(
            """
            INSERT INTO notices (id, msisdn, kind, text, created, record_id, state, attempts, updated)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            """,
            Binds(
                notice.id, notice.msisdn, notice.kind, notice.text, notice.created, notice.record,
                notice.state.rawValue, notice.attempts, notice.updated))
        return notice
    }

    func update(_ notice: Notice) throws {
        try everything()
        try run(
            "UPDATE notices SET state = $1, attempts = $2, updated = $3, next_attempt = $4, last_error = $5 WHERE id = $6",
            Binds(
                notice.state.rawValue, notice.attempts, notice.updated, notice.nextAttempt, notice.lastError,
                notice.id))
    }

    // MARK: - Records

    static let recordColumns = """
        id, time, channel, session, caller, subject, operation, inputs, auth, result, reason, reply, duration_ms, \
        prev_hash, hash
        """

    static func record(_ row: Cells) throws -> ServiceRecord {
        ServiceRecord(
            id: try row.int64(0), time: try row.string(1), channel: try row.string(2),
            session: try row.optionalString(3), caller: try row.string(4), subject: try row.string(5),
            operation: try row.string(6), inputs: try row.string(7), auth: try row.string(8),
            result: try row.string(9), reason: try row.string(10), reply: try row.string(11),
            durationMS: try row.int(12), prevHash: try row.string(13), hash: try row.string(14))
    }

    func firstRecord(channel: Channel, session: String, caller: String) throws -> ServiceRecord? {
        try own(caller)
        return try rows(of: .firstRecord(channel: channel, session: session, caller: caller)).first.map(Self.record)
    }

    func recordCount(channel: Channel, caller: String, since: Date, until: Date) throws -> Int {
        try own(caller)
        return try rows(of: .recordCount(channel: channel, caller: caller, since: since, until: until)).first?.int(0)
            ?? 0
    }

    /// Every chain's head, by chain: its last record's id and hash.
    static func heads(_ session: PostgresSession) throws -> [Int: (id: Int64, hash: String)] {
        var heads: [Int: (id: Int64, hash: String)] = [:]
        for row in try session.query("SELECT id, last_id, last_hash FROM record_chain").rows.map { Cells($0) } {
            heads[try row.int(0)] = (try row.int64(1), try row.string(2))
        }
        return heads
    }

    /// The head of the chain that holds the latest record.
    func recordChainHead() throws -> (id: Int64, hash: String)? {
        try everything()
        return try Self.heads(session).values.max { $0.id < $1.id }
    }

    func recordChainHeads() throws -> [Int: (id: Int64, hash: String)] {
        try everything()
        return try Self.heads(session)
    }

    /// The sequence's last id handed out: holding the whole store, no batch that took ids is still under way.
    func recordIDsIssued() throws -> Int64? {
        try everything()
        return try one("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM records_id")?.int64(0)
    }

    static let checkpointColumns = "id, chain, time, last_id, hash, signature, ids_through"

    static func checkpoint(_ row: Cells) throws -> RecordCheckpoint {
        RecordCheckpoint(
            id: try row.int64(0), chain: try row.int(1), time: try row.string(2), lastID: try row.int64(3),
            hash: try row.string(4), signature: try row.string(5), idsThrough: try row.optionalInt(6).map(Int64.init))
    }

    func latestCheckpoint() throws -> RecordCheckpoint? {
        try session.query("SELECT \(Self.checkpointColumns) FROM record_checkpoints ORDER BY id DESC LIMIT 1").rows
            .first.map { try Self.checkpoint(Cells($0)) }
    }

    func insert(_ checkpoint: RecordCheckpoint) throws {
        try everything()
        try run(
            "INSERT INTO record_checkpoints (\(Self.checkpointColumns)) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            Binds(
                checkpoint.id, checkpoint.chain, checkpoint.time, checkpoint.lastID, checkpoint.hash,
                checkpoint.signature, checkpoint.idsThrough))
    }

    /// The chain this transaction appends to: chain 1 for a transaction that holds the whole store, chain
    /// 1 + P for one that holds partition P. Each chain has one writer at a time: the one holding its lock.
    var chain: Int { partition.map { $0 + 1 } ?? 1 }

    /// Chains `draft` after the last record of this transaction's chain, with the next id of the ids the
    /// transaction took. The chain's head and the ids are read in one round trip, under the lock that makes this
    /// transaction the chain's only writer; each append moves the cached head. A transaction takes as many ids as
    /// its batch has writes (most append one record each) and more when they run out: ids are unique and rise
    /// along each chain, with gaps where a transaction took ids it did not use.
    func append(_ draft: RecordDraft) throws -> ServiceRecord {
        try own(draft.caller)
        // A new record changes what the record reads asked ahead would find.
        ahead.expected = ahead.expected.filter {
            if case .usage = $0.key { return true }
            return false
        }
        let chain = self.chain
        if session.records.heads[chain] == nil || session.records.ids.isEmpty {
            let rows: [Cells]
            if let prefetched = session.records.prefetched, prefetched.chain == chain,
                session.records.heads[chain] == nil
            {
                session.records.prefetched = nil
                rows = try session.answer(prefetched.rows).map { Cells($0, prepared: true) }
            } else {
                let wanted = session.records.ids.isEmpty ? max(1, session.records.expected - session.records.used) : 1
                rows = try self.rows(Self.chainQuery, Binds(chain, wanted))
            }
            guard let first = rows.first else { throw PostgresStoreError("records: no new id for chain \(chain)") }
            if session.records.heads[chain] == nil {
                let id = try first.optionalInt(1)
                session.records.heads[chain] = .some(try id.map { (Int64($0), try first.optionalString(2) ?? "") })
            }
            if session.records.ids.isEmpty {
                session.records.ids = ArraySlice(try rows.map { try $0.int64(0) }.sorted())
            }
        }
        let head = session.records.heads[chain] ?? nil
        session.records.used += 1
        let record = ServiceRecord.chained(
            draft, id: session.records.ids.removeFirst(), prevHash: head?.hash ?? ServiceRecord.genesisHash)
        // Sent without waiting: nothing reads its answer, and the write's next statement, or the settle before its
        // commit (PostgresCommitter), waits for it and reports a failure. The head is written once a transaction,
        // before its commit (`writeHeads`).
        try session.sendPrepared(
            """
            INSERT INTO records (\(Self.recordColumns), chain)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
            """,
            Binds(
                record.id, record.time, record.channel, record.session, record.caller, record.subject,
                record.operation, record.inputs, record.auth, record.result, record.reason, record.reply,
                record.durationMS, record.prevHash, record.hash, chain))
        session.records.heads[chain] = .some((record.id, record.hash))
        session.records.moved.insert(chain)
        return record
    }

    /// One row a new id (`$2` of them), each with chain `$1`'s head (NULLs before its first record).
    static let chainQuery = """
        SELECT ids.id, (SELECT last_id FROM record_chain WHERE id = $1),
            (SELECT last_hash FROM record_chain WHERE id = $1)
        FROM (SELECT nextval('records_id') AS id FROM generate_series(1::bigint, $2)) AS ids
        """

    /// Asks, without waiting, for the head of the chain a transaction of `partition` appends to and for as many
    /// new ids as it has writes: sent right behind its locks, so that its first append finds
    /// the answer there instead of asking and waiting.
    static func prefetch(_ session: PostgresSession, partition: Int, writes: Int) throws {
        let chain = partition + 1
        session.records.prefetched = (
            chain, try session.sendPrepared(chainQuery, Binds(chain, max(1, writes)))
        )
    }

    /// Sends the head of every chain this transaction appended to, as it stands now: once a transaction, before
    /// its commit, not once a record. The commit's settle reports a failure.
    static func writeHeads(_ session: PostgresSession) throws {
        for chain in session.records.moved.sorted() {
            guard let head = session.records.heads[chain] ?? nil else { continue }
            try session.sendPrepared(
                """
                INSERT INTO record_chain (id, last_id, last_hash) VALUES ($3, $1, $2)
                ON CONFLICT (id) DO UPDATE SET last_id = excluded.last_id, last_hash = excluded.last_hash
                """, Binds(head.id, head.hash, chain))
        }
        session.records.moved = []
    }

    // MARK: -

    /// The ISO 8601 time in `text`, or an error naming the column: a corrupt row is a fault, never a default.
    static func time(_ text: String, _ column: String) throws -> Date {
        guard let time = ISOTime.parse(text) else { throw PostgresStoreError("\(column): unreadable value \(text)") }
        return time
    }
}
