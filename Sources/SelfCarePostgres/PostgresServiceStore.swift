import Foundation
import Logging
import PostgresNIO
import SelfCareCore
import SelfCareCrypto

/// The PostgreSQL store: the store contract of the embedded SQLite store, on a database server that several
/// gateway nodes share.
///
/// Each transaction runs on a thread of its own with a connection of the store's pool, and waits there for each
/// answer: the contract is synchronous inside a transaction. The numbers are split into partitions
/// (`RecordPartitions`), each with its own advisory lock and its own record chain. A write about one caller
/// (`write(for:_:)`) takes the store's write lock shared and its partition's lock, so writes about numbers of
/// different partitions run side by side across every node, and writes about one partition one after another; a
/// write about anything else, or one that turns out to reach beyond its partition, takes the write lock exclusive
/// and runs alone, as on SQLite. Reads see a snapshot (`REPEATABLE READ`) and never wait for writes. Nothing is acknowledged before its `COMMIT` returns, with
/// the server's `synchronous_commit` (on by default).
public final class PostgresServiceStore: ServiceStore, @unchecked Sendable {
    /// Where the database is.
    public let location: PostgresLocation
    private let pool: PostgresPool
    private let committer: PostgresCommitter
    /// How many partitions the database splits the numbers into (`store_settings.record_partitions`).
    let partitions: Int
    private let queue = DispatchQueue(label: "selfcare.postgres", attributes: .concurrent)

    /// The advisory lock every write transaction takes: exclusive for a write that holds the whole store, shared
    /// for a write in one partition, which also takes `writeLock + partition`.
    static let writeLock: Int64 = 0x5345_4C46_4341_5245  // "SELFCARE"
    /// The advisory lock migrations run under: one node migrates, the others wait and find nothing to do.
    static let migrationLock: Int64 = 0x5345_4C46_4D49_4752  // "SELFMIGR"

    /// Connects to `location` with up to `connections` connections and migrates the schema (or, with `migrate`
    /// false, for read-only tools, checks that there is one).
    /// - Throws: `PostgresStoreError` when the server cannot be reached or the schema cannot be migrated.
    /// - Parameter lanes: how many write transactions this store runs at once (each of another partition).
    public init(
        location: PostgresLocation, connections: Int = 16, lanes: Int = 4, migrate: Bool = true,
        logger: Logger? = nil
    )
        throws
    {
        self.location = location
        let pool = PostgresPool(
            location: location, size: max(2, connections), logger: logger ?? Logger(label: "selfcare.postgres"))
        self.pool = pool
        do {
            let session = try pool.lease()
            defer { pool.giveBack(session) }
            if migrate {
                try Self.migrate(session)
            } else {
                let exists = try session.query("SELECT to_regclass('selfcare_migrations') IS NOT NULL").rows.first
                    .map { try Cells($0).bool(0) }
                guard exists == true else {
                    throw PostgresStoreError("\(location): the database is not initialised; run `selfcare init`")
                }
                let migrated = Set(
                    try session.query("SELECT name FROM selfcare_migrations").rows.map { try Cells($0).string(0) })
                if let missing = PostgresSchema.migrations.first(where: { !migrated.contains($0.name) }) {
                    throw PostgresStoreError(
                        "\(location): the schema is older than this selfcare (\(missing.name) not applied); "
                            + "run `selfcare init` or start a node on it to migrate it")
                }
            }
            partitions = max(
                1,
                try session.query("SELECT value FROM store_settings WHERE name = 'record_partitions'").rows.first.map {
                    try Cells($0).int(0)
                } ?? 1)
        } catch {
            // Its connections are closed before they go.
            pool.close()
            throw error
        }
        committer = PostgresCommitter(
            lanes: min(max(1, lanes), max(1, connections - 1)), lease: { try pool.lease() },
            giveBack: { pool.giveBack($0, broken: $1) },
            begin: { session, key, writes in
                // Sent without waiting: the server runs the batch's statements after them, in order.
                if key == 0 {
                    try session.sendPrepared("SELECT pg_advisory_xact_lock($1)", Binds(Self.writeLock))
                } else {
                    try session.sendPrepared(
                        "SELECT pg_advisory_xact_lock_shared($1), pg_advisory_xact_lock($2)",
                        Binds(Self.writeLock, Self.writeLock + Int64(key)))
                }
                // A partition's writes almost all append a record; a whole-store write often appends none (an order's
                // update, a checkpoint), and would leave its ids unused: it asks when it appends.
                if key != 0 { try PostgresAccess.prefetch(session, partition: key, writes: writes) }
            })
    }

