import Foundation
import SelfCareCore
import SelfCareTesting
import Testing

@Suite("selfcare command line", .serialized)
struct CLITests {
    @Test func initDemoThenBalanceInYuan() throws {
        try withDemo { dir in
            let r = try run(["op", "query.balance", "--from", "18612345678"], in: dir)
            #expect(r.status == 0)
            #expect(r.stdout.contains("123.45元"), "\(r.stdout)")
            #expect(r.stdout.hasSuffix("reason: ok\n"))
            let en = try run(["op", "query.balance", "--from", "18611110001"], in: dir)
            #expect(en.stdout.contains("CNY 56.20"))
            let again = try run(["init", "--demo"], in: dir)
            #expect(again.stdout.contains("demo subscribers: applied 0, unchanged 23, rejected 0"), "\(again.stdout)")
            #expect(try run(["records", "verify"], in: dir).status == 0)
        }
    }

    @Test func passwordFromStandardInputAndRefusals() throws {
        try withDemo { dir in
            let report = try run(
                ["op", "loss.report", "--from", "13900000000", "--subject", "18612345678"], in: dir, stdin: "258036\n")
            #expect(report.status == 0, "\(report.stderr)")
            #expect(report.stdout.contains("挂失成功"))
            let again = try run(
                ["op", "loss.report", "--from", "18612345678"], in: dir, stdin: "258036\n")
            #expect(again.status == 3)
            #expect(again.stdout.hasSuffix("reason: already_lost\n"))
            #expect(again.stderr == "selfcare: loss.report: refused (already_lost)\n")
            let wrong = try run(["op", "loss.cancel", "--from", "18612345678"], in: dir, stdin: "111111\n")
            #expect(wrong.stdout.contains("reason: bad_password"))
            let change = try run(
                ["op", "password.change", "--from", "18612345678"], in: dir, stdin: "258036\n147036\n147036\n")
            #expect(change.stdout.contains("reason: ok"), "\(change.stdout)")
            let oneLine = try run(
                ["op", "password.change", "--from", "18612345678"], in: dir, stdin: "147036 258036 258036\n")
            #expect(oneLine.stdout.contains("reason: ok"), "\(oneLine.stdout)")
            let mismatch = try run(
                ["op", "password.change", "--from", "18612345678"], in: dir, stdin: "258036\n147036\n147037\n")
            #expect(mismatch.stdout.contains("reason: password_mismatch"))
            let plan = try run(
                ["op", "plan.change", "--from", "18611110010", "--arg", "plan=P38"], in: dir, stdin: "293571\n")
            #expect(plan.stdout.contains("reason: contract"))
            let records = try run(["records", "list"], in: dir)
            for secret in ["258036", "111111", "147036", "147037", "293571"] {
                #expect(!records.stdout.contains(secret))
            }
            #expect(serviceRecordLines(records.stdout).count == 7)
            #expect(try run(["records", "verify"], in: dir).stdout.hasPrefix("ok: \(7 + demoImportRecords) records"))
        }
    }

    @Test func usageMistakesGetOneLineMessages() throws {
        try withDemo { dir in
            let arg = try run(["op", "loss.report", "--from", "18612345678", "--arg", "password=258036"], in: dir)
            #expect(arg.status == 1)
            #expect(arg.stderr.contains("passwords are read from standard input"))
            let clock = try run(
                ["op", "query.balance", "--from", "18612345678"], in: dir, environment: ["SELFCARE_NOW": "soon"])
            #expect(clock.status == 1)
            #expect(clock.stderr.hasPrefix("selfcare: SELFCARE_NOW: expected an ISO 8601 time"))
            let missing = try run(["records", "verify", "--database", "nope.sqlite"], in: dir)
            #expect(missing.status == 1)
            #expect(missing.stderr == "selfcare: nope.sqlite: no such database; run 'selfcare init' first\n")
            let prompts = try run(["op", "query.balance", "--from", "18612345678", "--prompts", "none"], in: dir)
            #expect(prompts.status == 1)
            #expect(prompts.stderr == "selfcare: none: no such folder (given by --prompts)\n", "\(prompts.stderr)")
            // Only the demo data's import records: none of the mistakes wrote one.
            #expect(try run(["records", "verify"], in: dir).stdout.hasPrefix("ok: \(demoImportRecords) records"))
        }
    }

