import Foundation
import GRDB
import SelfCareCore
import SelfCareCrypto
import Synchronization

/// Settings of the SQLite store.
public struct SQLiteStoreConfiguration: Sendable {
    /// `FULL` by default: a record is on disk before the reply that it describes leaves.
    public var synchronous = "FULL"
    /// How long a writer waits for another process's lock before failing.
    public var busyTimeout: TimeInterval = 10
    /// Open read-only (for `records list` and `records verify` on a live database).
    public var readonly = false
    /// How much of the database file each connection maps into memory for reading (0: none). The mapped
    /// pages are the kernel's page cache, shared between connections, and count as file-backed resident memory.
    public var mmapBytes: Int64 = 1 << 30
    /// Free space the disk holding the database must have for the store to call itself ready.
    public var readinessFreeBytes: Int64 = 1 << 20

    public init() {}
}

/// A storage fault, with SQLite's own code and message kept visible.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The embedded SQLite store (WAL, migrations at open) over Debian's libsqlite3, through GRDB.
public final class SQLiteServiceStore: ServiceStore {
    /// The database pool; exposed for import, tests and tools.
    public let pool: DatabasePool
    public let path: String
    /// Commits the writes, in batches, from a task of its own that ends with the store (`close()`, or release).
    let committer: GroupCommitter
    private let file: DatabaseFile
    private let readinessFreeBytes: Int64

