import Foundation
import GRDB
import SelfCareCore
import SelfCareCrypto
import SelfCarePostgres
import SelfCareStore
import SelfCareTesting
import Testing

/// A small seeded generator (SplitMix64), so that every run writes the same "random" records.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Text of every awkward kind: control characters (NUL first among them), DEL and C1 controls, line and
/// paragraph separators, byte-order marks, combining marks, right-to-left text, joined emoji, CJK, the
/// last scalars of each plane, and lengths well past the record limits.
func hostileText(_ random: inout SeededGenerator) -> String {
    let pools: [[Unicode.Scalar]] = [
        (0...0x1F).compactMap(Unicode.Scalar.init), (0x7F...0x9F).compactMap(Unicode.Scalar.init),
        ["\u{2028}", "\u{2029}", "\u{FEFF}", "\u{FFFD}", "\u{FFFF}", "\u{200B}", "\u{200D}", "\u{202E}", "\u{10FFFF}"],
        ["\u{0301}", "\u{0308}", "\u{20DD}"], ["\u{05D0}", "\u{0627}", "\u{0644}"], ["😀", "👩", "🏽", "🇨", "🇳"],
        ["余", "额", "查", "詢", "𠀀", "\u{3000}"], ["a", "Z", "0", "9", " ", "\"", "\\", ",", "'", "%", "*", "#"],
    ]
    let length = [0, 1, 2, 7, 40, 300, 5_000][Int.random(in: 0..<7, using: &random)]
    var scalars = String.UnicodeScalarView()
    for _ in 0..<length {
        let pool = pools[Int.random(in: 0..<pools.count, using: &random)]
        scalars.append(pool[Int.random(in: 0..<pool.count, using: &random)])
    }
    return String(scalars)
}