    @Test func theThirdPartyLimitIsReadFromTheEnvironment() throws {
        try withDemo { dir in
            let strict = ["SELFCARE_THIRD_PARTY_LIMIT": "2", "SELFCARE_THIRD_PARTY_HOURS": "1"]
            for _ in 0..<2 {
                let wrong = try run(
                    ["op", "loss.report", "--from", "13900000000", "--subject", "18612345678"], in: dir,
                    stdin: "111111\n", environment: strict)
                #expect(wrong.stdout.hasSuffix("reason: third_party_refused\n"), "\(wrong.stdout)")
            }
            let locked = try run(
                ["op", "loss.report", "--from", "13900000000", "--subject", "18612345678"], in: dir,
                stdin: "258036\n", environment: strict)
            #expect(locked.stdout.hasSuffix("reason: third_party_locked\n"), "\(locked.stdout)")
            #expect(locked.status == 3)
            // An hour later (SELFCARE_THIRD_PARTY_HOURS=1) the lock has ended.
            var later = strict
            later["SELFCARE_NOW"] = "2026-11-24T11:00:00+08:00"
            let after = try run(
                ["op", "query.puk", "--from", "13900000000", "--subject", "18612345678"], in: dir,
                stdin: "258036\n", environment: later)
            #expect(after.stdout.hasSuffix("reason: ok\n"), "\(after.stdout)")
            for (name, value) in [("SELFCARE_THIRD_PARTY_LIMIT", "0"), ("SELFCARE_THIRD_PARTY_HOURS", "8761")] {
                let bad = try run(
                    ["op", "query.balance", "--from", "18612345678"], in: dir, environment: [name: value])
                #expect(bad.status == 1)
                #expect(bad.stderr.hasPrefix("selfcare: \(name): expected a whole number in 1..."), "\(bad.stderr)")
            }
        }
    }

