import Foundation
import PostgresNIO
import SelfCareCore

/// Group commit on PostgreSQL, as the SQLite store does it: the writes that arrive while a batch commits are run
/// together in the next transaction and share its commit (one WAL flush), and the write lock is taken once a
/// batch. No caller hears back before the commit that holds its work returned; a failed commit fails every write
/// of its batch.
///
/// Writes almost never fail (refusals are values, not errors): a batch runs without a savepoint per write, and only
/// when one fails is it rolled back and run again with a savepoint around each (PostgreSQL aborts a transaction at
/// the first failed statement unless a savepoint holds it). Under no concurrency a batch is one write.
///
/// Each write has a key: 0 for a write that holds the whole store, or the partition of the numbers it is about
/// (`RecordPartitions`). A batch holds writes of one key, and `begin` takes that key's locks. The batches are
/// committed from `lanes` threads of the committer's own, each with a connection, each waiting for every answer (the
/// store's contract is synchronous inside a transaction): batches of different keys run side by side, never two of
/// one key.
final class PostgresCommitter: @unchecked Sendable {
    /// One write: runs in the batch's transaction, hears the commit's outcome.
    struct Job {
        /// 0: the whole store; otherwise the partition.
        let key: Int
        /// Runs the write with no savepoint; throws `WriteFailed` when it fails.
        let runFast: (PostgresSession) throws -> Void
        /// Runs the write in a savepoint of its own; throws only when the transaction itself cannot be trusted.
        let run: (PostgresSession) throws -> Void
        let complete: ((any Error)?) -> Void
    }

    /// A write of a savepoint-less batch failed: the batch runs again with a savepoint per write.
    struct WriteFailed: Error {}

    private let condition = NSCondition()
    private var pending: [Job] = []
    /// The keys whose batch a lane is committing.
    private var busy: Set<Int> = []
    private var closed = false
    private var running = 0
    private var transactions = 0
    private var writes = 0

    /// Transactions committed (or tried) and the writes they held.
    var statistics: (transactions: Int, writes: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (transactions, writes)
    }
    /// Writes per transaction at most, so that one batch does not hold the write lock for long.
    let maxBatch: Int
    private let begin: @Sendable (PostgresSession, Int, Int) throws -> Void

    /// Starts `lanes` committing threads. `lease` and `giveBack` lend a thread a connection a batch; `begin` runs
    /// first in every batch's transaction, with the batch's key and its number of writes (its locks).
    init(
        lanes: Int = 1, maxBatch: Int = 128, lease: @escaping @Sendable () throws -> PostgresSession,
        giveBack: @escaping @Sendable (PostgresSession, Bool) -> Void,
        begin: @escaping @Sendable (PostgresSession, Int, Int) throws -> Void
    ) {
        self.maxBatch = maxBatch
        self.begin = begin
        running = max(1, lanes)
        for lane in 0..<running {
            let thread = Thread { [self] in drain(lease: lease, giveBack: giveBack) }
            thread.name = "selfcare.postgres.commit.\(lane)"
            thread.start()
        }
    }

