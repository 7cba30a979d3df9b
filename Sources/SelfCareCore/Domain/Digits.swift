extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}

/// `value` with at least two digits (`7` → `07`).
func pad2(_ value: Int) -> String { value < 10 && value >= 0 ? "0\(value)" : "\(value)" }

/// `value` with at least four digits.
func pad4(_ value: Int) -> String {
    let digits = "\(value)"
    return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
}
