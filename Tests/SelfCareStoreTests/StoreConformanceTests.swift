import Foundation
import GRDB
import SelfCareCore
import SelfCareCrypto
import SelfCarePostgres
import SelfCareStore
import SelfCareTesting
import Synchronization
import Testing

/// Which store implementation a test runs against.
enum StoreKind: String, CaseIterable, Sendable {
    case memory
    /// The memory store running every write's body twice, as a store retrying a conflict does.
    case memoryRunningWritesTwice
    case sqlite
    /// A database of its own on the PostgreSQL server `SELFCARE_TEST_POSTGRES` names.
    case postgres

    /// The kinds this run can test: PostgreSQL only when a server is named.
    static let available: [StoreKind] = allCases.filter { $0 != .postgres || testPostgres != nil }
}

/// Runs `body` with a fresh store of `kind`.
func withStore<T>(_ kind: StoreKind, _ body: (any ServiceStore) async throws -> T) async throws -> T {
    switch kind {
    case .memory: return try await body(MemoryServiceStore())
    case .memoryRunningWritesTwice: return try await body(MemoryServiceStore(writeRuns: 2))
    case .sqlite: return try await withTemporaryDatabase { store, _ in try await body(store) }
    case .postgres: return try await withTemporaryPostgres { store in try await body(store) }
    }
}

/// Counts the runs of write bodies.
final class RunCounter: Sendable {
    private let runs = Atomic(0)
    var count: Int { runs.load(ordering: .relaxed) }
    func add() { runs.add(1, ordering: .relaxed) }
}

struct Boom: Error {}

func draft(_ n: Int, subject: String = "18612345678", caller: String? = nil) -> RecordDraft {
    RecordDraft(
        time: Fixtures.midNovember.addingTimeInterval(Double(n)), channel: .api, session: "s\(n)",
        caller: caller ?? subject,
        subject: subject, operation: "query.balance", inputs: ["n": "\(n)", "text": "a,\"b\"\n"], auth: .none,
        result: .ok, reason: .ok, reply: "余额 \(n).00 元", durationMS: n)
}

