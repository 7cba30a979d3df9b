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
}