    /// Opens the store `url` names.
    public convenience init(url: String, connections: Int = 16) throws {
        guard let location = PostgresLocation(url: url) else {
            throw PostgresStoreError("\(url): not a postgres://USER@HOST[:PORT]/DATABASE URL")
        }
        try self.init(location: location, connections: connections)
    }

    /// Applies the migrations the database has not had yet, each in its own transaction, under the migration lock.
    static func migrate(_ session: PostgresSession) throws {
        try session.query("SELECT pg_advisory_lock($1)", Binds(migrationLock))
        defer { _ = try? session.query("SELECT pg_advisory_unlock($1)", Binds(migrationLock)) }
        try session.query(
            "CREATE TABLE IF NOT EXISTS selfcare_migrations (name TEXT PRIMARY KEY, applied TIMESTAMPTZ NOT NULL)")
        let applied = Set(
            try session.query("SELECT name FROM selfcare_migrations").rows.map { try Cells($0).string(0) })
        for migration in PostgresSchema.migrations where !applied.contains(migration.name) {
            try session.query("BEGIN")
            do {
                for statement in PostgresSchema.statements(migration.sql) { try session.query(statement) }
                try session.query("INSERT INTO selfcare_migrations VALUES ($1, now())", Binds(migration.name))
                try session.query("COMMIT")
            } catch {
                _ = try? session.query("ROLLBACK")
                throw error
            }
        }
    }

    // MARK: - Connections

