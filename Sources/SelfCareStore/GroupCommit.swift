import Foundation
import GRDB

/// Group commit: write transactions that arrive while one is committing are run together in the
/// next transaction, each inside its own savepoint, and share one commit (one fsync with
/// `synchronous=FULL`). No caller hears back before the commit that holds its work is on disk; a job
/// that throws rolls back only its savepoint; a failed commit fails every job of the batch.
///
/// Under no concurrency a batch is one job, as before; under load the batches grow by themselves, with
/// no timer and no added latency.
final class GroupCommitter: @unchecked Sendable {
    /// One write: runs inside the batch's transaction, hears the commit's outcome.
    struct Job: Sendable {
        /// Runs the job in its savepoint; throws only when the transaction itself can no longer be trusted
        /// (a savepoint that would not roll back), which fails the whole batch.
        let run: @Sendable (Database, ChainCursor) throws -> Void
        /// Runs the job with no savepoint of its own; throws `JobFailed` when the job fails, so that the
        /// whole transaction is rolled back and the batch is run again job by job in savepoints.
        let runFast: @Sendable (Database, ChainCursor) throws -> Void
        let complete: @Sendable (Error?) -> Void
    }

    private let pool: DatabasePool
    /// Runs at the end of every batch's transaction, before its commit; throwing fails the whole batch.
    private let precommit: @Sendable () throws -> Void
    private let lock = NSLock()
    private var pending: [Job] = []
    private var committing = false
    private var transactions = 0
    private var jobs = 0
    /// Jobs per transaction at most, so one batch cannot hold the write lock for long.
    let maxBatch: Int

    init(pool: DatabasePool, maxBatch: Int = 256, precommit: @escaping @Sendable () throws -> Void = {}) {
        self.pool = pool
        self.maxBatch = maxBatch
        self.precommit = precommit
    }

    /// Transactions committed (or tried) and the writes they held, since the store opened.
    var statistics: (transactions: Int, writes: Int) { lock.withLock { (transactions, jobs) } }

    /// Runs `body` in a write transaction shared with the other writes waiting now; returns once the
    /// transaction is committed.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database, ChainCursor) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            let result = ResultBox<T>()
            let job = Job(
                run: { db, chain in
                    let snapshot = chain.snapshot
                    try db.cachedStatement(sql: "SAVEPOINT job").execute()
                    do {
                        // A savepoint of its own, through prepared statements (GRDB's inSavepoint parses its
                        // three statements again for every job).
                        let value = try body(db, chain)
                        try db.cachedStatement(sql: "RELEASE SAVEPOINT job").execute()
                        result.value = .success(value)
                    } catch {
                        result.value = .failure(error)
                        chain.snapshot = snapshot  // its records were rolled back with its savepoint
                        // If the rollback fails, the job's writes could be committed: fail the batch instead.
                        try db.cachedStatement(sql: "ROLLBACK TRANSACTION TO SAVEPOINT job").execute()
                        try db.cachedStatement(sql: "RELEASE SAVEPOINT job").execute()
                    }
                },
                runFast: { db, chain in
                    do {
                        result.value = .success(try body(db, chain))
                    } catch {
                        throw JobFailed()
                    }
                },
                complete: { commitError in
                    if let commitError {
                        continuation.resume(throwing: commitError)
                    } else {
                        continuation.resume(with: result.value ?? .failure(StoreError("the write did not run")))
                    }
                })
            enqueue(job)
        }
    }

    private func enqueue(_ job: Job) {
        let start: Bool = lock.withLock {
            pending.append(job)
            if committing { return false }
            committing = true
            return true
        }
        if start { Task.detached { [self] in await drain() } }
    }

    /// Commits batches until nothing waits.
    private func drain() async {
        while true {
            let batch: [Job] = lock.withLock {
                let batch = Array(pending.prefix(maxBatch))
                pending.removeFirst(batch.count)
                if batch.isEmpty { committing = false }
                return batch
            }
            if batch.isEmpty { return }
            lock.withLock {
                transactions += 1
                jobs += batch.count
            }
            var commitError: Error?
            do {
                // Jobs almost never fail (refusals are values, not errors): run the batch without a
                // savepoint per job, and only when one fails, roll it all back and run it again with them.
                do {
                    try await pool.write { [precommit] db in
                        let chain = ChainCursor()
                        for job in batch { try job.runFast(db, chain) }
                        // The chain head row once per transaction, not once per record.
                        try chain.save(db)
                        try precommit()
                    }
                } catch is JobFailed {
                    try await pool.write { [precommit] db in
                        let chain = ChainCursor()
                        for job in batch { try job.run(db, chain) }
                        try chain.save(db)
                        try precommit()
                    }
                }
            } catch {
                commitError = error
            }
            // Wake the batch's waiters from another task, so the next batch starts committing meanwhile:
            // resuming two dozen continuations is the writer's idle time otherwise.
            let finished = batch
            let outcome = commitError
            Task.detached { for job in finished { job.complete(outcome) } }
        }
    }
}

/// A job of a savepoint-less batch failed: the batch is run again with a savepoint per job.
struct JobFailed: Error {}

/// Where a job leaves its result until the commit is known.
private final class ResultBox<T>: @unchecked Sendable {
    var value: Result<T, Error>?
}

/// The record chain's head within one write transaction: read once, advanced by each append, written
/// back once before the commit.
final class ChainCursor: @unchecked Sendable {
    private var loaded = false
    private var stored: (id: Int64, hash: String)?
    private var dirty = false

    /// The whole state, to restore after a job's savepoint is rolled back (loaded or not included: a
    /// head first read by the failed job stays valid, as the read is not undone).
    var snapshot: (loaded: Bool, stored: (id: Int64, hash: String)?, dirty: Bool) {
        get { (loaded, stored, dirty) }
        set { (loaded, stored, dirty) = newValue }
    }

    /// The head as the transaction sees it (nil: no record yet).
    var head: (id: Int64, hash: String)? {
        get { stored }
        set {
            stored = newValue
            dirty = true
        }
    }

    func load(_ db: Database) throws -> (id: Int64, hash: String)? {
        if !loaded {
            stored = try SQLiteServiceStore.head(db)
            loaded = true
        }
        return stored
    }

    func save(_ db: Database) throws {
        guard dirty, let head = stored else { return }
        try db.cachedStatement(
            sql: """
                INSERT INTO record_chain (id, last_id, last_hash) VALUES (1, ?, ?)
                ON CONFLICT (id) DO UPDATE SET last_id = excluded.last_id, last_hash = excluded.last_hash
                """
        ).execute(arguments: [head.id, head.hash])
        dirty = false
    }
}
