import Foundation
import GRDB
import Synchronization

/// Group commit: write transactions that arrive while one is committing are run together in the
/// next transaction, each inside its own savepoint, and share one commit (one fsync with
/// `synchronous=FULL`). No caller hears back before the commit that holds its work is on disk; a job
/// that throws rolls back only its savepoint; a failed commit fails every job of the batch.
///
/// Under no concurrency a batch is one job, as before; under load the batches grow by themselves, with
/// no timer and no added latency.
///
/// One task commits the batches, from the committer's start to its end: `close()` ends it once the writes
/// already asked for are committed, and so does releasing the committer (its owner, the store, let go). It is
/// the store's task rather than a ServiceLifecycle `Service`: the store's writes must commit wherever a store is
/// open — tools, tests, the bench — not only inside a server's service group.
final class GroupCommitter: Sendable {
    /// One write: runs inside the batch's transaction, hears the commit's outcome.
    struct Job: Sendable {
        /// Runs the job in its savepoint; throws only when the transaction itself can no longer be trusted
        /// (a savepoint that would not roll back), which fails the whole batch.
        let run: @Sendable (Database, ChainCursor) throws -> Void
        /// Runs the job with no savepoint of its own; throws `JobFailed` when the job fails, so that the
        /// whole transaction is rolled back and the batch is run again job by job in savepoints.
        let runFast: @Sendable (Database, ChainCursor) throws -> Void
        let complete: @Sendable ((any Error)?) -> Void
    }

    private let queue = CommitQueue()
    /// The task that commits the batches. It ends once the queue is closed and empty; it is never cancelled,
    /// as a cancelled task would also cancel GRDB's write in flight, and with it writes already asked for.
    let drainTask: Task<Void, Never>
    /// Jobs per transaction at most, so one batch cannot hold the write lock for long.
    let maxBatch: Int

    /// Starts the task that commits the batches to `pool`; `precommit` runs at the end of every batch's
    /// transaction, before its commit, and throwing from it fails the whole batch.
    init(pool: DatabasePool, maxBatch: Int = 256, precommit: @escaping @Sendable () throws -> Void = {}) {
        self.maxBatch = maxBatch
        // The task holds the queue, not the committer: releasing the committer closes the queue (deinit).
        drainTask = Task { [queue] in
            await Self.drain(queue, pool: pool, maxBatch: maxBatch, precommit: precommit)
        }
    }

    deinit { queue.close() }

    /// Commits the writes already asked for, then ends the committing task; a write asked for afterwards
    /// throws.
    func close() async {
        queue.close()
        await drainTask.value
    }

    /// Transactions committed (or tried) and the writes they held, since the store opened.
    var statistics: (transactions: Int, writes: Int) { queue.statistics }

    /// Runs `body` in a write transaction shared with the other writes waiting now; returns once the
    /// transaction is committed.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database, ChainCursor) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
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
                        result.set(.success(value))
                    } catch {
                        result.set(.failure(error))
                        chain.snapshot = snapshot  // its records were rolled back with its savepoint
                        // If the rollback fails, the job's writes could be committed: fail the batch instead.
                        try db.cachedStatement(sql: "ROLLBACK TRANSACTION TO SAVEPOINT job").execute()
                        try db.cachedStatement(sql: "RELEASE SAVEPOINT job").execute()
                    }
                },
                runFast: { db, chain in
                    do {
                        result.set(.success(try body(db, chain)))
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
            if !queue.enqueue(job) { job.complete(StoreError("the store is closed: the write was not run")) }
        }
    }

    /// Commits batches until the queue is closed and empty. Each batch's waiters are woken from a child
    /// task, so the next batch starts committing meanwhile: resuming two dozen continuations is the writer's
    /// idle time otherwise. The task group keeps those wake-ups the committer's: it ends after the last one.
    private static func drain(
        _ queue: CommitQueue, pool: DatabasePool, maxBatch: Int, precommit: @escaping @Sendable () throws -> Void
    ) async {
        await withDiscardingTaskGroup { group in
            while let batch = await queue.next(maxBatch) {
                let outcome = await commit(batch, pool: pool, precommit: precommit)
                group.addTask { for job in batch { job.complete(outcome) } }
            }
        }
    }

    /// Commits one batch; the error that failed the whole batch, if one did.
    private static func commit(
        _ batch: [Job], pool: DatabasePool, precommit: @escaping @Sendable () throws -> Void
    ) async -> (any Error)? {
        do {
            // Jobs almost never fail (refusals are values, not errors): run the batch without a
            // savepoint per job, and only when one fails, roll it all back and run it again with them.
            do {
                try await pool.write { db in
                    let chain = ChainCursor()
                    for job in batch { try job.runFast(db, chain) }
                    // The chain head row once per transaction, not once per record.
                    try chain.save(db)
                    try precommit()
                }
            } catch is JobFailed {
                try await pool.write { db in
                    let chain = ChainCursor()
                    for job in batch { try job.run(db, chain) }
                    try chain.save(db)
                    try precommit()
                }
            }
            return nil
        } catch {
            return error
        }
    }
}

