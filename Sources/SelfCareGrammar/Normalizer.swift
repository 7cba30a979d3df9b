/// Folds customer text for matching: full-width forms to half-width, ASCII letters to upper case.
///
/// `ｃｘｙｅ`, `cxye` and `CXYE` all become `CXYE`; `，` becomes `,`; the ideographic space becomes a space.
/// Other characters (Chinese, emoji) are kept as they are.
public enum TextNormalizer {
    /// One scalar folded: full-width ASCII to half-width, the ideographic space to a space, a–z to A–Z.
    @inline(__always)
    public static func fold(_ scalar: UInt32) -> UInt32 {
        switch scalar {
        case 0x61...0x7A: return scalar - 0x20
        case 0xFF01...0xFF5E:
            let half = scalar - 0xFEE0
            return (0x61...0x7A).contains(half) ? half - 0x20 : half
        case 0x3000: return 0x20
        default: return scalar
        }
    }

    /// `text` folded, as scalar values.
    public static func normalize(_ text: String) -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars { out.append(fold(scalar.value)) }
        return out
    }

    /// `text` folded, as a string.
    public static func normalizedString(_ text: String) -> String {
        var s = String.UnicodeScalarView()
        for v in normalize(text) { if let u = Unicode.Scalar(v) { s.append(u) } }
        return String(s)
    }
}
