/// Masks a number for logs: `18612345678` → `186****5678`. Records keep full numbers.
public func maskNumber(_ number: String) -> String {
    guard number.count >= 7 else { return String(repeating: "*", count: number.count) }
    return String(number.prefix(3)) + "****" + String(number.suffix(4))
}

/// Normalises a phone number to digits only: drops spaces and dashes and the `+86`/`0086` country prefix.
///
/// Returns nil when what is left is not 5 to 15 digits.
public func normalizeNumber(_ text: String) -> String? {
    // Already normal (digits only, no country code): returned as it is, without the copy below.
    let bytes = text.utf8
    if (5...15).contains(bytes.count), bytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
        !text.hasPrefix("0086"), !(bytes.count == 13 && text.hasPrefix("86"))
    {
        return text
    }
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
