import Foundation
import SelfCareCore
import SelfCareCrypto
import SelfCareStore
import SelfCareTesting
import Testing

@testable import SelfCarePostgres

/// The PostgreSQL store's partitions: a write about one caller runs in that caller's partition, beside the writes
/// of other partitions, and appends to that partition's chain; one that reaches beyond it runs again holding the
/// whole store; every chain verifies and has its own signed checkpoints.
@Suite("Partitioned writes on PostgreSQL", .enabled(if: testPostgres != nil))
struct PartitionedWriteTests {
    /// Numbers 186000000NN, each with its partition.
    static func numbers(_ count: Int) -> [String] { (0..<count).map { String(format: "186000%05d", $0) } }

    static func partition(_ number: String, _ store: PostgresServiceStore) -> Int {
        RecordPartitions.partition(of: number, count: store.partitions)
    }

    /// Appends `count` records, one a write, about each of `numbers` in turn.
    static func appendInTurn(_ count: Int, about numbers: [String], to store: PostgresServiceStore) async throws {
        for n in 0..<count {
            let number = numbers[n % numbers.count]
            _ = try await store.write(for: number) { try $0.append(draft(n, subject: number)) }
        }
    }

    /// The chain record `id` is on.
    static func chain(ofRecord id: Int64, _ store: PostgresServiceStore) async throws -> Int {
        Int(try await store.rawRows("SELECT chain::text FROM records WHERE id = \(id)").first ?? "") ?? -1
    }

    @Test func aWriteAboutOneNumberAppendsToItsPartitionsChain() async throws {
        try await withTemporaryPostgres { store in
            #expect(store.partitions == 16, "the count the database was created with")
            let caller = "18612345678"
            let record = try await store.write(for: caller) { try $0.append(draft(1, subject: caller)) }
            #expect(try await Self.chain(ofRecord: record.id, store) == 1 + Self.partition(caller, store))
            let whole = try await store.write { try $0.append(draft(2, subject: caller)) }
            #expect(try await Self.chain(ofRecord: whole.id, store) == 1, "a whole-store write appends to chain 1")
            #expect(record.prevHash == ServiceRecord.genesisHash && whole.prevHash == ServiceRecord.genesisHash)
            let heads = try store.recordChainHeads()
            #expect(heads.count == 2 && heads[1]?.id == whole.id)
            #expect(heads[1 + Self.partition(caller, store)]?.hash == record.hash)
            #expect(try store.verifyRecords().firstBreak == nil)
        }
    }

    /// A body that reads another partition's number throws before its statement is sent, is rolled back, and runs
    /// again holding the whole store: its work lands once, on chain 1.
    @Test func aWriteReachingAnotherPartitionRunsAgainHoldingEverything() async throws {
        try await withTemporaryPostgres { store in
            let numbers = Self.numbers(64)
            let caller = numbers[0]
            let other = try #require(numbers.first { Self.partition($0, store) != Self.partition(caller, store) })
            let runs = RunCounter()
            let record = try await store.write(for: caller) { writer -> ServiceRecord in
                runs.add()
                var subscriber = Fixtures.subscriber(caller)
                subscriber.balanceFen = 500
                try writer.save(subscriber)
                _ = try writer.subscriber(other)
                return try writer.append(draft(1, subject: caller))
            }
            #expect(runs.count == 2, "once in the partition, once holding everything")
            #expect(try await Self.chain(ofRecord: record.id, store) == 1)
            #expect(try await store.records(matching: RecordFilter()).map(\.id) == [record.id])
            #expect(try await store.read { try $0.subscriber(caller) }?.balanceFen == 500)
            // An order or a notice is the whole store's too.
            let notice = try await store.write(for: caller) { writer in
                try writer.append(
                    NoticeDraft(
                        msisdn: caller, kind: "test", text: "hello", time: Fixtures.midNovember, record: record.id))
            }
            #expect(notice.id == 1)
        }
    }