/// The writes waiting for a batch, and the committing task's place to wait for them.
private final class CommitQueue: Sendable {
    private struct State {
        var pending: [GroupCommitter.Job] = []
        /// The committing task, while it waits for a job.
        var waiter: CheckedContinuation<Void, Never>?
        var closed = false
        var transactions = 0
        var jobs = 0
    }

    private enum Next {
        case batch([GroupCommitter.Job])
        case wait
        case end
    }

    private let state = Mutex(State())

    var statistics: (transactions: Int, writes: Int) { state.withLock { ($0.transactions, $0.jobs) } }

    /// Queues `job` and wakes the committing task; false when the queue is closed (the job is not queued).
    func enqueue(_ job: GroupCommitter.Job) -> Bool {
        let (queued, waiter) = state.withLock { state -> (Bool, CheckedContinuation<Void, Never>?) in
            if state.closed { return (false, nil) }
            state.pending.append(job)
            defer { state.waiter = nil }
            return (true, state.waiter)
        }
        waiter?.resume()
        return queued
    }

    /// Takes no more jobs; the committing task ends once those queued are committed.
    func close() {
        let waiter = state.withLock { state in
            state.closed = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// The next batch, at most `maxBatch` jobs, once there is one; nil once the queue is closed and empty.
    func next(_ maxBatch: Int) async -> [GroupCommitter.Job]? {
        while true {
            switch take(maxBatch) {
            case .batch(let batch): return batch
            case .end: return nil
            case .wait:
                await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
                    let ready = state.withLock { state in
                        if !state.pending.isEmpty || state.closed { return true }
                        state.waiter = waiter
                        return false
                    }
                    if ready { waiter.resume() }
                }
            }
        }
    }

    private func take(_ maxBatch: Int) -> Next {
        state.withLock { state in
            if state.pending.isEmpty { return state.closed ? .end : .wait }
            let batch = Array(state.pending.prefix(maxBatch))
            state.pending.removeFirst(batch.count)
            state.transactions += 1
            state.jobs += batch.count
            return .batch(batch)
        }
    }
}

/// A job of a savepoint-less batch failed: the batch is run again with a savepoint per job.
struct JobFailed: Error {}

/// Where a job leaves its result until the commit is known: set on the writer's thread, read by the task
/// that wakes the job's waiter.
private final class ResultBox<T: Sendable>: Sendable {
    private let result = Mutex<Result<T, any Error>?>(nil)

    var value: Result<T, any Error>? { result.withLock { $0 } }
    func set(_ value: Result<T, any Error>) { result.withLock { $0 = value } }
}

/// The record chain's head within one write transaction: read once, advanced by each append, written
/// back once before the commit. Used only inside that transaction, on the writer connection's queue.
final class ChainCursor {
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
