import Foundation
import SelfCareChannels
import SelfCareCore
import SelfCareGrammar
import SelfCareTesting
import Testing

@Suite("Prompt checker and grammar reload")
struct PromptCheckerTests {
    func withPrompts(_ edit: (inout String, inout String) -> Void, _ body: (String) throws -> Void) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("p-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let shipped = Fixtures.repositoryRoot.appendingPathComponent("prompts")
        var zh = try String(contentsOf: shipped.appendingPathComponent("zh-CN.prompts"), encoding: .utf8)
        var en = try String(contentsOf: shipped.appendingPathComponent("en.prompts"), encoding: .utf8)
        edit(&zh, &en)
        try zh.write(to: dir.appendingPathComponent("zh-CN.prompts"), atomically: true, encoding: .utf8)
        try en.write(to: dir.appendingPathComponent("en.prompts"), atomically: true, encoding: .utf8)
        try body(dir.path)
    }

    @Test func theShippedPromptsPass() throws {
        let diagnostics = try PromptChecker().check(
            directory: Fixtures.repositoryRoot.appendingPathComponent("prompts").path)
        #expect(diagnostics.isEmpty, "\(diagnostics.map(\.description))")
    }

    @Test func everyKindOfPromptMistakeIsReported() throws {
        try withPrompts({ zh, en in
            zh = zh.replacingOccurrences(of: "reply.query.points = ", with: "reply.query.pointz = ")
            en += "\nreply.extra = only in English\n"
            en = en.replacingOccurrences(
                of: "Wrong service password. {remaining} tries left.", with: "Wrong password. {remaning} left.")
            zh = zh.replacingOccurrences(
                of: "sms.help = ", with: "sms.help = " + String(repeating: "很长的帮助", count: 20))
            en = en.replacingOccurrences(
                of: "reply.query.puk = Your SIM PUK code is {puk}.", with: "reply.query.puk = Your PUK is {puk} {name}."
            )
        }) { dir in
            let messages = try PromptChecker().check(directory: dir).map(\.description)
            let all = messages.joined(separator: "\n")
            #expect(all.contains("zh-CN.prompts:1:1: error: missing key `reply.query.points`, which the gateway sends"))
            #expect(all.contains("zh-CN.prompts:1:1: error: missing key `reply.extra` (it is in en.prompts)"))
            #expect(all.contains("error: unknown placeholder `{remaning}`; did you mean `{remaining}`?"))
            #expect(
                all.contains("error: `sms.help` can need 3 SMS parts at its longest (UCS-2, 164 units); the cap is 1"))
            #expect(all.contains("`reply.query.puk` uses {name} {puk} here but {puk} in zh-CN.prompts"))
        }
    }

    @Test func aBrokenReloadKeepsTheWorkingGrammar() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("g-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("sms.grammar")
        try "#SELFCARE 1.0 sms;\nroot $c;\n$c = CXYE {op = query.balance};\n".write(
            to: file, atomically: true, encoding: .utf8)
        let set = try GrammarSet(directory: dir.path, prompts: nil)
        #expect(set.grammar(for: "sms")?.match("CXYE")?.operation == "query.balance")
        try "#SELFCARE 1.0 sms;\nroot $c;\n$c = CXJF {op = query.pionts};\n".write(
            to: file, atomically: true, encoding: .utf8)
        #expect(throws: GrammarErrors.self) { try set.reload(directory: dir.path, prompts: nil) }
        #expect(set.grammar(for: "sms")?.match("CXYE")?.operation == "query.balance", "the old grammar stays")
        try "#SELFCARE 1.0 sms;\nroot $c;\n$c = CXJF {op = query.points};\n".write(
            to: file, atomically: true, encoding: .utf8)
        try set.reload(directory: dir.path, prompts: nil)
        #expect(set.grammar(for: "sms")?.match("CXJF")?.operation == "query.points")
        #expect(set.grammar(for: "sms")?.match("CXYE") == nil)
    }

    @Test func reloadingWhileMatchingNeverSeesAHalfGrammar() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("g-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = "#SELFCARE 1.0 sms;\nroot $c;\n$c = CXYE {op = query.balance} | CXJF {op = query.points};\n"
        try a.write(to: dir.appendingPathComponent("sms.grammar"), atomically: true, encoding: .utf8)
        let set = try GrammarSet(directory: dir.path, prompts: nil)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for _ in 0..<50 { try? set.reload(directory: dir.path, prompts: nil) }
            }
            for _ in 0..<4 {
                group.addTask {
                    for _ in 0..<2000 { #expect(set.grammar(for: "sms")?.match("cxjf")?.operation == "query.points") }
                }
            }
        }
    }
}