    @Test func recordsListFiltersAndFormats() throws {
        try withDemo { dir in
            _ = try run(
                ["op", "query.balance", "--from", "18612345678"], in: dir,
                environment: ["SELFCARE_NOW": "2026-11-01T08:00:00Z"])
            _ = try run(
                ["op", "query.points", "--from", "18611110001"], in: dir,
                environment: ["SELFCARE_NOW": "2026-11-02T08:00:00Z"])
            _ = try run(
                ["op", "query.data", "--from", "18612345678"], in: dir,
                environment: ["SELFCARE_NOW": "2026-11-03T08:00:00Z"])
            let mine = try run(["records", "list", "--subject", "186 1234 5678"], in: dir)
            #expect(mine.stdout.split(separator: "\n").count == 2)
            // The demo data's import records are dated at the demo's load (SELFCARE_NOW, later in November).
            let since = try run(["records", "list", "--since", "2026-11-02T00:00:00Z"], in: dir)
            #expect(serviceRecordLines(since.stdout).count == 2)
            let csv = try run(["records", "list", "--format", "csv"], in: dir)
            // CSV lines end in CRLF (RFC 4180): one Character in Swift.
            let lines = csv.stdout.split(separator: "\r\n")
            #expect(
                lines.first
                    == "id,time,channel,session,caller,subject,operation,inputs,auth,result,reason,reply,duration_ms,prev_hash,hash"
            )
            #expect(lines.count == 1 + demoImportRecords + 3)
            #expect(
                lines[1 + demoImportRecords].hasPrefix(
                    "\(demoImportRecords + 1),2026-11-01T08:00:00.000Z,api,,18612345678,18612345678,query.balance,{},none,ok,ok,"
                ))
            let bad = try run(["records", "list", "--since", "yesterday"], in: dir)
            #expect(bad.status == 1)
        }
    }

    @Test func tamperingWithSQLite3IsCaughtAndNamed() throws {
        let shell = try #require(sqlite3, "the sqlite3 shell is needed (Debian package sqlite3; .ci/run installs it)")
        try withDemo { dir in
            for i in 0..<6 {
                _ = try run(["op", "query.balance", "--from", i % 2 == 0 ? "18612345678" : "18611110001"], in: dir)
            }
            #expect(try run(["records", "verify"], in: dir).status == 0)
            // The third balance query, after the demo data's import records.
            let third = demoImportRecords + 3
            let blocked = try run(
                ["selfcare.sqlite", "UPDATE records SET reply = 'x' WHERE id = \(third)"], in: dir, program: shell)
            #expect(blocked.status != 0, "the append-only trigger refuses a plain UPDATE")
            // Change one byte of its reply, as someone with the file and sqlite3 could.
            let edit = try run(
                [
                    "selfcare.sqlite",
                    "DROP TRIGGER records_no_update; UPDATE records SET reply = replace(reply, '123.45', '923.45') WHERE id = \(third);",
                ],
                in: dir, program: shell)
            #expect(edit.status == 0, "\(edit.stderr)")
            let verify = try run(["records", "verify"], in: dir)
            #expect(verify.status == 1)
            #expect(
                verify.stderr.hasPrefix("selfcare: records verify: record \(third): hash does not match"),
                "\(verify.stderr)")
        }
    }

    /// `records checkpoint` signs the head; verify checks each checkpoint's signature and the record it covers, says
    /// when it cannot (no pepper), and names a forged checkpoint.
    @Test func signedCheckpointsAreWrittenCheckedAndAForgedOneIsNamed() throws {
        let shell = try #require(sqlite3, "the sqlite3 shell is needed (Debian package sqlite3; .ci/run installs it)")
        try withDemo { dir in
            let none = try run(["records", "verify"], in: dir)
            #expect(
                none.stdout.hasSuffix(
                    "no signed checkpoint yet (records checkpoint, or serve's --checkpoint-interval)\n"))
            let first = try run(["records", "checkpoint"], in: dir)
            #expect(first.status == 0, "\(first.stderr)")
            #expect(
                first.stdout.hasPrefix(
                    "checkpoint 1 at 2026-11-24T02:00:00.000Z: records up to \(demoImportRecords), hash "),
                "\(first.stdout)")
            let again = try run(["records", "checkpoint"], in: dir)
            #expect(again.stdout == "no new record since " + first.stdout, "\(again.stdout)")
            _ = try run(["op", "query.balance", "--from", "18612345678"], in: dir)
            #expect(try run(["records", "checkpoint"], in: dir).stdout.hasPrefix("checkpoint 2 at "))
            let verify = try run(["records", "verify"], in: dir)
            #expect(verify.status == 0, "\(verify.stderr)")
            #expect(
                verify.stdout.hasSuffix(
                    "ok: 2 signed checkpoints, the last at 2026-11-24T02:00:00.000Z covering records up to \(demoImportRecords + 1) (0 after it)\n"
                ), "\(verify.stdout)")
            // Without the pepper the checkpoints cannot be checked: not a pass, unless asked for the chain alone.
            let unchecked = try run(["records", "verify", "--pepper-file", "nope.pepper"], in: dir)
            #expect(unchecked.status == 2)
            #expect(unchecked.stdout.hasSuffix("not checked: 2 checkpoints\n"), "\(unchecked.stdout)")
            #expect(
                unchecked.stderr.contains("records verify: the checkpoints cannot be checked: ")
                    && unchecked.stderr.contains("nope.pepper"), "\(unchecked.stderr)")
            let alone = try run(["records", "verify", "--pepper-file", "nope.pepper", "--no-checkpoints"], in: dir)
            #expect(alone.status == 0)
            #expect(alone.stdout.hasSuffix("not checked: 2 checkpoints (--no-checkpoints)\n"), "\(alone.stdout)")
            // A checkpoint moved to cover an older record, its signature left as it was.
            let edit = try run(
                [
                    "selfcare.sqlite",
                    "DROP TRIGGER record_checkpoints_no_update; UPDATE record_checkpoints SET last_id = 3, "
                        + "hash = (SELECT hash FROM records WHERE id = 3) WHERE id = 2;",
                ], in: dir, program: shell)
            #expect(edit.status == 0, "\(edit.stderr)")
            let forged = try run(["records", "verify"], in: dir)
            #expect(forged.status == 1)
            #expect(
                forged.stdout.contains(
                    "broken: record 3: checkpoint 2's signature does not match (forged or altered, or another pepper)"),
                "\(forged.stdout)")
        }
    }

    @Test func deletingAMiddleRecordIsCaught() throws {
        let shell = try #require(sqlite3, "the sqlite3 shell is needed (Debian package sqlite3; .ci/run installs it)")
        try withDemo { dir in
            for _ in 0..<5 { _ = try run(["op", "query.points", "--from", "18612345678"], in: dir) }
            let delete = try run(
                ["selfcare.sqlite", "DROP TRIGGER records_no_delete; DELETE FROM records WHERE id = 3;"], in: dir,
                program: shell)
            #expect(delete.status == 0, "\(delete.stderr)")
            let verify = try run(["records", "verify"], in: dir)
            #expect(verify.status == 1)
            #expect(
                verify.stderr.contains("record 4: prev_hash does not match record 2's hash (record 3 missing?)"),
                "\(verify.stderr)")
        }
    }

    @Test func importExitsNonZeroWithCountsAndIsIdempotent() throws {
        try withDemo { dir in
            let csv = """
                code,name_zh,name_en,monthly_fee_fen,voice_minutes,sms,data_mb,payment,on_sale,contract_ok
                P128,尊享128元套餐,Premier 128,12800,1500,500,81920,postpaid,true,true
                P8,,Tiny 8,800,10,10,100,both,true,false
                P18,畅享18元套餐,Basic 18,1800,100,50,1024,both,true,false
                """
            try csv.write(to: dir.appendingPathComponent("plans.csv"), atomically: true, encoding: .utf8)
            let first = try run(["import", "plans", "plans.csv"], in: dir)
            #expect(first.status == 2)
            #expect(first.stdout == "plans.csv: applied 1, unchanged 1, rejected 1 (see plans.rejects.csv)\n")
            #expect(
                first.stderr == "selfcare: plans.csv: 1 row rejected; applied 1, unchanged 1; see plans.rejects.csv\n")
            let rejects = try String(contentsOf: dir.appendingPathComponent("plans.rejects.csv"), encoding: .utf8)
            #expect(
                rejects == """
                    line,reason,code,name_zh,name_en,monthly_fee_fen,voice_minutes,sms,data_mb,payment,on_sale,contract_ok
                    3,name_zh: required,P8,,Tiny 8,800,10,10,100,both,true,false

                    """)
            let second = try run(["import", "plans", "plans.csv"], in: dir)
            #expect(second.stdout == "plans.csv: applied 0, unchanged 2, rejected 1 (see plans.rejects.csv)\n")
            let change = try run(
                ["op", "plan.change", "--from", "18612345678", "--arg", "plan=P128"], in: dir, stdin: "258036\n")
            #expect(change.stdout.contains("尊享128元套餐"), "\(change.stdout)")
            let missing = try run(["import", "plans", "none.csv"], in: dir)
            #expect(missing.status == 1)
            #expect(missing.stderr == "selfcare: none.csv: cannot read the file\n")
        }
    }

    /// `orders list` refuses a state it does not know, as a usage mistake; `orders show` of no order fails.
    @Test func ordersListAndShowRefuseWhatDoesNotExist() throws {
        try withDemo { dir in
            let state = try run(["orders", "list", "--state", "done"], in: dir)
            #expect(state.status == 64)
            #expect(
                state.stderr
                    == "selfcare: --state done: expected one of pending, delivered, accepted, rejected, dead\n")
            #expect(try run(["orders", "list"], in: dir).stdout.isEmpty, "the demo data leaves no order")
            let change = try run(["op", "suspend.keep", "--from", "18612345678"], in: dir, stdin: "258036\n")
            #expect(change.status == 0, "\(change.stdout)\(change.stderr)")
            let listed = try run(["orders", "list", "--state", "pending", "--format", "csv"], in: dir).stdout
            let lines = listed.split(separator: "\r\n")
            #expect(lines.count == 2 && lines[0] == Substring(ServiceOrder.csvHeader))
            #expect(lines[1].contains(#",suspend.keep,18612345678,api,"#), "\(listed)")
            #expect(try run(["orders", "show", "1"], in: dir).stdout.contains(#""after":{"status":"suspended"}"#))
            let missing = try run(["orders", "show", "2"], in: dir)
            #expect(missing.status == 1 && missing.stderr == "selfcare: orders show: no order 2\n")
        }
    }

    /// A file whose bad rows would have nowhere to go is refused before anything is applied (the rows used to be
    /// committed, with their record, and the command then failed); a file name cannot split the summary line or
    /// reach the terminal as an escape sequence.
    @Test func importChecksItsRejectsFileFirstAndPrintsNamesEscaped() throws {
        try withDemo { dir in
            let csv = """
                code,name_zh,name_en,monthly_fee_fen,voice_minutes,sms,data_mb,payment,on_sale,contract_ok
                P128,尊享128元套餐,Premier 128,12800,1500,500,81920,postpaid,true,true
                P8,,Tiny 8,800,10,10,100,both,true,false
                """
            try csv.write(to: dir.appendingPathComponent("plans.csv"), atomically: true, encoding: .utf8)
            try FileManager.default.createDirectory(
                at: dir.appendingPathComponent("plans.rejects.csv"), withIntermediateDirectories: false)
            let before = try run(["records", "verify"], in: dir).stdout
            let blocked = try run(["import", "plans", "plans.csv"], in: dir)
            #expect(blocked.status == 1)
            #expect(
                blocked.stderr
                    == "selfcare: plans.rejects.csv: a folder stands where the rejects file goes; nothing applied\n")
            #expect(try run(["records", "verify"], in: dir).stdout == before, "no import record")
            let plan = try run(
                ["op", "plan.change", "--from", "18612345678", "--arg", "plan=P128"], in: dir, stdin: "258036\n")
            #expect(!plan.stdout.contains("reason: ok"), "P128 was not applied: \(plan.stdout)")

            let odd = "pl\u{1B}[31man\ns.csv"
            try csv.write(to: dir.appendingPathComponent(odd), atomically: true, encoding: .utf8)
            let escaped = try run(["import", "plans", odd], in: dir)
            #expect(escaped.status == 2)
            #expect(
                escaped.stdout
                    == "pl\\u{1B}[31man\\u{A}s.csv: applied 1, unchanged 0, rejected 1 (see pl\\u{1B}[31man\\u{A}s.rejects.csv)\n"
            )
            #expect(!escaped.stderr.contains("\u{1B}") && escaped.stderr.split(separator: "\n").count == 1)
            // The record names the file by its absolute path, escaped by JSON like any other text.
            let records = try run(["records", "list"], in: dir).stdout
            #expect(records.contains(#""source":"\#(dir.path)/pl\u001b[31man\ns.csv""#), "\(records)")
        }
    }

    @Test func tickAppliesDueChangesWithTheInjectedClock() throws {
        try withDemo { dir in
            let schedule = try run(
                ["op", "plan.change", "--from", "18612345678", "--arg", "plan=P98", "--arg", "when=next"], in: dir,
                stdin: "258036\n", environment: ["SELFCARE_NOW": "2026-11-20T10:00:00+08:00"])
            #expect(schedule.stdout.contains("2026-12-01"))
            let early = try run(["tick"], in: dir, environment: ["SELFCARE_NOW": "2026-11-30T23:59:00+08:00"])
            #expect(early.stdout == "tick: 0 pending changes handled\n")
            let due = try run(["tick"], in: dir, environment: ["SELFCARE_NOW": "2026-12-01T00:00:00+08:00"])
            #expect(due.stdout.contains("18612345678 plan.change ok ok"))
            let plan = try run(["op", "query.plan", "--from", "18612345678"], in: dir)
            #expect(plan.stdout.contains("尊享98元套餐"))
        }
    }

    @Test func passwordSetClearsALockout() throws {
        try withDemo { dir in
            for _ in 0..<5 { _ = try run(["op", "query.puk", "--from", "18611110011"], in: dir, stdin: "000000\n") }
            let locked = try run(["op", "query.puk", "--from", "18611110011"], in: dir, stdin: "304682\n")
            #expect(locked.stdout.contains("reason: password_locked"))
            let weak = try run(["password", "set", "18611110011"], in: dir, stdin: "123456\n")
            #expect(weak.status == 1)
            #expect(weak.stderr.contains("weak password (ascending_run)"))
            let set = try run(["password", "set", "18611110011"], in: dir, stdin: "975310\n")
            #expect(set.status == 0, "\(set.stderr)")
            let puk = try run(["op", "query.puk", "--from", "18611110011"], in: dir, stdin: "975310\n")
            #expect(puk.stdout.contains("33445566"))
            let records = try run(["records", "list", "--subject", "18611110011"], in: dir)
            #expect(records.stdout.contains("\"operation\":\"password.set\""))
            #expect(!records.stdout.contains("975310"))
        }
    }

    @Test func fullWidthDigitsAreTheSamePasswordForOpAndPasswordSet() throws {
        try withDemo { dir in
            let puk = try run(["op", "query.puk", "--from", "18611110011"], in: dir, stdin: "３０４６８２\n")
            #expect(puk.stdout.hasSuffix("reason: ok\n"), "\(puk.stdout)")
            let weak = try run(["password", "set", "18611110011"], in: dir, stdin: "１２３４５６\n")
            #expect(weak.stderr.contains("weak password (ascending_run)"), "\(weak.stderr)")
            let set = try run(["password", "set", "18611110011"], in: dir, stdin: "９７５３１０\n")
            #expect(set.status == 0, "\(set.stderr)")
            let ascii = try run(["op", "query.puk", "--from", "18611110011"], in: dir, stdin: "975310\n")
            #expect(ascii.stdout.hasSuffix("reason: ok\n"), "\(ascii.stdout)")
        }
    }
}