    /// Runs `body` with a leased connection on the store's threads.
    func withSession<T: Sendable>(_ body: @escaping @Sendable (PostgresSession) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try self.withSessionNow(body) })
            }
        }
    }

    /// Runs `body` with a leased connection on the calling thread (tools, and the store's own threads).
    private func withSessionNow<T>(_ body: (PostgresSession) throws -> T) throws -> T {
        let session = try pool.lease()
        do {
            let result = try body(session)
            pool.giveBack(session)
            return result
        } catch {
            // A connection in an unknown state (a failed COMMIT, a lost server) is not reused.
            let broken = !session.connection.isClosed ? (try? session.query("ROLLBACK")) == nil : true
            pool.giveBack(session, broken: broken)
            throw error
        }
    }

    /// Runs `body` inside `BEGIN … COMMIT` (or `ROLLBACK` when it throws).
    private static func transaction<T>(
        _ session: PostgresSession, begin: String, _ body: () throws -> T
    ) throws -> T {
        try session.query(begin)
        let result: T
        do {
            result = try body()
        } catch {
            _ = try? session.query("ROLLBACK")
            throw error
        }
        try session.query("COMMIT")
        return result
    }

    // MARK: - ServiceStore

    /// Runs `body` in a read-only snapshot transaction.
    public func read<T: Sendable>(_ body: @escaping @Sendable (any StoreReader) throws -> T) async throws -> T {
        try await withSession { session in
            try Self.transaction(session, begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") {
                try body(PostgresAccess(session: session))
            }
        }
    }

    /// Runs `body` in a write transaction, after every earlier write of every node (the write lock); concurrent
    /// writes of this node share one transaction and its commit (`PostgresCommitter`).
    public func write<T: Sendable>(_ body: @escaping @Sendable (any StoreWriter) throws -> T) async throws -> T {
        let partitions = self.partitions
        return try await committer.write { session in
            try body(PostgresAccess(session: session, partitions: partitions))
        }
    }

    /// Runs `body` in `number`'s partition, beside the writes of other partitions; when it reaches beyond the
    /// partition (another number, an order, a notice), that run is rolled back and `body` runs again holding the
    /// whole store. The caller's subscriber row and the `reads` of the partition are asked for ahead, with the
    /// batch's first statements.
    public func write<T: Sendable>(
        for number: String?, expecting reads: [ExpectedRead], _ body: @escaping @Sendable (any StoreWriter) throws -> T
    ) async throws -> T {
        guard let number, partitions > 1 else { return try await write(body) }
        let (partition, partitions) = (RecordPartitions.partition(of: number, count: partitions), self.partitions)
        do {
            return try await committer.write(key: partition) { session in
                let access = PostgresAccess(session: session, partition: partition, partitions: partitions)
                try access.readAhead(subscriber: number, expected: reads)
                return try body(access)
            }
        } catch is PostgresAccess.OutOfPartition {
            return try await write(body)
        }
    }

    /// Write transactions committed and the writes they held: writes per transaction is the group commit's batch.
    public var commitStatistics: (transactions: Int, writes: Int) { committer.statistics }

    /// Walks the records `filter` selects, oldest first, in one snapshot: for tools and exports.
    public func forEachRecord(matching filter: RecordFilter, _ body: (ServiceRecord) throws -> Void) throws {
        let (sql, binds) = Self.listing(filter)
        let rows = try withSessionNow { session in
            try Self.transaction(session, begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") {
                try session.query(sql, binds).rows
            }
        }
        for row in rows { try body(try PostgresAccess.record(Cells(row))) }
    }

    /// One page of records.
    public func records(matching filter: RecordFilter) async throws -> [ServiceRecord] {
        let (sql, binds) = Self.listing(filter)
        let box = UncheckedBox(binds)
        return try await withSession { session in
            try session.query(sql, box.value).rows.map { try PostgresAccess.record(Cells($0)) }
        }
    }

    /// The ids of one page of records.
    public func recordIDs(matching filter: RecordFilter) async throws -> [Int64] {
        let (sql, binds) = Self.listing(filter, columns: "id")
        let box = UncheckedBox(binds)
        return try await withSession { session in
            try session.query(sql, box.value).rows.map { try Cells($0).int64(0) }
        }
    }

    /// The query that lists the records `filter` selects, oldest first.
    static func listing(_ filter: RecordFilter, columns: String = PostgresAccess.recordColumns) -> (String, Binds) {
        var binds = Binds()
        var count = 0
        func next(_ value: any Sendable) -> String {
            binds.add(value)
            count += 1
            return "$\(count)"
        }
        let subject = filter.subject.map { next($0) }
        var extra = ""
        if let since = filter.since { extra += " AND time >= \(next(ISOTime.format(since)))" }
        if let after = filter.afterID { extra += " AND id > \(next(after))" }
        let limit = filter.limit.map { " LIMIT \(max(0, $0))" } ?? ""
        guard let subject else {
            let conditions = extra.isEmpty ? "" : " WHERE" + extra.dropFirst(" AND".count)
            return ("SELECT \(columns) FROM records\(conditions) ORDER BY id\(limit)", binds)
        }
        // A number's records: those it made about itself, found through the caller index, and those another
        // caller made about it, the only ones the partial subject index holds (as on SQLite).
        let sql = """
            SELECT \(columns) FROM records WHERE caller = \(subject) AND subject = \(subject)\(extra)
            UNION ALL
            SELECT \(columns) FROM records WHERE subject = \(subject) AND subject <> caller\(extra)
            ORDER BY id\(limit)
            """
        return (sql, binds)
    }

    /// Reads the heads and every chain's records in one snapshot and checks each chain.
    public func verifyRecords(checkpoints: [RecordCheckpoint]) throws -> RecordChainReport {
        try withSessionNow { session in
            try Self.transaction(session, begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") {
                let heads = try PostgresAccess.heads(session)
                let verifier = VerifierBox(checkpoints: checkpoints)
                let partitions = self.partitions
                try session.forEach(
                    "SELECT \(PostgresAccess.recordColumns), chain FROM records ORDER BY chain, id"
                ) { row in
                    let cells = Cells(row)
                    let (record, chain) = (try PostgresAccess.record(cells), try cells.int(15))
                    verifier.check(record, chain: chain)
                    // Chain 1 + P holds records of callers of partition P only: any other is made up.
                    if chain > 1 + partitions || chain < 1 {
                        verifier.note(record.id, "chain \(chain): no such chain (1…\(1 + partitions))")
                    } else if chain > 1, RecordPartitions.partition(of: record.caller, count: partitions) + 1 != chain {
                        verifier.note(record.id, "chain \(chain): its caller's records are not in this chain")
                    }
                }
                for chain in heads.keys where chain > 1 + partitions || chain < 1 {
                    verifier.note(heads[chain]!.id, "chain \(chain): no such chain (1…\(1 + partitions))")
                }
                return verifier.finish(heads: heads)
            }
        }
    }

    /// The head of the chain that holds the latest record.
    public func recordChainHead() throws -> (id: Int64, hash: String)? {
        try recordChainHeads().values.max { $0.id < $1.id }
    }

    /// Every chain's `record_chain` row: its last record's id and hash.
    public func recordChainHeads() throws -> [Int: (id: Int64, hash: String)] {
        try withSessionNow { try PostgresAccess.heads($0) }
    }

    /// The records of chain `chain` after `afterID`, in id order, in one snapshot.
    public func forEachRecord(inChain chain: Int, afterID: Int64?, _ body: (ServiceRecord) throws -> Void) throws {
        let rows = try withSessionNow { session in
            try Self.transaction(session, begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") {
                try session.query(
                    "SELECT \(PostgresAccess.recordColumns) FROM records WHERE chain = $1 AND id > $2 ORDER BY id",
                    Binds(chain, afterID ?? 0)
                ).rows
            }
        }
        for row in rows { try body(try PostgresAccess.record(Cells(row))) }
    }

    /// Every checkpoint, oldest first.
    public func checkpoints() throws -> [RecordCheckpoint] {
        try withSessionNow { session in
            try session.query("SELECT \(PostgresAccess.checkpointColumns) FROM record_checkpoints ORDER BY id").rows
                .map { try PostgresAccess.checkpoint(Cells($0)) }
        }
    }

    /// Ready when a write transaction can begin, take the write lock and be rolled back.
    public func readiness() async -> StoreReadiness {
        do {
            try await withSession { session in
                try session.query("BEGIN")
                try session.query("SELECT pg_advisory_xact_lock($1)", Binds(Self.writeLock))
                try session.query("ROLLBACK")
            }
            return StoreReadiness(problems: [])
        } catch {
            return StoreReadiness(problems: ["\(location): a trial write failed: \(error)"])
        }
    }

    /// Runs `sql` outside the store's transactions: for tests that damage a database on purpose (a record altered
    /// behind the store's back). Not a way to change data: every change of service data goes through the engine.
    package func executeRaw(_ sql: String) throws {
        try withSessionNow { _ = try $0.query(sql) }
    }

    /// The rows `sql` reads, each as its text cells joined by ` | ` (a cell that is not text, or NULL, as `?`): for
    /// tests that look at what a table holds on disk.
    package func rawRows(_ sql: String) async throws -> [String] {
        try await withSession { session in
            try session.query(sql).rows.map { row in
                row.makeRandomAccess().map { (try? $0.decode(String?.self)).flatMap { $0 } ?? "?" }
                    .joined(separator: " | ")
            }
        }
    }

    /// Commits the writes already asked for, then closes every connection; later calls throw.
    public func close() {
        committer.close()
        pool.close()
    }

    deinit { close() }
}

