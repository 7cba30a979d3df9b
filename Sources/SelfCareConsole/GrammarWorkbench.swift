import Foundation
import Hummingbird
import Logging
import SelfCareChannels
import SelfCareCore
import SelfCareGrammar

/// The grammar workbench: the live grammars and prompts, their check, and drafts tried on a scratch copy of the
/// demo data, never on the live grammars or the live database.
struct GrammarWorkbench: Sendable {
    let grammarsDirectory: String
    let promptsDirectory: String
    let logger: Logger

    /// A grammar file as loaded.
    struct File: Sendable {
        var name: String
        var text: String
    }

    /// One diagnostic, as `selfcare check` prints it.
    struct Finding: Encodable, Sendable {
        var file: String
        var line: Int
        var column: Int
        var severity: String
        var message: String
        var text: String
    }

    /// The `*.grammar` files of the live folder, by name.
    func grammarFiles() -> [File] {
        let names =
            ((try? FileManager.default.contentsOfDirectory(atPath: grammarsDirectory)) ?? [])
            .filter { $0.hasSuffix(".grammar") }.sorted()
        return names.compactMap { name in
            (try? TextFile.read((grammarsDirectory as NSString).appendingPathComponent(name))).map {
                File(name: name, text: $0)
            }
        }
    }

    /// `selfcare check` on the live folders.
    func check() -> [Finding] { check(grammars: grammarsDirectory) }

    /// The check of a grammars folder against the live prompts.
    func check(grammars: String) -> [Finding] {
        var diagnostics: [Diagnostic] = []
        do {
            diagnostics += try PromptChecker().check(directory: promptsDirectory)
        } catch {
            diagnostics.append(Self.diagnostic(promptsDirectory, "cannot read the prompts: \(error)"))
        }
        let catalog = try? PromptCatalog.load(directory: promptsDirectory)
        do {
            _ = try GrammarSet(directory: grammars, prompts: catalog, required: GrammarSet.servedChannels)
        } catch let errors as GrammarErrors {
            diagnostics += errors.diagnostics
        } catch {
            diagnostics.append(Self.diagnostic(grammars, "cannot read the grammars: \(error)"))
        }
        return diagnostics.map {
            Finding(
                file: ($0.path as NSString).lastPathComponent, line: $0.location.line, column: $0.location.column,
                severity: $0.severity == .error ? "error" : "warning", message: $0.message, text: $0.sourceLine)
        }
    }

    static func diagnostic(_ path: String, _ message: String) -> Diagnostic {
        Diagnostic(path: path, location: SourceLocation(line: 0, column: 0), message: message, sourceLine: "")
    }

    /// What a try of a draft gave: its diagnostics, and when it compiled, the conversation.
    struct Trial: Encodable, Sendable {
        var findings: [Finding]
        var steps: [Step]
    }

    /// One step of a tried conversation: what was sent and what came back.
    struct Step: Encodable, Sendable {
        var input: String
        var output: String
    }

    /// A draft to try: the grammar files changed (by name), the channel, the caller and the inputs.
    struct Draft: Decodable, Sendable {
        var files: [String: String]
        var channel: String
        var caller: String?
        var inputs: [String]
    }

    enum Refusal: Error, CustomStringConvertible {
        case unknownFile(String)
        case tooLarge
        case badInput(String)

        var description: String {
            switch self {
            case .unknownFile(let name): "`\(name)` is not a grammar file of the live folder"
            case .tooLarge: "a draft is at most 256 KB a file and 20 inputs"
            case .badInput(let why): why
            }
        }
    }

