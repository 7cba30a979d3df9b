import Foundation
import SelfCareScenarios
import SelfCareTesting
import Testing

/// What junitparser made of a report (Tests/Fixtures/consumers/junit_report.py prints it).
struct ParsedJUnit: Decodable {
    struct Counts: Decodable, Equatable {
        var tests: Int
        var failures: Int
        var errors: Int
        var skipped: Int
    }
    struct Result: Decodable {
        var kind: String
        var type: String?
        var message: String?
        var text: String?
    }
    struct Case: Decodable {
        var name: String
        var classname: String?
        var time: Double
        var results: [Result]
    }
    struct Suite: Decodable {
        var name: String
        var declared: Counts
        var counted: Counts
        var time: Double
        var timestamp: String?
        var hostname: String?
        var cases: [Case]
    }
    var junitparser: String
    var suites: [Suite]
}

@Suite("JUnit reports of `selfcare test`", .serialized)
struct JUnitReportTests {
    /// The scenarios of the mixed run, by file: what each is in JUnit's terms.
    static let scenarios: [(file: String, text: String, outcome: String)] = [
        (
            "a-pass.scenario",
            "# SMS: the balance\nclock 2026-11-15T10:00:00+08:00\ndata demo\nchannel sms\nsend CXYE\nexpect 123.45\n",
            "passed"
        ),
        (
            "b-mismatch.scenario",
            "# SMS: <balance> & \"quotes\" 'too'\nclock 2026-11-15T10:00:00+08:00\ndata demo\nsend CXYE\nexpect 999.99\n",
            "failure"
        ),
        (
            "c-control.scenario",
            "# SMS: a terminal's colours in the diff\ndata demo\nsend CXYE\nexpect \u{1B}[31mred\u{1}\u{7F}\n",
            "failure"
        ),
        ("d-unknown.scenario", "# a typo\ndata demo\nsned CXYE\nexpect 123.45\n", "error"),
        ("e-empty.scenario", "# nothing but a comment\n", "error"),
        ("f-bare.scenario", "# unfinished\ndata demo\nsend CXYE\nexpect\n", "error"),
        ("g-bad-clock.scenario", "# a bad clock\nclock yesterday\ndata demo\nsend CXYE\nexpect 1\n", "error"),
    ]

    /// The reports of a run with every kind of outcome (`mixed.xml`) and of every shipped scenario
    /// (`shipped.xml`), in a scratch folder.
    func withReports(_ body: (_ folder: URL, _ reports: [URL]) throws -> Void) throws {
        try withServeFolder { dir in
            for scenario in Self.scenarios {
                try scenario.text.write(
                    to: dir.appendingPathComponent(scenario.file), atomically: true, encoding: .utf8)
            }
            try Data([0x23, 0x20, 0xFF, 0xFE, 0x0A]).write(to: dir.appendingPathComponent("h-not-utf8.scenario"))
            let mixed = try run(["test", "--junit", "mixed.xml"] + Self.files, in: dir)
            #expect(mixed.status == 1, "\(mixed.stderr)")
            #expect(mixed.stdout.hasSuffix("1 passed, 7 failed\n"), "\(mixed.stdout)")
            let all = try run(
                ["test", "--junit", "shipped.xml", Fixtures.repositoryRoot.appendingPathComponent("scenarios").path],
                in: dir)
            #expect(all.status == 0, "\(all.stdout)")
            try body(dir, [dir.appendingPathComponent("mixed.xml"), dir.appendingPathComponent("shipped.xml")])
        }
    }

    static let files = scenarios.map(\.file) + ["h-not-utf8.scenario"]

    /// Both reports are valid against Jenkins xunit's junit-10.xsd.
    @Test(.enabled(if: XMLLint.path != nil || validatorsRequired, "needs xmllint (Debian libxml2-utils)"))
    func reportsAreValidAgainstTheJUnitSchema() throws {
        guard XMLLint.path != nil else {
            Issue.record("CI is set but \(XMLLint.missing)")
            return
        }
        try withReports { _, reports in
            let validation = try XMLLint.validate(reports, schema: Schemas.junit)
            #expect(validation.status == 0 && validation.valid.count == reports.count, "\(validation)")
            print("JUnit: \(validation.valid.count) reports valid against junit-10.xsd (\(XMLLint.version))")
        }
    }

    /// junitparser, as a CI server's plugin would, reads the counts, the kind of each case's outcome, the
    /// timestamp and the hostname they should have.
    @Test(
        .enabled(
            if: CIPython.path != nil || validatorsRequired,
            "needs SELFCARE_CI_PYTHON, a Python with junitparser (.ci/run makes one)"))
    func junitparserReadsWhatTheReportsSay() throws {
        guard let python = CIPython.path else {
            Issue.record("CI is set but \(CIPython.missing)")
            return
        }
        try withReports { dir, reports in
            let parsed = try reports.map { report -> ParsedJUnit in
                let read = try run(
                    [
                        Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/consumers/junit_report.py").path,
                        report.path,
                    ], in: dir, program: python)
                try #require(read.status == 0, "junitparser: \(read.stderr)")
                return try JSONDecoder().decode(ParsedJUnit.self, from: Data(read.stdout.utf8))
            }
            let suite = try #require(parsed[0].suites.first)
            #expect(parsed[0].suites.count == 1)
            #expect(suite.declared == .init(tests: 8, failures: 2, errors: 5, skipped: 0))
            #expect(suite.counted == suite.declared, "the counts say what the cases hold")
            // The injected clock's instant (SELFCARE_NOW 2026-11-24T10:00:00+08:00), in UTC as Ant writes it.
            #expect(suite.timestamp == "2026-11-24T02:00:00")
            #expect(suite.hostname?.isEmpty == false)
            #expect(suite.time > 0)
            let outcomes = suite.cases.map { $0.results.first?.kind ?? "passed" }
            #expect(outcomes == Self.scenarios.map(\.outcome) + ["error"])
            #expect(suite.cases.map(\.classname) == Self.files)
            #expect(suite.cases[1].name == "SMS: <balance> & \"quotes\" 'too'")
            #expect(
                suite.cases[1].results.first?.message
                    == "b-mismatch.scenario:5: the output does not contain the expected text")
            #expect(suite.cases[1].results.first?.type == "mismatch")
            #expect(
                suite.cases[2].results.first?.text?.contains("\u{FFFD}[31mred\u{FFFD}\u{7F}") == true,
                "control characters replaced, the rest kept")
            #expect(
                suite.cases[3].results.first?.message
                    == "d-unknown.scenario:3: unknown directive `sned`; did you mean `send`?")
            #expect(suite.cases[3].results.first?.type == "mistake")
            #expect(
                suite.cases[7].results.first?.message?.hasPrefix("h-not-utf8.scenario: not valid UTF-8") == true,
                "\(suite.cases[7])")

            let shipped = try #require(parsed[1].suites.first)
            let count = try FileManager.default.contentsOfDirectory(
                atPath: Fixtures.repositoryRoot.appendingPathComponent("scenarios").path
            ).filter { $0.hasSuffix(".scenario") }.count
            #expect(shipped.declared == .init(tests: count, failures: 0, errors: 0, skipped: 0))
            #expect(shipped.counted == shipped.declared)
            print("JUnit: \(parsed.count) reports read by junitparser \(parsed[0].junitparser)")
        }
    }
}