    /// Reads asked for ahead answer as the reads themselves would at the moment they are made: after the write
    /// appended a record or saved the usage, the answers asked ahead are not used.
    @Test func readsAskedAheadAnswerAsTheReadsWouldWhenMade() async throws {
        try await withTemporaryPostgres { store in
            let caller = "18612345678"
            let (since, until) = (Fixtures.midNovember, Fixtures.midNovember.addingTimeInterval(3600))
            let month = try #require(Month("2026-11"))
            let usage = UsageMonth(
                msisdn: caller, month: month, voiceUsed: 1, smsUsed: 2, dataUsedMB: 3, chargesFen: 456)
            let expected: [ExpectedRead] = [
                .recordCount(channel: .api, caller: caller, since: since, until: until),
                .firstRecord(channel: .api, session: "s1", caller: caller), .usage(msisdn: caller, month: month),
            ]
            // Asked ahead when the write began, read after it appended a record and saved the usage.
            let seen = try await store.write(for: caller, expecting: expected) { writer in
                let record = try writer.append(draft(1, subject: caller))
                try writer.save(usage)
                return (
                    try writer.recordCount(channel: .api, caller: caller, since: since, until: until),
                    try writer.firstRecord(channel: .api, session: "s1", caller: caller)?.id,
                    try writer.usage(caller, month: month), record.id
                )
            }
            #expect(seen.0 == 1)
            #expect(seen.1 == seen.3)
            #expect(seen.2 == usage)
            // Read before any change, they are what was there.
            let before = try await store.write(for: caller, expecting: expected) { writer in
                (
                    try writer.recordCount(channel: .api, caller: caller, since: since, until: until),
                    try writer.firstRecord(channel: .api, session: "s2", caller: caller)?.id
                )
            }
            #expect(before.0 == 1 && before.1 == nil)
            // The same reads asked ahead in the next write see what the first one committed.
            let again = try await store.write(for: caller, expecting: expected) { writer in
                (
                    try writer.recordCount(channel: .api, caller: caller, since: since, until: until),
                    try writer.usage(caller, month: month)
                )
            }
            #expect(again.0 == 1 && again.1 == usage)
        }
    }

    /// Writes about many numbers at once, through every lane: each lands once with an id of its own, each
    /// partition's chain links its records in id order, and the whole set verifies.
    @Test func manyPartitionsWriteAtOnceAndEveryChainVerifies() async throws {
        try await withTemporaryPostgres { store in
            let numbers = Self.numbers(40)
            let ids = try await withThrowingTaskGroup(of: Int64.self) { group in
                for n in 0..<400 {
                    let number = numbers[n % numbers.count]
                    group.addTask {
                        try await store.write(for: number) { try $0.append(draft(n, subject: number)) }.id
                    }
                }
                return try await group.reduce(into: [Int64]()) { $0.append($1) }
            }
            #expect(Set(ids).count == 400)
            let report = try store.verifyRecords()
            #expect(report.checked == 400 && report.firstBreak == nil, "\(report)")
            let heads = try store.recordChainHeads()
            #expect(Set(heads.keys) == Set(numbers.map { 1 + Self.partition($0, store) }))
            for (chain, head) in heads {
                var previous = ServiceRecord.genesisHash
                var last: ServiceRecord?
                try store.forEachRecord(inChain: chain, afterID: nil) { record in
                    #expect(record.prevHash == previous)
                    #expect(Self.partition(record.caller, store) + 1 == chain)
                    previous = record.hash
                    last = record
                }
                #expect(last?.id == head.id && last?.hash == head.hash)
            }
        }
    }