@Suite("selfcare command line: the pepper", .serialized)
struct PepperCLITests {
    @Test func anUnsafePepperStopsPasswordWorkOnlyAndSaysWhy() throws {
        try withDemo { dir in
            let pepper = dir.appendingPathComponent("selfcare.pepper").path
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: pepper)
            let query = try run(["op", "query.balance", "--from", "18612345678"], in: dir)
            #expect(query.status == 0, "password-free queries still work: \(query.stderr)")
            let report = try run(["op", "loss.report", "--from", "18612345678"], in: dir, stdin: "258036\n")
            #expect(report.status == 1)
            #expect(report.stderr.contains("readable by group or others"), "\(report.stderr)")
            let csv = """
                msisdn,name,status,payment,prepaid_period,plan,balance_fen,points,tier,language,premium,contract_end,blacklist,password
                18611119999,新用户,normal,postpaid,,P58,12345,3200,gold,zh-CN,false,,false,147036
                """
            try csv.write(to: dir.appendingPathComponent("subs.csv"), atomically: true, encoding: .utf8)
            let imp = try run(["import", "subscribers", "subs.csv"], in: dir)
            #expect(imp.status == 1)
            #expect(imp.stderr.contains("passwords in the file, but pepper file"), "\(imp.stderr)")
            let reinit = try run(["init"], in: dir)
            #expect(reinit.status == 1)
            #expect(reinit.stderr.contains("chmod 600"))
        }
    }
}

