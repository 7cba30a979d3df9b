/// How an SMS is encoded on the air.
public enum SMSEncoding: String, Sendable {
    /// GSM 03.38 7-bit default alphabet: 160 characters, 153 per part when concatenated.
    case gsm7
    /// UCS-2: 70 characters, 67 per part.
    case ucs2
}

/// Splits replies into SMS parts by encoding, with a cap on the number of parts.
///
/// GSM 7-bit: extension characters (`^ { } \ [ ~ ] | €` and form feed) take two septets and are never
/// split across parts. UCS-2: characters outside the Basic Multilingual Plane (emoji) take two code
/// units and are never split either.
public struct SMSSegmenter: Sendable {
    /// The most parts a reply may have; a longer one is cut, ending in `…` (`...` in GSM 7-bit).
    public var partCap: Int

    /// A segmenter cutting replies at `partCap` parts, at least 1.
    public init(partCap: Int = 5) {
        precondition(partCap >= 1)
        self.partCap = partCap
    }

    static let basic: Set<Unicode.Scalar> = Set(
        ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
            + "abcdefghijklmnopqrstuvwxyzäöñüà").unicodeScalars)
    static let extended: Set<Unicode.Scalar> = Set("^{}\\[~]|€\u{0C}".unicodeScalars)

    /// The encoding `text` needs.
    public static func encoding(of text: String) -> SMSEncoding {
        text.unicodeScalars.allSatisfy { basic.contains($0) || extended.contains($0) } ? .gsm7 : .ucs2
    }

    /// The cost of `scalar` in septets (GSM 7-bit) or code units (UCS-2).
    static func units(_ scalar: Unicode.Scalar, _ encoding: SMSEncoding) -> Int {
        switch encoding {
        case .gsm7: extended.contains(scalar) ? 2 : 1
        case .ucs2: scalar.value > 0xFFFF ? 2 : 1
        }
    }

    /// The length of `text` in septets or code units.
    public static func length(of text: String) -> Int {
        let encoding = encoding(of: text)
        return text.unicodeScalars.reduce(0) { $0 + units($1, encoding) }
    }

    /// The parts `text` is sent as (one when it fits a single message), at most `partCap`.
    public func segments(_ text: String) -> [String] {
        let encoding = Self.encoding(of: text)
        let single = encoding == .gsm7 ? 160 : 70
        let part = encoding == .gsm7 ? 153 : 67
        let scalars = Array(text.unicodeScalars)
        if scalars.reduce(0, { $0 + Self.units($1, encoding) }) <= single { return [text] }
        var parts: [String] = []
        var current = String.UnicodeScalarView()
        var used = 0
        for scalar in scalars {
            let cost = Self.units(scalar, encoding)
            if used + cost > part {
                parts.append(String(current))
                current = String.UnicodeScalarView()
                used = 0
            }
            current.append(scalar)
            used += cost
        }
        if !current.isEmpty { parts.append(String(current)) }
        guard parts.count > partCap else { return parts }
        // Cut to the cap, ending the last part with an ellipsis that fits.
        let ellipsis = encoding == .gsm7 ? "..." : "…"
        let room = part - ellipsis.unicodeScalars.reduce(0) { $0 + Self.units($1, encoding) }
        var last = String.UnicodeScalarView()
        var lastUsed = 0
        for scalar in parts[partCap - 1].unicodeScalars {
            let cost = Self.units(scalar, encoding)
            if lastUsed + cost > room { break }
            last.append(scalar)
            lastUsed += cost
        }
        return Array(parts.prefix(partCap - 1)) + [String(last) + ellipsis]
    }
}