    /// Tries `draft` in child processes of `executable` (this `selfcare`), each killed past `timeLimit` seconds: a
    /// draft is whatever an operator typed, and neither a grammar that recurses too deep nor one that backtracks
    /// for ever may take the gateway down with it. The live grammars are copied into a scratch folder with the
    /// draft's files over them and checked (`selfcare check`); if they compile, the inputs run as a scenario
    /// (`selfcare test --update`) on a scratch database with the demo data at `now`.
    func tryDraft(_ draft: Draft, now: Date, executable: String, timeLimit: TimeInterval) async throws -> Trial {
        let live = Set(grammarFiles().map(\.name))
        for (name, text) in draft.files {
            guard live.contains(name) else { throw Refusal.unknownFile(name) }
            guard text.utf8.count <= 256 * 1024 else { throw Refusal.tooLarge }
        }
        guard draft.inputs.count <= 20, draft.inputs.allSatisfy({ $0.count <= 200 }) else { throw Refusal.tooLarge }
        guard ["sms", "ussd", "ivr"].contains(draft.channel) else {
            throw Refusal.badInput("`channel` is sms, ussd or ivr")
        }
        guard let caller = normalizeNumber(draft.caller ?? "18612345678") else {
            throw Refusal.badInput("`caller` is not a phone number")
        }
        if draft.inputs.contains(where: { $0.unicodeScalars.contains { $0.properties.generalCategory == .control } }) {
            throw Refusal.badInput("an input holds a control character")
        }
        if draft.channel != "sms" {
            for input in draft.inputs.dropFirst(draft.channel == "ussd" ? 1 : 0)
            where !input.allSatisfy({ "0123456789*#".contains($0) }) {
                throw Refusal.badInput("`\(input)` is not keys of a phone (0-9, *, #)")
            }
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "selfcare-draft-\(UUID().uuidString)")
        let grammars = folder.appendingPathComponent("grammars")
        try FileManager.default.createDirectory(
            at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try FileManager.default.createDirectory(at: grammars, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for file in grammarFiles() {
            try Data((draft.files[file.name] ?? file.text).utf8).write(to: grammars.appendingPathComponent(file.name))
        }
        // The children run in the scratch folder: every path they are given is absolute.
        let prompts = URL(fileURLWithPath: promptsDirectory).standardizedFileURL.path
        let checked = try await ChildProcess.run(
            executable, ["check", "--grammars", grammars.path, "--prompts", prompts], folder: folder,
            timeLimit: timeLimit)
        var findings = Self.findings(checked.standardError, folder: grammars.path)
        if let failure = checked.failure(limit: timeLimit, what: "checking the draft") {
            findings.append(Finding(file: "", line: 0, column: 0, severity: "error", message: failure, text: ""))
        } else if checked.status != 0, !findings.contains(where: { $0.severity == "error" }) {
            // A refusal that is no diagnostic (an unreadable folder): said as it is.
            let said = checked.standardError.split(separator: "\n").suffix(3).joined(separator: "\n")
            findings.append(
                Finding(
                    file: "", line: 0, column: 0, severity: "error", message: "the draft could not be checked",
                    text: said))
        }
        guard !findings.contains(where: { $0.severity == "error" }) else { return Trial(findings: findings, steps: []) }
        var lines = [
            "clock \(ISOTime.format(now))", "data demo", "channel \(draft.channel)", "caller \(caller)",
        ]
        var inputs: [String] = []
        switch draft.channel {
        case "sms":
            for text in draft.inputs {
                lines += ["send \(text)", "expect"]
                inputs.append(text)
            }
        case "ussd":
            let code = draft.inputs.first ?? "*100#"
            lines += ["dial \(code)", "expect"]
            inputs.append(code)
            for keys in draft.inputs.dropFirst() {
                lines += ["press \(keys)", "expect"]
                inputs.append(keys)
            }
        default:
            lines += ["call", "expect"]
            inputs.append("☎")
            for keys in draft.inputs {
                lines += [keys.isEmpty ? "press" : "press \(keys)", "expect"]
                inputs.append(keys)
            }
        }
        let scenario = folder.appendingPathComponent("draft.scenario")
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: scenario)
        let ran = try await ChildProcess.run(
            executable,
            ["test", "--grammars", grammars.path, "--prompts", prompts, "--update", scenario.path],
            folder: folder, timeLimit: timeLimit)
        if let failure = ran.failure(limit: timeLimit, what: "running the draft's conversation") {
            let said = ran.standardError.split(separator: "\n").suffix(3).joined(separator: "\n")
            return Trial(
                findings: findings + [
                    Finding(file: "draft.scenario", line: 0, column: 0, severity: "error", message: failure, text: said)
                ], steps: [])
        }
        let outputs = Self.outputs(ofUpdated: (try? String(contentsOf: scenario, encoding: .utf8)) ?? "")
        let steps = zip(inputs, outputs + Array(repeating: "", count: max(0, inputs.count - outputs.count))).map {
            Step(input: $0, output: $1)
        }
        return Trial(findings: findings, steps: steps)
    }

    /// The diagnostics `selfcare check` printed: `PATH:LINE:COLUMN: SEVERITY: MESSAGE`, then the source line.
    static func findings(_ text: String, folder: String) -> [Finding] {
        var findings: [Finding] = []
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for (i, line) in lines.enumerated() {
            guard let match = line.firstMatch(of: /^(.+?):(\d+):(\d+): (error|warning): (.*)$/) else {
                if let match = line.firstMatch(of: /^(.+?): (error|warning): (.*)$/) {
                    findings.append(
                        Finding(
                            file: (String(match.1) as NSString).lastPathComponent, line: 0, column: 0,
                            severity: String(match.2), message: String(match.3), text: ""))
                }
                continue
            }
            let next = i + 1 < lines.count ? lines[i + 1] : ""
            let source = next.hasPrefix(" ") || next.hasPrefix("\t") || next.isEmpty ? "" : next
            findings.append(
                Finding(
                    file: (String(match.1) as NSString).lastPathComponent, line: Int(match.2) ?? 0,
                    column: Int(match.3) ?? 0, severity: String(match.4), message: String(match.5), text: source))
        }
        return findings
    }

    /// The output of each step of a scenario `selfcare test --update` filled: the `expect` lines after each step,
    /// in order.
    static func outputs(ofUpdated text: String) -> [String] {
        var outputs: [String] = []
        var current: [String]?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            let word = line.split(separator: " ", maxSplits: 1).first.map(String.init) ?? line
            if ["send", "dial", "call", "press"].contains(word) {
                if let current { outputs.append(current.joined(separator: "\n")) }
                current = []
            } else if line.hasPrefix("expect "), current != nil {
                let expected = String(line.dropFirst("expect ".count))
                current?.append(expected == "/^$/" ? "" : expected)
            }
        }
        if let current { outputs.append(current.joined(separator: "\n")) }
        return outputs
    }
}