@Suite("selfcare sms and check", .serialized)
struct SMSCLITests {
    @Test func oneMessageAndItsSegments() throws {
        try withDemoAndGrammars { dir in
            let balance = try run(["sms", "--from", "18612345678", "CXYE"], in: dir)
            #expect(balance.status == 0, "\(balance.stderr)")
            #expect(balance.stdout.contains("123.45元"))
            let parts = try run(["sms", "--from", "18612345678", "--segments", "cxye"], in: dir)
            #expect(parts.stdout.hasPrefix("[1/1] 尊敬的张伟客户"))
            let after = try run(["sms", "--from", "18612345678", "cxye", "--segments"], in: dir)
            #expect(after.stdout == parts.stdout, "options may follow the text")
            let help = try run(["sms", "--help"], in: dir)
            #expect(help.status == 0 && help.stdout.contains("--interactive"))
            let noPrompts = try run(["check", "--prompts", "/nonexistent"], in: dir)
            #expect(
                noPrompts.stderr == "selfcare: /nonexistent: no such folder (given by --prompts)\n",
                "\(noPrompts.stderr)")
            let spaced = try run(
                ["sms", "--from", "18611110001", "--to", "10010", "--id", "k1", "CXZD", "258036"], in: dir)
            #expect(spaced.stdout.hasPrefix("Wrong service password."), "\(spaced.stdout)")
        }
    }

    @Test func confirmationAcrossInvocations() throws {
        try withDemoAndGrammars { dir in
            let ask = try run(["sms", "--from", "18612345678", "TCBG", "P98", "258036"], in: dir)
            #expect(ask.stdout == "您将变更为尊享98元套餐（月费98.00元），即时生效。请在5分钟内回复Y确认。\n")
            let yes = try run(["sms", "--from", "18612345678", "Y"], in: dir)
            #expect(yes.stdout.hasPrefix("套餐变更成功"))
            let late = try run(["sms", "--from", "18612345678", "GS", "258036"], in: dir)
            #expect(late.stdout.contains("回复Y确认"))
            let expired = try run(
                ["sms", "--from", "18612345678", "Y"], in: dir,
                environment: ["SELFCARE_NOW": ISOTime.format(ISOTime.parse(fixedNow)!.addingTimeInterval(600))])
            #expect(expired.stdout == "确认已超时，请重新发送指令。\n")
            let refused = try run(["sms", "--from", "18611110002", "GS", "369258"], in: dir)
            #expect(refused.stdout == "号码18611110002已处于挂失状态，无需重复挂失。\n")
            let records = try run(["records", "list"], in: dir)
            let reasons = try serviceRecordLines(records.stdout).map { line in
                (try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["reason"] as? String
            }
            #expect(
                reasons == [
                    "confirmation_required", "ok", "confirmation_required", "confirmation_expired", "already_lost",
                ])
            #expect(try run(["records", "verify"], in: dir).status == 0)
        }
    }

    @Test func interactiveLinesLikeFakesmsc() throws {
        try withDemoAndGrammars { dir in
            let input = """
                18612345678 10010 CXYE
                18611110001 10010 balance
                13900000000 10010 HELP
                # a comment
                bad-line
                18612345678 10010 cxjf

                """
            let r = try run(["sms", "--interactive"], in: dir, stdin: input)
            let lines = r.stdout.split(separator: "\n").map(String.init)
            #expect(lines.count == 4)
            #expect(lines[0].hasPrefix("18612345678 <- 尊敬的张伟客户"))
            #expect(lines[1].hasPrefix("18611110001 <- Dear Li Na"))
            #expect(lines[2].hasPrefix("13900000000 <- Send BALANCE"))
            #expect(lines[3] == "18612345678 <- 尊敬的客户，您当前可用积分为3200分。")
            #expect(r.stderr.contains("skipped `bad-line`"))
            let parts = try run(
                ["sms", "--interactive", "--segments"], in: dir, stdin: "18612345678 10010 CXXD 258036\n")
            let partLines = parts.stdout.split(separator: "\n")
            #expect(partLines.count > 1 && partLines.allSatisfy { $0.hasPrefix("18612345678 <- [") }, "\(parts.stdout)")
        }
    }

    @Test func checkPassesOnTheShippedFilesAndReportsMistakes() throws {
        try withDemoAndGrammars { dir in
            let ok = try run(["check"], in: dir)
            #expect(ok.status == 0, "\(ok.stderr)")
            #expect(ok.stdout.contains("grammars ./grammars: ok (3 files)"))
            let grammar = dir.appendingPathComponent("grammars/sms.grammar")
            var text = try String(contentsOf: grammar, encoding: .utf8)
            text = text.replacingOccurrences(of: "{op = query.points}", with: "{op = query.pionts}")
            try text.write(to: grammar, atomically: true, encoding: .utf8)
            let prompts = dir.appendingPathComponent("prompts/en.prompts")
            var en = try String(contentsOf: prompts, encoding: .utf8)
            en = en.replacingOccurrences(of: "You have {points} points.", with: "You have {pionts} points.")
            try en.write(to: prompts, atomically: true, encoding: .utf8)
            let bad = try run(["check"], in: dir)
            #expect(bad.status == 1)
            #expect(bad.stderr.contains("grammars/sms.grammar:"))
            #expect(bad.stderr.contains("error: unknown operation `query.pionts`; did you mean `query.points`?"))
            #expect(bad.stderr.contains("error: unknown placeholder `{pionts}`; did you mean `{points}`?"))
            #expect(bad.stderr.contains("`reply.query.points` uses {pionts} here but {points} in zh-CN.prompts"))
            #expect(bad.stderr.hasSuffix("selfcare: check: 3 errors\n"), "\(bad.stderr)")
            let sms = try run(["sms", "--from", "18612345678", "CXYE"], in: dir)
            #expect(sms.status == 1, "a broken grammar is refused, not half-loaded")
        }
    }
}

