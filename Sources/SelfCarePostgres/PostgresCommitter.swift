import Foundation
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
/// The batches are committed from one thread of the committer's own, which waits for each answer: the store's
/// contract is synchronous inside a transaction.
final class PostgresCommitter: @unchecked Sendable {
    /// One write: runs in the batch's transaction, hears the commit's outcome.
    struct Job {
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
    private var closed = false
    private var finished = false
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
    private let begin: @Sendable (PostgresSession) throws -> Void

    /// Starts the committing thread. `lease` and `giveBack` lend it a connection a batch; `begin` runs first in
    /// every batch's transaction (the write lock).
    init(
        maxBatch: Int = 128, lease: @escaping @Sendable () throws -> PostgresSession,
        giveBack: @escaping @Sendable (PostgresSession, Bool) -> Void,
        begin: @escaping @Sendable (PostgresSession) throws -> Void
    ) {
        self.maxBatch = maxBatch
        self.begin = begin
        let thread = Thread { [self] in drain(lease: lease, giveBack: giveBack) }
        thread.name = "selfcare.postgres.commit"
        thread.start()
    }

    /// Runs `body` in a write transaction shared with the writes waiting now; returns once it is committed.
    func write<T: Sendable>(_ body: @escaping @Sendable (PostgresSession) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            var result: Result<T, any Error>?
            let job = Job(
                runFast: { session in
                    do {
                        result = .success(try body(session))
                    } catch {
                        throw WriteFailed()
                    }
                },
                run: { session in
                    try session.query("SAVEPOINT job")
                    let chain = session.chain
                    do {
                        let value = try body(session)
                        try session.settle()
                        result = .success(value)
                        try session.query("RELEASE SAVEPOINT job")
                    } catch {
                        result = .failure(error)
                        // If the rollback fails, the write could be committed: fail the batch instead.
                        try session.query("ROLLBACK TO SAVEPOINT job")
                        session.chain = chain
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
        if finished {
            condition.unlock()
            return
        }
        closed = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }

    /// Commits batches until closed and empty.
    private func drain(lease: () throws -> PostgresSession, giveBack: (PostgresSession, Bool) -> Void) {
        while true {
            condition.lock()
            while pending.isEmpty && !closed { condition.wait() }
            if pending.isEmpty {
                finished = true
                condition.broadcast()
                condition.unlock()
                return
            }
            let batch = Array(pending.prefix(maxBatch))
            pending.removeFirst(batch.count)
            transactions += 1
            writes += batch.count
            condition.unlock()

            let outcome = commit(batch, lease: lease, giveBack: giveBack)
            for job in batch { job.complete(outcome) }
        }
    }

    /// Commits one batch; the error that failed the whole batch, if one did.
    private func commit(
        _ batch: [Job], lease: () throws -> PostgresSession, giveBack: (PostgresSession, Bool) -> Void
    ) -> (any Error)? {
        let session: PostgresSession
        do { session = try lease() } catch { return error }
        do {
            do {
                try transaction(session) {
                    for job in batch { try job.runFast(session) }
                    // A statement a write sent without waiting failed: which write is not known, so rerun.
                    do { try session.settle() } catch { throw WriteFailed() }
                }
            } catch is WriteFailed {
                try transaction(session) { for job in batch { try job.run(session) } }
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
    private func transaction(_ session: PostgresSession, _ body: () throws -> Void) throws {
        session.send("BEGIN")
        session.chain = .init()
        do {
            try begin(session)
            try body()
        } catch {
            _ = try? session.settle()
            _ = try? session.query("ROLLBACK")
            session.chain = .init()
            throw error
        }
        try session.query("COMMIT")
    }
}
