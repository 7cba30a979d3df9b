import Foundation
import GRDB
import SelfCareCore
import SelfCarePostgres
import SelfCareTesting
import Testing

@testable import SelfCareStore

/// 200 concurrent appends: every one lands once, some share a commit, and the chain verifies.
func checkConcurrentWritesShareCommits(
    _ store: any ServiceStore, statistics: () -> (transactions: Int, writes: Int)
) async throws {
    let before = statistics()
    let ids = try await withThrowingTaskGroup(of: Int64.self) { group in
        for n in 0..<200 {
            group.addTask { try await store.write { try $0.append(draft(n)).id } }
        }
        return try await group.reduce(into: [Int64]()) { $0.append($1) }
    }
    #expect(Set(ids).count == 200)
    let stats = statistics()
    #expect(stats.writes - before.writes == 200)
    #expect(stats.transactions - before.transactions < 200, "some writes shared a commit: \(stats)")
    let report = try store.verifyRecords()
    #expect(report.firstBreak == nil, "\(report)")
    #expect(report.checked == 200)
}

/// 100 concurrent writes, every third of which throws: only those roll back (their record and their point), the
/// others of their batches land, and the chain verifies.
func checkAFailedWriteRollsBackAlone(_ store: any ServiceStore) async throws {
    try await Fixtures.seed(store, subscribers: [Fixtures.subscriber()])
    // Records already there: a failed job must not make the batch forget the chain's head.
    for n in 1000..<1003 { _ = try await store.write { try $0.append(draft(n)) } }
    let results = await withTaskGroup(of: Bool.self) { group in
        for n in 0..<100 {
            group.addTask {
                do {
                    try await store.write { writer -> Void in
                        _ = try writer.append(draft(n))
                        var s = try writer.subscriber("18612345678")!
                        s.points += 1
                        try writer.save(s)
                        if n % 3 == 0 { throw Boom() }  // its record and its point must go
                    }
                    return true
                } catch {
                    return false
                }
            }
        }
        return await group.reduce(into: [Bool]()) { $0.append($1) }
    }
    let succeeded = results.filter { $0 }.count
    #expect(succeeded == 66)
    let points = try await store.read { try $0.subscriber("18612345678")!.points }
    #expect(points == 3200 + 66)
    var records = 0
    try store.forEachRecord(matching: RecordFilter()) { _ in records += 1 }
    #expect(records == 3 + 66)
    #expect(try store.verifyRecords().firstBreak == nil)
}

@Suite("Group commit on PostgreSQL", .enabled(if: testPostgres != nil))
struct PostgresGroupCommitTests {
    @Test func concurrentWritesShareCommitsAndEveryOneLands() async throws {
        try await withTemporaryPostgres { store in
            try await checkConcurrentWritesShareCommits(store) { store.commitStatistics }
        }
    }

    @Test func aWriteThatThrowsRollsBackOnlyItselfInItsBatch() async throws {
        try await withTemporaryPostgres { store in try await checkAFailedWriteRollsBackAlone(store) }
    }
}

@Suite("Group commit")
struct GroupCommitTests {
    @Test func concurrentWritesShareCommitsAndEveryOneLands() async throws {
        try await withTemporaryDatabase { store, _ in
            try await checkConcurrentWritesShareCommits(store) { store.commitStatistics }
        }
    }

    @Test func aWriteThatThrowsRollsBackOnlyItselfInItsBatch() async throws {
        try await withTemporaryDatabase { store, _ in try await checkAFailedWriteRollsBackAlone(store) }
    }

    @Test func closingAStoreCommitsWhatWaitsAndEndsItsCommittingTask() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir.appendingPathComponent("test.sqlite").path
            let store = try SQLiteServiceStore(path: path)
            let writes = (0..<50).map { n in Task { try await store.write { try $0.append(draft(n)).id } } }
            // Wait for one to be committed: then the committing task has run, and more may wait in the queue.
            _ = try await writes[0].value
            try await store.close()
            #expect(await ended([store.committer.drainTask]) == 1)
            // The writes asked for before the close were committed; none after it runs.
            var committed = 0
            for write in writes { if (try? await write.value) != nil { committed += 1 } }
            await #expect(throws: StoreError.self) { try await store.write { try $0.append(draft(99)) } }
            let reopened = try SQLiteServiceStore(path: path)
            let report = try reopened.verifyRecords()
            #expect(report.firstBreak == nil && report.checked == committed)
            #expect(committed >= 1)
        }
    }

    /// A store that is let go ends its committing task, and with it the last hold on its database: the
    /// committer's task does not outlive its store (it used to be a detached task nobody owned).
    @Test func storesLetGoLeaveNoCommittingTaskBehind() async throws {
        try await withTemporaryDirectory { dir in
            var tasks: [Task<Void, Never>] = []
            var pools: [WeakPool] = []
            for n in 0..<20 {
                let store = try SQLiteServiceStore(path: dir.appendingPathComponent("\(n).sqlite").path)
                _ = try await store.write { try $0.append(draft(n)) }
                tasks.append(store.committer.drainTask)
                pools.append(WeakPool(store.pool))
            }
            #expect(await ended(tasks) == tasks.count)
            #expect(pools.allSatisfy { $0.pool == nil }, "a database stayed open after its store was let go")
        }
    }

    @Test func theWriterCommitsWithSynchronousFull() async throws {
        try await withTemporaryDatabase { store, _ in
            // GRDB turns WAL on with synchronous=NORMAL; the store must set FULL again on the writer.
            let synchronous = try store.writerSynchronous()
            #expect(synchronous == 2)
        }
    }

    @Test func aWriteReturnsOnlyOnceItsCommitIsVisible() async throws {
        try await withTemporaryDatabase { store, url in
            for n in 0..<20 {
                let id = try await store.write { try $0.append(draft(n)).id }
                // Another connection, opened now, sees the record: it was committed before the write returned.
                let other = try DatabaseQueue(path: url.appendingPathComponent("test.sqlite").path)
                let seen = try await other.read { db in
                    try Int64.fetchOne(db, sql: "SELECT max(id) FROM records") ?? 0
                }
                #expect(seen == id)
            }
        }
    }
}

/// How many of `tasks` end within `limit`. A leaked task never does: the test fails after `limit` rather than
/// hanging (its watcher is left behind then, as nothing can stop it); tasks that all end are never waited for
/// longer than the last one takes.
func ended(_ tasks: [Task<Void, Never>], within limit: Duration = .seconds(20)) async -> Int {
    if tasks.isEmpty { return 0 }
    let (events, continuation) = AsyncStream.makeStream(of: Bool.self)
    for task in tasks {
        Task {
            await task.value
            continuation.yield(true)
        }
    }
    let timer = Task {
        try? await Task.sleep(for: limit)
        continuation.yield(false)
    }
    defer { timer.cancel() }
    var count = 0
    for await event in events {
        guard event else { break }
        count += 1
        if count == tasks.count { break }
    }
    return count
}

/// A database pool, without keeping it open.
struct WeakPool {
    weak var pool: DatabasePool?
    init(_ pool: DatabasePool) { self.pool = pool }
}
