import Foundation
import SelfCareCore
import SelfCareGrammar

/// The compiled grammars of a folder, one per channel, swapped atomically on reload.
public final class GrammarSet: Sendable {
    private let box: LockedBox<[String: CompiledGrammar]>

    /// Compiles every `*.grammar` in `directory`, checking prompt keys against `prompts`.
    /// - Throws: `GrammarErrors` with every diagnostic of every file; nothing is swapped then.
    public init(directory: String, prompts: PromptCatalog?) throws {
        box = LockedBox(try Self.compile(directory: directory, prompts: prompts))
    }

    /// A set holding `grammars` (tests, embedding).
    public init(_ grammars: [CompiledGrammar]) {
        box = LockedBox(Dictionary(grammars.map { ($0.channel, $0) }, uniquingKeysWith: { a, _ in a }))
    }

    /// The grammar of `channel` (`sms`, `ussd`, `ivr`).
    public func grammar(for channel: String) -> CompiledGrammar? { box.value[channel] }

    /// Recompiles the folder and swaps it in; on any error the old grammars stay and the errors are thrown.
    public func reload(directory: String, prompts: PromptCatalog?) throws {
        box.value = try Self.compile(directory: directory, prompts: prompts)
    }

    static func compile(directory: String, prompts: PromptCatalog?) throws -> [String: CompiledGrammar] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".grammar") }
            .sorted()
        let keys = prompts.map { catalog in Set(catalog.templates.values.flatMap(\.keys)) }
        var grammars: [String: CompiledGrammar] = [:]
        var diagnostics: [Diagnostic] = []
        for name in names {
            let path = (directory as NSString).appendingPathComponent(name)
            let text = try TextFile.read(path)
            do {
                let grammar = try CompiledGrammar(text: text, path: path, promptKeys: keys)
                if let first = grammars[grammar.channel] {
                    let header = text.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? ""
                    diagnostics.append(
                        Diagnostic(
                            path: path, location: SourceLocation(line: 1, column: 1),
                            message: "a second grammar for channel `\(grammar.channel)`; \(first.path) already is one "
                                + "(one file a channel)", sourceLine: header))
                } else {
                    grammars[grammar.channel] = grammar
                }
            } catch let errors as GrammarErrors {
                diagnostics += errors.diagnostics
            }
        }
        if !diagnostics.isEmpty { throw GrammarErrors(diagnostics) }
        return grammars
    }
}
