import Foundation
import SelfCareTesting
import Testing

let scenarioFolder = Fixtures.repositoryRoot.appendingPathComponent("scenarios")

/// Every shipped scenario file.
let scenarioFiles: [String] = {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: scenarioFolder.path)) ?? []
    return names.filter { $0.hasSuffix(".scenario") }.sorted()
}()

func shippedRunner() -> ScenarioRunner {
    ScenarioRunner(
        grammarsDirectory: Fixtures.repositoryRoot.appendingPathComponent("grammars").path,
        promptsDirectory: Fixtures.repositoryRoot.appendingPathComponent("prompts").path, start: Fixtures.midNovember)
}

@Suite("Conversation scenarios")
struct ScenarioTests {
    @Test func thereAreScenariosForEveryChannel() {
        #expect(scenarioFiles.count >= 3)
        for channel in ["sms", "ussd", "ivr"] {
            #expect(scenarioFiles.contains { $0.hasPrefix(channel) }, "\(channel)")
        }
    }

    /// A shipped scenario sets its clock first, so it tells the same story on any day it runs, whatever
    /// clock `selfcare test` starts it with.
    @Test(arguments: scenarioFiles)
    func setsItsClockFirst(_ name: String) throws {
        let scenario = try Scenario(path: scenarioFolder.appendingPathComponent(name).path)
        #expect(scenario.steps.first?.directive == "clock", "\(name): begin with `clock 2026-11-15T10:00:00+08:00`")
    }

    @Test(arguments: scenarioFiles)
    func scenarioPasses(_ name: String) async throws {
        let scenario = try Scenario(path: scenarioFolder.appendingPathComponent(name).path)
        do {
            let checks = try await shippedRunner().run(scenario)
            #expect(checks > 0, "a scenario that checks nothing proves nothing")
        } catch let failure as ScenarioFailure {
            Issue.record("\(failure)")
        }
    }

    @Test func aWrongExpectationNamesFileAndLineWithADiff() async throws {
        let text = """
            # a deliberately wrong expectation
            data demo
            channel sms
            send CXYE
            expect 余额为999.99元
            """
        do {
            try await shippedRunner().run(Scenario(path: "wrong.scenario", text: text))
            Issue.record("expected a failure")
        } catch let failure as ScenarioFailure {
            #expect(failure.line == 5)
            let lines = failure.description.split(separator: "\n").map(String.init)
            #expect(lines[0] == "wrong.scenario:5: the output does not contain the expected text")
            #expect(lines[1] == "  - 余额为999.99元")
            #expect(lines[2].hasPrefix("  + 尊敬的张伟客户，您的账户余额为123.45元"))
        }
    }

    @Test func missingRecordsAndUnknownDirectivesFail() async throws {
        let missing = "data demo\nchannel sms\nsend CXYE\nrecord query.balance refused closed\n"
        await #expect(throws: ScenarioFailure.self) {
            try await shippedRunner().run(Scenario(path: "m", text: missing))
        }
        let unknown = "data demo\nshout CXYE\n"
        do {
            try await shippedRunner().run(Scenario(path: "u", text: unknown))
            Issue.record("expected a failure")
        } catch let failure as ScenarioFailure {
            #expect(failure.description == "u:2: unknown directive `shout`")
        }
    }

    @Test func keyExpectationsMatchAnyValues() {
        #expect(ScenarioRunner.matchesForTesting(template: "余额为{balance}元。", "尊敬的客户，余额为12.34元。"))
        #expect(!ScenarioRunner.matchesForTesting(template: "余额为{balance}元。", "积分为3200分。"))
    }
}