/// A child process run to its end or killed at its time limit, its output kept in files (never a pipe it could
/// fill and block on).
struct ChildProcess {
    var status: Int32
    var killed: Bool
    var signalled: Bool
    var standardError: String

    /// Why the run failed, or nil when it exited with 0 or 1 (a check or a scenario that found something).
    func failure(limit: TimeInterval, what: String) -> String? {
        if killed {
            return "\(what) took more than \(Int(limit)) s and was stopped: a rule that backtracks without end?"
        }
        if signalled { return "\(what) stopped on signal \(status): a rule nested or recursing too deep?" }
        return status <= 1 ? nil : "\(what) failed (exit \(status))"
    }

    /// Bytes of address space a child may map: room for a scenario's demo database, not for a runaway.
    static let memoryLimit = 4 * 1024 * 1024 * 1024

    static func run(
        _ executable: String, _ arguments: [String], folder: URL, timeLimit: TimeInterval
    ) async throws -> ChildProcess {
        let process = Process()
        // At a lower priority than the gateway's own work, and within `memoryLimit` bytes of address space, where
        // `nice` and `prlimit` are there.
        var command = [executable] + arguments
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/prlimit") {
            command = ["/usr/bin/prlimit", "--as=\(memoryLimit)", "--"] + command
        }
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/nice") {
            command = ["/usr/bin/nice", "-n", "10"] + command
        }
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        process.currentDirectoryURL = folder
        // Whatever the child leaves in its temporary folder (a scenario's scratch database, when it is killed) is
        // inside `folder`, which the caller removes.
        var environment = ProcessInfo.processInfo.environment
        environment["TMPDIR"] = folder.path
        process.environment = environment
        let errors = folder.appendingPathComponent("stderr-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: errors.path, contents: nil)
        let handle = try FileHandle(forWritingTo: errors)
        defer { try? handle.close() }
        process.standardError = handle
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        let killed = KillFlag()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                process.terminationHandler = { _ in continuation.resume() }
                do {
                    try process.run()
                } catch {
                    process.terminationHandler = nil
                    continuation.resume(throwing: error)
                    return
                }
                let pid = process.processIdentifier
                DispatchQueue.global().asyncAfter(deadline: .now() + timeLimit) {
                    if process.isRunning {
                        killed.set()
                        kill(pid, SIGKILL)
                    }
                }
            }
        } onCancel: {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        let text = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
        return ChildProcess(
            status: process.terminationStatus, killed: killed.isSet,
            signalled: process.terminationReason == .uncaughtSignal, standardError: String(text.prefix(64 * 1024)))
    }
}

/// Set once, read after: whether the time limit killed a child.
final class KillFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
