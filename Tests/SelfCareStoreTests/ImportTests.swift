import Foundation
import GRDB
import SelfCareCore
import SelfCareCrypto
import SelfCareStore
import SelfCareTesting
import Testing

func importer(_ store: any ServiceStore, iterations: Int = 1000) throws -> CSVImporter {
    let hasher = Fixtures.hasher(iterations: iterations)
    return CSVImporter(
        engine: try Fixtures.engine(store: store, hasher: hasher), hasher: hasher, pool: BlockingWorkPool(threads: 2))
}

/// Every row of the data tables, as text, to compare before and after.
func dump(
    _ store: SQLiteServiceStore,
    tables: [String] = ["plans", "subscribers", "usage", "calls", "pending_changes", "records"]
) async throws -> [String] {
    try await store.pool.read { db in
        var lines: [String] = []
        for table in tables {
            for row in try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY 1, 2") {
                lines.append("\(table): \(row.description)")
            }
        }
        return lines
    }
}

let plansCSV = """
    code,name_zh,name_en,monthly_fee_fen,voice_minutes,sms,data_mb,payment,on_sale,contract_ok
    P18,畅享18元套餐,Basic 18,1800,100,50,1024,both,true,false
    P58,畅享58元套餐,"Smart 58, postpaid",5800,500,200,20480,postpaid,true,true
    """

@Suite("CSV reader")
struct CSVReaderTests {
    @Test func quotingLineEndingsAndBOM() {
        let text = "\u{FEFF}a,b,c\r\n1,\"x, \"\"y\"\"\",3\n\n\"multi\nline\",5,6\n7,,\n"
        let (rows, unterminated) = CSVReader.rows(text)
        #expect(unterminated == nil)
        #expect(
            rows == [
                CSVRow(line: 1, fields: ["a", "b", "c"]), CSVRow(line: 2, fields: ["1", "x, \"y\"", "3"]),
                CSVRow(line: 4, fields: ["multi\nline", "5", "6"]), CSVRow(line: 6, fields: ["7", "", ""]),
            ])
    }

    @Test func unterminatedQuote() {
        let (rows, unterminated) = CSVReader.rows("a,b\n1,\"open\n2,3\n")
        #expect(unterminated == 2)
        #expect(rows.count == 2)
    }
}