/// The store's connections: opened as needed up to a bound, lent to one transaction at a time.
final class PostgresPool: @unchecked Sendable {
    let location: PostgresLocation
    private let logger: Logger
    private let size: Int
    private let lock = NSCondition()
    private var idle: [PostgresSession] = []
    private var opened = 0
    private var closed = false

    init(location: PostgresLocation, size: Int, logger: Logger) {
        self.location = location
        self.size = size
        self.logger = logger
    }

    /// An idle connection, a new one while there are fewer than the bound, or the next one given back.
    func lease() throws -> PostgresSession {
        lock.lock()
        while true {
            if closed {
                lock.unlock()
                throw PostgresStoreError("the store is closed")
            }
            if let session = idle.popLast() {
                lock.unlock()
                return session
            }
            if opened < size {
                opened += 1
                let id = opened
                lock.unlock()
                do {
                    return try PostgresSession.open(location, id: id, logger: logger)
                } catch {
                    lock.lock()
                    opened -= 1
                    lock.signal()
                    lock.unlock()
                    throw error
                }
            }
            lock.wait()
        }
    }

    /// Takes `session` back; a broken one (or any once closed) is closed instead.
    func giveBack(_ session: PostgresSession, broken: Bool = false) {
        lock.lock()
        if broken || closed {
            opened -= 1
            lock.signal()
            lock.unlock()
            session.close()
            return
        }
        idle.append(session)
        lock.signal()
        lock.unlock()
    }

