/// A password or its digits, kept out of every description, log and record.
///
/// `description`, `debugDescription` and reflection all print `<redacted>`. Read the value only
/// where it is hashed or checked, through `withBytes`.
public struct Secret: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    private let value: String

    /// A secret holding `value`, a password as the customer keyed it.
    public init(_ value: String) { self.value = value }

    /// `<redacted>`, never the value.
    public var description: String { "<redacted>" }
    /// `<redacted>`, never the value.
    public var debugDescription: String { "<redacted>" }
    /// A mirror without children, so that `dump` and reflection never show the value.
    public var customMirror: Mirror { Mirror(self, children: [:]) }

    /// The number of characters, for format checks.
    public var count: Int { value.count }

    /// Calls `body` with the UTF-8 bytes of the secret.
    public func withBytes<T>(_ body: ([UInt8]) throws -> T) rethrows -> T { try body(Array(value.utf8)) }

    /// Calls `body` with the secret's text. Use only for rule checks, never to build output.
    public func withText<T>(_ body: (String) throws -> T) rethrows -> T { try body(value) }

    /// The secret with full-width digits (`０`…`９`, U+FF10–U+FF19) as ASCII digits, as the SMS grammar folds
    /// them: the same password keyed on any channel is checked as the same bytes. Other characters are kept.
    public func foldingFullWidthDigits() -> Secret {
        guard value.unicodeScalars.contains(where: { (0xFF10...0xFF19).contains($0.value) }) else { return self }
        var folded = String.UnicodeScalarView()
        for scalar in value.unicodeScalars {
            let v = scalar.value
            folded.append((0xFF10...0xFF19).contains(v) ? Unicode.Scalar(v - 0xFF10 + 0x30)! : scalar)
        }
        return Secret(String(folded))
    }

    /// Whether two secrets are equal, compared in constant time.
    public func matches(_ other: Secret) -> Bool {
        let a = Array(value.utf8)
        let b = Array(other.value.utf8)
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in a.indices { difference |= a[i] ^ b[i] }
        return difference == 0
    }
}

extension Secret: Codable {
    /// The encoder's `userInfo` key that lets a secret be encoded or decoded: set only by a coder whose output is
    /// sealed before it leaves memory (a live session on its way to a shared session store). Any other encoder
    /// (a JSON answer, a log line) fails on a secret rather than writing its characters.
    public static let sealedCoding = CodingUserInfoKey(rawValue: "selfcare.secret.sealed")!

    /// Encodes the characters, for a sealing coder only.
    /// - Throws: `EncodingError.invalidValue` for any other encoder.
    public func encode(to encoder: any Encoder) throws {
        guard encoder.userInfo[Self.sealedCoding] as? Bool == true else {
            throw EncodingError.invalidValue(
                "<redacted>",
                .init(codingPath: encoder.codingPath, debugDescription: "a secret is encoded only to be sealed"))
        }
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }

    /// Decodes the characters, for a sealing coder only.
    /// - Throws: `DecodingError.dataCorrupted` for any other decoder.
    public init(from decoder: any Decoder) throws {
        guard decoder.userInfo[Self.sealedCoding] as? Bool == true else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "a secret is decoded only from a sealed box"))
        }
        value = try decoder.singleValueContainer().decode(String.self)
    }
}
