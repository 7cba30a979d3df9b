import Foundation
import Hummingbird
import Logging
import SelfCareChannels
import SelfCareCore
import SelfCareGrammar
import SelfCareScenarios

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

    /// Tries `draft`: the live grammars copied into a scratch folder with the draft's files over them, checked; if
    /// they compile, the inputs run as a scenario on a scratch database with the demo data at `now`.
    func tryDraft(_ draft: Draft, now: Date) async throws -> Trial {
        let live = Set(grammarFiles().map(\.name))
        for (name, text) in draft.files {
            guard live.contains(name) else { throw Refusal.unknownFile(name) }
            guard text.utf8.count <= 256 * 1024 else { throw Refusal.tooLarge }
        }
        guard draft.inputs.count <= 20, draft.inputs.allSatisfy({ $0.count <= 200 }) else { throw Refusal.tooLarge }
        guard ["sms", "ussd", "ivr"].contains(draft.channel) else {
            throw Refusal.badInput("`channel` is sms, ussd or ivr")
        }
        let caller = normalizeNumber(draft.caller ?? "18612345678") ?? "18612345678"
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
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for file in grammarFiles() {
            let text = draft.files[file.name] ?? file.text
            try Data(text.utf8).write(to: folder.appendingPathComponent(file.name))
        }
        let findings = check(grammars: folder.path)
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
        let runner = ScenarioRunner(
            grammarsDirectory: folder.path, promptsDirectory: promptsDirectory, start: now, logger: logger)
        let update = try await runner.update(
            Scenario(path: "draft.scenario", text: lines.joined(separator: "\n") + "\n"))
        // Each bare `expect` became the lines of its step's output.
        var outputs: [String] = []
        for change in update.changes {
            outputs.append(
                change.new.map { line in
                    var text = String(line.dropFirst("expect ".count))
                    if text == "/^$/" { text = "" }
                    return text
                }.joined(separator: "\n"))
        }
        let steps = zip(inputs, outputs + Array(repeating: "", count: max(0, inputs.count - outputs.count))).map {
            Step(input: $0, output: $1)
        }
        return Trial(findings: findings, steps: steps)
    }
}
