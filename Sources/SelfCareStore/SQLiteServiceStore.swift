import Foundation
import GRDB
import SelfCareCore
import SelfCareCrypto

/// The embedded SQLite store (WAL, migrations at open) over Debian's libsqlite3, through GRDB.
public final class SQLiteServiceStore: ServiceStore {
    /// The database pool: the store module's own, and its tests'. Nothing outside the package sees GRDB.
    package let pool: DatabasePool
    /// The database file's path, as given.
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

    /// Runs `sql` on the writer connection outside any transaction and outside group commit: for tests that
    /// damage a database on purpose (a table renamed under a running gateway, a size limit). Not a way to change
    /// data: every change of service data goes through the engine.
    package func executeRaw(_ sql: String) async throws {
        try await pool.writeWithoutTransaction { db in try db.execute(sql: sql) }
    }

    /// The first column of the first row `sql` returns, as an integer, read on the writer connection (so a
    /// connection setting like `PRAGMA max_page_count` is the writer's): the companion of `executeRaw`.
    package func integerRaw(_ sql: String) async throws -> Int? {
        try await pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: sql) }
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

    /// Walks the records `filter` selects, oldest first, through a cursor in one read transaction: for tools and
    /// exports, not request paths.
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

    /// The ids of one page, read on GRDB's reader queue.
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

    /// Reads the head and the records up to it in one read transaction and checks the chain.
    public func verifyRecords(checkpoints: [RecordCheckpoint]) throws -> RecordChainReport {
        try pool.read { db in
            var verifier = RecordChainVerifier(checkpoints: checkpoints)
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

    /// The `record_chain` row: the last record's id and hash.
    public func recordChainHead() throws -> (id: Int64, hash: String)? { try pool.read(Self.head) }

    /// Every checkpoint, oldest first.
    public func checkpoints() throws -> [RecordCheckpoint] {
        try pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT id, time, last_id, hash, signature FROM record_checkpoints ORDER BY id"
            ).map(Self.checkpoint)
        }
    }

    static func checkpoint(_ row: Row) -> RecordCheckpoint {
        RecordCheckpoint(id: row[0], time: row[1], lastID: row[2], hash: row[3], signature: row[4])
    }
}
