/// A position in a grammar file: 1-based line and column (in Unicode scalars).
public struct SourceLocation: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public var description: String { "\(line):\(column)" }

    public static func < (a: SourceLocation, b: SourceLocation) -> Bool { (a.line, a.column) < (b.line, b.column) }
}

/// A mistake found in a grammar or prompt file, reported like a compiler's.
///
/// ```
/// grammars/sms.grammar:12:5: error: unknown rule `$balanc`; did you mean `$balance`?
///     $cmd = $balanc | $bill ;
///            ^
/// ```
public struct Diagnostic: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Severity: String, Sendable { case error, warning, note }

    public var path: String
    public var location: SourceLocation
    public var severity: Severity
    public var message: String
    /// The text of the offending line, for the excerpt.
    public var sourceLine: String

    public init(
        path: String, location: SourceLocation, severity: Severity = .error, message: String, sourceLine: String
    ) {
        self.path = path
        self.location = location
        self.severity = severity
        self.message = message
        self.sourceLine = sourceLine
    }

    /// `path:line:col: error: message`, the source line, and a caret under the column.
    public var description: String {
        var caretPad = ""
        for (i, scalar) in sourceLine.unicodeScalars.enumerated() where i < location.column - 1 {
            caretPad.append(scalar == "\t" ? "\t" : " ")
        }
        return
            "\(path):\(location.line):\(location.column): \(severity.rawValue): \(message)\n\(sourceLine)\n\(caretPad)^"
    }
}

/// Several diagnostics from one load; thrown when any of them is an error.
public struct GrammarErrors: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [Diagnostic]
    public init(_ diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}
