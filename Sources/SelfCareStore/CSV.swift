/// One record of a CSV file: its fields and the line it starts on (the header is line 1).
public struct CSVRow: Sendable, Equatable {
    /// The line the record starts on (a quoted field may run over several).
    public var line: Int
    /// The fields, unquoted.
    public var fields: [String]

    /// The record starting on `line` with `fields`.
    public init(line: Int, fields: [String]) {
        self.line = line
        self.fields = fields
    }
}

/// An RFC 4180 reader: quoted fields, doubled quotes, CRLF, LF or a lone CR, a leading BOM dropped. A quote opens a
/// quoted field only at the field's start; anywhere else it is an ordinary character.
public enum CSVReader {
    /// Splits `text` into rows; blank lines are skipped but still counted.
    /// A quote left open at the end of the file yields a last row whose line is returned as `unterminatedAtLine`.
    public static func rows(_ text: String) -> (rows: [CSVRow], unterminatedAtLine: Int?) {
        var text = text
        return text.withUTF8 { bytes in
            var rows: [CSVRow] = []
            let unterminated = CSVScanner(bytes).forEach { row in
                rows.append(CSVRow(line: row.line, fields: row.fields))
            }
            return (rows, unterminated)
        }
    }
}

/// One record as the scanner reads it: where it is in the input as well as what it holds.
struct CSVRecord {
    /// The line the record starts on.
    var line: Int
    /// The fields, unquoted; a field that is not valid UTF-8 is read with U+FFFD for its bad bytes.
    var fields: [String]
    /// The record's bytes in the input, without its line end.
    var bytes: Range<Int>
    /// Whether some field held bytes that are not valid UTF-8, or U+FFFD (what a decoder writes for them).
    var unreadable: Bool
    /// Whether the record is the last, its quote left open at the end of the input.
    var unterminated = false
}

/// The byte-level CSV reader behind `CSVReader`: reads UTF-8 bytes in place, without decoding the whole input to a
/// `String` first, and can start at any record boundary (`boundary(after:)`), so that parts of one file can be read
/// on several cores. It only reads its input, which its caller keeps alive while it reads: parts of one input can be
/// read on several threads at once.
struct CSVScanner: @unchecked Sendable {
    let bytes: UnsafeBufferPointer<UInt8>
    /// Where reading starts and stops.
    var start: Int
    var end: Int
    /// The line `start` is on.
    var firstLine: Int

