import Foundation
import Logging
import SelfCareChannels
import SelfCareCore
import SelfCareCrypto
import SelfCareStore

/// A scripted conversation: data, clock, caller, what is sent or pressed, and what must come back.
///
/// The format (docs/scenarios.md), one directive a line, `#` at the start of a line for comments:
/// ```
/// # Loss reported from another phone
/// data demo
/// clock 2026-11-15T10:00:00+08:00
/// channel sms
/// caller 13900000000
/// send GS 18612345678 258036
/// expect 回复Y确认
/// send Y
/// expect key reply.loss.report
/// record loss.report ok ok
/// ```
public struct Scenario: Sendable {
    public struct Step: Sendable {
        public var line: Int
        public var directive: String
        public var argument: String
    }

    public var path: String
    public var name: String
    public var steps: [Step]

    /// Reads a scenario file.
    public init(path: String) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        self.init(path: path, text: text)
    }

    public init(path: String, text: String) {
        self.path = path
        var steps: [Step] = []
        var name = (path as NSString).lastPathComponent
        for (i, raw) in splitLines(text).enumerated() {
            let line = String(raw)
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("#") {
                if steps.isEmpty && i == 0 { name = trimmed.dropFirst().trimmingCharacters(in: .whitespaces) }
                continue
            }
            if trimmed.isEmpty { continue }
            let directive = String(trimmed.prefix { $0 != " " })
            var argument = String(line.drop { $0 == " " }.dropFirst(directive.count))
            if argument.hasPrefix(" ") { argument.removeFirst() }
            steps.append(Step(line: i + 1, directive: directive, argument: argument))
        }
        self.name = name
        self.steps = steps
    }
}

/// The first expectation a scenario missed.
public struct ScenarioFailure: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var line: Int
    public var message: String
    public var expected: String
    public var actual: String

    /// `file:line: message`, then a line diff of what was expected and what came back.
    public var description: String {
        var out = "\(path):\(line): \(message)"
        if !expected.isEmpty || !actual.isEmpty {
            out +=
                "\n"
                + expected.split(separator: "\n", omittingEmptySubsequences: false).map { "  - \($0)" }
                .joined(separator: "\n")
            out +=
                "\n"
                + actual.split(separator: "\n", omittingEmptySubsequences: false).map { "  + \($0)" }
                .joined(separator: "\n")
        }
        return out
    }
}

/// Runs scenarios against real components: a fresh SQLite database, the engine, and the SMS, USSD and
/// IVR channels over the given grammars and prompts.
public struct ScenarioRunner: Sendable {
    public var grammarsDirectory: String
    public var promptsDirectory: String
    /// Where each scenario's clock starts until its `clock` directive sets it (`selfcare test` passes
    /// `SELFCARE_NOW`, else the system clock's instant).
    public var start: Date
    /// PBKDF2 iterations for the scenario's database (cheap by default: scenarios test behaviour).
    public var iterations = 2_000

    public init(grammarsDirectory: String, promptsDirectory: String, start: Date) {
        self.grammarsDirectory = grammarsDirectory
        self.promptsDirectory = promptsDirectory
        self.start = start
    }

