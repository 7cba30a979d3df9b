import Foundation
import GRDB
import SelfCareCore
import SelfCareStore
import SelfCareTesting
import Testing

@Suite("Group commit")
struct GroupCommitTests {
    @Test func concurrentWritesShareCommitsAndEveryOneLands() async throws {
        try await withTemporaryDatabase { store, _ in
            let before = store.commitStatistics
            let ids = try await withThrowingTaskGroup(of: Int64.self) { group in
                for n in 0..<200 {
                    group.addTask { try await store.write { try $0.append(draft(n)).id } }
                }
                return try await group.reduce(into: [Int64]()) { $0.append($1) }
            }
            #expect(Set(ids).count == 200)
            let stats = store.commitStatistics
            #expect(stats.writes - before.writes == 200)
            #expect(stats.transactions - before.transactions < 200, "some writes shared a commit: \(stats)")
            let report = try store.verifyRecords()
            #expect(report.firstBreak == nil, "\(report)")
            #expect(report.checked == 200)
        }
    }

    @Test func aWriteThatThrowsRollsBackOnlyItselfInItsBatch() async throws {
        try await withTemporaryDatabase { store, _ in
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
