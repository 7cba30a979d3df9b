import Foundation
import GRDB
import SelfCareCore
import SelfCareTesting
import Testing

@testable import SelfCareStore

/// The records of `text` read whole, and read in parts split at `positions`.
private func records(_ text: String, splitAt positions: [Int]) -> (whole: [CSVRow], parts: [CSVRow]) {
    var text = text
    return text.withUTF8 { bytes in
        let scanner = CSVScanner(bytes)
        var whole: [CSVRow] = []
        scanner.forEach { whole.append(CSVRow(line: $0.line, fields: $0.fields)) }
        var starts = [(offset: scanner.start, line: 1)]
        for found in scanner.boundaries(after: positions) where found.offset > starts.last!.offset {
            starts.append(found)
        }
        var parts: [CSVRow] = []
        for (k, start) in starts.enumerated() {
            let end = k + 1 < starts.count ? starts[k + 1].offset : bytes.count
            scanner.part(from: start.offset, line: start.line, to: end).forEach {
                parts.append(CSVRow(line: $0.line, fields: $0.fields))
            }
        }
        return (whole, parts)
    }
}

@Suite("Bulk import: the byte reader, its parts, new rows in one statement")
struct BulkImportTests {
    /// Quotes, doubled quotes, quotes inside a field, CRLF, lone CR, blank lines and line ends inside quotes: however
    /// the input is cut at record boundaries, its parts read the records the whole reads, on the same lines.
    @Test func partsReadExactlyWhatTheWholeReads() {
        var random = SeededGenerator(state: 42)
        let pieces = ["a", "用户", "\"q,uo\"\"ted\"", "\"multi\nline\"", "x\"y", "", " sp ", "\"\"", "\"open\r\nrow\""]
        let ends = ["\n", "\r\n", "\r", "\n\n"]
        for round in 0..<200 {
            var text = round % 3 == 0 ? "\u{FEFF}" : ""
            for _ in 0..<Int.random(in: 1...30, using: &random) {
                let fields = (0..<Int.random(in: 1...4, using: &random)).map { _ in
                    pieces.randomElement(using: &random)!
                }
                text += fields.joined(separator: ",") + ends.randomElement(using: &random)!
            }
            let count = text.utf8.count
            let cuts = (0..<Int.random(in: 1...5, using: &random)).map { _ in Int.random(in: 0...count, using: &random)
            }
            let (whole, parts) = records(text, splitAt: cuts.sorted())
            #expect(parts == whole, "round \(round): \(text.debugDescription) cut at \(cuts.sorted())")
            #expect(CSVReader.rows(text).rows == whole)
        }
    }

    /// A cut never falls inside a quoted field, even one holding line ends.
    @Test func aCutInsideQuotesMovesToTheRecordsEnd() {
        let text = "h1,h2\n1,\"a\nb\nc\"\n2,x\n"
        let inside = text.utf8.firstIndex(of: UInt8(ascii: "b"))!
        let (whole, parts) = records(text, splitAt: [text.utf8.distance(from: text.utf8.startIndex, to: inside)])
        #expect(parts == whole)
        #expect(whole.map(\.line) == [1, 2, 5])
    }

    /// Bytes that are not UTF-8 mark their record unreadable, and so does U+FFFD (what a conversion from GBK
    /// writes for a byte it cannot read); good text, Chinese included, does not.
    @Test func unreadableFieldsAreFlaggedPerRecord() {
        var bytes = Array("a,用户\n".utf8) + Array("b,".utf8) + [0xFF, 0x41] + Array("\nc,\u{FFFD}\n".utf8)
        let flags = bytes.withUnsafeMutableBufferPointer { buffer in
            var flags: [Bool] = []
            CSVScanner(UnsafeBufferPointer(buffer)).forEach { flags.append($0.unreadable) }
            return flags
        }
        #expect(flags == [false, true, true])
    }

    @Test func everyColumnOfEveryKindHasItsPosition() {
        for kind in ImportKind.allCases {
            for name in kind.requiredColumns + kind.optionalColumns {
                #expect(CSVImporter.Column(name: name)?.name == name, "\(kind): \(name)")
            }
        }
    }

    @Test func numberKeysKeepTheirLeadingZeros() {
        var seen = CSVImporter.SeenKeys()
        #expect(seen.first("0123", line: 2) == nil)
        #expect(seen.first("123", line: 3) == nil)
        #expect(seen.first("P38", line: 4) == nil)
        #expect(seen.first("123", line: 5) == 3)
        #expect(seen.first("0123", line: 6) == 2)
        #expect(seen.first("P38", line: 7) == 4)
        #expect(seen.first("1234567890123456", line: 8) == nil, "16 digits are kept as text")
        #expect(seen.first("1234567890123456", line: 9) == 8)
    }

