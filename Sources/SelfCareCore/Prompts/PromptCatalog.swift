import Foundation

/// A mistake in a prompt file, reported like a compiler error.
public struct PromptFileError: Error, CustomStringConvertible, Sendable {
    /// The prompt file.
    public var path: String
    /// The line of the mistake, counted from 1.
    public var line: Int
    /// The column of the mistake, counted from 1.
    public var column: Int
    /// What is wrong (``duplicate key `reply.query.balance` ``).
    public var message: String
    /// The text of that line, shown under the message.
    public var sourceLine: String

    /// `PATH:LINE:COLUMN: error: MESSAGE`, then the line and a caret under the column.
    public var description: String {
        "\(path):\(line):\(column): error: \(message)\n\(sourceLine)\n"
            + String(repeating: " ", count: max(0, column - 1)) + "^"
    }
}

/// The texts the gateway sends, per language, as templates with `{named}` placeholders.
///
/// Files are `prompts/<language>.prompts`, one `key = text` a line; `#` starts a comment line;
/// `\n` in a text is a line break; a text in double quotes keeps its surrounding spaces. Example:
/// ```
/// reply.query.balance = 尊敬的{name}客户，您的余额为{balance}元。
/// ```
public struct PromptCatalog: Sendable {
    /// The templates of each language, by key.
    public private(set) var templates: [Language: [String: String]]
    /// The language used when the customer's is not known or has no file.
    public var defaultLanguage: Language

    /// A catalog of `templates` by language and key (tests, embedding); `load(directory:)` reads the files.
    public init(templates: [Language: [String: String]], defaultLanguage: Language = .chinese) {
        self.templates = templates
        self.defaultLanguage = defaultLanguage
    }

    /// Loads every `*.prompts` file in `directory`; the file name without extension is the language.
    /// - Throws: `PromptFileError` for a malformed line or duplicate key; `TextFileError` for a file that is not
    ///   UTF-8 or cannot be read; a file-system error when the folder is unreadable.
    public static func load(directory: String) throws -> PromptCatalog {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".prompts") }
            .sorted()
        var templates: [Language: [String: String]] = [:]
        for name in names {
            let path = (directory as NSString).appendingPathComponent(name)
            let text = try TextFile.read(path)
            templates[Language(rawValue: String(name.dropLast(".prompts".count)))] = try parse(text, path: path)
        }
        return PromptCatalog(templates: templates)
    }

    /// Parses one prompt file's text.
    public static func parse(_ text: String, path: String) throws -> [String: String] {
        var result: [String: String] = [:]
        // "\r\n" is one Character in Swift, so split on both forms.
        let lines = splitLines(text)
        for (index, rawLine) in lines.enumerated() {
            let line = String(rawLine)
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            guard let eq = line.firstIndex(of: "=") else {
                throw PromptFileError(
                    path: path, line: index + 1, column: 1, message: "expected `key = text`", sourceLine: line)
            }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "_" }) else {
                throw PromptFileError(
                    path: path, line: index + 1, column: 1, message: "a key is letters, digits, `.` and `_`",
                    sourceLine: line)
            }
            if result[key] != nil {
                throw PromptFileError(
                    path: path, line: index + 1, column: 1, message: "duplicate key `\(key)`", sourceLine: line)
            }
            var value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            // A text in double quotes keeps its surrounding spaces: `item.separator = "; "`.
            if value.count >= 2 && value.hasPrefix("\"") && value.hasSuffix("\"") {
                value = String(value.dropFirst().dropLast())
            }
            result[key] = value.replacingOccurrences(of: "\\n", with: "\n")
        }
        return result
    }

    /// The language to answer in: `preferred` when it has prompts, else the default.
    public func language(for preferred: Language?) -> Language {
        if let preferred, templates[preferred] != nil { return preferred }
        return defaultLanguage
    }

    /// Whether `language`'s file holds `key` (not the default language's).
    public func has(_ key: PromptKey, in language: Language) -> Bool { templates[language]?[key.rawValue] != nil }

    /// Renders `key` in `language` with `values` filling its placeholders.
    ///
    /// Falls back to the default language, then to the key itself, so a missing text never
    /// stops a reply; `selfcare check` reports missing keys before they reach customers.
    public func render(_ key: PromptKey, in language: Language, _ values: [String: String] = [:]) -> String {
        guard let template = templates[language]?[key.rawValue] ?? templates[defaultLanguage]?[key.rawValue] else {
            return key.rawValue
        }
        return Self.fill(template, values)
    }

    /// Replaces each `{name}` in `template` with `values[name]`; unknown names stay as they are.
    public static func fill(_ template: String, _ values: [String: String]) -> String {
        guard template.contains("{") else { return template }
        var out = ""
        var rest = template[...]
        while let open = rest.firstIndex(of: "{") {
            out += rest[..<open]
            guard let close = rest[open...].firstIndex(of: "}") else {
                out += rest[open...]
                return out
            }
            let name = String(rest[rest.index(after: open)..<close])
            if let value = values[name] { out += value } else { out += rest[open...close] }
            rest = rest[rest.index(after: close)...]
        }
        return out + rest
    }

    /// The placeholder names used in `template`.
    public static func placeholders(in template: String) -> Set<String> {
        var names = Set<String>()
        var rest = template[...]
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            names.insert(String(rest[rest.index(after: open)..<close]))
            rest = rest[rest.index(after: close)...]
        }
        return names
    }
}
