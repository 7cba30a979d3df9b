import Foundation
import SelfCareCore
import SelfCareTesting
import Testing

@Suite("selfcare serve", .serialized, .enabled(if: curl != nil, "needs curl"))
struct ServeTests {
    @Test func demoAnswersKannelAndStopsCleanlyOnSIGTERM() throws {
        try withServeFolder { dir in
            let server = try ServerProcess(["--demo"], in: dir)
            #expect(server.stderr.contains("demo subscribers: applied"))
            let reply = try curlGet("\(server.base)/sms/kannel?from=18612345678&to=10010&text=CXYE")
            #expect(reply.contains("余额为123.45元"), "\(reply)")
            #expect(try curlGet("\(server.base)/healthz") == "ok\n")
            let metrics = try curlGet("\(server.base)/metrics")
            #expect(
                metrics.contains(
                    #"selfcare_operations_total{channel="sms",operation="query.balance",result="ok",reason="ok"} 1"#))
            #expect(server.stop() == 0, "\(server.stderr)")
            // The record was committed before the reply left: the chain verifies after the stop.
            let verify = try run(["records", "verify"], in: dir)
            #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        }
    }

    @Test func sighupReloadsAndABrokenGrammarIsRefusedWhileServing() throws {
        try withServeFolder { dir in
            let server = try ServerProcess(["--demo"], in: dir)
            defer { _ = server.stop() }
            let grammar = dir.appendingPathComponent("grammars/sms.grammar")
            let original = try String(contentsOf: grammar, encoding: .utf8)
            // A live USSD session, which a reload must not drop.
            let open = try curlGet(
                "\(server.base)/ussd/at", ["-d", "sessionId=hup1&serviceCode=*100%23&phoneNumber=18612345678&text="])
            #expect(open.hasPrefix("CON "))
            try original.replacingOccurrences(of: "query.points}", with: "query.pionts}")
                .write(to: grammar, atomically: true, encoding: .utf8)
            server.signal(SIGHUP)
            #expect(server.waitFor("reload refused"), "\(server.stderr)")
            #expect(server.stderr.contains("query.pionts"))
            #expect(try curlGet("\(server.base)/sms/kannel?from=18612345678&text=CXJF").contains("3200"))
            // Fixed, with a new alias: the reload takes it.
            try original.replacingOccurrences(of: "(CXJF |", with: "(CXJF | JIFEN |")
                .write(to: grammar, atomically: true, encoding: .utf8)
            server.signal(SIGHUP)
            #expect(server.waitFor("reloaded grammars and prompts"), "\(server.stderr)")
            #expect(try curlGet("\(server.base)/sms/kannel?from=18612345678&text=JIFEN").contains("3200"))
            let step = try curlGet(
                "\(server.base)/ussd/at", ["-d", "sessionId=hup1&serviceCode=*100%23&phoneNumber=18612345678&text=1*4"])
            #expect(step == "END 尊敬的客户，您当前可用积分为3200分。", "the session lived through both reloads")
        }
    }
}

@Suite("selfcare bench")
struct BenchCLITests {
    @Test func benchMeasuresEachFigureAgainstTheBaselineOfTheSameRun() throws {
        try withServeFolder { dir in
            let result = try run(["bench", "--seconds", "0.3", "--rounds", "1", "--writers", "8"], in: dir)
            #expect(result.status == 0, "\(result.stderr)")
            let rows = result.stdout.split(separator: "\n").filter {
                $0.hasPrefix("| ") && !$0.hasPrefix("| measurement")
            }
            #expect(rows.count == 4, "\(result.stdout)")
            #expect(rows.first?.hasSuffix("| 1.00× |") == true)
            #expect(result.stdout.contains("8 concurrent writers"))
            // Every figure is a positive rate.
            for row in rows {
                let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
                #expect((Int(cells[1]) ?? 0) > 0, "\(row)")
            }
            let bad = try run(["bench", "--rounds", "0"], in: dir)
            #expect(bad.status != 0)
            let kdf = try run(
                ["bench", "--kdf", "--seconds", "0.2", "--rounds", "1"], in: dir,
                environment: ["SELFCARE_PBKDF2_ITERATIONS": "1000"])
            #expect(kdf.status == 0, "\(kdf.stderr)")
            #expect(kdf.stdout.hasPrefix("kdf: "), "\(kdf.stdout)")
            #expect(
                kdf.stdout.contains("at 1000 iterations on \(ProcessInfo.processInfo.activeProcessorCount) threads"))
            let grammar = try run(["bench", "--grammar", "--seconds", "0.2", "--rounds", "1"], in: dir)
            #expect(grammar.status == 0, "\(grammar.stderr)")
            #expect(grammar.stdout.hasPrefix("grammar: "), "\(grammar.stdout)")
            #expect(grammar.stdout.contains("keyword dictionary baseline"))
            let sessions = try run(["bench", "--sessions", "500"], in: dir)
            #expect(sessions.status == 0, "\(sessions.stderr)")
            #expect(sessions.stdout.contains("500 live USSD sessions add"), "\(sessions.stdout)")
            #expect(sessions.stdout.contains("500 live IVR calls add"))
        }
    }
}