@Suite("selfcare ussd", .serialized)
struct USSDCLITests {
    @Test func screensAsAnAggregatorGetsThem() throws {
        try withDemoAndGrammars { dir in
            let direct = try run(["ussd", "--from", "18612345678", "*100*1*1#"], in: dir)
            #expect(direct.status == 0, "\(direct.stderr)")
            #expect(direct.stdout == "END 尊敬的张伟客户，您的账户余额为123.45元，本月(2026-11)已产生话费14.57元。\n")
            let walk = try run(["ussd", "--from", "18611110001", "*100#", "1", "8", "470159"], in: dir)
            let screens = walk.stdout.components(separatedBy: "\n\n")
            #expect(screens.count == 4)
            #expect(screens[0].hasPrefix("CON Self-service\n1. Queries"))
            #expect(screens[2] == "CON Enter your 6-digit service password:")
            #expect(screens[3].hasPrefix("END Your SIM PUK code is 23456789."))
            #expect(!walk.stdout.contains("470159"))
        }
    }
}

@Suite("selfcare ivr", .serialized)
struct IVRCLITests {
    @Test func aCallPrintsPromptsAndActionsButNeverDigits() throws {
        try withDemoAndGrammars { dir in
            let r = try run(["ivr", "--from", "18611110001", "--digits", "1 8 470159#"], in: dir)
            #expect(r.status == 0, "\(r.stderr)")
            #expect(
                r.stdout.hasPrefix("collect (max 1, # ends, no input 5s, between keys 3s): Welcome to self-service."))
            #expect(r.stdout.contains("> step 3: 7 keys"))
            #expect(r.stdout.contains("play: Your SIM PUK code is 23456789."))
            #expect(!r.stdout.contains("470159"))
            let agent = try run(["ivr", "--from", "18688888888", "--digits", "  0"], in: dir)
            #expect(agent.stdout.contains("> step 1: no input"))
            #expect(agent.stdout.hasSuffix("transfer: agent-vip (priority 5)\n"), "\(agent.stdout)")
        }
    }
}