    /// Runs `scenario`; returns how many expectations held, or throws the first `ScenarioFailure`.
    @discardableResult
    public func run(_ scenario: Scenario) async throws -> Int {
        try await withTemporaryDatabase { store, dir in
            // `clock` and `advance` move the clock from `start`.
            let clock = ManualTimeSource(start)
            let prompts = try PromptCatalog.load(directory: promptsDirectory)
            let hasher = PBKDF2PasswordHasher(
                pepper: Pepper(bytes: try LibCrypto.randomBytes(32)), iterations: iterations)
            let pool = BlockingWorkPool(threads: 2)
            let engine = OperationEngine(
                store: store, hasher: hasher, prompts: prompts, clock: clock, pool: pool,
                logger: Logger(label: "scenario", factory: { _ in SwiftLogNoOpLogHandler() }))
            let grammars = try GrammarSet(directory: grammarsDirectory, prompts: prompts)
            let sms = SMSChannel(engine: engine, grammars: grammars)
            let ussd = USSDChannel(engine: engine, grammars: grammars)
            let ivr = IVRChannel(engine: engine, grammars: grammars)
            var state = RunState()
            var checks = 0
            func fail(
                _ step: Scenario.Step, _ message: String, expected: String = "", actual: String = ""
            ) -> ScenarioFailure {
                ScenarioFailure(
                    path: scenario.path, line: step.line, message: message, expected: expected, actual: actual)
            }
            for step in scenario.steps {
                let arg = step.argument
                switch step.directive {
                case "data":
                    let importer = CSVImporter(store: store, hasher: hasher, pool: pool)
                    if arg == "demo" {
                        _ = try await DemoData.load(
                            with: importer, now: clock.now(), calendar: engine.configuration.calendar)
                    } else {
                        let folder =
                            arg.hasPrefix("/")
                            ? arg
                            : ((scenario.path as NSString).deletingLastPathComponent as NSString)
                                .appendingPathComponent(arg)
                        for kind in ImportKind.allCases {
                            let file = (folder as NSString).appendingPathComponent("\(kind.rawValue).csv")
                            guard FileManager.default.fileExists(atPath: file) else { continue }
                            let (summary, _, _) = try await importer.importData(
                                kind, data: FileManager.default.contents(atPath: file) ?? Data(), source: file)
                            if summary.rejected > 0 { throw fail(step, "\(file): \(summary.rejected) rows rejected") }
                        }
                    }
                case "clock":
                    guard let date = ISOTime.parse(arg) else { throw fail(step, "clock: expected an ISO 8601 time") }
                    clock.set(date)
                case "advance":
                    guard let seconds = Self.duration(arg) else { throw fail(step, "advance: expected 90s, 5m or 2h") }
                    clock.advance(by: seconds)
                case "caller", "from":
                    state.caller = arg
                case "channel":
                    guard ["sms", "ussd", "ivr", "api"].contains(arg) else {
                        throw fail(step, "channel: expected sms, ussd, ivr or api")
                    }
                    state.channel = arg
                case "send":
                    var text = arg
                    var id: String?
                    if text.hasPrefix("[id="), let close = text.firstIndex(of: "]") {
                        id = String(text[text.index(text.startIndex, offsetBy: 4)..<close])
                        text = String(text[text.index(after: close)...]).trimmingCharacters(in: .whitespaces)
                    }
                    let reply = await sms.handle(InboundSMS(from: state.caller, text: text, id: id))
                    state.output = reply.text
                case "dial":
                    state.session += 1
                    state.ussdCode = arg
                    state.output = await ussd.handle(
                        sessionID: "scenario-\(state.session)", caller: state.caller, serviceCode: arg, input: nil
                    ).description
                case "call":
                    state.session += 1
                    state.output = await ivr.start(callID: "scenario-\(state.session)", caller: state.caller)
                        .map(\.description).joined(separator: "\n")
                case "press":
                    if state.channel == "ivr" {
                        state.output = await ivr.input(callID: "scenario-\(state.session)", digits: arg)
                            .map(\.description).joined(separator: "\n")
                    } else {
                        state.output = await ussd.handle(
                            sessionID: "scenario-\(state.session)", caller: state.caller, serviceCode: state.ussdCode,
                            input: arg
                        ).description
                    }
                case "op":
                    var parts = arg.split(separator: " ").map(String.init)
                    guard !parts.isEmpty else { throw fail(step, "op: expected OPERATION [key=value …]") }
                    var request = OperationRequest(
                        operation: OperationName(parts.removeFirst()), channel: .api, caller: state.caller)
                    for part in parts {
                        let kv = part.split(separator: "=", maxSplits: 1).map(String.init)
                        guard kv.count == 2 else { throw fail(step, "op: `\(part)` is not key=value") }
                        switch kv[0] {
                        case "password": request.password = Secret(kv[1])
                        case "new_password": request.newPassword = Secret(kv[1])
                        case "new_password_again": request.newPasswordAgain = Secret(kv[1])
                        case "subject": request.subject = kv[1]
                        default: request.arguments[kv[0]] = kv[1]
                        }
                    }
                    let outcome = await engine.perform(request)
                    state.output = "\(outcome.reply)\nreason: \(outcome.reason)"
                case "tick":
                    let records = try await engine.applyDueChanges()
                    state.output = records.map { "\($0.subject) \($0.operation) \($0.result) \($0.reason)" }
                        .joined(separator: "\n")
                case "expect":
                    checks += 1
                    if let failure = Self.check(arg, against: state.output, prompts: prompts) {
                        throw fail(step, failure, expected: arg, actual: state.output)
                    }
                case "reject":
                    checks += 1
                    if state.output.contains(arg) {
                        throw fail(
                            step, "the output holds what it must not", expected: "(not) \(arg)", actual: state.output)
                    }
                case "record":
                    checks += 1
                    let want = arg.split(separator: " ").map(String.init)
                    guard want.count == 3 else { throw fail(step, "record: expected OPERATION RESULT REASON") }
                    var found: [String] = []
                    try store.forEachRecord(matching: RecordFilter()) { r in
                        found.append("\(r.operation) \(r.result) \(r.reason)")
                    }
                    if !found.contains(want.joined(separator: " ")) {
                        throw fail(
                            step, "no such record", expected: want.joined(separator: " "),
                            actual: found.joined(separator: "\n"))
                    }
                default:
                    throw fail(step, "unknown directive `\(step.directive)`")
                }
            }
            let verify = try store.verifyRecords()
            if let broken = verify.firstBreak {
                throw ScenarioFailure(
                    path: scenario.path, line: scenario.steps.last?.line ?? 1,
                    message: "record chain broken: \(broken)",
                    expected: "", actual: "")
            }
            _ = dir
            return checks
        }
    }

