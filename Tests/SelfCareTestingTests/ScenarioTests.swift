import Foundation
import SelfCareScenarios
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
        promptsDirectory: Fixtures.repositoryRoot.appendingPathComponent("prompts").path, start: Fixtures.midNovember,
        logger: Fixtures.quietLogger)
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

    /// Every shipped scenario, on a PostgreSQL database of its own (when the tests have a server), one at a time:
    /// the whole suite already runs in parallel on few cores.
    @Test(.enabled(if: testPostgres != nil), .serialized, arguments: scenarioFiles)
    func scenarioPassesOnPostgreSQL(_ name: String) async throws {
        let scenario = try Scenario(path: scenarioFolder.appendingPathComponent(name).path)
        var runner = shippedRunner()
        runner.scratchStores = postgresScratchStores()
        do {
            let checks = try await runner.run(scenario)
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

    /// What did not hold is a mismatch (a JUnit failure); what keeps a scenario from running as written is its
    /// mistake (a JUnit error).
    @Test(arguments: [
        ("data demo\nsend CXYE\nexpect 999.99\n", ScenarioFailure.Kind.mismatch),
        ("data demo\nsend CXYE\nreject 123.45\n", .mismatch),
        ("data demo\nsend CXYE\nrecord query.balance refused closed\n", .mismatch),
        ("data demo\nsned CXYE\nexpect 1\n", .mistake),
        ("# only a comment\n", .mistake),
        ("clock yesterday\nsend CXYE\nexpect 1\n", .mistake),
        ("data demo\nsend CXYE\nexpect\n", .mistake),
        ("data demo\nsend CXYE\nexpect key no.such.key\n", .mistake),
        ("data demo\nexpect 1\n", .mistake),
        ("data demo\nsend CXYE\n", .mistake),
    ])
    func failuresSayWhetherTheGatewayOrTheScenarioIsWrong(_ text: String, _ kind: ScenarioFailure.Kind) async {
        do {
            try await shippedRunner().run(Scenario(path: "k.scenario", text: text))
            Issue.record("expected a failure: \(text)")
        } catch let failure as ScenarioFailure {
            #expect(failure.kind == kind, "\(failure)")
        } catch {
            Issue.record("\(error)")
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
            #expect(
                failure.description
                    == "u:2: unknown directive `shout`; known directives: data, clock, advance, caller, from, "
                    + "channel, survey, send, dial, call, press, op, tick, billing, notices, expect, reject, record")
        }
    }

    @Test func anEmptyScenarioFailsInsteadOfPassingWithNoChecks() async throws {
        let text = "# only a name\n\n   \n  # and a comment\n"
        do {
            let checks = try await shippedRunner().run(Scenario(path: "empty.scenario", text: text))
            Issue.record("expected a failure, got \(checks) checks")
        } catch let failure as ScenarioFailure {
            #expect(failure.line == 0)
            #expect(failure.description == "empty.scenario: the scenario is empty: nothing to run")
        }
    }

    @Test func aMissingDataFolderFailsWithItsPath() async throws {
        let text = "clock 2026-11-15T10:00:00+08:00\ndata no-such-data\nsend CXYE\n"
        do {
            try await shippedRunner().run(Scenario(path: "no-such-scenarios/d.scenario", text: text))
            Issue.record("expected a failure")
        } catch let failure as ScenarioFailure {
            #expect(
                failure.description
                    == "no-such-scenarios/d.scenario:2: data: no such folder no-such-scenarios/no-such-data")
        }
    }

    @Test func aDataFolderWithoutAnyDataFileFailsNamingTheFilesItLookedFor() async throws {
        try await withTemporaryDirectory { dir in
            try FileManager.default.createDirectory(
                at: dir.appendingPathComponent("nothing"), withIntermediateDirectories: true)
            try "not data".write(
                to: dir.appendingPathComponent("nothing/readme.txt"), atomically: true, encoding: .utf8)
            let path = dir.appendingPathComponent("d.scenario").path
            let text = "clock 2026-11-15T10:00:00+08:00\ndata nothing\nsend CXYE\n"
            do {
                try await shippedRunner().run(Scenario(path: path, text: text))
                Issue.record("expected a failure")
            } catch let failure as ScenarioFailure {
                #expect(
                    failure.description
                        == "\(path):2: data: \(dir.path)/nothing holds none of plans.csv, subscribers.csv, usage.csv, calls.csv, payments.csv, events.csv, cards.csv, packs.csv, services.csv, rewards.csv"
                )
            }
        }
    }

    /// A misspelt directive is named with the one meant, and before anything runs: the wrong expectation on the line
    /// before it is not what fails.
    @Test func anUnknownDirectiveSuggestsTheNearestOne() async throws {
        let text = "clock 2026-11-15T10:00:00+08:00\ndata demo\nsend CXYE\nexpect 余额为999.99元\nsned CXYE\n"
        do {
            try await shippedRunner().run(Scenario(path: "typo.scenario", text: text))
            Issue.record("expected a failure")
        } catch let failure as ScenarioFailure {
            #expect(failure.description == "typo.scenario:5: unknown directive `sned`; did you mean `send`?")
        }
    }

    /// `expect` with nothing after it is a step written for `--update` to fill in; run as it is, it checks nothing.
    @Test func aBareExpectFailsWhenRunAsItIs() async throws {
        let text = "clock 2026-11-15T10:00:00+08:00\ndata demo\nsend CXYE\nexpect\n"
        do {
            try await shippedRunner().run(Scenario(path: "bare.scenario", text: text))
            Issue.record("expected a failure")
        } catch let failure as ScenarioFailure {
            #expect(failure.line == 4)
            #expect(failure.message == "expect: no text to look for (`selfcare test --update` fills it in)")
        }
    }

    @Test func keyExpectationsMatchAnyValues() {
        #expect(ScenarioRunner.matchesForTesting(template: "余额为{balance}元。", "尊敬的客户，余额为12.34元。"))
        #expect(!ScenarioRunner.matchesForTesting(template: "余额为{balance}元。", "积分为3200分。"))
    }
}