    /// A scanner of all of `bytes`, dropping a leading UTF-8 byte-order mark.
    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
        let bom = bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF
        start = bom ? 3 : 0
        end = bytes.count
        firstLine = 1
    }

    /// The part of this scanner's input from `from` (a record boundary on line `line`) to `to`.
    func part(from: Int, line: Int, to: Int) -> CSVScanner {
        var part = self
        part.start = from
        part.firstLine = line
        part.end = to
        return part
    }

    /// For each of `positions` (ascending), the first record boundary at or after it (the byte after a line end
    /// that is not inside quotes) and that boundary's line; a position with no boundary after it before the end
    /// gets none, nor do the positions after it. Reads from the start once, tracking quotes only.
    func boundaries(after positions: [Int]) -> [(offset: Int, line: Int)] {
        var found: [(offset: Int, line: Int)] = []
        var next = 0
        var i = start
        var line = firstLine
        var inQuotes = false
        var fieldEmpty = true
        while i < end && next < positions.count {
            let c = bytes[i]
            i += 1
            if inQuotes {
                if c == 0x22 {
                    if i < end && bytes[i] == 0x22 {
                        i += 1
                    } else {
                        inQuotes = false
                    }
                } else if Self.endsLine(c, next: i < end ? bytes[i] : nil) {
                    line += 1
                }
                continue
            }
            switch c {
            case 0x22:
                if fieldEmpty { inQuotes = true }
                fieldEmpty = false
            case 0x2C:
                fieldEmpty = true
            case 0x0D, 0x0A:
                if c == 0x0D && i < end && bytes[i] == 0x0A { i += 1 }
                line += 1
                fieldEmpty = true
                while next < positions.count && i >= positions[next] {
                    if i < end { found.append((i, line)) }
                    next += 1
                }
            default:
                fieldEmpty = false
            }
        }
        return found
    }

    /// The fields of the one record at `span` (a record's `bytes`), on line `line`.
    func fields(of span: Range<Int>, line: Int) -> [String] {
        var fields: [String] = []
        part(from: span.lowerBound, line: line, to: span.upperBound).forEach { fields = $0.fields }
        return fields
    }

    /// Calls `body` with each record in order; blank lines are skipped but still counted. Returns the line of a
    /// last record whose quote was left open at the end, if any (that record is passed to `body` as well).
    @discardableResult
    func forEach(_ body: (CSVRecord) throws -> Void) rethrows -> Int? {
        var fields: [String] = []
        var field: [UInt8] = []
        field.reserveCapacity(64)
        var unreadable = false
        var inQuotes = false
        var fieldStarted = false
        var line = firstLine
        var rowStart = firstLine
        var rowOffset = start
        var i = start

        func finishField() {
            let (text, bad) = Self.decode(field)
            if bad { unreadable = true }
            fields.append(text)
            field.removeAll(keepingCapacity: true)
        }
        func endRow(at offset: Int) throws {
            finishField()
            if !(fields.count == 1 && fields[0].isEmpty && !fieldStarted) {
                try body(CSVRecord(line: rowStart, fields: fields, bytes: rowOffset..<offset, unreadable: unreadable))
            }
            fields.removeAll(keepingCapacity: true)
            fieldStarted = false
            unreadable = false
        }

        while i < end {
            if inQuotes {
                let c = bytes[i]
                i += 1
                if c == 0x22 {
                    if i < end && bytes[i] == 0x22 {
                        field.append(0x22)
                        i += 1
                    } else {
                        inQuotes = false
                    }
                } else {
                    if Self.endsLine(c, next: i < end ? bytes[i] : nil) { line += 1 }
                    field.append(c)
                }
                continue
            }
            // An unquoted run: everything up to the next comma, quote or line end is copied at once.
            var j = i
            while j < end {
                let c = bytes[j]
                if c == 0x2C || c == 0x22 || c == 0x0A || c == 0x0D { break }
                j += 1
            }
            if j > i {
                field.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[i..<j]))
                fieldStarted = true
                i = j
                if i == end { break }
            }
            let c = bytes[i]
            i += 1
            switch c {
            case 0x22 where field.isEmpty:
                inQuotes = true
                fieldStarted = true
            case 0x22:
                field.append(c)
                fieldStarted = true
            case 0x2C:
                finishField()
                fieldStarted = true
            default:  // CR or LF
                let rowEnd = i - 1
                if c == 0x0D && i < end && bytes[i] == 0x0A { i += 1 }
                try endRow(at: rowEnd)
                line += 1
                rowStart = line
                rowOffset = i
            }
        }
        if inQuotes {
            finishField()
            try body(
                CSVRecord(
                    line: rowStart, fields: fields, bytes: rowOffset..<end, unreadable: unreadable, unterminated: true))
            return rowStart
        }
        if !field.isEmpty || !fields.isEmpty || fieldStarted { try endRow(at: end) }
        return nil
    }

    /// Whether `byte` ends a physical line, `next` being the byte after it: LF, or CR not followed by LF (the CR of
    /// a CRLF is counted by its LF). Lines inside quotes count as they do outside.
    static func endsLine(_ byte: UInt8, next: UInt8?) -> Bool {
        byte == 0x0A || (byte == 0x0D && next != 0x0A)
    }

    /// The field's text, and whether it was unreadable: invalid UTF-8 (read with U+FFFD for the bad bytes) or
    /// holding U+FFFD already (what a conversion from another encoding wrote for bytes it could not read).
    static func decode(_ bytes: [UInt8]) -> (String, Bool) {
        bytes.withUnsafeBufferPointer { buffer in
            let text = String(decoding: buffer, as: UTF8.self)
            if !buffer.contains(where: { $0 >= 0x80 }) { return (text, false) }
            // A decoded string is contiguous UTF-8. U+FFFD is EF BF BD.
            var text2 = text
            let replaced = text2.withUTF8 { utf8 in
                var k = 0
                while k + 2 < utf8.count {
                    if utf8[k] == 0xEF && utf8[k + 1] == 0xBF && utf8[k + 2] == 0xBD { return true }
                    k += 1
                }
                return false
            }
            return (text, replaced)
        }
    }
}
