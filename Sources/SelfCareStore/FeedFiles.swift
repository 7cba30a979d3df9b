import Foundation
import SelfCareCore

/// The name of a feed's data file: `KIND_SOURCE_YYYYMMDD_NNNNNN.csv` (docs/sync.md), such as
/// `SUBS_BOSS_20261206_000123.csv`.
public struct FeedFileName: Sendable, Equatable {
    /// What the file holds, from its kind code (`SUBS`, `PLAN`, `USAGE`, `CALL`, `PAY`, `EVENT`).
    public var kind: ImportKind
    /// The source system: 1 to 16 upper-case ASCII letters and digits (`BOSS`).
    public var source: String
    /// The business date the file covers.
    public var businessDate: LocalDate
    /// The file's number in its feed: six digits, from 000001.
    public var sequence: Int
    /// The file's name (`SUBS_BOSS_20261206_000123.csv`).
    public var name: String

    /// The feed the file belongs to (`SUBS_BOSS`): each feed has its own sequence.
    public var feed: String { "\(kind.feedCode)_\(source)" }
    /// The name of its sidecar (`SUBS_BOSS_20261206_000123.chk`).
    public var checkName: String { String(name.dropLast(4)) + ".chk" }

    /// Parses a data file's name; nil when it does not follow the pattern.
    public init?(_ name: String) {
        guard name.hasSuffix(".csv") else { return nil }
        let parts = name.dropLast(4).split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 4, let kind = ImportKind.allCases.first(where: { $0.feedCode == parts[0] }),
            (1...16).contains(parts[1].count),
            parts[1].allSatisfy({ $0.isASCII && ($0.isUppercase || $0.isNumber) }),
            parts[2].count == 8, parts[2].allSatisfy({ $0.isASCII && $0.isNumber }),
            let date = LocalDate(iso: "\(parts[2].prefix(4))-\(parts[2].dropFirst(4).prefix(2))-\(parts[2].suffix(2))"),
            parts[3].count == 6, parts[3].allSatisfy({ $0.isASCII && $0.isNumber }), let sequence = Int(parts[3]),
            sequence >= 1
        else { return nil }
        self.kind = kind
        self.source = String(parts[1])
        self.businessDate = date
        self.sequence = sequence
        self.name = name
    }

    /// A sequence number as names write it: `000123`.
    public static func format(_ sequence: Int) -> String {
        let digits = String(sequence)
        return String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }
}

/// A feed file's sidecar (`.chk`), written by the sender after the data file is complete: what the data file
/// must be for it to be applied.
///
/// It is text, one `key=value` a line: `file`, `rows`, `bytes` and `sha256` required; `mode` (`delta` or
/// `snapshot`, `delta` when absent) and `encoding` (`utf-8`, `gbk`, `gb18030`) optional. Blank lines and lines
/// starting with `#` are ignored.
public struct FeedCheck: Sendable, Equatable {
    /// The data file's name.
    public var file: String
    /// How many data rows it has (CSV records after the header).
    public var rows: Int
    /// Its size in bytes.
    public var bytes: Int
    /// The SHA-256 of its bytes, lowercase hex.
    public var sha256: String
    /// Whether its rows are changes or the whole of its kind.
    public var mode: LoadMode
    /// What its text is encoded in, when the sender says.
    public var encoding: TextEncoding?

    /// A problem with a sidecar, one line.
    public struct Problem: Error, CustomStringConvertible {
        /// What is wrong.
        public var description: String
    }

    /// Parses a sidecar's bytes.
    /// - Throws: `Problem` naming the first line or key that is wrong.
    public static func parse(_ data: Data) throws -> FeedCheck {
        guard let text = String(data: data, encoding: .utf8) else { throw Problem(description: "not UTF-8 text") }
        var values: [String: String] = [:]
        // Any line end: LF, CRLF (a sender on Windows) or CR.
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        for (index, rawLine) in lines.enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw Problem(description: "line \(index + 1): expected key=value")
            }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            guard ["file", "rows", "bytes", "sha256", "mode", "encoding"].contains(key) else {
                throw Problem(description: "line \(index + 1): unknown key `\(key.prefix(40))`")
            }
            guard values[key] == nil else { throw Problem(description: "line \(index + 1): `\(key)` given twice") }
            values[key] = value
        }
        for key in ["file", "rows", "bytes", "sha256"] where values[key] == nil {
            throw Problem(description: "`\(key)` is missing")
        }
        guard let rows = Int(values["rows"]!), rows >= 0 else { throw Problem(description: "rows: expected a count") }
        guard let bytes = Int(values["bytes"]!), bytes >= 0 else {
            throw Problem(description: "bytes: expected a count")
        }
        let sha = values["sha256"]!.lowercased()
        guard sha.count == 64, sha.allSatisfy(\.isHexDigit) else {
            throw Problem(description: "sha256: expected 64 hex digits")
        }
        var mode = LoadMode.delta
        if let text = values["mode"] {
            switch text.lowercased() {
            case "delta": mode = .delta
            case "snapshot": mode = .snapshot
            default: throw Problem(description: "mode: expected delta or snapshot, found `\(text.prefix(40))`")
            }
        }
        var encoding: TextEncoding? = nil
        if let text = values["encoding"] {
            guard let given = TextEncoding(rawValue: text.lowercased()) else {
                throw Problem(description: "encoding: expected utf-8, gbk or gb18030, found `\(text.prefix(40))`")
            }
            encoding = given
        }
        return FeedCheck(
            file: values["file"]!, rows: rows, bytes: bytes, sha256: sha, mode: mode, encoding: encoding)
    }

    /// The sidecar's text for a data file (what a sender such as the billing simulator writes).
    public static func text(
        for data: Data, file: String, rows: Int, mode: LoadMode = .delta, encoding: TextEncoding? = nil
    )
        -> String
    {
        var text = "file=\(file)\nrows=\(rows)\nbytes=\(data.count)\nsha256=\(sha256Hex(data))\n"
        if mode == .snapshot { text += "mode=snapshot\n" }
        if let encoding { text += "encoding=\(encoding.rawValue)\n" }
        return text
    }
}