    /// Each chain gets its own signed checkpoint; a partition's chain rewritten below its checkpoint with every
    /// hash recomputed passes the walk alone, and the checkpoint catches it.
    @Test func aCheckpointPerChainCatchesARewrittenPartitionChain() async throws {
        let signer = RecordCheckpointSigner(pepper: Pepper(bytes: Array(repeating: 7, count: 32)))
        try await withTemporaryPostgres { store in
            let numbers = Self.numbers(8)
            try await Self.appendInTurn(24, about: numbers, to: store)
            _ = try await store.write { try $0.append(draft(99)) }
            let heads = try store.recordChainHeads()
            let written = try await signer.writeCheckpoints(to: store, now: Fixtures.midNovember)
            #expect(written.count == heads.count && Set(written.map(\.chain)) == Set(heads.keys))
            #expect(written.map(\.id) == Array(1...Int64(written.count)))
            #expect(written.allSatisfy(signer.isValid))
            #expect(try await signer.writeCheckpoints(to: store, now: Fixtures.midNovember).isEmpty)
            let checkpoints = try store.checkpoints()
            #expect(try store.verifyRecords(checkpoints: checkpoints).firstBreak == nil)

            // Rewrite the chain of the first number's partition from its second record, recomputing every hash.
            let chain = 1 + Self.partition(numbers[0], store)
            var records: [ServiceRecord] = []
            try store.forEachRecord(inChain: chain, afterID: nil) { records.append($0) }
            #expect(records.count >= 3)
            var previous = records[0].hash
            try store.executeRaw("ALTER TABLE records DISABLE TRIGGER records_no_update")
            for var record in records.dropFirst() {
                if record.id == records[1].id { record.reply = "x" }
                record.prevHash = previous
                record.hash = record.computedHash()
                previous = record.hash
                try store.executeRaw(
                    "UPDATE records SET reply = '\(record.reply)', prev_hash = '\(record.prevHash)', hash = '\(record.hash)' WHERE id = \(record.id)"
                )
            }
            try store.executeRaw("UPDATE record_chain SET last_hash = '\(previous)' WHERE id = \(chain)")
            #expect(try store.verifyRecords().firstBreak == nil, "the chain alone is fooled")
            let report = try store.verifyRecords(checkpoints: checkpoints)
            #expect(report.breaks.map(\.recordID) == [records.last!.id], "\(report)")
            #expect(report.firstBreak?.problem.hasPrefix("chain \(chain): ") == true, "\(report)")
            let number = numbers[0]
            _ = try await store.write(for: number) { try $0.append(draft(100, subject: number)) }
            await #expect(throws: RecordCheckpointSigner.Refusal.self) {
                try await signer.writeCheckpoints(to: store, now: Fixtures.midNovember)
            }
        }
    }

    /// What someone with the database can add without breaking a link, at the end of a chain, is caught where it
    /// claims a place it cannot have: an id handed out before the last round of checkpoints (an old id), a chain
    /// its caller's records are not in, a chain that does not exist.
    @Test func recordsPutInAtAChainsEndAreCaughtWhereTheyCannotBe() async throws {
        let signer = RecordCheckpointSigner(pepper: Pepper(bytes: Array(repeating: 5, count: 32)))
        try await withTemporaryPostgres { store in
            let numbers = Self.numbers(6)
            try await Self.appendInTurn(12, about: numbers, to: store)
            // A write that fails leaves the ids it took unused: one of them is the old id put in below.
            let owner = numbers[0]
            await #expect(throws: Boom.self) {
                try await store.write(for: owner) { writer -> Int in
                    _ = try writer.append(draft(40, subject: owner))
                    throw Boom()
                }
            }
            let unused = Int64(try await store.rawRows("SELECT last_value::text FROM records_id").first ?? "") ?? 0
            let written = try await signer.writeCheckpoints(to: store, now: Fixtures.midNovember)
            let through = try #require(written.first?.idsThrough)
            #expect(written.allSatisfy { $0.idsThrough == through } && through >= unused && unused > 12)
            let checkpoints = try store.checkpoints()
            #expect(try store.verifyRecords(checkpoints: checkpoints).firstBreak == nil)

            let chain = 1 + Self.partition(owner, store)
            let stranger = try #require(numbers.first { Self.partition($0, store) != Self.partition(owner, store) })
            // Appends `record` to `chain` as its new head, linked and hashed as the store would.
            func putIn(_ id: Int64, caller: String, chain: Int) throws {
                let head = try #require(try store.recordChainHeads()[chain])
                let record = ServiceRecord.chained(
                    draft(50, subject: caller), id: id, prevHash: head.hash)
                let values = [
                    "\(record.id)", "'\(record.time)'", "'\(record.channel)'", "'\(record.session ?? "")'",
                    "'\(record.caller)'", "'\(record.subject)'", "'\(record.operation)'",
                    "'\(record.inputs.replacingOccurrences(of: "'", with: "''"))'", "'\(record.auth)'",
                    "'\(record.result)'", "'\(record.reason)'", "'\(record.reply)'", "\(record.durationMS)",
                    "'\(record.prevHash)'", "'\(record.hash)'", "\(chain)",
                ]
                try store.executeRaw(
                    "INSERT INTO records (\(PostgresAccess.recordColumns), chain) VALUES (\(values.joined(separator: ", ")))"
                )
                try store.executeRaw(
                    "INSERT INTO record_chain (id, last_id, last_hash) VALUES (\(chain), \(id), '\(record.hash)') "
                        + "ON CONFLICT (id) DO UPDATE SET last_id = excluded.last_id, last_hash = excluded.last_hash")
            }
            // An old id at the end of the owner's chain: one handed out before the checkpoints and never used,
            // above the chain's last record.
            #expect(try store.recordChainHeads()[chain]!.id < unused)
            try putIn(unused, caller: owner, chain: chain)
            var report = try store.verifyRecords(checkpoints: checkpoints)
            #expect(report.breaks.map(\.recordID) == [unused], "\(report)")
            #expect(report.firstBreak?.problem.contains("put in afterwards with an old id") == true, "\(report)")
            #expect(try store.verifyRecords().firstBreak == nil, "the links alone are fooled")
            // A new id, but another partition's caller.
            try putIn(through + 1000, caller: stranger, chain: chain)
            report = try store.verifyRecords(checkpoints: checkpoints)
            #expect(
                report.breaks.contains { $0.recordID == through + 1000 && $0.problem.contains("not in this chain") },
                "\(report)")
            // A chain that does not exist (its check dropped first).
            try store.executeRaw("ALTER TABLE records DROP CONSTRAINT records_chain_check")
            try store.executeRaw("ALTER TABLE record_chain DROP CONSTRAINT record_chain_partition")
            try store.executeRaw(
                "INSERT INTO record_chain (id, last_id, last_hash) VALUES (99, 0, '\(ServiceRecord.genesisHash)')")
            try putIn(through + 2000, caller: owner, chain: 99)
            report = try store.verifyRecords()
            #expect(
                report.breaks.contains { $0.recordID == through + 2000 && $0.problem.contains("no such chain") },
                "\(report)")
        }
    }
}
