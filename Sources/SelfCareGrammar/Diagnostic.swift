/// A position in a grammar file: 1-based line and column (in Unicode scalars).
public struct SourceLocation: Hashable, Sendable, Comparable, Codable, CustomStringConvertible {
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

    /// `path:line:col: error: message`, the source line, and a caret under the column; `path: error: message`
    /// for a mistake of no line (line 0: a file missing from a folder).
    public var description: String {
        guard location.line > 0 else { return "\(path): \(severity.rawValue): \(message)" }
        let head = "\(path):\(location.line):\(location.column): \(severity.rawValue): \(message)"
        guard !sourceLine.isEmpty else { return head }
        var caretPad = ""
        for (i, scalar) in sourceLine.unicodeScalars.enumerated() where i < location.column - 1 {
            // Wide (East Asian) characters take two columns on a terminal.
            caretPad += scalar == "\t" ? "\t" : Self.isWide(scalar) ? "  " : " "
        }
        return "\(head)\n\(sourceLine)\n\(caretPad)^"
    }

    static func isWide(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF,
            0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x1F300...0x1F64F,
            0x1F900...0x1F9FF, 0x20000...0x3FFFD:
            return true
        default:
            return false
        }
    }
}

/// Several diagnostics from one load; thrown when any of them is an error.
public struct GrammarErrors: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [Diagnostic]
    public init(_ diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}