    /// Runs `body` in a write transaction of key `key` shared with the writes of that key waiting now; returns once
    /// it is committed.
    func write<T: Sendable>(
        key: Int = 0, _ body: @escaping @Sendable (PostgresSession) throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            var result: Result<T, any Error>?
            let job = Job(
                key: key,
                runFast: { session in
                    do {
                        result = .success(try body(session))
                    } catch let beyond as PostgresAccess.OutOfPartition {
                        // Settled: it runs again holding the whole store, not in this batch's rerun.
                        result = .failure(beyond)
                        throw WriteFailed()
                    } catch {
                        throw WriteFailed()
                    }
                },
                run: { session in
                    if case .failure(let error)? = result, error is PostgresAccess.OutOfPartition { return }
                    try session.query("SAVEPOINT job")
                    let records = session.records
                    do {
                        let value = try body(session)
                        try session.settle()
                        result = .success(value)
                        try session.query("RELEASE SAVEPOINT job")
                    } catch {
                        result = .failure(error)
                        // What it sent without waiting is answered before the rollback, so that a failure of its
                        // own is not taken later for one of the batch.
                        _ = try? session.settle()
                        // If the rollback fails, the write could be committed: fail the batch instead.
                        try session.query("ROLLBACK TO SAVEPOINT job")
                        session.records = records
                        try session.query("RELEASE SAVEPOINT job")
                    }
                },
                complete: { commitError in
                    if let commitError {
                        continuation.resume(throwing: commitError)
                    } else {
                        continuation.resume(
                            with: result ?? .failure(PostgresStoreError("the write did not run")))
                    }
                })
            condition.lock()
            if closed {
                condition.unlock()
                job.complete(PostgresStoreError("the store is closed: the write was not run"))
                return
            }
            pending.append(job)
            condition.signal()
            condition.unlock()
        }
    }

    /// Takes no more writes; returns once those already asked for are committed.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        while running > 0 { condition.wait() }
        condition.unlock()
    }

    /// The oldest waiting write's key that no lane is committing; nil when there is none.
    private func nextKey() -> Int? {
        pending.first { !busy.contains($0.key) }?.key
    }

    /// Commits batches until closed and empty.
    private func drain(lease: () throws -> PostgresSession, giveBack: (PostgresSession, Bool) -> Void) {
        while true {
            condition.lock()
            var key = nextKey()
            while key == nil && !(closed && pending.isEmpty) {
                condition.wait()
                key = nextKey()
            }
            guard let key else {
                running -= 1
                condition.broadcast()
                condition.unlock()
                return
            }
            var batch: [Job] = []
            pending.removeAll { job in
                guard job.key == key, batch.count < maxBatch else { return false }
                batch.append(job)
                return true
            }
            busy.insert(key)
            transactions += 1
            writes += batch.count
            condition.unlock()

            let outcome = commit(batch, key: key, lease: lease, giveBack: giveBack)
            for job in batch { job.complete(outcome) }
            condition.lock()
            busy.remove(key)
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Commits one batch; the error that failed the whole batch, if one did.
    private func commit(
        _ batch: [Job], key: Int, lease: () throws -> PostgresSession, giveBack: (PostgresSession, Bool) -> Void
    ) -> (any Error)? {
        let session: PostgresSession
        do { session = try lease() } catch { return error }
        do {
            do {
                // A statement a write sent without waiting failed: which write is not known, so rerun.
                try transaction(session, key: key, writes: batch.count, failingWith: WriteFailed()) {
                    for job in batch { try job.runFast(session) }
                    try PostgresAccess.writeHeads(session)
                }
            } catch is WriteFailed {
                try transaction(session, key: key, writes: batch.count, failingWith: nil) {
                    for job in batch { try job.run(session) }
                    try PostgresAccess.writeHeads(session)
                }
            }
            giveBack(session, false)
            return nil
        } catch {
            // A connection whose transaction could not be rolled back is not lent again.
            giveBack(session, (try? session.query("ROLLBACK")) == nil)
            return error
        }
    }

    /// `body` between BEGIN (and the batch's `begin`) and COMMIT; rolled back when it throws.
    ///
    /// The COMMIT is sent behind the statements sent without waiting, and all are waited for at once: one round
    /// trip. When one of them failed, the server has answered the COMMIT with a rollback: then this throws
    /// `failure` if given (the batch is to run again), else that statement's error.
    private func transaction(
        _ session: PostgresSession, key: Int, writes: Int, failingWith failure: (any Error)?,
        _ body: () throws -> Void
    ) throws {
        session.send("BEGIN")
        session.records = .init(expected: writes)
        do {
            try begin(session, key, writes)
            try body()
        } catch {
            _ = try? session.settle()
            _ = try? session.query("ROLLBACK")
            session.records = .init(expected: writes)
            throw error
        }
        let commit = session.sendForAnswer("COMMIT")
        do {
            try session.settle()
        } catch {
            _ = try? commit.wait()
            session.records = .init(expected: writes)
            throw failure ?? error
        }
        let answer: PostgresQueryResult
        do { answer = try commit.wait() } catch { throw PostgresStoreError(error, doing: "PostgreSQL: COMMIT") }
        // Every statement succeeded, so nothing should have made the server roll back instead; never acknowledge it.
        guard answer.metadata.command == "COMMIT" else {
            throw PostgresStoreError("PostgreSQL answered the COMMIT with \(answer.metadata.command)")
        }
    }
}
