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

/// An RFC 4180 reader: quoted fields, doubled quotes, CRLF or LF, a leading BOM dropped.
public enum CSVReader {
    /// Splits `text` into rows; blank lines are skipped but still counted.
    /// A quote left open at the end of the file yields a last row whose line is returned as `unterminatedAtLine`.
    public static func rows(_ text: String) -> (rows: [CSVRow], unterminatedAtLine: Int?) {
        var rows: [CSVRow] = []
        var fields: [String] = []
        var field = ""
        var inQuotes = false
        var line = 1
        var rowStart = 1
        var fieldStarted = false
        var scalars = text.unicodeScalars[...]
        if scalars.first == "\u{FEFF}" { scalars = scalars.dropFirst() }
        var iterator = scalars.makeIterator()
        var pending: Unicode.Scalar? = nil

        func endRow() {
            fields.append(field)
            if !(fields.count == 1 && fields[0].isEmpty && !fieldStarted) {
                rows.append(CSVRow(line: rowStart, fields: fields))
            }
            fields = []
            field = ""
            fieldStarted = false
        }

        while let c = pending ?? iterator.next() {
            pending = nil
            if inQuotes {
                if c == "\"" {
                    if let next = iterator.next() {
                        if next == "\"" {
                            field.unicodeScalars.append("\"")
                        } else {
                            inQuotes = false
                            pending = next
                        }
                    } else {
                        inQuotes = false
                    }
                } else {
                    if c == "\n" { line += 1 }
                    field.unicodeScalars.append(c)
                }
                continue
            }
            switch c {
            case "\"" where field.isEmpty:
                inQuotes = true
                fieldStarted = true
            case ",":
                fields.append(field)
                field = ""
                fieldStarted = true
            case "\r":
                if let next = iterator.next(), next != "\n" { pending = next }
                endRow()
                line += 1
                rowStart = line
            case "\n":
                endRow()
                line += 1
                rowStart = line
            default:
                field.unicodeScalars.append(c)
                fieldStarted = true
            }
        }
        if inQuotes {
            fields.append(field)
            rows.append(CSVRow(line: rowStart, fields: fields))
            return (rows, rowStart)
        }
        if !field.isEmpty || !fields.isEmpty || fieldStarted { endRow() }
        return (rows, nil)
    }
}
