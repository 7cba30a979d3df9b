import Foundation
import SelfCareGrammar
import SelfCareTesting
import Testing

let fixturesFolder = Fixtures.repositoryRoot.appendingPathComponent("Tests/SelfCareGrammarTests/fixtures")

/// The fixture grammars, each with one kind of mistake and the exact diagnostics expected.
let fixtureNames: [String] = {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: fixturesFolder.path)) ?? []
    return names.filter { $0.hasSuffix(".grammar") }.map { String($0.dropLast(".grammar".count)) }.sorted()
}()

/// Prompt keys the fixtures may use.
let fixturePromptKeys: Set<String> = ["ussd.main", "ussd.queries", "ussd.opt.queries", "goodbye"]

@Suite("Grammar diagnostics")
struct DiagnosticTests {
    @Test func atLeastTenKindsOfMistakes() {
        #expect(fixtureNames.count >= 10)
    }

    @Test(arguments: fixtureNames)
    func fixtureGivesItsDiagnostic(_ name: String) throws {
        let source = fixturesFolder.appendingPathComponent("\(name).grammar")
        let text = try String(contentsOf: source, encoding: .utf8)
        let path = "fixtures/\(name).grammar"
        var actual = ""
        do {
            _ = try CompiledGrammar(text: text, path: path, promptKeys: fixturePromptKeys)
            actual = "(no error)\n"
        } catch let errors as GrammarErrors {
            actual = errors.description + "\n"
        }
        let expectedURL = fixturesFolder.appendingPathComponent("\(name).expected")
        if ProcessInfo.processInfo.environment["SELFCARE_UPDATE_FIXTURES"] == "1" {
            try actual.write(to: expectedURL, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOf: expectedURL, encoding: .utf8)
        #expect(actual == expected)
    }
}