@Suite("Store contract, on memory, SQLite and PostgreSQL")
struct StoreConformanceTests {
    @Test(arguments: StoreKind.available)
    func subscriberRoundTrip(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            var s = Fixtures.subscriber(
                "18612345678", payment: .prepaid, period: .recharge, plan: "K19",
                contractEnd: LocalDate(year: 2027, month: 6, day: 30))
            s.statusBeforeLoss = .arrears
            s.status = .lost
            s.passwordLockedUntil = ISOTime.parse("2026-11-16T10:00:00.250Z")
            s.failedPasswordAttempts = 2
            s.premium = true
            s.blacklist = true
            s.language = .english
            let saved = s
            try await Fixtures.seed(store, subscribers: [saved])
            let loaded = try await store.read { try $0.subscriber("18612345678") }
            #expect(loaded == saved)
            let plans = try await store.read { try $0.plans() }
            #expect(plans.map(\.code) == ["P18", "K19", "L28", "P38", "P58"])
            #expect(try await store.read { try $0.plan("L28") } == Fixtures.plans[4])
        }
    }

    @Test(arguments: StoreKind.available)
    func callerThrottleRoundTrip(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            #expect(try await store.read { try $0.callerThrottle("13900000000") } == nil)
            let counting = CallerThrottle(caller: "13900000000", failures: 3, windowStart: Fixtures.midNovember)
            let locked = CallerThrottle(
                caller: "13900000001", failures: 0, windowStart: Fixtures.midNovember,
                lockedUntil: ISOTime.parse("2026-11-16T10:00:00.250Z"))
            try await store.write { writer in
                try writer.save(counting)
                try writer.save(locked)
            }
            #expect(try await store.read { try $0.callerThrottle("13900000000") } == counting)
            #expect(try await store.read { try $0.callerThrottle("13900000001") } == locked)
            let replaced = CallerThrottle(caller: "13900000000", failures: 4, windowStart: Fixtures.midNovember)
            try await store.write { try $0.save(replaced) }
            #expect(try await store.read { try $0.callerThrottle("13900000000") } == replaced)
            // A transaction that throws leaves the count as it was.
            await #expect(throws: Boom.self) {
                try await store.write { writer in
                    var more = replaced
                    more.failures = 5
                    try writer.save(more)
                    throw Boom()
                }
            }
            #expect(try await store.read { try $0.callerThrottle("13900000000") }?.failures == 4)
        }
    }

    @Test(arguments: StoreKind.available)
    func aThrowingTransactionLeavesNothing(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            try await Fixtures.seed(store, subscribers: [Fixtures.subscriber()])
            _ = try await store.write { try $0.append(draft(1)) }
            let headBefore = try store.recordChainHead()
            await #expect(throws: Boom.self) {
                try await store.write { w in
                    var s = try w.subscriber("18612345678")!
                    s.status = .lost
                    try w.save(s)
                    try w.save(
                        PendingChange(
                            msisdn: s.msisdn, kind: .suspend, planCode: nil,
                            effective: LocalDate(year: 2026, month: 12, day: 1), requestedAt: Fixtures.midNovember))
                    _ = try w.append(draft(2))
                    throw Boom()
                }
            }
            #expect(try await store.read { try $0.subscriber("18612345678") }?.status == .normal)
            #expect(try await store.read { try $0.pendingChanges("18612345678") }.isEmpty)
            #expect(try store.recordChainHead()?.id == headBefore?.id)
            var count = 0
            try store.forEachRecord(matching: RecordFilter()) { _ in count += 1 }
            #expect(count == 1)
            #expect(try store.verifyRecords().firstBreak == nil)
        }
    }

    /// A store may run a write's body again (SQLite reruns a batch in which one write threw; a network database's
    /// store retries a conflict): only the last run counts, for the state and for the result.
    @Test(arguments: StoreKind.available)
    func aWriteBodyThatRunsAgainCountsOnce(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            try await Fixtures.seed(store, subscribers: [Fixtures.subscriber()])
            let before = try await store.read { try $0.subscriber("18612345678")!.points }
            let runs = RunCounter()
            let results = await withTaskGroup(of: Int?.self) { group in
                for n in 0..<60 {
                    group.addTask {
                        try? await store.write { writer -> Int in
                            runs.add()
                            var s = try writer.subscriber("18612345678")!
                            s.points += 1
                            try writer.save(s)
                            _ = try writer.append(draft(n))
                            if n % 3 == 0 { throw Boom() }
                            return s.points
                        }
                    }
                }
                return await group.reduce(into: [Int?]()) { $0.append($1) }
            }
            let committed = results.compactMap { $0 }
            // Each write that committed saw every earlier one once, and its result is its committed run's.
            #expect(committed.sorted() == Array(before + 1...before + 40))
            #expect(try await store.read { try $0.subscriber("18612345678")!.points } == before + 40)
            var records = 0
            try store.forEachRecord(matching: RecordFilter()) { _ in records += 1 }
            #expect(records == 40)
            #expect(try store.verifyRecords().firstBreak == nil)
            // Every body ran; the store that runs them twice ran each one that did not throw twice.
            #expect(runs.count >= (kind == .memoryRunningWritesTwice ? 40 * 2 + 20 : 60))
        }
    }

    @Test(arguments: StoreKind.available)
    func pendingChangesReplaceAndComeDueInOrder(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let dec = LocalDate(year: 2026, month: 12, day: 1)
            let jan = LocalDate(year: 2027, month: 1, day: 1)
            try await store.write { w in
                try w.save(
                    PendingChange(
                        msisdn: "2", kind: .planChange, planCode: "P18", effective: jan,
                        requestedAt: Fixtures.midNovember))
                try w.save(
                    PendingChange(
                        msisdn: "1", kind: .planChange, planCode: "P18", effective: dec,
                        requestedAt: Fixtures.midNovember))
                try w.save(
                    PendingChange(
                        msisdn: "1", kind: .planChange, planCode: "P58", effective: dec,
                        requestedAt: Fixtures.midNovember))
                try w.save(
                    PendingChange(
                        msisdn: "1", kind: .suspend, planCode: nil, effective: dec, requestedAt: Fixtures.midNovember))
            }
            let mine = try await store.read { try $0.pendingChanges("1") }
            #expect(mine.map(\.kind) == [.planChange, .suspend])
            #expect(mine.first?.planCode == "P58")
            #expect(try await store.read { try $0.duePendingChanges(onOrBefore: dec) }.map(\.msisdn) == ["1", "1"])
            #expect(try await store.read { try $0.duePendingChanges(onOrBefore: jan) }.count == 3)
            try await store.write { try $0.deletePendingChange(msisdn: "1", kind: .suspend) }
            #expect(try await store.read { try $0.pendingChanges("1") }.count == 1)
        }
    }

    /// The asynchronous pages request paths read list what the synchronous walk lists, filter for filter.
    @Test(arguments: StoreKind.available)
    func recordPagesMatchTheWalk(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            for n in 1...9 {
                _ = try await store.write {
                    try $0.append(
                        draft(
                            n, subject: n % 3 == 0 ? "18611110001" : "18612345678", caller: n == 6 ? "13900000000" : nil
                        ))
                }
            }
            let filters = [
                RecordFilter(), RecordFilter(limit: 4), RecordFilter(afterID: 4, limit: 3),
                RecordFilter(subject: "18611110001"), RecordFilter(subject: "18611110001", afterID: 3, limit: 1),
                RecordFilter(since: Fixtures.midNovember.addingTimeInterval(5)), RecordFilter(limit: 0),
                RecordFilter(subject: "13900000000"),
            ]
            for filter in filters {
                var walked: [ServiceRecord] = []
                try store.forEachRecord(matching: filter) { walked.append($0) }
                #expect(try await store.records(matching: filter) == walked, "\(filter)")
                #expect(try await store.recordIDs(matching: filter) == walked.map(\.id), "\(filter)")
            }
            #expect(try await store.recordIDs(matching: RecordFilter(subject: "18611110001")) == [3, 6, 9])
            #expect(try await store.recordIDs(matching: RecordFilter(afterID: 4, limit: 3)) == [5, 6, 7])
        }
    }

    @Test(arguments: StoreKind.available)
    func recordsChainFilterAndExport(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            for n in 1...6 {
                _ = try await store.write {
                    try $0.append(draft(n, subject: n % 2 == 0 ? "18611110001" : "18612345678"))
                }
            }
            var all: [ServiceRecord] = []
            try store.forEachRecord(matching: RecordFilter()) { all.append($0) }
            #expect(all.map(\.id) == [1, 2, 3, 4, 5, 6])
            #expect(all[0].prevHash == ServiceRecord.genesisHash)
            for (a, b) in zip(all, all.dropFirst()) { #expect(b.prevHash == a.hash) }
            #expect(all[0].inputs == #"{"n":"1","text":"a,\"b\"\n"}"#)
            #expect(all[0].inputValues["text"] == "a,\"b\"\n")
            var mine: [Int64] = []
            try store.forEachRecord(matching: RecordFilter(subject: "18611110001")) { mine.append($0.id) }
            #expect(mine == [2, 4, 6])
            // Records another number made about this one (a lost phone reported from a friend's) are its too,
            // and not the caller's.
            _ = try await store.write { try $0.append(draft(7, subject: "18611110001", caller: "13900000000")) }
            _ = try await store.write { try $0.append(draft(8, subject: "18611110001")) }
            var about: [Int64] = []
            try store.forEachRecord(matching: RecordFilter(subject: "18611110001")) { about.append($0.id) }
            #expect(about == [2, 4, 6, 7, 8])
            var recent: [Int64] = []
            try store.forEachRecord(
                matching: RecordFilter(subject: "18611110001", since: Fixtures.midNovember.addingTimeInterval(5))
            ) { recent.append($0.id) }
            #expect(recent == [6, 7, 8])
            var byCaller: [Int64] = []
            try store.forEachRecord(matching: RecordFilter(subject: "13900000000")) { byCaller.append($0.id) }
            #expect(byCaller.isEmpty)
            var since: [Int64] = []
            try store.forEachRecord(matching: RecordFilter(since: Fixtures.midNovember.addingTimeInterval(4))) {
                since.append($0.id)
            }
            #expect(since == [4, 5, 6, 7, 8])
            let line = all[0].jsonLine
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(
                Set(object.keys) == [
                    "id", "time", "channel", "session", "caller", "subject", "operation", "inputs",
                    "auth", "result", "reason", "reply", "duration_ms", "prev_hash", "hash",
                ])
            #expect(object["reply"] as? String == "余额 1.00 元")
            #expect(all[0].csvLine.hasPrefix("1,2026-11-15T02:00:01.000Z,api,s1,"))
            #expect(try store.verifyRecords().checked == 8)
        }
    }

    @Test(arguments: StoreKind.available)
    func concurrentEngineWorkloadKeepsTheChain(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let numbers = (0..<8).map { "1861111\(String(format: "%04d", $0))" }
            try await Fixtures.seed(store, subscribers: numbers.map { Fixtures.subscriber($0) })
            let engine = try Fixtures.engine(store: store)
            let operations: [(OperationName, [String: String], Bool)] = [
                (.queryBalance, [:], false), (.lossReport, [:], true), (.lossCancel, [:], true),
                (.planChange, ["plan": "P18"], true), (.planChange, ["plan": "P38", "when": "next"], true),
                (.suspendKeep, [:], true), (.suspendResume, [:], true), (.queryPlan, [:], false),
            ]
            let outcomes = await withTaskGroup(of: OperationOutcome.self) { group in
                for i in 0..<160 {
                    let (op, args, pw) = operations[i % operations.count]
                    let number = numbers[i % numbers.count]
                    group.addTask {
                        await engine.perform(
                            OperationRequest(
                                operation: op, channel: .api, caller: number, arguments: args,
                                password: pw ? (i % 7 == 0 ? Secret("000000") : Fixtures.password) : nil))
                    }
                }
                var all: [OperationOutcome] = []
                for await o in group { all.append(o) }
                return all
            }
            #expect(outcomes.allSatisfy { $0.result != .error })
            let verify = try store.verifyRecords()
            #expect(verify.firstBreak == nil)
            #expect(verify.checked == 160)
            #expect(Set(outcomes.compactMap { $0.record?.id }).count == 160)
            // Every applied transaction, and nothing else, has exactly one order, linked to its record.
            let applied = outcomes.filter {
                $0.isOK && OperationName(rawValue: $0.record?.operation ?? "").isTransaction
            }
            let orders = try await engine.orders(OrderFilter())
            #expect(!applied.isEmpty)
            #expect(orders.map(\.record).sorted() == applied.compactMap { $0.record?.id }.sorted())
            #expect(Set(orders.map(\.key)).count == orders.count)
            for order in orders {
                let record = try #require(applied.first { $0.record?.id == order.record }?.record)
                #expect(order.key == "SC-" + record.hash.prefix(32))
                #expect(order.operation == record.operation && order.subject == record.subject)
                #expect(order.state == .pending && !order.after.isEmpty)
            }
        }
    }

    /// Orders are numbered in order, listed by state with a cursor and a limit, found by id, and their key is
    /// unique: a second order with a taken key fails its whole transaction.
    @Test(arguments: StoreKind.available)
    func ordersAreAppendedListedAndKeyedOnce(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            @Sendable func order(_ n: Int) -> OrderDraft {
                OrderDraft(
                    time: Fixtures.midNovember, operation: .lossReport, subject: "18612345678", channel: .sms,
                    record: Int64(n), key: "SC-\(n)", before: ["status": "normal"], after: ["status": "lost"])
            }
            let first = try await store.write { w in (try w.append(order(1)), try w.append(order(2))) }
            #expect(first.0.id == 1 && first.1.id == 2)
            #expect(first.0.created == "2026-11-15T02:00:00.000Z" && first.0.state == .pending)
            for n in 3...5 { _ = try await store.write { try $0.append(order(n)) } }
            await #expect(throws: (any Error).self) {
                try await store.write { w in
                    _ = try w.append(order(6))
                    _ = try w.append(order(3))
                }
            }
            let all = try await store.read { try $0.orders(OrderFilter()) }
            #expect(all.map(\.id) == [1, 2, 3, 4, 5], "the failed transaction left nothing")
            #expect(all[2].before == ["status": "normal"] && all[2].after == ["status": "lost"])
            let page = try await store.read { try $0.orders(OrderFilter(state: .pending, afterID: 2, limit: 2)) }
            #expect(page.map(\.key) == ["SC-3", "SC-4"])
            #expect(try await store.read { try $0.orders(OrderFilter(state: .accepted)) }.isEmpty)
            #expect(try await store.read { try $0.order(id: 4) }?.key == "SC-4")
            #expect(try await store.read { try $0.order(id: 9) } == nil)
        }
    }
}