@Suite("CSV import (SPEC §3)")
struct ImportTests {
    @Test func theSameFilesTwiceChangeNothingTheSecondTime() async throws {
        try await withTemporaryDatabase { store, dir in
            let imp = try importer(store)
            let now = Fixtures.midNovember
            let files: [(ImportKind, String)] = [
                (.plans, DemoData.plans), (.subscribers, DemoData.subscribers(thisMonth: Month(year: 2026, month: 11))),
                (.usage, DemoData.usage(thisMonth: Month(year: 2026, month: 11))),
                (.calls, DemoData.calls(before: now)),
            ]
            for (kind, text) in files {
                try text.write(to: dir.appendingPathComponent("\(kind).csv"), atomically: true, encoding: .utf8)
            }
            for (kind, _) in files {
                let s = try await imp.importFile(kind, path: dir.appendingPathComponent("\(kind).csv").path)
                #expect(s.rejected == 0 && s.unchanged == 0 && s.applied > 0, "\(kind): \(s.description)")
            }
            let data = ["plans", "subscribers", "usage", "calls", "pending_changes"]
            let before = try await dump(store, tables: data)
            let recordsBefore = try await store.records(matching: RecordFilter()).count
            for (kind, _) in files {
                let s = try await imp.importFile(kind, path: dir.appendingPathComponent("\(kind).csv").path)
                #expect(s.applied == 0 && s.rejected == 0 && s.unchanged > 0, "\(kind): \(s.description)")
            }
            #expect(
                try await dump(store, tables: data) == before,
                "a second import changes no byte of the data, password hashes included")
            // Each file still leaves its import record, saying it applied nothing.
            let second = try await store.records(matching: RecordFilter()).dropFirst(recordsBefore)
            #expect(second.map(\.operation) == Array(repeating: "import", count: files.count))
            #expect(second.allSatisfy { $0.inputValues["applied"] == "0" && $0.inputValues["unchanged"] != "0" })
        }
    }

    @Test func passwordsAreHashedAndNeverStored() async throws {
        try await withTemporaryDatabase { store, dir in
            let imp = try importer(store)
            _ = try await imp.importData(.plans, data: Data(plansCSV.utf8), source: "plans")
            let csv = """
                msisdn,name,status,payment,prepaid_period,plan,balance_fen,points,tier,language,premium,contract_end,blacklist,password
                18612345678,张伟,normal,postpaid,,P18,100,0,gold,zh-CN,false,,false,258036
                """
            _ = try await imp.importData(.subscribers, data: Data(csv.utf8), source: "subs")
            let hash = try #require(try await store.read { try $0.subscriber("18612345678") }?.passwordHash)
            #expect(hash.hasPrefix("$pbkdf2-sha256$"))
            #expect(try Fixtures.hasher().verify(Secret("258036"), against: hash).matches)
            #expect(try await !dump(store).joined().contains("258036"))
            // Once set, a password is the customer's: a file with another one does not replace it.
            let changed = csv.replacingOccurrences(of: "258036", with: "147036")
            let (s, _, _) = try await imp.importData(.subscribers, data: Data(changed.utf8), source: "subs")
            #expect(s.unchanged == 1)
            let newHash = try #require(try await store.read { try $0.subscriber("18612345678") }?.passwordHash)
            #expect(newHash == hash)
            #expect(try Fixtures.hasher().verify(Secret("258036"), against: newHash).matches)
            // An empty password column keeps the stored hash.
            let blank = csv.replacingOccurrences(of: "258036", with: "")
            let (k, _, _) = try await imp.importData(.subscribers, data: Data(blank.utf8), source: "subs")
            #expect(k.unchanged == 1)
            #expect(try await store.read { try $0.subscriber("18612345678") }?.passwordHash == newHash)
        }
    }

    @Test func badRowsAreRejectedGoodRowsApplied() async throws {
        try await withTemporaryDatabase { store, dir in
            let imp = try importer(store)
            _ = try await imp.importData(.plans, data: Data(plansCSV.utf8), source: "plans")
            let csv = """
                msisdn,name,status,payment,prepaid_period,plan,balance_fen,points,tier,language,premium,contract_end,blacklist,password
                18612345678,张伟,normal,postpaid,,P18,100,0,gold,zh-CN,false,,false,258036
                18611110001,Li Na,normal,postpaid,,P99,100,0,gold,en,false,,false,470159
                18611110002,王芳,sleeping,postpaid,,P18,100,0,gold,zh-CN,false,,false,
                18611110003,刘洋,normal,prepaid,,P18,100,0,gold,zh-CN,false,,false,
                18611110004,陈静,normal,postpaid,,P18,lots,0,gold,zh-CN,false,,false,
                18611110005,杨磊,normal,postpaid,,P18,100,0,gold,zh-CN,maybe,,false,
                18611110006,赵敏,normal,postpaid,,P18,100,0,gold,zh-CN,false,2027-02-30,false,
                18611110007,黄强,normal,postpaid,,P18,100,0,gold,zh-CN,false,,false,12345
                12ab,周杰,normal,postpaid,,P18,100,0,gold,zh-CN,false,,false,
                18612345678,张伟,normal,postpaid,,P18,100,0,gold,zh-CN,false,,false,
                18611110010,徐丽,normal,postpaid
                18611110011,孙涛,normal,postpaid,,P58,100,0,diamond,en,true,2027-06-30,true,304682

                """
            let path = dir.appendingPathComponent("subscribers.csv").path
            try csv.write(toFile: path, atomically: true, encoding: .utf8)
            let summary = try await imp.importFile(.subscribers, path: path)
            #expect(summary.applied == 2)
            #expect(summary.rejected == 10)
            #expect(summary.rejectsPath == dir.appendingPathComponent("subscribers.rejects.csv").path)
            let rejects = try String(contentsOfFile: summary.rejectsPath!, encoding: .utf8)
            let lines = rejects.split(separator: "\n").map(String.init)
            #expect(
                lines[0]
                    == "line,reason,msisdn,name,status,payment,prepaid_period,plan,balance_fen,points,tier,language,premium,contract_end,blacklist,password"
            )
            let reasons = lines.dropFirst().map { line -> String in
                let (rows, _) = CSVReader.rows(line)
                return "\(rows[0].fields[0]): \(rows[0].fields[1])"
            }
            #expect(
                reasons == [
                    "3: plan: unknown plan `P99`",
                    "4: status: expected one of normal, lost, arrears, suspended, closed, found `sleeping`",
                    "5: prepaid_period: required for prepaid",
                    "6: balance_fen: expected a whole number, found `lots`",
                    "7: premium: expected true or false, found `maybe`",
                    "8: contract_end: expected a date YYYY-MM-DD, found `2027-02-30`",
                    "9: password: expected six digits",
                    "10: msisdn: expected a phone number, found `12ab`",
                    "11: duplicate of line 2",
                    "12: expected 14 fields, found 4",
                ])
            #expect(!rejects.contains("470159") && !rejects.contains("12345,"), "passwords never reach a rejects file")
            #expect(
                lines[1].hasPrefix(
                    "3,plan: unknown plan `P99`,18611110001,Li Na,normal,postpaid,,P99,100,0,gold,en,false,,false,"))
            #expect(try await store.read { try $0.subscriber("18611110011") }?.tier == .diamond)
            #expect(try await store.read { try $0.subscriber("18611110001") } == nil)

            // Fixing the file and importing again applies the rest and removes the stale rejects file.
            let fixed = csv.split(separator: "\n").enumerated().filter { [0, 1, 12].contains($0.offset) }.map(\.element)
                .joined(separator: "\n")
            try fixed.write(toFile: path, atomically: true, encoding: .utf8)
            let again = try await imp.importFile(.subscribers, path: path)
            #expect(again.rejected == 0 && again.applied == 0 && again.unchanged == 2)
            #expect(!FileManager.default.fileExists(atPath: summary.rejectsPath!))
        }
    }

    /// Each file goes through the engine: its rows and its `import` record land in one transaction, the record
    /// counting what the file did (rows refused before the engine and against the database alike) and never holding
    /// a password; a file refused whole writes no record.
    @Test func eachFileLeavesOneImportRecordWithItsCounts() async throws {
        try await withTemporaryDatabase { store, dir in
            let imp = try importer(store)
            _ = try await imp.importData(.plans, data: Data(plansCSV.utf8), source: "plans")
            let csv = """
                msisdn,name,status,payment,prepaid_period,plan,balance_fen,points,tier,language,premium,contract_end,blacklist,password
                18612345678,张伟,normal,postpaid,,P18,100,0,gold,zh-CN,false,,false,258036
                18611110001,Li Na,normal,postpaid,,P99,100,0,gold,en,false,,false,470159
                18611110002,王芳,sleeping,postpaid,,P18,100,0,gold,zh-CN,false,,false,

                """
            let path = dir.appendingPathComponent("subscribers.csv").path
            try csv.write(toFile: path, atomically: true, encoding: .utf8)
            _ = try await imp.importFile(.subscribers, path: path)
            let records = try await store.records(matching: RecordFilter())
            #expect(records.map(\.operation) == ["import", "import"])
            let last = try #require(records.last)
            #expect(
                last.inputValues == [
                    "kind": "subscribers", "source": path, "applied": "1", "unchanged": "0", "rejected": "2",
                ])
            #expect(last.caller == "system" && last.channel == "api" && last.result == "ok")
            #expect(last.reply == "subscribers: applied 1, unchanged 0, rejected 2")
            #expect(!"\(last)".contains("258036") && !"\(last)".contains("470159"))

            // A file refused whole (its header names an unknown column) changes nothing and records nothing.
            try "msisdn,nmae\n18612345678,x\n".write(toFile: path, atomically: true, encoding: .utf8)
            await #expect(throws: ImportFileError.self) { try await imp.importFile(.subscribers, path: path) }
            #expect(try await store.records(matching: RecordFilter()).count == 2)
            #expect(try store.verifyRecords().firstBreak == nil)
        }
    }

    @Test func lenientWhereNothingIsAmbiguous() async throws {
        try await withTemporaryDatabase { store, _ in
            let imp = try importer(store)
            _ = try await imp.importData(.plans, data: Data(plansCSV.utf8), source: "plans")
            let csv = """
                msisdn,name,status,payment,prepaid_period,plan,balance_fen,points,tier,language,premium,contract_end,blacklist,password
                +8618612345678,张伟,NORMAL,Postpaid,valid,p18,100,0,VIP,zh_cn,TRUE,2027-06-30T23:59:59+08:00,False,
                18611110001,Li Na,normal,postpaid,,P18,100,0,gold,en-US,false,,false,
                18611110002,Li Lei,normal,postpaid,,P18,100,0,gold,fr,false,,false,
                """
            let (s, rejects, _) = try await imp.importData(.subscribers, data: Data(csv.utf8), source: "subs")
            #expect(s.applied == 2)
            #expect(rejects.map(\.reason) == ["language: expected zh-CN or en, found `fr`"])
            let zhang = try #require(try await store.read { try $0.subscriber("18612345678") })
            #expect(zhang.status == .normal && zhang.payment == .postpaid && zhang.prepaidPeriod == nil)
            #expect(zhang.planCode == "P18" && zhang.tier == .vip && zhang.language == .chinese && zhang.premium)
            #expect(zhang.contractEnd == LocalDate(year: 2027, month: 6, day: 30))
            #expect(try await store.read { try $0.subscriber("18611110001") }?.language == .english)
        }
    }

    @Test func usageNeedsAKnownSubscriberAndAMonth() async throws {
        try await withTemporaryDatabase { store, _ in
            let imp = try importer(store)
            try await Fixtures.seed(store, subscribers: [Fixtures.subscriber()])
            let csv = """
                msisdn,month,voice_used,sms_used,data_used_mb,charges_fen
                18612345678,2026-10,10,2,300,3800
                13700000000,2026-10,10,2,300,3800
                18612345678,202610,10,2,300,3800
                18612345678,2026-09,-1,2,300,3800
                """
            let (s, rejects, _) = try await imp.importData(.usage, data: Data(csv.utf8), source: "usage")
            #expect(s.applied == 1 && s.rejected == 3)
            #expect(rejects.map(\.line) == [3, 4, 5])
            #expect(rejects[0].reason == "msisdn: unknown subscriber 13700000000")
            #expect(rejects[2].reason == "voice_used: must be at least 0, found -1")
        }
    }

    @Test(arguments: [
        ("", "the file is empty"),
        (
            "code,name_zh,name_en,monthly_fee_fen,voice_minutes,sms,data_mb,payment,on_sale\nP1,a,b,1,1,1,1,both,true",
            "missing column `contract_ok`"
        ),
        (
            "code,name_zh,name_en,monthly_fee,voice_minutes,sms,data_mb,payment,on_sale,contract_ok\n",
            "unknown column `monthly_fee` for a plans file; did you mean `monthly_fee_fen`?"
        ),
        (
            "code,code,name_zh,name_en,monthly_fee_fen,voice_minutes,sms,data_mb,payment,on_sale,contract_ok\n",
            "column `code` appears twice"
        ),
    ])
    func headerProblemsRefuseTheWholeFile(_ csv: String, _ message: String) async throws {
        try await withTemporaryDatabase { store, _ in
            do {
                _ = try await importer(store).importData(.plans, data: Data(csv.utf8), source: "plans.csv")
                Issue.record("expected an ImportFileError")
            } catch let error as ImportFileError {
                #expect(error.description.contains(message), "\(error)")
            }
            #expect(try await store.read { try $0.plans() }.isEmpty)
        }
    }

    /// A billing export in GBK or GB18030 (the usual encodings of Chinese billing systems) is read byte for byte
    /// correctly, detected or named; a row GBK cannot hold is rejected alone; the rejects file is written in the
    /// input's encoding.
    @Test func gbkAndGB18030FilesAreReadAsTheyWereWritten() async throws {
        try await withTemporaryDatabase { store, dir in
            let imp = try importer(store)
            _ = try await imp.importData(.plans, data: Data(plansCSV.utf8), source: "plans")
            let header =
                "msisdn,name,status,payment,prepaid_period,plan,balance_fen,points,tier,language,premium,contract_end,blacklist,password"
            func row(_ number: String, _ name: String, plan: String = "P18") -> String {
                "\(number),\(name),normal,postpaid,,\(plan),100,0,gold,zh-CN,false,,false,"
            }
            // 张伟 and 欧阳娜娜 are in GBK; 𠮷 (U+20BB7, a four-byte GB18030 character) only in GB18030.
            let text =
                [
                    header, row("18700000001", "张伟"), row("18700000002", "𠮷田"), row("18700000003", "欧阳娜娜", plan: "P99"),
                ].joined(separator: "\r\n") + "\r\n"
            let gb18030 = try #require(TextEncoding.gb18030.encode(text))
            #expect(gb18030.starts(with: Data(header.utf8)) && gb18030.count < Data(text.utf8).count)
            #expect(TextEncoding.detect(gb18030) == .found(.gb18030))
            let path = dir.appendingPathComponent("subs.csv").path
            try gb18030.write(to: URL(fileURLWithPath: path))

            let detected = try await imp.importFile(.subscribers, path: path)
            #expect(detected.encoding == .gb18030 && detected.encodingDetected)
            #expect(detected.applied == 2 && detected.rejected == 1)
            #expect(try await store.read { try $0.subscriber("18700000001") }?.name == "张伟")
            #expect(try await store.read { try $0.subscriber("18700000002") }?.name == "𠮷田")
            let rejects = try Data(contentsOf: URL(fileURLWithPath: try #require(detected.rejectsPath)))
            #expect(String(data: rejects, encoding: .utf8) == nil, "the rejects file is not UTF-8")
            #expect(TextEncoding.gb18030.decodeLines(rejects).contains("欧阳娜娜,normal"))

            // Named GBK: the four-byte character is not GBK, so its row alone is rejected and nothing is misread.
            let named = try await imp.importFile(.subscribers, path: path, encoding: .gbk)
            #expect(named.encoding == .gbk && !named.encodingDetected)
            #expect(named.unchanged == 1 && named.rejected == 2)
            let reasons = TextEncoding.gbk.decodeLines(try Data(contentsOf: URL(fileURLWithPath: named.rejectsPath!)))
            #expect(reasons.contains("\n3,invalid GBK text,"), "\(reasons)")
            #expect(try await store.read { try $0.subscriber("18700000002") }?.name == "𠮷田", "kept as it was")

            // Named UTF-8, the same bytes are not UTF-8: every row with Chinese is refused, none misread.
            let wrong = try await imp.importFile(.subscribers, path: path, encoding: .utf8)
            #expect(wrong.applied == 0 && wrong.rejected == 3)
        }
    }

    /// Billing may send the stored hash instead of the clear password (a load that needs no hashing): a hash in
    /// the gateway's own format is stored as it is and checked at the next login; anything else is rejected, and
    /// a rejects file never shows it.
    @Test func aStoredHashIsImportedAsItIsAndChecksTheLogin() async throws {
        try await withTemporaryDatabase { store, dir in
            let hasher = Fixtures.hasher(iterations: 1_000)
            let engine = try Fixtures.engine(store: store, hasher: hasher)
            let imp = CSVImporter(engine: engine, hasher: nil, pool: nil)  // no hasher: nothing may need hashing
            _ = try await imp.importData(.plans, data: Data(plansCSV.utf8), source: "plans")
            let stored = try hasher.hash(Secret("470159"))
            // Exactly the gateway's shape, and a cost that cannot make a login take seconds.
            let tail = stored.split(separator: "$", omittingEmptySubsequences: false).suffix(2).joined(separator: "$")
            #expect(PBKDF2PasswordHasher.isStoredHash(stored))
            for shape in [
                "i=+7", "i=1000", "i=1000,l=32,x=1", "i=1000,i=1,l=32", "i=01000,l=32", "i=4000000,l=32",
                "i=1000,l=16",
            ] {
                #expect(!PBKDF2PasswordHasher.isStoredHash("$pbkdf2-sha256$v=1$\(shape)$\(tail)"), "\(shape)")
            }
            let header =
                "msisdn,name,status,payment,prepaid_period,plan,balance_fen,points,tier,language,premium,contract_end,blacklist,password,password_hash"
            func row(_ number: String, password: String = "", hash: String = "") -> String {
                // The PHC string has a comma between its parameters (`i=1000,l=32`): CSV quotes it.
                "\(number),Li Na,normal,postpaid,,P18,100,0,gold,en,false,,false,\(password),\(csvField(hash))"
            }
            let csv = [
                header, row("18700000001", hash: stored), row("18700000002", hash: "$2b$10$abcdefghijklmnopqrstuv"),
                row("18700000003", password: "470159", hash: stored),
            ].joined(separator: "\n")
            let path = dir.appendingPathComponent("subs.csv").path
            try csv.write(toFile: path, atomically: true, encoding: .utf8)
            let summary = try await imp.importFile(.subscribers, path: path)
            #expect(summary.applied == 1 && summary.rejected == 2)
            #expect(try await store.read { try $0.subscriber("18700000001") }?.passwordHash == stored)
            let rejects = try String(contentsOfFile: try #require(summary.rejectsPath), encoding: .utf8)
            #expect(rejects.contains("password_hash: expected a $pbkdf2-sha256$v=1$… PHC string"))
            #expect(rejects.contains("password_hash: give the password or its hash, not both"))
            #expect(!rejects.contains(stored) && !rejects.contains("$2b$") && !rejects.contains("470159"))

            func login(_ password: String) async -> OperationOutcome {
                await engine.perform(
                    OperationRequest(
                        operation: .queryPUK, channel: .api, caller: "18700000001", password: Secret(password)))
            }
            #expect(await login("000000").reason == .badPassword)
            let right = await login("470159")
            // The password is right (the number has no PUK on file, so the query itself finds nothing).
            #expect(right.record?.auth == "ok" && right.reason == .noData, "\(right.reason) \(right.reply)")
        }
    }

    @Test func detectionPrefersUTF8AndNeverMisreadsAChineseExport() throws {
        func detect(
            _ text: String, encoding: TextEncoding = .utf8, extra: [UInt8] = []
        ) throws -> TextEncoding.Detection {
            TextEncoding.detect(try #require(encoding.encode(text)) + Data(extra))
        }
        #expect(try detect("msisdn,name\n18612345678,Li Na\n") == .found(.utf8))
        #expect(TextEncoding.detect(Data([0xEF, 0xBB, 0xBF]) + Data("a,张伟\n".utf8)) == .found(.utf8))
        #expect(try detect("18612345678,Hans Müller,Zoë\n") == .found(.utf8), "accented Latin stays UTF-8")
        // GBK whose every character also happens to be valid two-byte UTF-8 (魏伟 reads as κΰ): GB18030.
        #expect(try detect("13700000001,魏伟\r\n13700000002,叶英\r\n", encoding: .gbk) == .found(.gb18030))
        #expect(try detect("18612345678,张伟,王芳,李娜\n", encoding: .gbk) == .found(.gb18030))
        // A UTF-8 file with one stray byte stays UTF-8, even with few Chinese characters (its row is rejected).
        #expect(try detect("1,李雷\n2,王芳\n3,张伟\n4,Hans M", extra: [0xFC, 0x6C, 0x6C, 0x65, 0x72, 0x0A]) == .found(.utf8))
        var stray = Data(String(repeating: "18612345678,畅享套餐用户张伟\n", count: 5).utf8)
        stray.append(contentsOf: [0xB0, 0x0A])
        #expect(TextEncoding.detect(stray) == .found(.utf8))
        // Plain ASCII with one byte that is neither: too little to tell, so it must be named.
        guard case .undecided(let why) = try detect("1,Hans M", extra: [0xFC, 0x6C, 0x6C, 0x65, 0x72, 0x0A]) else {
            Issue.record("one stray byte in ASCII was guessed")
            return
        }
        #expect(why.contains("pass --encoding"))
        // Neither UTF-8 nor GB18030: read as UTF-8, the bad rows rejected.
        #expect(TextEncoding.detect(Data([0x61, 0xFF, 0xFF, 0x0A])) == .found(.utf8))
        // A line GBK cannot read keeps every character it can: only the unreadable bytes become U+FFFD.
        let line = try #require(TextEncoding.gb18030.encode("18700000002,李𠮷田\n"))
        let read = TextEncoding.gbk.decodeLines(line)
        #expect(read.hasPrefix("18700000002,李\u{FFFD}") && read.hasSuffix("田\n"), "\(read)")
    }

    /// A file whose encoding cannot be told is refused whole, naming what to do, and nothing is applied.
    @Test func anUndecidableFileIsRefusedAndNamingTheEncodingReadsIt() async throws {
        try await withTemporaryDatabase { store, _ in
            let imp = try importer(store)
            var data = Data(
                """
                code,name_zh,name_en,monthly_fee_fen,voice_minutes,sms,data_mb,payment,on_sale,contract_ok
                P18,Basic,Basic 18,1800,100,50,1024,both,true,false

                """.utf8)
            data.append(Data("P77,".utf8) + Data([0xFC, 0x6C]) + Data(",Tiny,800,10,10,100,both,true,false\n".utf8))
            await #expect(throws: ImportFileError.self) {
                _ = try await imp.importData(.plans, data: data, source: "plans")
            }
            #expect(try await store.read { try $0.plans() }.isEmpty)
            let (named, rejects, _) = try await imp.importData(.plans, data: data, source: "plans", encoding: .utf8)
            #expect(named.applied == 1 && named.rejected == 1 && rejects.first?.reason == "invalid UTF-8")
        }
    }

    @Test func invalidUTF8RowsAreRejectedOthersKept() async throws {
        try await withTemporaryDatabase { store, _ in
            var data = Data(
                "code,name_zh,name_en,monthly_fee_fen,voice_minutes,sms,data_mb,payment,on_sale,contract_ok\n".utf8)
            data.append(Data("P18,畅享,Basic,1800,100,50,1024,both,true,false\n".utf8))
            data.append(Data("P19,".utf8) + Data([0xff, 0xfe]) + Data(",Bad,1800,100,50,1024,both,true,false\n".utf8))
            let (s, rejects, _) = try await importer(store).importData(.plans, data: data, source: "plans")
            #expect(s.applied == 1)
            #expect(rejects.map(\.reason) == ["invalid UTF-8"])
            #expect(rejects.first?.line == 3)
        }
    }

    @Test func largeFilesReportProgressAndCommitOnce() async throws {
        try await withTemporaryDatabase { store, _ in
            try await Fixtures.seed(store, subscribers: [])
            var lines = [
                "msisdn,name,status,payment,prepaid_period,plan,balance_fen,points,tier,language,premium,contract_end,blacklist,password"
            ]
            for i in 0..<12_000 {
                lines.append(
                    "1860\(String(format: "%07d", i)),用户\(i),normal,postpaid,,P18,\(i),0,standard,zh-CN,false,,false,")
            }
            let calls = ProgressLog()
            let (s, _, _) = try await importer(store).importData(
                .subscribers, data: Data(lines.joined(separator: "\n").utf8), source: "big"
            ) { done, total in
                calls.add(done, total)
            }
            #expect(s.applied == 12_000)
            #expect(calls.values.contains { $0 == (5000, 12_000) })
            #expect(calls.values.last.map { $0 == (12_000, 12_000) } == true)
        }
    }
}

final class ProgressLog: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [(Int, Int)] = []
    func add(_ a: Int, _ b: Int) { lock.withLock { stored.append((a, b)) } }
    var values: [(Int, Int)] { lock.withLock { stored } }
}

@Suite("Demo data")
struct DemoDataTests {
    /// The catalogue's rules each have a demo case: a card in every state, a pack some subscriber may not order,
    /// a withdrawn pack and service, a roaming-exempt tier beside tiers that pay, a blacklisted number.
    @Test func coversEveryRuleOfTheCatalogue() async throws {
        try await withTemporaryDatabase { store, _ in
            _ = try await DemoData.load(with: try importer(store), now: Fixtures.midNovember, calendar: LocalCalendar())
            try await store.read { r in
                let cards = try DemoData.cardGuide.compactMap { try r.card($0.serial) }
                #expect(cards.count == DemoData.cardGuide.count)
                #expect(Set(cards.map(\.state)) == Set(RechargeCard.State.allCases))
                #expect(
                    cards.contains { $0.state == .unused && $0.expires > LocalDate(year: 2026, month: 11, day: 15) })
                let subscribers = try DemoData.subscriberNumbers.compactMap { try r.subscriber($0) }
                let packs = try r.dataPacks()
                #expect(packs.contains { pack in subscribers.contains { !pack.allows($0) } && pack.onSale })
                let services = try r.basicServices()
                #expect(packs.contains { !$0.onSale } && services.contains { !$0.onSale })
                #expect(try r.basicService(BasicService.threeWayCalling) != nil)
                let rules = CatalogueRules()
                #expect(subscribers.contains { rules.roamingDeposit(for: $0) == 0 })
                #expect(
                    subscribers.contains {
                        rules.roamingDeposit(for: $0) > 0 && $0.balanceFen >= rules.roamingDepositFen
                    })
                let rewards = try r.rewards()
                #expect(subscribers.contains { $0.blacklist } && !rewards.isEmpty)
            }
        }
    }

    @Test func coversEveryStatePaymentPeriodTierAndFlag() async throws {
        try await withTemporaryDatabase { store, _ in
            let results = try await DemoData.load(
                with: try importer(store), now: Fixtures.midNovember, calendar: LocalCalendar())
            #expect(results.allSatisfy { $0.1.rejected == 0 })
            let guide = DemoData.guide(thisMonth: Month(year: 2026, month: 11))
            let numbers = guide.map(\.number)
            let subscribers = try await store.read { r in try numbers.compactMap { try r.subscriber($0) } }
            #expect(subscribers.count >= 20)
            #expect(Set(subscribers.map(\.status)) == Set(SubscriberStatus.allCases))
            #expect(Set(subscribers.map(\.payment)) == Set(PaymentType.allCases))
            #expect(Set(subscribers.compactMap(\.prepaidPeriod)) == Set(PrepaidPeriod.allCases))
            #expect(Set(subscribers.map(\.tier)) == Set(Tier.allCases))
            #expect(Set(subscribers.map(\.language)) == Set(Language.supported))
            #expect(subscribers.contains { $0.premium } && subscribers.contains { $0.contractEnd != nil })
            #expect(subscribers.contains { $0.blacklist } && subscribers.contains { $0.passwordHash == nil })
            let plans = try await store.read { try $0.plans() }
            #expect(plans.count >= 5)
            #expect(Set(plans.map(\.payment)) == Set(Plan.Eligibility.allCases))
            #expect(
                plans.contains { !$0.onSale } && plans.contains { $0.contractOK } && plans.contains { !$0.contractOK })
            for month in [Month(year: 2026, month: 11), Month(year: 2026, month: 10)] {
                #expect(try await store.read { try $0.usage("18612345678", month: month) } != nil)
            }
            // Every listed demo password really opens its account.
            let hasher = Fixtures.hasher()
            for entry in guide where entry.password.allSatisfy(\.isNumber) {
                let s = try #require(subscribers.first { $0.msisdn == entry.number })
                #expect(
                    try hasher.verify(Secret(entry.password), against: s.passwordHash ?? "").matches, "\(entry.number)")
                #expect(PasswordRules.weakness(of: Secret(entry.password), for: entry.number) == nil)
            }
        }
    }

    /// Loaded at any instant, the demo tells the same stories: this month's usage, yesterday's calls, a
    /// contract that still runs. Instants near month and year ends, in Beijing and in UTC, and years away.
    @Test(arguments: [
        "2026-11-15T10:00:00+08:00", "2027-07-01T00:05:00+08:00", "2031-02-28T16:30:00Z", "2035-12-31T23:59:00+08:00",
        "2040-02-29T12:00:00+08:00",
    ])
    func theStoriesHoldInAnyMonth(_ instant: String) async throws {
        let now = try #require(ISOTime.parse(instant))
        let calendar = LocalCalendar()
        let month = calendar.month(of: now)
        try await withTemporaryDatabase { store, _ in
            _ = try await DemoData.load(with: try importer(store), now: now, calendar: calendar)
            let engine = try Fixtures.engine(store: store, clock: FixedTimeSource(now))
            func perform(
                _ operation: OperationName, _ caller: String, password: String? = nil,
                _ arguments: [String: String] = [:]
            ) async -> OperationOutcome {
                var request = OperationRequest(operation: operation, channel: .api, caller: caller)
                request.password = password.map { Secret($0) }
                request.arguments = arguments
                return await engine.perform(request)
            }
            let balance = await perform(.queryBalance, "18612345678")
            #expect(balance.reply.contains("本月(\(month))已产生话费"), "\(balance.reply)")
            #expect(!balance.reply.contains("0.00元"), "this month's usage is there: \(balance.reply)")
            let contract = await perform(.planChange, "18611110010", password: "293571", ["plan": "P38"])
            #expect(contract.reason == .contract, "\(contract.reply)")
            let ending = await perform(.planChange, "18611110020", password: "182460", ["plan": "P18"])
            #expect(ending.reason == .contract, "the contract ending next month still runs: \(ending.reply)")
            let calls = await perform(.queryCalls, "18612345678", password: "258036")
            #expect(calls.reason == .ok)
            let yesterday = calendar.date(of: now.addingTimeInterval(-86_400))
            let today = calendar.date(of: now)
            #expect(
                calls.reply.contains("\(yesterday)") || calls.reply.contains("\(today)"), "recent calls: \(calls.reply)"
            )
            let lastMonth = await perform(.queryBill, "18612345678", password: "258036")
            #expect(lastMonth.reason == .ok, "last month's bill is there: \(lastMonth.reply)")
        }
    }
}

