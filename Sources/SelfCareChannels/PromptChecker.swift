import Foundation
import SelfCareCore
import SelfCareGrammar

/// Checks the prompt files: every key in every language, the same placeholders everywhere, only known
/// placeholders, every key the gateway uses present, and every SMS text within its part cap at its longest.
public struct PromptChecker: Sendable {
    /// The longest value each placeholder can take, in characters.
    public static let placeholderWidths: [String: Int] = Dictionary(
        uniqueKeysWithValues: Placeholder.all.map { ($0.rawValue, $0.width) })

    /// Keys whose text is sent as one SMS part at most.
    public static let singlePartKeys: Set<String> = [PromptKey.smsHelp.rawValue]

    /// The most SMS parts a text may need at its longest (the texts of `singlePartKeys`: one).
    public var partCap: Int

    /// A checker allowing `partCap` parts, the SMS channel's cap by default.
    public init(partCap: Int = SMSConfiguration().partCap) { self.partCap = partCap }

    /// Every key the gateway renders: replies, notices, list items, refusals, confirmations, channel texts.
    public static var requiredKeys: [String] { PromptKey.gatewayKeys.map(\.rawValue) }

    /// The prompts of `directory` as the gateway serves them, refused with every error `check` finds: `serve` and
    /// each reload load them through here, so that the server never takes a set `selfcare check` refuses.
    public func load(directory: String) throws -> PromptCatalog {
        let errors = try check(directory: directory).filter { $0.severity == .error }
        guard errors.isEmpty else { throw PromptErrors(errors) }
        return try PromptCatalog.load(directory: directory)
    }

    /// Checks the `*.prompts` files of `directory`.
    public func check(directory: String) throws -> [Diagnostic] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".prompts") }
            .sorted()
        var files: [(language: String, path: String, templates: [String: String], lines: [String: (Int, String)])] = []
        var diagnostics: [Diagnostic] = []
        for name in names {
            let path = (directory as NSString).appendingPathComponent(name)
            let text = try TextFile.read(path)
            do {
                let templates = try PromptCatalog.parse(text, path: path)
                files.append((String(name.dropLast(".prompts".count)), path, templates, Self.keyLines(text)))
            } catch let error as PromptFileError {
                diagnostics.append(
                    Diagnostic(
                        path: error.path, location: SourceLocation(line: error.line, column: error.column),
                        message: error.message, sourceLine: error.sourceLine))
            }
        }
        guard diagnostics.isEmpty else { return diagnostics }
        if files.isEmpty {
            return [
                Diagnostic(
                    path: directory, location: SourceLocation(line: 1, column: 1), message: "no *.prompts files",
                    sourceLine: "")
            ]
        }
        for language in Language.supported where !files.contains(where: { $0.language == language.rawValue }) {
            diagnostics.append(
                Diagnostic(
                    path: (directory as NSString).appendingPathComponent("\(language.rawValue).prompts"),
                    location: SourceLocation(line: 0, column: 0),
                    message: "missing: the gateway answers in \(language.rawValue), and its customers would get "
                        + "another language",
                    sourceLine: ""))
        }
        let allKeys = Set(files.flatMap(\.templates.keys))
        for file in files {
            func at(_ key: String) -> (SourceLocation, String) {
                let (line, text) = file.lines[key] ?? (1, "")
                return (SourceLocation(line: line, column: 1), text)
            }
            for key in Self.requiredKeys.sorted() where file.templates[key] == nil {
                diagnostics.append(
                    Diagnostic(
                        path: file.path, location: SourceLocation(line: 1, column: 1),
                        message: "missing key `\(key)`, which the gateway sends",
                        sourceLine: ""))
            }
            for key in allKeys.subtracting(file.templates.keys).sorted() where !Self.requiredKeys.contains(key) {
                let other = files.first { $0.templates[key] != nil }!
                diagnostics.append(
                    Diagnostic(
                        path: file.path, location: SourceLocation(line: 1, column: 1),
                        message: "missing key `\(key)` (it is in \((other.path as NSString).lastPathComponent))",
                        sourceLine: ""))
            }
            for (key, template) in file.templates.sorted(by: { $0.key < $1.key }) {
                let (location, line) = at(key)
                let placeholders = PromptCatalog.placeholders(in: template)
                for name in placeholders.sorted() where Self.placeholderWidths[name] == nil {
                    let guess =
                        suggestion(for: name, among: Array(Self.placeholderWidths.keys)).map {
                            "; did you mean `{\($0)}`?"
                        } ?? ""
                    diagnostics.append(
                        Diagnostic(
                            path: file.path, location: location, message: "unknown placeholder `{\(name)}`\(guess)",
                            sourceLine: line))
                }
                for other in files where other.path != file.path {
                    if let theirs = other.templates[key], PromptCatalog.placeholders(in: theirs) != placeholders,
                        file.path < other.path
                    {
                        let mine = placeholders.sorted().map { "{\($0)}" }.joined(separator: " ")
                        let them = PromptCatalog.placeholders(in: theirs).sorted().map { "{\($0)}" }.joined(
                            separator: " ")
                        diagnostics.append(
                            Diagnostic(
                                path: file.path, location: location,
                                message: "`\(key)` uses \(mine.isEmpty ? "no placeholders" : mine) here but "
                                    + "\(them.isEmpty ? "none" : them) in \((other.path as NSString).lastPathComponent)",
                                sourceLine: line))
                    }
                }
                // The longest rendering, with ASCII and with Chinese values.
                let cap = Self.singlePartKeys.contains(key) ? 1 : partCap
                for filler in ["W", "字"] {
                    var values: [String: String] = [:]
                    for name in placeholders {
                        values[name] = String(repeating: filler, count: Self.placeholderWidths[name] ?? 0)
                    }
                    let longest = PromptCatalog.fill(template, values)
                    let parts = SMSSegmenter(partCap: .max).segments(longest).count
                    if parts > cap {
                        let encoding = SMSSegmenter.encoding(of: longest)
                        diagnostics.append(
                            Diagnostic(
                                path: file.path, location: location,
                                message: "`\(key)` can need \(parts) SMS parts at its longest "
                                    + "(\(encoding == .gsm7 ? "GSM 7-bit" : "UCS-2"), \(SMSSegmenter.length(of: longest)) units); "
                                    + "the cap is \(cap)",
                                sourceLine: line))
                        break
                    }
                }
            }
        }
        return diagnostics
    }

    static func keyLines(_ text: String) -> [String: (Int, String)] {
        var out: [String: (Int, String)] = [:]
        let lines = splitLines(text)
        for (i, line) in lines.enumerated() {
            guard let eq = line.firstIndex(of: "="), !line.trimmingCharacters(in: .whitespaces).hasPrefix("#") else {
                continue
            }
            out[line[..<eq].trimmingCharacters(in: .whitespaces)] = (i + 1, String(line))
        }
        return out
    }
}

/// The errors that make a prompts folder unfit to serve, as `selfcare check` prints them (the first ten).
public struct PromptErrors: Error, Sendable, CustomStringConvertible {
    /// Every error found, in the order found.
    public var diagnostics: [Diagnostic]
    /// The errors `diagnostics`.
    public init(_ diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }
    /// The first ten errors, one each, and how many more there are.
    public var description: String {
        let shown = diagnostics.prefix(10).map(\.description)
        let more =
            diagnostics.count > 10 ? ["… and \(diagnostics.count - 10) more (selfcare check lists them all)"] : []
        return (shown + more).joined(separator: "\n")
    }
}