@Suite("Records keep any text")
struct RecordTextTests {
    /// Records with hostile text in every field are stored exactly as they were hashed: read back after the
    /// database is closed and opened again, every record equals what `append` returned and the chain verifies.
    @Test(arguments: [1, 2, 3])
    func anyTextInEveryFieldStaysVerifiable(_ seed: UInt64) async throws {
        try await withTemporaryDirectory { dir in
            let path = dir.appendingPathComponent("text.sqlite").path
            var random = SeededGenerator(state: seed)
            var written: [ServiceRecord] = []
            do {
                let store = try SQLiteServiceStore(path: path)
                for n in 0..<150 {
                    let draft = RecordDraft(
                        time: Fixtures.midNovember.addingTimeInterval(Double(n)), channel: .sms,
                        session: n % 5 == 0 ? nil : hostileText(&random), caller: hostileText(&random),
                        subject: hostileText(&random), operation: hostileText(&random),
                        inputs: [hostileText(&random): hostileText(&random), "text": hostileText(&random)], auth: .none,
                        result: .refused, reason: .unknownCommand, reply: hostileText(&random), durationMS: n)
                    written.append(try await store.write { try $0.append(draft) })
                }
            }
            let reopened = try SQLiteServiceStore(path: path)
            let report = try reopened.verifyRecords()
            #expect(report.firstBreak == nil, "\(report)")
            #expect(report.checked == written.count)
            var read: [ServiceRecord] = []
            try reopened.forEachRecord(matching: RecordFilter()) { read.append($0) }
            #expect(read == written)
            for record in read {
                #expect(
                    !record.caller.unicodeScalars.contains("\u{0}") && !record.reply.unicodeScalars.contains("\u{0}"))
                #expect(record.reply.unicodeScalars.count <= RecordLimits.reply)
                #expect(record.caller.unicodeScalars.count <= RecordLimits.number)
            }
        }
    }

    /// A NUL byte in a field, as `from=186123%0045678` delivers it, no longer breaks the chain for ever.
    @Test(arguments: StoreKind.available)
    func aNULInAFieldIsStoredAsAReplacementCharacter(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            var hostile = draft(1)
            hostile.caller = "186123\u{0}45678"
            hostile.session = "ab\u{0}cd"
            hostile.inputs = ["text": "CXYE\u{0}"]
            let first = hostile
            let record = try await store.write { try $0.append(first) }
            #expect(record.caller == "186123\u{FFFD}45678")
            #expect(record.session == "ab\u{FFFD}cd")
            let second = following(first)
            _ = try await store.write { try $0.append(second) }
            #expect(try store.verifyRecords().firstBreak == nil)
        }
    }

    /// Over-long fields are cut at their limit with `…`, so that no request makes records large.
    @Test func longFieldsAreCut() {
        var long = draft(1)
        long.caller = String(repeating: "9", count: 65_000)
        long.inputs = ["text": String(repeating: "查", count: 10_000)]
        let stored = long.storable
        #expect(stored.caller.unicodeScalars.count == RecordLimits.number)
        #expect(stored.caller.hasSuffix(RecordLimits.cutMark))
        #expect(stored.inputs["text"]?.unicodeScalars.count == RecordLimits.input)
        // One character of ten thousand combining marks is cut as well.
        long.reply = "e" + String(repeating: "\u{0301}", count: 10_000)
        #expect(long.storable.reply.unicodeScalars.count == RecordLimits.reply)
        #expect(draft(2).storable == draft(2), "ordinary records are stored as they are")
    }

    /// Every broken record is reported, not only the first: tampering after a break is still seen.
    @Test(arguments: StoreKind.available)
    func verifyReportsEveryBreak(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            for n in 1...6 { _ = try await store.write { try $0.append(draft(n)) } }
            try await tamper(store, id: 2)
            try await tamper(store, id: 5)
            let report = try store.verifyRecords()
            #expect(report.breaks.map(\.recordID) == [2, 5], "\(report)")
            #expect(report.brokenCount == 2 && report.checked == 6)
        }
    }

    /// Checkpoints sign the head as it moves (none when nothing came since the last), and catch what the chain
    /// alone cannot: a chain rewritten below them with every hash recomputed, as someone with the database can.
    @Test(arguments: StoreKind.available)
    func aSignedCheckpointCatchesAChainRewrittenBelowIt(_ kind: StoreKind) async throws {
        let signer = RecordCheckpointSigner(pepper: Pepper(bytes: Array(repeating: 9, count: 32)))
        try await withStore(kind) { store in
            #expect(try await signer.writeCheckpoint(to: store, now: Fixtures.midNovember) == nil)
            for n in 1...6 { _ = try await store.write { try $0.append(draft(n)) } }
            let first = try #require(
                try await signer.writeCheckpoint(to: store, now: Fixtures.midNovember))
            let head = try store.recordChainHead()
            #expect(first.id == 1 && first.lastID == 6 && first.hash == head?.hash)
            #expect(try await signer.writeCheckpoint(to: store, now: Fixtures.midNovember) == nil)
            // Ids rise but need not be consecutive (PostgreSQL takes them from a sequence).
            var last: Int64 = 0
            for n in 7...8 { last = try await store.write { try $0.append(draft(n)) }.id }
            let second = try #require(
                try await signer.writeCheckpoint(to: store, now: Fixtures.midNovember))
            #expect(second.id == 2 && second.lastID == last)
            let checkpoints = try store.checkpoints()
            #expect(checkpoints == [first, second])
            #expect(checkpoints.allSatisfy(signer.isValid))
            var forged = second
            forged.hash = String(repeating: "0", count: 64)
            #expect(!signer.isValid(forged), "a checkpoint's fields are signed")
            #expect(try store.verifyRecords(checkpoints: checkpoints).firstBreak == nil)
            guard kind == .sqlite || kind == .postgres else { return }
            try await rewrite(store, from: 3)
            #expect(try store.verifyRecords().firstBreak == nil, "the chain alone is fooled")
            let report = try store.verifyRecords(checkpoints: checkpoints)
            #expect(report.breaks.map(\.recordID) == [6, last], "\(report)")
            #expect(report.firstBreak?.problem.contains("checkpoint 1") == true, "\(report)")
            // Nor does the next checkpoint vouch for the rewritten chain: it is refused, as long as it stays so.
            _ = try await store.write { try $0.append(draft(9)) }
            await #expect(throws: RecordCheckpointSigner.Refusal.self) {
                try await signer.writeCheckpoint(to: store, now: Fixtures.midNovember)
            }
            #expect(try store.checkpoints().count == 2)
        }
    }

    /// A checkpoint is not signed over checkpoints that were deleted: a gap in their numbers, or fewer than this
    /// node saw before.
    @Test(arguments: [StoreKind.sqlite] + (testPostgres == nil ? [] : [StoreKind.postgres]))
    func noCheckpointIsSignedOverDeletedOnes(_ kind: StoreKind) async throws {
        let signer = RecordCheckpointSigner(pepper: Pepper(bytes: Array(repeating: 9, count: 32)))
        try await withStore(kind) { store in
            for round in 1...3 {
                _ = try await store.write { try $0.append(draft(round)) }
                _ = try await signer.writeCheckpoint(to: store, now: Fixtures.midNovember)
            }
            _ = try await store.write { try $0.append(draft(4)) }
            await #expect(throws: RecordCheckpointSigner.Refusal.self, "seen 4, the store has 3") {
                try await signer.writeCheckpoint(to: store, now: Fixtures.midNovember, seen: 4)
            }
            let delete = "DELETE FROM record_checkpoints WHERE id = 2"
            if let postgres = store as? PostgresServiceStore {
                try postgres.executeRaw("ALTER TABLE record_checkpoints DISABLE TRIGGER USER")
                try postgres.executeRaw(delete)
            } else if let sqlite = store as? SQLiteServiceStore {
                try await sqlite.pool.write { db in
                    try db.execute(sql: "DROP TRIGGER record_checkpoints_no_delete")
                    try db.execute(sql: delete)
                }
            }
            await #expect(throws: RecordCheckpointSigner.Refusal.self, "1, 3: a gap") {
                try await signer.writeCheckpoint(to: store, now: Fixtures.midNovember)
            }
        }
    }

    /// Changes record `id`'s reply and recomputes the chain from there to the head, as someone with write access
    /// to the database and the hashing code can.
    private func rewrite(_ store: any ServiceStore, from id: Int64) async throws {
        var previous = ""
        var rewritten: [ServiceRecord] = []
        for var record in try await store.records(matching: RecordFilter()) {
            if record.id == id { record.reply = "x" }
            if record.id >= id {
                record.prevHash = previous
                record.hash = record.computedHash()
                rewritten.append(record)
            }
            previous = record.hash
        }
        if let postgres = store as? PostgresServiceStore {
            try postgres.executeRaw("ALTER TABLE records DISABLE TRIGGER records_no_update")
            for r in rewritten {
                try postgres.executeRaw(
                    "UPDATE records SET reply = '\(r.reply)', prev_hash = '\(r.prevHash)', hash = '\(r.hash)' WHERE id = \(r.id)"
                )
            }
            try postgres.executeRaw("UPDATE record_chain SET last_hash = '\(previous)'")
        } else if let sqlite = store as? SQLiteServiceStore {
            let (rewritten, previous) = (rewritten, previous)
            try await sqlite.pool.write { db in
                try db.execute(sql: "DROP TRIGGER IF EXISTS records_no_update")
                for r in rewritten {
                    try db.execute(
                        sql: "UPDATE records SET reply = ?, prev_hash = ?, hash = ? WHERE id = ?",
                        arguments: [r.reply, r.prevHash, r.hash, r.id])
                }
                try db.execute(sql: "UPDATE record_chain SET last_hash = ?", arguments: [previous])
            }
        }
    }

    private func following(_ previous: RecordDraft) -> RecordDraft {
        var next = previous
        next.time = previous.time.addingTimeInterval(1)
        return next
    }

    /// Changes record `id`'s reply behind the store's back, as someone with the file could.
    private func tamper(_ store: any ServiceStore, id: Int64) async throws {
        if let memory = store as? MemoryServiceStore {
            memory.tamper(recordID: id) { $0.reply = "x" }
        } else if let postgres = store as? PostgresServiceStore {
            try postgres.executeRaw("ALTER TABLE records DISABLE TRIGGER records_no_update")
            try postgres.executeRaw("UPDATE records SET reply = 'x' WHERE id = \(id)")
        } else if let sqlite = store as? SQLiteServiceStore {
            try await sqlite.pool.write { db in
                try db.execute(sql: "DROP TRIGGER IF EXISTS records_no_update")
                try db.execute(sql: "UPDATE records SET reply = 'x' WHERE id = ?", arguments: [id])
            }
        }
    }
}
