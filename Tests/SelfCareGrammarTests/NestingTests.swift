import SelfCareGrammar
import Testing

@Suite struct NestingTests {
    @Test func deeplyNestedGroupsAreRefusedNotOverflowed() throws {
        let deep = String(repeating: "(", count: 5_000) + "XX" + String(repeating: ")", count: 5_000)
        let text = "#SELFCARE 1.0 sms;\nroot $command;\n$command = \(deep) {op = query.balance};\n"
        do {
            _ = try CompiledGrammar(text: text, path: "deep.grammar", promptKeys: nil)
            Issue.record("a grammar nested 5000 deep compiled")
        } catch let errors as GrammarErrors {
            #expect(errors.diagnostics.contains { $0.message.contains("nested more than 64 deep") })
        }
        let fine = String(repeating: "(", count: 30) + "XX" + String(repeating: ")", count: 30)
        _ = try CompiledGrammar(
            text: "#SELFCARE 1.0 sms;\nroot $command;\n$command = \(fine) {op = query.balance};\n", path: "ok.grammar",
            promptKeys: nil)
    }

    @Test func aLongChainOfRulesIsRefusedNotOverflowed() throws {
        func grammar(_ length: Int) -> String {
            var text = "#SELFCARE 1.0 sms;\nroot $command;\n$command = $r0 {op = query.balance};\n"
            for i in 0..<length { text += "$r\(i) = $r\(i + 1) A;\n" }
            return text + "$r\(length) = X;\n"
        }
        do {
            _ = try CompiledGrammar(text: grammar(20_000), path: "chain.grammar", promptKeys: nil)
            Issue.record("a chain of 20000 rules compiled")
        } catch let errors as GrammarErrors {
            #expect(errors.diagnostics.contains { $0.message.contains("more than 256 deep") })
        }
        _ = try CompiledGrammar(text: grammar(100), path: "chain.grammar", promptKeys: nil)
    }
}
