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

    /// The directives a scenario may use, in the order docs/scenarios.md lists them.
    public static let directives = [
        "data", "clock", "advance", "caller", "from", "channel", "survey", "send", "dial", "call", "press", "op",
        "tick", "billing", "notices", "expect", "reject", "record",
    ]

    /// The directives that produce an output for `expect` and `reject`.
    static let steps = ["send", "dial", "call", "press", "op", "tick", "billing", "notices"]

    public var path: String
    public var name: String
    public var steps: [Step]
    /// The file's text as read, which `ScenarioRunner.update(_:)` rewrites line by line.
    public var text: String

    /// Reads a scenario file.
    /// - Throws: `TextFileError` naming the file and why it cannot be read (a folder, not UTF-8, …).
    public init(path: String) throws {
        self.init(path: path, text: try TextFile.read(path))
    }

    public init(path: String, text: String) {
        self.path = path
        self.text = text
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
            var argument = String(line.drop(while: isIndentation).dropFirst(directive.count))
            if argument.hasPrefix(" ") { argument.removeFirst() }
            steps.append(Step(line: i + 1, directive: directive, argument: argument))
        }
        self.name = name
        self.steps = steps
    }
}

/// Whether `character` is blank space before a directive (what `trimmingCharacters(in: .whitespaces)` removes).
private func isIndentation(_ character: Character) -> Bool {
    character.unicodeScalars.allSatisfy { CharacterSet.whitespaces.contains($0) }
}

/// The first expectation a scenario missed, or a mistake in the scenario itself.
public struct ScenarioFailure: Error, Sendable, CustomStringConvertible {
    /// Whether the gateway answered otherwise than expected, or the scenario cannot run as written.
    public struct Kind: RawRepresentable, Sendable, Hashable {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// An `expect`, `reject` or `record` did not hold, or the record chain broke: a JUnit `<failure>`.
        public static let mismatch = Kind(rawValue: "mismatch")
        /// The scenario itself is wrong: empty, an unknown directive, a bad argument, missing data, nothing
        /// checked. It says nothing of the gateway: a JUnit `<error>`.
        public static let mistake = Kind(rawValue: "mistake")
    }

    public var kind: Kind
    public var path: String
    /// The line of the directive that failed; 0 when the failure is about the whole file (an empty scenario).
    public var line: Int
    public var message: String
    public var expected: String
    public var actual: String