@Suite("Spawned programs get a fixed clock")
struct SpawnClockTests {
    @Test func aProgramWithoutAFixedClockIsNotStarted() throws {
        let dir = URL(fileURLWithPath: NSTemporaryDirectory())
        #expect(throws: SpawnError.self) { try run(["--version"], in: dir, environment: ["SELFCARE_NOW": ""]) }
        let echo = try run(["-c", "echo $SELFCARE_NOW"], in: dir, program: "/bin/sh")
        #expect(echo.stdout == fixedNow + "\n")
    }
}

@Suite("selfcare test", .serialized)
struct TestCommandCLITests {
    /// `--update` rewrites a wrong expectation from the reply, keeps the comment, says what it did and exits 0;
    /// the file then passes as it is, and a second update leaves it alone.
    @Test func updateRewritesAWrongExpectationAndTheScenarioThenPasses() throws {
        try withServeFolder { dir in
            let head = "# SMS: the balance\nclock 2026-11-15T10:00:00+08:00\ndata demo\n\n# ask\nsend CXYE\n"
            let file = dir.appendingPathComponent("sms-balance.scenario")
            try (head + "expect 余额为999.99元\n").write(to: file, atomically: true, encoding: .utf8)
            let update = try run(["test", "--update", "sms-balance.scenario"], in: dir)
            #expect(update.status == 0, "\(update.stdout)\(update.stderr)")
            #expect(update.stdout == "updated sms-balance.scenario: 1 line\n1 updated, 0 unchanged, 0 failed\n")
            let rewritten = try String(contentsOf: file, encoding: .utf8)
            #expect(rewritten == head + "expect 尊敬的张伟客户，您的账户余额为123.45元，本月(2026-11)已产生话费14.57元。\n")
            let check = try run(["test", "sms-balance.scenario"], in: dir)
            #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
            #expect(check.stdout == "ok    sms-balance.scenario (1 checks)\n1 passed, 0 failed\n")
            let again = try run(["test", "--update", "sms-balance.scenario"], in: dir)
            #expect(again.stdout == "ok sms-balance.scenario (unchanged)\n0 updated, 1 unchanged, 0 failed\n")
            #expect(try String(contentsOf: file, encoding: .utf8) == rewritten)
        }
    }