/// The balance reply of 18612345678 on the demo data in November 2026.
let demoBalanceReply = "尊敬的张伟客户，您的账户余额为123.45元，本月(2026-11)已产生话费14.57元。"

/// Updates `text` as `selfcare test --update` would, and checks that the result passes when run as it is.
func updateThenRun(_ text: String, path: String = "new.scenario") async throws -> ScenarioUpdate {
    let update = try await shippedRunner().update(Scenario(path: path, text: text))
    if update.unresolved.isEmpty {
        do {
            try await shippedRunner().run(Scenario(path: path, text: update.text))
        } catch let failure as ScenarioFailure {
            Issue.record("the updated scenario fails: \(failure)\n\(update.text)")
        }
    }
    return update
}

@Suite("Updating scenarios from the gateway's answers")
struct ScenarioUpdateTests {
    static let head = "clock 2026-11-15T10:00:00+08:00\ndata demo\n"

    @Test func aWrongLiteralExpectBecomesTheReply() async throws {
        let text = Self.head + "send CXYE\nexpect 余额为999.99元\n"
        let update = try await updateThenRun(text)
        #expect(update.text == Self.head + "send CXYE\nexpect \(demoBalanceReply)\n")
        #expect(
            update.changes == [.init(line: 4, old: "expect 余额为999.99元", new: ["expect \(demoBalanceReply)"])])
        #expect(update.unresolved.isEmpty)
    }

    @Test func aBareExpectIsFilledInAndPassingOnesStay() async throws {
        let text = Self.head + "send CXYE\nexpect key reply.query.balance\nexpect\nop query.points\nexpect\n"
        let update = try await updateThenRun(text)
        let points = try #require(update.changes.last?.new)
        #expect(points.count == 2)
        #expect(points.last == "expect reason: ok")
        #expect(
            update.text
                == Self.head
                + "send CXYE\nexpect key reply.query.balance\nexpect \(demoBalanceReply)\nop query.points\n"
                + points.joined(separator: "\n") + "\n")
    }

    @Test func aWrongRecordBecomesTheLatestRecord() async throws {
        let text = Self.head + "send TCBG P98 258036\nrecord\nsend Y\nrecord plan.change refused same_plan\n"
        let update = try await updateThenRun(text)
        #expect(
            update.text
                == Self.head
                + "send TCBG P98 258036\nrecord plan.change refused confirmation_required\nsend Y\nrecord plan.change ok ok\n"
        )
        #expect(update.changes.map(\.line) == [4, 6])
    }

    @Test func aWrongPatternBecomesTheReplyAndAPassingPatternStays() async throws {
        let text = Self.head + "send CXYE\nexpect /^尊敬的/\nexpect /余额为9+\\.99元/\n"
        let update = try await updateThenRun(text)
        #expect(update.text == Self.head + "send CXYE\nexpect /^尊敬的/\nexpect \(demoBalanceReply)\n")
    }

    /// A USSD screen gives one `expect` a line, indented like the line it replaces; a line a passing `expect`
    /// already checks, and a second miss of the same screen, add nothing.
    @Test func aMultiLineUSSDScreenGivesOneExpectALine() async throws {
        let text =
            Self.head + "channel ussd\ndial *100#\n    expect CON 主菜单\n    expect 1. 查询\n    expect 9. 不存在\npress 1\n"
            + "expect 1. 余额\n"
        let update = try await updateThenRun(text)
        let expected =
            Self.head + "channel ussd\ndial *100#\n"
            + "    expect CON 中国联通自助服务\n    expect 2. 挂失/解挂\n    expect 3. 套餐变更\n"
            + "    expect 4. 停机保号/复机\n    expect 5. 修改服务密码\n    expect 6. 充值卡充值\n    expect 7. 流量包\n"
            + "    expect 99. 更多\n    expect 1. 查询\npress 1\nexpect 1. 余额\n"
        #expect(update.text == expected)
        #expect(update.changes.map(\.line) == [5, 7])
        #expect(update.changes.last?.new == [])
    }

    @Test func aFailingRejectIsLeftAndReported() async throws {
        let text = Self.head + "send CXYE\nreject 123.45\nexpect 余额为999.99元\n"
        let update = try await updateThenRun(text)
        #expect(update.text == Self.head + "send CXYE\nreject 123.45\nexpect \(demoBalanceReply)\n")
        #expect(update.unresolved.map(\.line) == [4])
        #expect(update.unresolved.first?.message == "the output holds what it must not")
    }

    /// Comments, blank lines, trailing spaces, CRLF line breaks, a tab before a directive and a last line without a
    /// line break stay exactly as they were; only the failing line changes, keeping its tab and its CRLF.
    @Test func everythingButTheFailingLinesSurvivesByteForByte() async throws {
        let text =
            "# SMS: kept as it is   \r\n\r\n  # an indented comment\r\nclock 2026-11-15T10:00:00+08:00\r\n"
            + "data demo\r\nchannel sms\r\n\r\nsend CXYE\r\n\texpect 余额为999.99元\r\nexpect 123.45元，\r\n"
            + "\texpect key reply.query.balance\r\n#  the end, with no line break"
        let update = try await updateThenRun(text)
        let expected = text.replacingOccurrences(
            of: "\texpect 余额为999.99元\r\n", with: "\texpect \(demoBalanceReply)\r\n")
        #expect(expected != text)
        #expect(Array(update.text.utf8) == Array(expected.utf8))
        #expect(update.changes.map(\.line) == [9])
    }

    @Test func nothingToUpdateLeavesTheTextAlone() async throws {
        let text = Self.head + "send CXYE\nexpect 123.45元\n"
        let update = try await updateThenRun(text)
        #expect(!update.changed)
        #expect(update.text == text)
    }

    /// Mistakes in the scenario itself are not expectations: the update fails and writes nothing.
    @Test(arguments: [
        ("send CXYE\nshout\nexpect\n", "x.scenario:4: unknown directive `shout`"),
        ("clock tomorrow\nexpect\n", "x.scenario:3: clock: expected an ISO 8601 time"),
        ("data no-such-data\nexpect\n", "x.scenario:3: data: no such folder no-such-data"),
        ("# nothing\n", "x.scenario: the scenario is empty: nothing to run"),
        (
            "send CXYE\nexpect key reply.query.balanse\n",
            "x.scenario:4: expect: no prompt key `reply.query.balanse`; did you mean `reply.query.balance`?"
        ),
        ("send CXYE\nexpect /unclosed(/\n", "x.scenario:4: expect: bad pattern /unclosed(/"),
        ("expect\nsend CXYE\n", "x.scenario:3: expect: no step has answered yet"),
        ("billing maybe\nexpect x\n", "x.scenario:3: billing: expected accept or reject [REASON]"),
    ])
    func mistakesInTheScenarioAreNotUpdated(_ body: String, _ message: String) async throws {
        let text = body.hasPrefix("#") ? body : Self.head + body
        do {
            let update = try await shippedRunner().update(Scenario(path: "x.scenario", text: text))
            Issue.record("expected a failure, got \(update.text)")
        } catch let failure as ScenarioFailure {
            #expect(failure.description.hasPrefix(message))
        }
    }

    @Test func outputLinesThatWouldReadAsPatternsOrKeysAreEscaped() throws {
        let output = "/a.b/\nkey x\n\n   \n plain (text) "
        let expectations = ScenarioRunner.expectations(for: output)
        #expect(expectations == [#"/\/a\.b\//"#, "/key x/", " plain (text) "])
        for pattern in expectations.prefix(2) {
            let regex = try Regex(String(pattern.dropFirst().dropLast()))
            #expect(output.contains(regex), "\(pattern)")
        }
        #expect(ScenarioRunner.expectations(for: "") == ["/^$/"])
    }
}
