import Foundation
import SelfCareCore
import SelfCareGrammar
import Synchronization

/// The compiled grammars of a folder, one per channel, swapped atomically on reload.
public final class GrammarSet: Sendable {
    private let box: Mutex<[Channel: CompiledGrammar]>
    /// The channels whose grammar the folder must hold, at start and at every reload.
    public let required: Set<Channel>

    /// The channels a server runs unless some are turned off.
    public static let servedChannels: Set<Channel> = [.sms, .ussd, .ivr]

    /// Compiles every `*.grammar` in `directory`, checking prompt keys against `prompts`.
    /// - Parameter required: channels whose grammar must be there (a server passes the channels it serves: a
    ///   channel without its grammar would only answer help or busy).
    /// - Throws: `GrammarErrors` with every diagnostic of every file, and one for each required channel that has
    ///   no grammar; nothing is swapped then.
    public init(directory: String, prompts: PromptCatalog?, required: Set<Channel> = []) throws {
        self.required = required
        box = Mutex(try Self.compile(directory: directory, prompts: prompts, required: required))
    }

    /// A set holding `grammars` (tests, embedding).
    public init(_ grammars: [CompiledGrammar]) {
        required = []
        box = Mutex(Dictionary(grammars.map { ($0.channel, $0) }, uniquingKeysWith: { a, _ in a }))
    }

    /// The grammar of `channel` (`sms`, `ussd`, `ivr`).
    public func grammar(for channel: Channel) -> CompiledGrammar? { box.withLock { $0[channel] } }

    /// Recompiles the folder and swaps it in; on any error (a required channel's grammar missing too) the old
    /// grammars stay and the errors are thrown.
    public func reload(directory: String, prompts: PromptCatalog?) throws {
        let compiled = try Self.compile(directory: directory, prompts: prompts, required: required)
        box.withLock { $0 = compiled }
    }

    static func compile(
        directory: String, prompts: PromptCatalog?, required: Set<Channel>
    ) throws -> [Channel: CompiledGrammar] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".grammar") }
            .sorted()
        let keys = prompts.map { catalog in Set(catalog.templates.values.flatMap(\.keys)) }
        var grammars: [Channel: CompiledGrammar] = [:]
        var diagnostics: [Diagnostic] = []
        var declared: Set<String> = []
        for name in names {
            let path = (directory as NSString).appendingPathComponent(name)
            let text = try TextFile.read(path)
            if let channel = declaredChannel(text) { declared.insert(channel) }
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
        for channel in required.sorted(by: { $0.rawValue < $1.rawValue }) where grammars[channel] == nil {
            if declared.contains(channel.rawValue) { continue }  // its file is there, with errors of its own
            diagnostics.append(
                Diagnostic(
                    path: directory, location: SourceLocation(line: 0, column: 0),
                    message: "no grammar for channel `\(channel)`: no *.grammar file here starts with "
                        + "`#SELFCARE 1.0 \(channel);`; add it, or turn the channel off (SELFCARE_CHANNELS)",
                    sourceLine: ""))
        }
        if !diagnostics.isEmpty { throw GrammarErrors(diagnostics) }
        return grammars
    }

    /// The channel a grammar's header line names (`#SELFCARE 1.0 ivr;` → `ivr`), also when the rest is broken.
    static func declaredChannel(_ text: String) -> String? {
        let first = text.drop { $0 == "\u{FEFF}" }.prefix { $0 != "\n" && $0 != "\r" }
        let words = first.split(whereSeparator: \.isWhitespace)
        guard words.count >= 3, words[0] == "#SELFCARE" else { return nil }
        return String(words[2].prefix { $0 != ";" })
    }
}