@Suite("Import edge cases")
struct ImportEdgeTests {
    @Test func aLossReportedThroughTheGatewayStandsAcrossImports() async throws {
        try await withTemporaryDatabase { store, _ in
            let imp = try importer(store)
            _ = try await imp.importData(.plans, data: Data(plansCSV.utf8), source: "plans")
            let csv = """
                msisdn,name,status,payment,prepaid_period,plan,balance_fen,points,tier,language,premium,contract_end,blacklist,password
                18612345678,张伟,normal,postpaid,,P18,100,0,gold,zh-CN,false,,false,258036
                """
            _ = try await imp.importData(.subscribers, data: Data(csv.utf8), source: "a")
            let engine = try Fixtures.engine(store: store)
            let report = await engine.perform(
                OperationRequest(
                    operation: .lossReport, channel: .sms, caller: "18612345678", password: Secret("258036")))
            #expect(report.reason == .ok)
            let arrears = csv.replacingOccurrences(of: ",normal,", with: ",arrears,")
            _ = try await imp.importData(.subscribers, data: Data(arrears.utf8), source: "b")
            let s = try #require(try await store.read { try $0.subscriber("18612345678") })
            #expect(s.status == .lost && s.statusBeforeLoss == .arrears)
            let closed = csv.replacingOccurrences(of: ",normal,", with: ",closed,")
            _ = try await imp.importData(.subscribers, data: Data(closed.utf8), source: "c")
            #expect(
                try await store.read { try $0.subscriber("18612345678") }?.status == .closed, "closing the account wins"
            )
        }
    }

    @Test func aShiftedRowNeverLeaksItsPasswordIntoTheRejectsFile() async throws {
        try await withTemporaryDatabase { store, _ in
            let csv = """
                msisdn,name,status,payment,prepaid_period,plan,balance_fen,points,tier,language,premium,contract_end,blacklist,password
                13700000001,Zhang, Wei,normal,postpaid,,P18,100,0,gold,zh-CN,false,,false,739146
                """
            let (_, rejects, _) = try await importer(store).importData(.subscribers, data: Data(csv.utf8), source: "s")
            #expect(rejects.count == 1)
            #expect(!rejects[0].fields.contains("739146"))
            #expect(rejects[0].fields.prefix(3) == ["13700000001", "", ""], "a shifted row keeps only its number")
        }
    }

    /// A row one field short puts its password left of its column; a stray quote swallows later rows, passwords
    /// and all, into a name; a missing value before a trailing comma shifts the password into `blacklist`, whose
    /// reason quotes it. None of them shows a password (hostile review).
    @Test func passwordsShiftedAnywhereStayOutOfRejectsAndReasons() async throws {
        try await withTemporaryDatabase { store, _ in
            let imp = try importer(store)
            _ = try await imp.importData(.plans, data: Data(plansCSV.utf8), source: "plans")
            let header =
                "msisdn,name,status,payment,prepaid_period,plan,balance_fen,points,tier,language,premium,contract_end,"
                + "blacklist,password\n"
            let csv =
                header
                + "13700001009,N,normal,postpaid,,P18,100,0,standard,zh-CN,false,false,777771\n"
                + "13700000002,\"Bob,normal,postpaid,,P18,1,0,gold,zh-CN,false,,false,111111\n"
                + "13700000003,C,normal,postpaid,,P18,1,0,gold,zh-CN,false,,false,246810\n"
                + "13700000004,Ann\",normal,postpaid,,P18,1,0,gold,zh-CN,false,,false,135790\n"
                + "13700000005,Li,normal,postpaid,,P18,1,0,gold,zh-CN,false,,777772,\n"
            let (_, rejects, _) = try await imp.importData(.subscribers, data: Data(csv.utf8), source: "s")
            let shown = rejects.map { "\($0.reason) \($0.fields)" }.joined(separator: "\n")
            for password in ["777771", "111111", "246810", "135790", "777772"] {
                #expect(!shown.contains(password), "\(password) in \(shown)")
            }
            #expect(rejects.map(\.line) == [2, 3, 6], "\(shown)")
            #expect(rejects.last?.reason == "blacklist: expected true or false, found `******`")
            #expect(rejects.last?.fields.first == "13700000005")
        }
    }

    /// A stray quote in the header: the message names a column cut short, escaped and masked, never the rows the
    /// quote swallowed (hostile review).
    @Test func aSwallowingHeaderIsNamedShortAndMasked() async throws {
        try await withTemporaryDatabase { store, _ in
            let csv =
                "msisdn,\"name\u{1B}[31m,status,payment,prepaid_period,plan,balance_fen,points,tier,language,premium,"
                + "contract_end,blacklist,password\n13700000001,li lei,normal,postpaid,,P18,1,0,gold,zh-CN,false,,false,582047\n"
            await #expect {
                _ = try await importer(store).importData(.subscribers, data: Data(csv.utf8), source: "s")
            } throws: { error in
                let message = "\(error)"
                return message.contains("unknown column `name\\u{1B}[31m,status,")
                    && !message.contains("582047") && !message.contains("\u{1B}") && message.contains("…`")
            }
        }
    }

    /// A PUK is read out to the customer: no control characters or bidi overrides; events' details and answers'
    /// reasons neither (hostile review).
    @Test func pukDetailAndReasonRefuseControlsAndOverrides() async throws {
        try await withTemporaryDatabase { store, _ in
            let imp = try importer(store)
            _ = try await imp.importData(.plans, data: Data(plansCSV.utf8), source: "plans")
            let header =
                "msisdn,name,status,payment,prepaid_period,plan,balance_fen,points,tier,language,premium,contract_end,"
                + "blacklist,password,puk\n"
            let row = "normal,postpaid,,P18,1,0,gold,zh-CN,false,,false,,"
            let csv =
                header + "13700000001,A,\(row)\u{1B}[31mRED\n13700000002,B,\(row)\u{202E}evil\n"
                + "13700000003,C,\(row)12345678\n"
            let (summary, rejects, _) = try await imp.importData(.subscribers, data: Data(csv.utf8), source: "s")
            #expect(summary.applied == 1)
            #expect(
                rejects.map(\.reason) == Array(repeating: "puk: at most 32 characters, no control characters", count: 2)
            )
            let events =
                "id,msisdn,at,kind,detail\nE1,13700000003,2026-11-01T10:00:00+08:00,other,\u{202E}evil\u{2066}\n"
            let (_, eventRejects, _) = try await imp.importData(.events, data: Data(events.utf8), source: "e")
            #expect(eventRejects.map(\.reason) == ["detail: at most 200 characters, no control characters"])
        }
    }

    /// A lone CR ends a line inside quotes as it does outside: rejects name the physical line (hostile review).
    @Test func loneCRLinesCountInsideQuotesToo() async throws {
        try await withTemporaryDatabase { store, _ in
            let imp = try importer(store)
            _ = try await imp.importData(.plans, data: Data(plansCSV.utf8), source: "plans")
            let csv =
                "msisdn,name,status,payment,prepaid_period,plan,balance_fen,points,tier,language,premium,contract_end,"
                + "blacklist,password,puk\r13700000001,\"A\rB\",normal,postpaid,,P18,1,0,gold,zh-CN,false,,false,,\r"
                + "13700000002,B,bogus,postpaid,,P18,1,0,gold,zh-CN,false,,false,,\r"
            let (_, rejects, _) = try await imp.importData(.subscribers, data: Data(csv.utf8), source: "s")
            #expect(rejects.map(\.line) == [2, 4])
        }
    }

    /// A field holding CRLF is quoted in a rejects file: CRLF is one Swift Character (hostile review).
    @Test func crlfInAFieldIsQuotedForCSV() {
        #expect(csvField("A\r\nB") == "\"A\r\nB\"")
        #expect(csvField("12\r\n34") == "\"12\r\n34\"")
        #expect(csvField("plain") == "plain")
    }

    @Test func subMillisecondCallTimesAreIdempotent() async throws {
        try await withTemporaryDatabase { store, _ in
            try await Fixtures.seed(store, subscribers: [Fixtures.subscriber()])
            let csv = """
                msisdn,started_at,peer,direction,duration_s,charge_fen
                18612345678,2026-11-01T08:00:00.1234Z,13800138000,out,60,10
                18612345678,2026-11-01T08:00:00.3336+08:00,13800138000,in,60,0
                """
            _ = try await importer(store).importData(.calls, data: Data(csv.utf8), source: "c")
            let (again, _, _) = try await importer(store).importData(.calls, data: Data(csv.utf8), source: "c")
            #expect(again.unchanged == 2 && again.applied == 0, "\(again.description)")
        }
    }

    @Test func aBadFirstRowDoesNotHideALaterGoodRowWithTheSameKey() async throws {
        try await withTemporaryDatabase { store, _ in
            let csv = """
                code,name_zh,name_en,monthly_fee_fen,voice_minutes,sms,data_mb,payment,on_sale,contract_ok
                P18,畅享18元套餐,Basic 18,lots,100,50,1024,both,true,false
                P18,畅享18元套餐,Basic 18,1800,100,50,1024,both,true,false
                p18,畅享18元套餐,Basic 18,1800,100,50,1024,both,true,false
                """
            let (s, rejects, _) = try await importer(store).importData(.plans, data: Data(csv.utf8), source: "plans")
            #expect(s.applied == 1)
            #expect(
                rejects.map(\.reason) == [
                    "monthly_fee_fen: expected a whole number, found `lots`", "duplicate of line 3",
                ])
        }
    }

    @Test func aFileWithoutPUKKeepsThePUKs() async throws {
        try await withTemporaryDatabase { store, _ in
            let imp = try importer(store)
            _ = try await imp.importData(.plans, data: Data(plansCSV.utf8), source: "plans")
            let header =
                "msisdn,name,status,payment,prepaid_period,plan,balance_fen,points,tier,language,premium,contract_end,blacklist,password"
            let withPUK = header + ",puk\n18612345678,张伟,normal,postpaid,,P18,100,0,gold,zh-CN,false,,false,,87654321\n"
            _ = try await imp.importData(.subscribers, data: Data(withPUK.utf8), source: "a")
            let without = header + "\n18612345678,张伟,normal,postpaid,,P18,200,0,gold,zh-CN,false,,false,\n"
            let (s, _, _) = try await imp.importData(.subscribers, data: Data(without.utf8), source: "b")
            #expect(s.applied == 1)
            let z = try #require(try await store.read { try $0.subscriber("18612345678") })
            #expect(z.balanceFen == 200 && z.puk == "87654321")
        }
    }

    @Test func callsMatchByInstantWhateverTheSpellingAndScaleLinearly() async throws {
        try await withTemporaryDatabase { store, _ in
            try await Fixtures.seed(store, subscribers: [Fixtures.subscriber()])
            var lines = ["msisdn,started_at,peer,direction,duration_s,charge_fen"]
            let start = ISOTime.parse("2026-11-01T00:00:00Z")!
            for i in 0..<3000 {
                let t = ISOTime.format(start.addingTimeInterval(Double(i) * 60))
                lines.append("18612345678,\(t),13800138000,\(i % 2 == 0 ? "OUT" : "in"),60,10")
            }
            lines.append("18612345678,2026-11-01T08:00:00+08:00,13800138000,out,60,10")
            let (s, rejects, _) = try await importer(store).importData(
                .calls, data: Data(lines.joined(separator: "\n").utf8), source: "calls")
            #expect(s.applied == 3000)
            #expect(rejects.map(\.reason) == ["duplicate of line 2"], "the same instant written another way")
            let again = try await importer(store).importData(
                .calls, data: Data(lines.joined(separator: "\n").utf8), source: "calls")
            #expect(again.0.unchanged == 3000)
        }
    }
}