    /// Opens (creating when missing) the database at `path` and migrates it to the current schema.
    /// - Throws: `DatabaseError` when the file cannot be opened or migrated.
    public init(path: String, configuration: SQLiteStoreConfiguration = SQLiteStoreConfiguration()) throws {
        var config = Configuration()
        config.label = "selfcare"
        config.busyMode = .timeout(configuration.busyTimeout)
        config.readonly = configuration.readonly
        let synchronous = configuration.synchronous
        let mmapBytes = configuration.mmapBytes
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
            // Pages of the database file are read through a mapping instead of being copied by pread: the
            // request profile's largest kernel item once every commit had emptied the readers' page caches.
            // (Writes still go through the WAL with pwrite; SQLite never writes through the mapping.)
            try db.execute(sql: "PRAGMA mmap_size = \(mmapBytes)")
        }
        // Reads run on the calling thread (see `read`): enough reader connections that a few slow ones
        // (an operator's export) do not leave requests waiting for one.
        config.maximumReaderCount = max(8, 4 * ProcessInfo.processInfo.activeProcessorCount)
        self.path = path
        readinessFreeBytes = configuration.readinessFreeBytes
        pool = try DatabasePool(path: path, configuration: config)
        let file = DatabaseFile(path: path)
        self.file = file
        if !configuration.readonly {
            // GRDB sets the writer to synchronous=NORMAL when it turns WAL on, after prepareDatabase ran:
            // set it again, or commits would not wait for the WAL to reach the disk.
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = \(synchronous)") }
        }
        // No batch is committed, and so acknowledged, into a file that is no longer the database's.
        committer = GroupCommitter(pool: pool) { if let fault = file.fault() { throw StoreError(fault) } }
        if !configuration.readonly {
            try Schema.migrator.migrate(pool)
            file.watchLog()
        } else if try pool.read({ db in try Schema.migrator.appliedIdentifiers(db).isEmpty }) {
            // Read-only tools (`records verify`) also read a database a running older server has not
            // migrated yet: the tables they read are the same in every schema version.
            throw StoreError("\(path): the database is not initialised; run `selfcare init`")
        }
    }

    /// Commits the writes already asked for, ends the store's committing task and closes the database: a write
    /// asked for afterwards throws, and so does every later access. Releasing the store ends the committing task
    /// too, without waiting for it; call `close()` where the end must be known (a tool about to exit).
    /// - Throws: `DatabaseError` when a connection cannot be closed (a read still running).
    public func close() async throws {
        await committer.close()
        try pool.close()
    }

    /// Set once the database file is found removed or replaced: the open file is then not the one a restart
    /// would read, and nothing written to it may be acknowledged.
    public func fault() -> String? { file.fault() }

    /// Ready when the file is still the one opened, a write transaction can begin and be rolled back, and the
    /// disk has room.
    public func readiness() async -> StoreReadiness {
        var problems: [String] = []
        if let fault = file.fault() { problems.append(fault) }
        do {
            try await pool.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    try db.execute(sql: "CREATE TABLE readiness_probe (x)")
                    return .rollback
                }
            }
        } catch {
            problems.append("\(path): a trial write failed: \(error)")
        }
        if let free = file.freeBytes(), free < readinessFreeBytes {
            problems.append("\(path): the disk holding the database has \(free / 1024) KiB free")
        }
        return StoreReadiness(problems: problems)
    }

    /// Runs `body` in a read transaction on the calling thread: a read takes tens of microseconds, less
    /// than the hop to a reader queue and back that an asynchronous read costs (the profile's futex and
    /// context-switch time).
    public func read<T: Sendable>(_ body: @escaping @Sendable (any StoreReader) throws -> T) async throws -> T {
        try readNow(body)
    }

    /// The synchronous read (from a synchronous context, GRDB's blocking overload is the one chosen).
    private func readNow<T>(_ body: (any StoreReader) throws -> T) throws -> T {
        try pool.read { db in try body(SQLiteAccess(db: db)) }
    }

    /// The writer connection's `PRAGMA synchronous` (2 is FULL), as commits run.
    public func writerSynchronous() throws -> Int {
        try pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
    }

    /// Write transactions committed and the writes they held: writes per transaction is the group
    /// commit's batch size.
    public var commitStatistics: (transactions: Int, writes: Int) { committer.statistics }

    /// Runs `body` in a write transaction; concurrent writes share one commit (`GroupCommitter`).
    public func write<T: Sendable>(_ body: @escaping @Sendable (any StoreWriter) throws -> T) async throws -> T {
        try await committer.write { db, chain in try body(SQLiteAccess(db: db, chain: chain)) }
    }

    public func forEachRecord(matching filter: RecordFilter, _ body: (ServiceRecord) throws -> Void) throws {
        let (sql, arguments) = Self.listing(filter)
        try pool.read { db in
            let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
            while let row = try rows.next() { try body(SQLiteAccess.record(row)) }
        }
    }

    /// One page, read on GRDB's reader queue: the cooperative thread waits without being held.
    public func records(matching filter: RecordFilter) async throws -> [ServiceRecord] {
        let (sql, arguments) = Self.listing(filter)
        return try await pool.read { db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).map(SQLiteAccess.record)
        }
    }

    public func recordIDs(matching filter: RecordFilter) async throws -> [Int64] {
        let (sql, arguments) = Self.listing(filter, columns: "id")
        return try await pool.read { db in try Int64.fetchAll(db, sql: sql, arguments: arguments) }
    }

    /// The query that lists the records `filter` selects, oldest first.
    static func listing(
        _ filter: RecordFilter, columns: String = SQLiteAccess.recordColumns
    ) -> (sql: String, arguments: StatementArguments) {
        // The conditions every branch adds, and their arguments.
        var extra = ""
        var extraArguments: [(any DatabaseValueConvertible)?] = []
        if let since = filter.since.map(ISOTime.format) {
            extra += " AND time >= ?"
            extraArguments.append(since)
        }
        if let after = filter.afterID {
            extra += " AND id > ?"
            extraArguments.append(after)
        }
        let limit = filter.limit.map { " LIMIT \(max(0, $0))" } ?? ""
        guard let subject = filter.subject else {
            let conditions = extra.isEmpty ? "" : " WHERE" + extra.dropFirst(" AND".count)
            return (
                "SELECT \(columns) FROM records\(conditions) ORDER BY id\(limit)",
                StatementArguments(extraArguments)
            )
        }
        // A number's records: those it made about itself, found through the caller index, and those another
        // caller made about it (a lost phone's), the only ones the partial subject index holds.
        let sql = """
            SELECT \(columns) FROM records WHERE caller = ? AND subject = ?\(extra)
            UNION ALL
            SELECT \(columns) FROM records WHERE subject = ? AND subject <> caller\(extra)
            ORDER BY id\(limit)
            """
        return (sql, StatementArguments([subject, subject] + extraArguments + [subject] + extraArguments))
    }

    public func verifyRecords() throws -> RecordChainReport {
        try pool.read { db in
            var verifier = RecordChainVerifier()
            let head = try Self.head(db)
            let rows = try Row.fetchCursor(
                db.cachedStatement(sql: "SELECT \(SQLiteAccess.recordColumns) FROM records WHERE id <= ? ORDER BY id"),
                arguments: [head?.id ?? Int64.max])
            while let row = try rows.next() { verifier.check(SQLiteAccess.record(row)) }
            verifier.finish(head: head)
            return verifier.report
        }
    }

    static func head(_ db: Database) throws -> (id: Int64, hash: String)? {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT last_id, last_hash FROM record_chain WHERE id = 1"))
        else {
            return nil
        }
        return (row["last_id"], row["last_hash"])
    }

    public func recordChainHead() throws -> (id: Int64, hash: String)? { try pool.read(Self.head) }
}