@Suite("Tampering is caught")
struct TamperTests {
    func seeded(_ store: any ServiceStore, count: Int = 8) async throws {
        for n in 1...count { _ = try await store.write { try $0.append(draft(n)) } }
    }

    @Test func memoryTamperAndDeletion() async throws {
        let store = MemoryServiceStore()
        try await seeded(store)
        store.tamper(recordID: 5) { $0.reply = "余额 9.00 元" }
        #expect(try store.verifyRecords().firstBreak?.recordID == 5)

        let headless = MemoryServiceStore()
        try await seeded(headless)
        headless.delete(recordID: 8)
        headless.deleteChainHead()
        #expect(try headless.verifyRecords().firstBreak?.problem.contains("chain head is missing") == true)

        let other = MemoryServiceStore()
        try await seeded(other)
        other.delete(recordID: 4)
        let broken = try #require(try other.verifyRecords().firstBreak)
        #expect(broken.recordID == 5)
        #expect(broken.description.contains("record 4"))
    }

    @Test func sqliteChainHeadCannotBeDeletedOrMovedBack() async throws {
        try await withTemporaryDatabase { store, _ in
            try await seeded(store)
            await #expect(throws: DatabaseError.self) {
                try await store.pool.write { try $0.execute(sql: "DELETE FROM record_chain") }
            }
            await #expect(throws: DatabaseError.self) {
                try await store.pool.write { try $0.execute(sql: "UPDATE record_chain SET last_id = 7") }
            }
            try await store.pool.write { db in
                try db.execute(sql: "DROP TRIGGER records_no_delete; DROP TRIGGER record_chain_no_delete")
                try db.execute(sql: "DELETE FROM records WHERE id = 8; DELETE FROM record_chain")
            }
            let broken = try #require(try store.verifyRecords().firstBreak)
            #expect(broken.problem.contains("chain head is missing"))
        }
    }

    @Test func sqliteRecordsAreAppendOnly() async throws {
        try await withTemporaryDatabase { store, _ in
            try await seeded(store)
            await #expect(throws: DatabaseError.self) {
                try await store.pool.write { try $0.execute(sql: "UPDATE records SET reply = 'x' WHERE id = 3") }
            }
            await #expect(throws: DatabaseError.self) {
                try await store.pool.write { try $0.execute(sql: "DELETE FROM records WHERE id = 3") }
            }
            #expect(try store.verifyRecords().firstBreak == nil)
        }
    }

    @Test(arguments: ["reply", "time", "subject", "reason", "inputs", "duration_ms"])
    func sqliteTamperedFieldNamesTheRecord(_ column: String) async throws {
        try await withTemporaryDatabase { store, _ in
            try await seeded(store)
            try await store.pool.write { db in
                try db.execute(sql: "DROP TRIGGER records_no_update")
                let value = column == "duration_ms" ? "999" : column == "inputs" ? "'{}'" : "\(column) || ' '"
                try db.execute(sql: "UPDATE records SET \(column) = \(value) WHERE id = 6")
            }
            let broken = try #require(try store.verifyRecords().firstBreak)
            #expect(broken.recordID == 6)
            #expect(broken.problem.contains("hash does not match"))
        }
    }

    @Test func sqliteDeletedMiddleAndLastRecords() async throws {
        try await withTemporaryDatabase { store, _ in
            try await seeded(store)
            try await store.pool.write { db in
                try db.execute(sql: "DROP TRIGGER records_no_delete")
                try db.execute(sql: "DELETE FROM records WHERE id = 4")
            }
            #expect(try store.verifyRecords().firstBreak?.recordID == 5)
        }
        try await withTemporaryDatabase { store, _ in
            try await seeded(store)
            try await store.pool.write { db in
                try db.execute(sql: "DROP TRIGGER records_no_delete")
                try db.execute(sql: "DELETE FROM records WHERE id = 8")
            }
            let broken = try #require(try store.verifyRecords().firstBreak)
            #expect(broken.recordID == 8)
            #expect(broken.problem.contains("missing"))
        }
    }

    @Test func rewritingTheWholeChainTailWithoutTheHeadIsCaught() async throws {
        // Someone who deletes the last record and also fixes nothing else is caught by the head;
        // someone who recomputes hashes for an edited record is caught by the next record's prev_hash.
        try await withTemporaryDatabase { store, _ in
            try await seeded(store)
            var records: [ServiceRecord] = []
            try store.forEachRecord(matching: RecordFilter()) { records.append($0) }
            var forged = records[2]
            forged.reply = "forged"
            forged.hash = forged.computedHash()
            let (reply, hash) = (forged.reply, forged.hash)
            try await store.pool.write { db in
                try db.execute(sql: "DROP TRIGGER records_no_update")
                try db.execute(sql: "UPDATE records SET reply = ?, hash = ? WHERE id = 3", arguments: [reply, hash])
            }
            #expect(try store.verifyRecords().firstBreak?.recordID == 4)
        }
    }
}
