/// Formats integer fen as yuan with two decimals: `1234` → `12.34`, `-5` → `-0.05`.
public func formatYuan(_ fen: Int) -> String {
    let sign = fen < 0 ? "-" : ""
    let magnitude = fen.magnitude
    let yuan = magnitude / 100
    let cents = magnitude % 100
    return "\(sign)\(yuan).\(cents < 10 ? "0" : "")\(cents)"
}

/// Masks a number for logs: `18612345678` → `186****5678`. Records keep full numbers.
public func maskNumber(_ number: String) -> String {
    guard number.count >= 7 else { return String(repeating: "*", count: number.count) }
    return String(number.prefix(3)) + "****" + String(number.suffix(4))
}

/// Normalises a phone number to digits only: drops spaces and dashes and the `+86`/`0086` country prefix.
///
/// Returns nil when what is left is not 5 to 15 digits.
public func normalizeNumber(_ text: String) -> String? {
    var s = text.filter { $0 != " " && $0 != "-" }
    if s.hasPrefix("+86") {
        s.removeFirst(3)
    } else if s.hasPrefix("0086") {
        s.removeFirst(4)
    } else if s.count == 13 && s.hasPrefix("86") {
        s.removeFirst(2)
    }
    guard (5...15).contains(s.count), s.allSatisfy(\.isASCIIDigit) else { return nil }
    return s
}

/// `text` with each maximal run of digits (ASCII or full-width) for which `mask` says so replaced by as
/// many `*`: the one place passwords are kept out of echoed or recorded text.
public func maskDigitRuns(_ text: String, where mask: (String) -> Bool) -> String {
    var out = ""
    var run = ""
    func flush() {
        out += !run.isEmpty && mask(run) ? String(repeating: "*", count: run.count) : run
        run = ""
    }
    for c in text {
        if c.isASCIIDigit || ("０"..."９").contains(c) {
            run.append(c)
        } else {
            flush()
            out.append(c)
        }
    }
    flush()
    return out
}

/// The lines of `text`, split at LF, CRLF or CR (Swift treats CRLF as one `Character`).
public func splitLines(_ text: String) -> [Substring] {
    text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }
}