    /// `file:line: message` (`file: message` for the whole file), then a line diff of what was expected and what
    /// came back.
    public var description: String {
        var out = line > 0 ? "\(path):\(line): \(message)" : "\(path): \(message)"
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

/// What `ScenarioRunner.update(_:)` made of a scenario: its new text and the lines that changed.
public struct ScenarioUpdate: Sendable {
    /// One line of the file replaced.
    public struct Change: Sendable, Equatable {
        /// The line's number in the file as it was (1-based).
        public var line: Int
        /// The line as it was, without its line break.
        public var old: String
        /// The lines written in its place, with the old line's indentation; none when everything it would say is
        /// already expected of the same step.
        public var new: [String]

        public init(line: Int, old: String, new: [String]) {
            self.line = line
            self.old = old
            self.new = new
        }
    }

    public var path: String
    /// The scenario's text after the update: the text as read when nothing changed.
    public var text: String
    /// The replaced lines, in file order.
    public var changes: [Change]
    /// The failures an update cannot fix (a `reject` whose text is in the output, a `record` when the scenario
    /// wrote none), left in the file as they are.
    public var unresolved: [ScenarioFailure]
    /// Whether any line was replaced, so that `text` differs from the file's text.
    public var changed: Bool { !changes.isEmpty }
}

/// Runs scenarios against real components: a fresh database (SQLite unless `scratchStores` says otherwise), the
/// engine, and the SMS, USSD and IVR channels over the given grammars and prompts.
public struct ScenarioRunner: Sendable {
    public var grammarsDirectory: String
    public var promptsDirectory: String
    /// Where each scenario's clock starts until its `clock` directive sets it (`selfcare test` passes
    /// `SELFCARE_NOW`, else the system clock's instant).
    public var start: Date
    /// PBKDF2 iterations for the scenario's database (cheap by default: scenarios test behaviour).
    public var iterations = 2_000
    /// Where each scenario's gateway logs.
    public var logger: Logger
    /// Where each scenario's scratch database is made; nil: an SQLite file in a temporary folder.
    public var scratchStores: ScratchStores?

    /// A runner over the grammars and prompts in these folders, its clocks starting at `start`.
    public init(grammarsDirectory: String, promptsDirectory: String, start: Date, logger: Logger) {
        self.grammarsDirectory = grammarsDirectory
        self.promptsDirectory = promptsDirectory
        self.start = start
        self.logger = logger
    }

    /// Runs `scenario`; returns how many expectations held, or throws the first `ScenarioFailure`.
    ///
    /// An empty scenario and an unknown directive fail before anything runs.
    @discardableResult
    public func run(_ scenario: Scenario) async throws -> Int {
        try await execute(scenario, updating: false).checks
    }

    /// Runs `scenario` to its end and rewrites its failing expectations from what the gateway now answers, like a
    /// snapshot test.
    ///
    /// A failing or bare `expect` becomes one `expect` line per non-empty line of the output it checks (the output
    /// of the latest `send`, `dial`, `call`, `press`, `op` or `tick`; `expect /^$/` for an empty output), leaving
    /// out lines already expected of that output; a failing or bare `record` becomes the latest record's
    /// `OPERATION RESULT REASON`. Passing expectations, comments, blank lines and every other line stay byte for
    /// byte. A failing `reject` cannot be fixed: it stays and is listed in `unresolved`.
    ///
    /// ```swift
    /// let update = try await runner.update(Scenario(path: "sms-new.scenario"))
    /// if update.changed { try update.text.write(toFile: update.path, atomically: true, encoding: .utf8) }
    /// ```
    /// - Throws: `ScenarioFailure` for a mistake in the scenario itself (empty, unknown directive, bad clock,
    ///   missing data folder, …), which no update can fix; other errors for faults (prompts, grammars, I/O).
    public func update(_ scenario: Scenario) async throws -> ScenarioUpdate {
        let execution = try await execute(scenario, updating: true)
        // Each miss says the whole output of its step; several misses after one step would repeat it.
        var written: [Int: Set<String>] = [:]
        for check in execution.held { written[check.output, default: []].insert(check.argument) }
        var replacements: [Int: [String]] = [:]
        for miss in execution.misses {
            switch miss.kind {
            case .expect(let output, let text):
                let fresh = Self.expectations(for: text).filter { written[output, default: []].insert($0).inserted }
                replacements[miss.line] = fresh.map { "expect \($0)" }
            case .record(let latest):
                replacements[miss.line] = ["record \(latest)"]
            }
        }
        var changes: [ScenarioUpdate.Change] = []
        var text = ""
        let lines = Self.linesWithBreaks(scenario.text)
        let defaultBreak = lines.first { !$0.lineBreak.isEmpty }?.lineBreak ?? "\n"
        for (i, (line, lineBreak)) in lines.enumerated() {
            guard let replacement = replacements[i + 1] else {
                text += line + lineBreak
                continue
            }
            let indentation = String(line.prefix(while: isIndentation))
            let new = replacement.map { indentation + $0 }
            changes.append(ScenarioUpdate.Change(line: i + 1, old: String(line), new: new))
            for (j, newLine) in new.enumerated() {
                text += newLine + (j == new.count - 1 ? lineBreak : lineBreak.isEmpty ? defaultBreak : lineBreak)
            }
        }
        return ScenarioUpdate(
            path: scenario.path, text: changes.isEmpty ? scenario.text : text, changes: changes,
            unresolved: execution.unresolved)
    }

    /// The `expect` arguments that check `output` line by line: each non-blank line as it is, as an escaped
    /// `/pattern/` when the plain text would read as a pattern or a `key` expectation; `/^$/` for no text at all.
    public static func expectations(for output: String) -> [String] {
        let lines = splitLines(output).map(String.init).filter {
            !$0.trimmingCharacters(in: .whitespaces).isEmpty
        }
        guard !lines.isEmpty else { return ["/^$/"] }
        return lines.map { line in
            let readsAsPattern = line.count >= 2 && line.hasPrefix("/") && line.hasSuffix("/")
            guard readsAsPattern || line.hasPrefix("key ") else { return line }
            return "/" + escapedPattern(line) + "/"
        }
    }

    /// `text` with a backslash before each regular-expression metacharacter.
    static func escapedPattern(_ text: String) -> String {
        var out = ""
        for character in text {
            if "\\^$.|?*+()[]{}/".contains(character) { out.append("\\") }
            out.append(character)
        }
        return out
    }

    /// The lines of `text` as `splitLines` numbers them, each with the break that ends it (empty for the last).
    static func linesWithBreaks(_ text: String) -> [(line: Substring, lineBreak: String)] {
        var lines: [(Substring, String)] = []
        var start = text.startIndex
        var i = text.startIndex
        while i < text.endIndex {
            let character = text[i]
            if character == "\n" || character == "\r\n" || character == "\r" {
                lines.append((text[start..<i], String(character)))
                start = text.index(after: i)
            }
            i = text.index(after: i)
        }
        lines.append((text[start...], ""))
        return lines
    }

    /// What one pass over a scenario found.
    struct Execution {
        /// An expectation that held, and the output it held for (a step counter, not the text).
        struct Held {
            var output: Int
            var argument: String
        }
        struct Miss {
            enum Kind {
                /// A failing `expect`: which output it checked, and that output's text.
                case expect(output: Int, text: String)
                /// A failing `record`, and the latest record as `OPERATION RESULT REASON`.
                case record(latest: String)
            }
            var line: Int
            var kind: Kind
        }
        var checks = 0
        var held: [Held] = []
        var misses: [Miss] = []
        var unresolved: [ScenarioFailure] = []
    }

    /// Checks what can be checked without running anything: the scenario has steps and knows its directives.
    func validate(_ scenario: Scenario) throws {
        guard !scenario.steps.isEmpty else {
            throw ScenarioFailure(
                kind: .mistake, path: scenario.path, line: 0, message: "the scenario is empty: nothing to run",
                expected: "", actual: "")
        }
        for step in scenario.steps where !Scenario.directives.contains(step.directive) {
            throw ScenarioFailure(
                kind: .mistake, path: scenario.path, line: step.line, message: Self.unknownDirective(step.directive),
                expected: "", actual: "")
        }
    }

    static func unknownDirective(_ directive: String) -> String {
        if let near = suggestion(for: directive, among: Scenario.directives) {
            return "unknown directive `\(directive)`; did you mean `\(near)`?"
        }
        return "unknown directive `\(directive)`; known directives: \(Scenario.directives.joined(separator: ", "))"
    }

    /// Runs `scenario`. Normally the first failed check throws; `updating` notes failed expectations and goes on.
    func execute(_ scenario: Scenario, updating: Bool) async throws -> Execution {
        try validate(scenario)
        return try await withScratchStore(scratchStores) { store in
            // `clock` and `advance` move the clock from `start`.
            let clock = ManualTimeSource(start)
            let prompts = try PromptCatalog.load(directory: promptsDirectory)
            let hasher = PBKDF2PasswordHasher(
                pepper: Pepper(bytes: try LibCrypto.randomBytes(32)), iterations: iterations)
            let pool = BlockingWorkPool(threads: 2)
            var configuration = EngineConfiguration()
            // `survey PERCENT [OPERATIONS]` sets the satisfaction survey for the whole scenario.
            if let step = scenario.steps.last(where: { $0.directive == "survey" }) {
                let parts = step.argument.split(separator: " ", maxSplits: 1).map(String.init)
                guard let percent = parts.first.flatMap({ Int($0) }), (0...100).contains(percent) else {
                    throw ScenarioFailure(
                        kind: .mistake, path: scenario.path, line: step.line,
                        message: "survey: expected a percentage 0 to 100, then operations if any", expected: "",
                        actual: "")
                }
                configuration.survey.sampleRate = Double(percent) / 100
                if parts.count > 1 {
                    guard let operations = SurveyPolicy.operations(parsing: parts[1]) else {
                        throw ScenarioFailure(
                            kind: .mistake, path: scenario.path, line: step.line,
                            message: "survey: unknown operation in `\(parts[1])`", expected: "", actual: "")
                    }
                    configuration.survey.operations = operations
                }
            }
            let engine = OperationEngine(
                store: store, hasher: hasher, prompts: prompts, configuration: configuration, clock: clock, pool: pool,
                logger: logger)
            let grammars = try GrammarSet(directory: grammarsDirectory, prompts: prompts)
            let sms = SMSChannel(engine: engine, grammars: grammars)
            let ussd = USSDChannel(engine: engine, grammars: grammars)
            let ivr = IVRChannel(engine: engine, grammars: grammars)
            var state = RunState()
            var execution = Execution()
            // Counts the outputs, so an update knows which expectations look at the same one.
            var outputs = 0
            func fail(
                _ step: Scenario.Step, _ message: String, kind: ScenarioFailure.Kind = .mistake, expected: String = "",
                actual: String = ""
            ) -> ScenarioFailure {
                ScenarioFailure(
                    kind: kind, path: scenario.path, line: step.line, message: message, expected: expected,
                    actual: actual)
            }
            for step in scenario.steps {
                let arg = step.argument
                if Scenario.steps.contains(step.directive) { outputs += 1 }
                switch step.directive {
                case "data":
                    let importer = CSVImporter(engine: engine, hasher: hasher, pool: pool)
                    if arg == "demo" {
                        _ = try await DemoData.load(
                            with: importer, now: clock.now(), calendar: engine.configuration.calendar)
                    } else {
                        guard !arg.isEmpty else { throw fail(step, "data: expected `demo` or a folder") }
                        let folder =
                            arg.hasPrefix("/")
                            ? arg
                            : ((scenario.path as NSString).deletingLastPathComponent as NSString)
                                .appendingPathComponent(arg)
                        var isFolder: ObjCBool = false
                        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue
                        else { throw fail(step, "data: no such folder \(folder)") }
                        let names = ImportKind.dataKinds.map { "\($0.rawValue).csv" }
                        let files = names.map { (folder as NSString).appendingPathComponent($0) }
                        guard files.contains(where: { FileManager.default.fileExists(atPath: $0) }) else {
                            throw fail(step, "data: \(folder) holds none of \(names.joined(separator: ", "))")
                        }
                        for (kind, file) in zip(ImportKind.dataKinds, files) {
                            guard FileManager.default.fileExists(atPath: file) else { continue }
                            let (summary, _, _) = try await importer.importData(
                                kind, data: FileManager.default.contents(atPath: file) ?? Data(), source: file)
                            if summary.rejected > 0 { throw fail(step, "\(file): \(summary.rejected) rows rejected") }
                        }
                    }
                case "survey":
                    break  // read before the engine was made
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
                        case "pin": request.cardPIN = Secret(kv[1])
                        case "subject": request.subject = kv[1]
                        default: request.arguments[kv[0]] = kv[1]
                        }
                    }
                    let outcome = await engine.perform(request)
                    state.output = "\(outcome.reply)\nreason: \(outcome.reason)"
                case "billing":
                    // Billing answers the oldest order it has not answered yet: `billing accept` or
                    // `billing reject REASON` (a rejection undoes the change and queues a notice).
                    let words = arg.split(separator: " ", maxSplits: 1).map(String.init)
                    guard let first = words.first,
                        let answer = OrderAnswer(rawValue: first + "ed") ?? OrderAnswer(rawValue: first)
                    else { throw fail(step, "billing: expected accept or reject [REASON]") }
                    let open = try await engine.orders(OrderFilter()).first { !$0.isClosed }
                    guard let order = open else {
                        state.output = "no open order"
                        continue
                    }
                    _ = try await engine.answerOrder(
                        key: order.key, answer: answer, reason: words.count > 1 ? words[1] : "", source: "scenario")
                    state.output = "order \(order.id) \(order.operation) \(answer.rawValue)"
                case "notices":
                    // The SMS notices queued and not sent yet, one a line: the number, then the text.
                    state.output = try await engine.notices(NoticeFilter(state: .pending)).map {
                        "\($0.msisdn) \($0.text)"
                    }.joined(separator: "\n")
                case "tick":
                    let records = try await engine.applyDueChanges()
                    state.output = records.map { "\($0.subject) \($0.operation) \($0.result) \($0.reason)" }
                        .joined(separator: "\n")
                case "expect":
                    execution.checks += 1
                    guard outputs > 0 else {
                        throw fail(
                            step,
                            "expect: no step has answered yet (send, dial, call, press, op, tick, billing or notices)")
                    }
                    if let mistake = Self.mistake(in: arg, prompts: prompts) { throw fail(step, mistake) }
                    let failure =
                        arg.isEmpty
                        ? "expect: no text to look for (`selfcare test --update` fills it in)"
                        : Self.check(arg, against: state.output, prompts: prompts)
                    if let failure {
                        guard updating else {
                            // A bare `expect` is an unfinished scenario, not a gateway answering otherwise.
                            throw fail(
                                step, failure, kind: arg.isEmpty ? .mistake : .mismatch, expected: arg,
                                actual: state.output)
                        }
                        execution.misses.append(
                            .init(line: step.line, kind: .expect(output: outputs, text: state.output)))
                    } else {
                        execution.held.append(.init(output: outputs, argument: arg))
                    }
                case "reject":
                    execution.checks += 1
                    guard outputs > 0 else {
                        throw fail(
                            step,
                            "reject: no step has answered yet (send, dial, call, press, op, tick, billing or notices)")
                    }
                    if state.output.contains(arg) {
                        let failure = fail(
                            step, "the output holds what it must not", kind: .mismatch, expected: "(not) \(arg)",
                            actual: state.output)
                        guard updating else { throw failure }
                        execution.unresolved.append(failure)
                    }
                case "record":
                    execution.checks += 1
                    let want = arg.split(separator: " ").map(String.init)
                    // A bare `record` is a new one for an update to fill in.
                    guard want.count == 3 || (updating && want.isEmpty) else {
                        throw fail(step, "record: expected OPERATION RESULT REASON")
                    }
                    var found: [String] = []
                    try store.forEachRecord(matching: RecordFilter()) { r in
                        found.append("\(r.operation) \(r.result) \(r.reason)")
                    }
                    if want.isEmpty || !found.contains(want.joined(separator: " ")) {
                        let failure = fail(
                            step, "no such record", kind: .mismatch, expected: want.joined(separator: " "),
                            actual: found.joined(separator: "\n"))
                        guard updating else { throw failure }
                        if let latest = found.last {
                            execution.misses.append(.init(line: step.line, kind: .record(latest: latest)))
                        } else {
                            execution.unresolved.append(failure)
                        }
                    }
                default:
                    throw fail(step, Self.unknownDirective(step.directive))
                }
            }
            if execution.checks == 0 && !updating {
                throw ScenarioFailure(
                    kind: .mistake, path: scenario.path, line: scenario.steps.last?.line ?? 0,
                    message: "the scenario checks nothing: add an expect, reject or record line", expected: "",
                    actual: "")
            }
            let verify = try store.verifyRecords()
            if let broken = verify.firstBreak {
                throw ScenarioFailure(
                    kind: .mismatch, path: scenario.path, line: scenario.steps.last?.line ?? 1,
                    message: "record chain broken: \(broken)",
                    expected: "", actual: "")
            }
            return execution
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

    /// What is wrong with an `expect` argument whatever the output: a pattern that does not compile, a prompt key
    /// no prompt file has. An update must not rewrite such a line: it is the scenario's mistake.
    static func mistake(in expectation: String, prompts: PromptCatalog) -> String? {
        if expectation.hasPrefix("/") && expectation.hasSuffix("/") && expectation.count >= 2 {
            let pattern = String(expectation.dropFirst().dropLast())
            return (try? Regex(pattern)) == nil ? "expect: bad pattern /\(pattern)/" : nil
        }
        if expectation.hasPrefix("key ") {
            let key = String(expectation.dropFirst(4)).trimmingCharacters(in: .whitespaces)
            let known = prompts.templates.values.flatMap(\.keys)
            guard !prompts.templates.values.contains(where: { $0[key] != nil }) else { return nil }
            let hint = suggestion(for: key, among: Array(Set(known))).map { "; did you mean `\($0)`?" } ?? ""
            return "expect: no prompt key `\(key)`\(hint)"
        }
        return nil
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