    /// A failing `reject` cannot be updated: the rest is written, the `reject` reported, and the exit status is 1.
    @Test func updateExitsOneOnAFailingRejectAndOnAMistake() throws {
        try withServeFolder { dir in
            let text = "clock 2026-11-15T10:00:00+08:00\ndata demo\nsend CXYE\nreject 123.45\nexpect\n"
            try text.write(to: dir.appendingPathComponent("r.scenario"), atomically: true, encoding: .utf8)
            let reject = try run(["test", "--update", "r.scenario"], in: dir)
            #expect(reject.status == 1)
            #expect(reject.stdout.contains("FAIL  r.scenario (1 left to fix by hand)\nr.scenario:4: the output holds"))
            #expect(reject.stderr == "selfcare: test --update: 1 of 1 scenarios failed\n")
            let typo = "clock 2026-11-15T10:00:00+08:00\ndata demo\nsend CXYE\nexpct\n"
            try typo.write(to: dir.appendingPathComponent("t.scenario"), atomically: true, encoding: .utf8)
            let mistake = try run(["test", "--update", "t.scenario"], in: dir)
            #expect(mistake.status == 1)
            #expect(mistake.stdout.contains("t.scenario:4: unknown directive `expct`; did you mean `expect`?"))
            #expect(try String(contentsOf: dir.appendingPathComponent("t.scenario"), encoding: .utf8) == typo)
            let junit = try run(["test", "--update", "--junit", "report.xml", "t.scenario"], in: dir)
            #expect(junit.status == 64)
        }
    }

    /// An update writes through a symlink to its file, keeps the file's mode and byte-order mark, and leaves a
    /// read-only file alone.
    @Test func updateKeepsTheFileItRewrites() throws {
        try withServeFolder { dir in
            let text = "clock 2026-11-15T10:00:00+08:00\ndata demo\nsend CXJF\nexpect\n"
            let filled = "clock 2026-11-15T10:00:00+08:00\ndata demo\nsend CXJF\nexpect 尊敬的客户，您当前可用积分为3200分。\n"
            let real = dir.appendingPathComponent("real")
            try FileManager.default.createDirectory(at: real, withIntermediateDirectories: true)
            let target = real.appendingPathComponent("t.scenario")
            try (Data([0xEF, 0xBB, 0xBF]) + Data(text.utf8)).write(to: target)
            try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: target.path)
            try FileManager.default.createSymbolicLink(
                at: dir.appendingPathComponent("link.scenario"), withDestinationURL: target)
            let linked = try run(["test", "--update", "link.scenario"], in: dir)
            #expect(linked.status == 0, "\(linked.stdout)\(linked.stderr)")
            #expect(
                try FileManager.default.destinationOfSymbolicLink(
                    atPath: dir.appendingPathComponent("link.scenario").path) == target.path)
            #expect(try Data(contentsOf: target) == Data([0xEF, 0xBB, 0xBF]) + Data(filled.utf8))
            #expect(try FileManager.default.attributesOfItem(atPath: target.path)[.posixPermissions] as? Int == 0o640)
            let readOnly = dir.appendingPathComponent("ro.scenario")
            try text.write(to: readOnly, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: readOnly.path)
            let refused = try run(["test", "--update", "ro.scenario"], in: dir)
            #expect(refused.status == 1)
            #expect(
                refused.stdout.contains("FAIL  ro.scenario (not updated)\nselfcare: ro.scenario: read-only")
                    || refused.stdout.contains("ro.scenario: read-only; make it writable to update it"),
                "\(refused.stdout)")
            #expect(try String(contentsOf: readOnly, encoding: .utf8) == text)
        }
    }

    /// A file that cannot be read fails alone and names itself; a folder without scenarios, and a scenario that
    /// checks nothing, fail instead of passing.
    @Test func unreadableEmptyAndUncheckedScenariosFail() throws {
        try withServeFolder { dir in
            try Data(Array("clock 2026-11-15T10:00:00+08:00\ndata demo\nsend ".utf8) + [0xB2, 0xE9]).write(
                to: dir.appendingPathComponent("a-gbk.scenario"))
            try "clock 2026-11-15T10:00:00+08:00\ndata demo\nsend CXYE\nexpect 123.45\n".write(
                to: dir.appendingPathComponent("b-ok.scenario"), atomically: true, encoding: .utf8)
            let mixed = try run(["test", "a-gbk.scenario", "b-ok.scenario"], in: dir)
            #expect(mixed.status == 1)
            #expect(
                mixed.stdout.contains("FAIL  a-gbk.scenario\na-gbk.scenario: not valid UTF-8 at line 3, column 6"),
                "\(mixed.stdout)")
            #expect(mixed.stdout.contains("ok    b-ok.scenario (1 checks)\n1 passed, 1 failed\n"), "\(mixed.stdout)")
            try FileManager.default.createDirectory(
                at: dir.appendingPathComponent("empty"), withIntermediateDirectories: true)
            let folder = try run(["test", "empty"], in: dir)
            #expect(folder.status == 1)
            #expect(folder.stderr == "selfcare: empty: no *.scenario files in this folder\n")
            try "clock 2026-11-15T10:00:00+08:00\ndata demo\nsend CXYE\n".write(
                to: dir.appendingPathComponent("c.scenario"), atomically: true, encoding: .utf8)
            let unchecked = try run(["test", "c.scenario"], in: dir)
            #expect(unchecked.status == 1)
            #expect(
                unchecked.stdout.contains(
                    "c.scenario:3: the scenario checks nothing: add an expect, reject or record line"),
                "\(unchecked.stdout)")
        }
    }
}