    /// Closes the idle connections, and the others as they are given back.
    func close() {
        lock.lock()
        closed = true
        let sessions = idle
        idle = []
        opened -= sessions.count
        lock.broadcast()
        lock.unlock()
        for session in sessions { session.close() }
    }
}

/// Checks records as they arrive, from the client's thread.
private final class VerifierBox: @unchecked Sendable {
    private var verifier: RecordChainsVerifier
    private let lock = NSLock()

    init(checkpoints: [RecordCheckpoint]) { verifier = RecordChainsVerifier(checkpoints: checkpoints) }

    func check(_ record: ServiceRecord, chain: Int) { lock.withLock { verifier.check(record, chain: chain) } }

    func note(_ recordID: Int64, _ problem: String) { lock.withLock { verifier.note(recordID, problem) } }

    func finish(heads: [Int: (id: Int64, hash: String)]) -> RecordChainReport {
        lock.withLock { verifier.finish(heads: heads) }
    }
}

/// Carries a value that is only read to another thread.
private struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// Creating and dropping whole databases on a server, as its administrator: throwaway databases for tests, and
/// `selfcare init` on a server where the database does not exist yet.
public enum PostgresAdmin {
    /// Creates the database `name` (letters, digits and `_` only) on the server of `admin`.
    public static func createDatabase(_ name: String, admin: PostgresLocation) throws {
        try checkName(name)
        let session = try PostgresSession.open(admin, id: 0, logger: Logger(label: "selfcare.postgres.admin"))
        defer { session.close() }
        try session.query("CREATE DATABASE \(name)")
    }

    /// Drops the database `name`, closing the connections still on it.
    public static func dropDatabase(_ name: String, admin: PostgresLocation) throws {
        try checkName(name)
        let session = try PostgresSession.open(admin, id: 0, logger: Logger(label: "selfcare.postgres.admin"))
        defer { session.close() }
        try session.query("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    private static func checkName(_ name: String) throws {
        guard !name.isEmpty, name.count <= 63,
            name.unicodeScalars.allSatisfy({
                $0.isASCII && ($0 == "_" || $0.properties.isAlphabetic || ("0"..."9").contains($0))
            })
        else { throw PostgresStoreError("\(name): a database name is letters, digits and _") }
    }
}
