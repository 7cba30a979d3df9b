/// `text` with digits masked (each replaced by `*`) wherever `mask` says so, looking both at each run of
/// digits (ASCII or full-width) and at each stretch of consecutive runs joined only by separators
/// (`258 036`, `25-80-36`, `258#036`): a password typed in groups must be masked as surely as one typed
/// whole. `mask` gets the stretch's digits run together and how many runs it spans; `separator` says
/// which characters join two runs (at most three of them between two runs). Stretches longer than 16
/// digits are not considered (no secret is that long), which keeps the work linear.
public func maskDigitGroups(
    _ text: String, joinedBy separator: (Character) -> Bool = isDigitSeparator,
    where mask: (_ digits: String, _ groups: Int) -> Bool
) -> String {
    // Tokens: digit runs and what stands between them.
    var tokens: [(text: String, isDigits: Bool)] = []
    for c in text {
        let isDigit = c.isASCIIDigit || ("０"..."９").contains(c)
        if let last = tokens.last, last.isDigits == isDigit {
            tokens[tokens.count - 1].text.append(c)
        } else {
            tokens.append((String(c), isDigit))
        }
    }
    var masked = [Bool](repeating: false, count: tokens.count)
    // Indexes of the digit runs, and whether the run after each is joined to it by a separator.
    let runs = tokens.indices.filter { tokens[$0].isDigits }
    func joined(_ a: Int, _ b: Int) -> Bool {
        b == a + 2 && tokens[a + 1].text.count <= 3 && tokens[a + 1].text.allSatisfy(separator)
    }
    for position in runs.indices {
        var digits = ""
        var end = position
        while end < runs.count {
            if end > position && !joined(runs[end - 1], runs[end]) { break }
            digits += tokens[runs[end]].text
            if end > position && digits.count > 16 { break }
            if mask(digits, end - position + 1) {
                for k in position...end { masked[runs[k]] = true }
            }
            end += 1
        }
    }
    var out = ""
    for (i, token) in tokens.enumerated() {
        out += masked[i] ? String(repeating: "*", count: token.text.count) : token.text
    }
    return out
}

/// Characters that may stand between the groups of digits a customer types: spaces, `-`, `#`, `+`, `,`,
/// `.`, `*`, `/`, `_` and their full-width and Chinese forms.
public func isDigitSeparator(_ c: Character) -> Bool {
    c.isWhitespace || " -#+,.*/_，。、．－＃＋＊／·".contains(c)
}

/// A card serial with all but its last four digits masked (`************3456`): enough for the customer to know
/// which card, too little to read it back.
public func maskCard(_ serial: String) -> String {
    guard serial.count > 4 else { return String(repeating: "*", count: serial.count) }
    return String(repeating: "*", count: serial.count - 4) + serial.suffix(4)
}