/// The database file as it was opened, and its write-ahead log and shared-memory index once the database is in
/// WAL mode: their devices and inodes, to notice when a path no longer leads to the open file (removed, renamed
/// away, or replaced by another file) while SQLite still writes to it. A commit lives in the `-wal` file until
/// a checkpoint copies it into the database: a removed `-wal` loses every commit since, at the next restart.
final class DatabaseFile: Sendable {
    typealias Identity = (device: UInt64, inode: UInt64)
    let path: String
    private let identity: Identity?
    /// The `-wal` and `-shm` files as they were when `watchLog()` ran (they do not exist before WAL mode).
    private let companions = Mutex<[(path: String, identity: Identity)]>([])
    private let latched = Mutex<String?>(nil)

    init(path: String) {
        self.path = path
        identity = Self.identity(of: path)
    }

    static func identity(of path: String) -> Identity? {
        var info = stat()
        return stat(path, &info) == 0 ? (UInt64(info.st_dev), UInt64(info.st_ino)) : nil
    }

    /// Starts watching the write-ahead log and its index too. SQLite keeps both for as long as a connection is
    /// open: they only go away, or change inode, when someone removes or replaces them.
    func watchLog() {
        let found = ["-wal", "-shm"].compactMap { suffix in
            Self.identity(of: path + suffix).map { (path + suffix, $0) }
        }
        companions.withLock { $0 = found }
    }

    /// Why a path no longer leads to the open file, once one does not (latched: the file never comes back).
    func fault() -> String? {
        if let fault = latched.withLock({ $0 }) { return fault }
        guard let identity else { return nil }
        for (file, expected) in [(path, identity)] + companions.withLock({ $0 }) {
            var info = stat()
            let found: String
            if stat(file, &info) != 0 {
                found = "\(file) is gone (\(String(cString: strerror(errno))))"
            } else if UInt64(info.st_dev) != expected.device || UInt64(info.st_ino) != expected.inode {
                found = "another file is at \(file) now"
            } else {
                continue
            }
            let fault =
                "the database file \(path) or its write-ahead log was removed or replaced while the server ran "
                + "(\(found)); nothing more is written to it or acknowledged: restart the server on the right file"
            latched.withLock { $0 = fault }
            return fault
        }
        return nil
    }

    /// Bytes free for unprivileged writers on the file system holding the database.
    func freeBytes() -> Int64? {
        var info = statvfs()
        let folder = (path as NSString).deletingLastPathComponent
        guard statvfs(folder.isEmpty ? "." : folder, &info) == 0 else { return nil }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }
}

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

    static func record(_ row: Row) -> ServiceRecord {
        ServiceRecord(
            id: row[0], time: row[1], channel: row[2], session: row[3], caller: row[4], subject: row[5],
            operation: row[6], inputs: row[7], auth: row[8], result: row[9], reason: row[10], reply: row[11],
            durationMS: row[12], prevHash: row[13], hash: row[14])
    }
}
