import Foundation
import GRDB
import SelfCareCore
import SelfCareTesting
import Testing

@testable import SelfCareStore

/// The queries every message runs stay index lookups as the records grow.
@Suite("Hot queries use their indexes")
struct QueryPlanTests {
    /// SQLite's plan for `sql`, one line per step.
    func plan(_ store: SQLiteServiceStore, _ sql: String, _ arguments: StatementArguments = []) throws -> String {
        try store.pool.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: arguments).map { $0["detail"] as String }
                .joined(separator: "\n")
        }
    }

    /// The names of the indexes on `records`.
    func recordIndexes(_ reader: some DatabaseReader) throws -> [String] {
        try reader.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'records'")
        }
    }

    /// Appends `draft(n)` for each n, through the store's own append, in one transaction of `queue`.
    func appendDrafts(_ range: Range<Int>, to queue: DatabaseQueue) throws {
        try queue.write { db in
            for n in range { _ = try SQLiteAccess(db: db).append(draft(n)) }
        }
    }

    /// The rate limit's count for the drafts' caller on the API channel.
    func recordCount(_ store: SQLiteServiceStore) throws -> Int? {
        try store.pool.read { db in
            try Int.fetchOne(db, sql: SQLiteAccess.recordCountSQL, arguments: ["18612345678", "2000", "9999", "api"])
        }
    }

    @Test func theRateLimitCountReadsOnlyItsIndex() async throws {
        try await withTemporaryDatabase { store, _ in
            let detail = try plan(store, SQLiteAccess.recordCountSQL, ["1", "2", "3", "sms"])
            #expect(detail.contains("USING COVERING INDEX records_caller_channel_time"), "\(detail)")
        }
    }

    @Test func theDuplicateAndSubscriberLookupsAreIndexSearches() async throws {
        try await withTemporaryDatabase { store, _ in
            let duplicate = try plan(store, SQLiteAccess.firstRecordSQL, ["sms", "m1", "1"])
            #expect(duplicate.contains("SEARCH records USING INDEX records_channel_session"), "\(duplicate)")
            let subscriber = try plan(store, "SELECT name FROM subscribers WHERE msisdn = '1'")
            #expect(subscriber.contains("SEARCH subscribers USING INDEX"), "\(subscriber)")
            let usage = try plan(store, "SELECT charges_fen FROM usage WHERE msisdn = '1' AND month = '2026-11'")
            #expect(usage.contains("SEARCH usage USING INDEX"), "\(usage)")
        }
    }

    @Test func aNumbersRecordsAreFoundThroughTheCallerAndPartialSubjectIndexes() async throws {
        try await withTemporaryDatabase { store, _ in
            let listing = SQLiteServiceStore.listing(RecordFilter(subject: "18611110001", since: Fixtures.midNovember))
            let detail = try plan(store, listing.sql, listing.arguments)
            #expect(detail.contains("USING INDEX records_caller_channel_time"), "\(detail)")
            #expect(detail.contains("USING INDEX records_other_subject"), "\(detail)")
            #expect(!detail.contains("SCAN records"), "\(detail)")
        }
    }

    @Test func everyConnectionReadsThroughTheMapping() async throws {
        try await withTemporaryDatabase { store, _ in
            let reader = try store.pool.read { db in try Int64.fetchOne(db, sql: "PRAGMA mmap_size") }
            let writer = try store.pool.writeWithoutTransaction { db in try Int64.fetchOne(db, sql: "PRAGMA mmap_size")
            }
            #expect(reader == SQLiteStoreConfiguration().mmapBytes && writer == reader)
            #expect(reader ?? 0 > 0)
        }
    }

    @Test func aDatabaseOfTheEarlierSchemaIsMigratedToTheNewIndex() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir.appendingPathComponent("old.sqlite").path
            // A database at the schema before the rate-limit index changed, with records in it.
            do {
                let queue = try DatabaseQueue(path: path)
                try Schema.migrator.migrate(queue, upTo: "v3-confirmations")
                try appendDrafts(0..<3, to: queue)
            }
            let old = try DatabaseQueue(path: path)
            let before = try recordIndexes(old)
            #expect(before.contains("records_caller_time"))
            try old.close()
            let store = try SQLiteServiceStore(path: path)
            for n in 3..<5 { _ = try await store.write { try $0.append(draft(n)) } }
            let after = try recordIndexes(store.pool)
            #expect(after.contains("records_caller_channel_time") && after.contains("records_other_subject"))
            #expect(!after.contains("records_caller_time") && !after.contains("records_subject"))
            let report = try store.verifyRecords()
            #expect(report.checked == 5 && report.firstBreak == nil, "\(report)")
            let count = try recordCount(store)
            #expect(count == 5, "the new index holds the records written before the migration")
        }
    }
}