    /// A file of more than a mebibyte is read in parts on every core: quoted names with line ends (refused: control
    /// characters) and with commas, a duplicate across parts and bad rows at the end come out as they would read
    /// line by line, on their lines.
    @Test func aLargeFileReadInPartsImportsAsWhole() async throws {
        try await withTemporaryDatabase { store, _ in
            let imp = try importer(store)
            _ = try await imp.importData(.plans, data: Data(plansCSV.utf8), source: "plans")
            var csv =
                "msisdn,name,status,payment,prepaid_period,plan,balance_fen,points,tier,language,premium,"
                + "contract_end,blacklist,password\n"
            let rows = 24_000
            var expected: [String] = []
            var line = 2
            for i in 0..<rows {
                var name = "用户\(i)"
                if i % 1000 == 500 {
                    name = "\"用户\n\(i)\""
                    expected.append("\(line): name: control characters are not allowed")
                } else if i % 1000 == 700 {
                    name = "\"用户, \"\"\(i)\"\"\""
                }
                csv +=
                    "1390\(String(format: "%07d", i)),\(name),normal,postpaid,,P58,\(i),0,standard,zh-CN,false,,false,\n"
                line += i % 1000 == 500 ? 2 : 1
            }
            csv += "13900000007,重复,normal,postpaid,,P58,1,0,standard,zh-CN,false,,false,\n"
            csv += "13999999999,坏,normal,postpaid,,P58,lots,0,standard,zh-CN,false,,false,\n"
            csv += "13999999998,坏,normal,postpaid,,P99,1,0,standard,zh-CN,false,,false,\n"
            expected += [
                "\(line): duplicate of line 9", "\(line + 1): balance_fen: expected a whole number, found `lots`",
                "\(line + 2): plan: unknown plan `P99`",
            ]
            #expect(csv.utf8.count > 1 << 20)
            let (summary, rejects, _) = try await imp.importData(.subscribers, data: Data(csv.utf8), source: "subs")
            #expect(summary.applied == rows - rows / 1000 && summary.rejected == rows / 1000 + 3)
            #expect(rejects.map { "\($0.line): \($0.reason)" } == expected)
            #expect(rejects.last?.fields.first == "13999999998", "a row the engine refuses is read again whole")
            let quoted = try await store.read { try $0.subscriber("13900023700") }
            #expect(quoted?.name == "用户, \"23700\"")
            let last = try await store.read { try $0.subscriber("1390\(String(format: "%07d", rows - 1))") }
            #expect(last?.balanceFen == rows - 1)
        }
    }

    /// A new number is added in one statement; a stored one is left as it is, for the merge rules to decide.
    @Test func insertIfAbsentAddsOnlyNewNumbers() async throws {
        try await withTemporaryDatabase { store, _ in
            var subscriber = Fixtures.subscriber("18600000001")
            subscriber.name = ""
            subscriber.puk = ""
            let s = subscriber
            let added = try await store.write { try $0.insertIfAbsent(s) }
            #expect(added)
            let stored = try await store.read { try $0.subscriber("18600000001") }
            #expect(stored == s, "empty text is stored as empty text, not NULL")
            var changed = s
            changed.balanceFen += 100
            let other = changed
            let again = try await store.write { try $0.insertIfAbsent(other) }
            #expect(!again)
            #expect(try await store.read { try $0.subscriber("18600000001") } == s)
        }
    }

    /// The tables rebuilt for their checks keep every row and index, and the checks still refuse bad values.
    @Test func theChecksRebuiltKeepRowsIndexesAndRules() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir.appendingPathComponent("v11.sqlite").path
            do {
                let queue = try DatabaseQueue(path: path)
                try Schema.migrator.migrate(queue, upTo: "v11-order-subjects")
                try queue.write { db in
                    try db.execute(
                        sql: """
                            INSERT INTO plans VALUES ('P18', '畅享18', 'Basic 18', 1800, 100, 50, 1024, 'both', 1, 0);
                            INSERT INTO subscribers VALUES ('18600000001', '张伟', 'lost', 'normal', 'prepaid', 'valid',
                                'P18', 100, 5, 'gold', 'zh-CN', 0, NULL, 0, 'hash', 2, NULL, '12345678');
                            INSERT INTO orders VALUES (7, 'SC-00000000000000000000000000000007', 'loss.report',
                                '18600000001', 'sms', 3, 't', '{}', '{}', 'delivered', 1, 'u', NULL, NULL, NULL, 4, 1);
                            INSERT INTO notices VALUES (9, '18600000001', 'k', 'text', 't', 3, 'sent', 1, 'u', NULL,
                                NULL);
                            """)
                }
            }
            let queue = try DatabaseQueue(path: path)
            func rows() throws -> [String] {
                try queue.read { db in
                    try ["plans", "subscribers", "orders", "notices"].flatMap { table in
                        try Row.fetchAll(db, sql: "SELECT * FROM \(table)").map { "\(table): \($0)" }
                    }
                }
            }
            let before = try rows()
            try Schema.migrator.migrate(queue)
            #expect(try rows() == before)
            let indexes = try queue.read { db in
                try String.fetchAll(db, sql: "SELECT name FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL")
            }
            #expect(
                Set(indexes).isSuperset(of: ["orders_state", "orders_outbox_file", "orders_subject", "notices_state"]))
            let lists = try queue.read { db in
                try String.fetchAll(
                    db,
                    sql: """
                        SELECT name FROM sqlite_schema
                        WHERE name IN ('plans', 'subscribers', 'orders', 'notices') AND sql LIKE '% IN (%'
                        """)
            }
            #expect(lists.isEmpty, "\(lists)")
            for bad in [
                "UPDATE subscribers SET status = 'sleeping'", "UPDATE subscribers SET prepaid_period = 'x'",
                "UPDATE subscribers SET payment = 'both'", "UPDATE plans SET payment = 'free'",
                "UPDATE orders SET state = 'lost'", "UPDATE notices SET state = 'maybe'",
            ] {
                #expect(throws: DatabaseError.self, "\(bad)") { try queue.write { try $0.execute(sql: bad) } }
            }
        }
    }
}