    struct RunState {
        var caller = "18612345678"
        var channel = "sms"
        var output = ""
        var session = 0
        var ussdCode = "*100#"
    }

    static func duration(_ text: String) -> TimeInterval? {
        guard let unit = text.last, let n = Double(text.dropLast()) else { return Double(text) }
        switch unit {
        case "s": return n
        case "m": return n * 60
        case "h": return n * 3600
        case "d": return n * 86_400
        default: return nil
        }
    }

    /// Nil when `expectation` holds for `output`; else why not.
    static func check(_ expectation: String, against output: String, prompts: PromptCatalog) -> String? {
        if expectation.hasPrefix("/") && expectation.hasSuffix("/") && expectation.count >= 2 {
            let pattern = String(expectation.dropFirst().dropLast())
            guard let regex = try? Regex(pattern) else { return "bad pattern /\(pattern)/" }
            return output.contains(regex) ? nil : "no match for the pattern"
        }
        if expectation.hasPrefix("key ") {
            let key = String(expectation.dropFirst(4)).trimmingCharacters(in: .whitespaces)
            let templates = prompts.templates.values.compactMap { $0[key] }
            guard !templates.isEmpty else { return "no prompt key `\(key)`" }
            for template in templates where Self.matches(template: template, output) { return nil }
            return "the output is not the text of `\(key)`"
        }
        return output.contains(expectation) ? nil : "the output does not contain the expected text"
    }

    /// `matches(template:_:)`, for tests.
    public static func matchesForTesting(template: String, _ output: String) -> Bool {
        matches(template: template, output)
    }

    /// Whether `output` contains the rendering of `template`, any value standing for each placeholder.
    static func matches(template: String, _ output: String) -> Bool {
        var pattern = ""
        var rest = template[...]
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            pattern += NSRegularExpression.escapedPattern(for: String(rest[..<open])) + "[\\s\\S]*?"
            rest = rest[rest.index(after: close)...]
        }
        pattern += NSRegularExpression.escapedPattern(for: String(rest))
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return false }
        return regex.firstMatch(in: output, range: NSRange(output.startIndex..., in: output)) != nil
    }
}
