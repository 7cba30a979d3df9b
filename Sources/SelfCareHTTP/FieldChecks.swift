import Foundation
import SelfCareChannels
import SelfCareCore

/// What the adapters accept in the fields that name a customer or a conversation. A field outside these
/// bounds is a gateway's mistake or an attack, answered 400 with the reason before any channel sees it: a
/// customer's own text is never refused here (an over-long message still gets a polite reply).
enum FieldCheck {
    /// The longest number field: a phone number with a `+86`, spaces or dashes, or a `tel:` URI.
    static let maxNumberLength = 40
    /// The longest message, session or call id: ids are kept in memory and records between steps.
    static let maxIdentifierLength = maxSessionIDLength
    /// The longest short code or USSD service code.
    static let maxCodeLength = 64

    /// Why `value` is no caller number (5 to 15 digits, optionally with `+86`, spaces and dashes), or nil.
    static func number(_ value: String, field: String) -> String? {
        guard value.count <= maxNumberLength, normalizeNumber(value) != nil else {
            return "`\(field)` is not a phone number (5 to 15 digits, optionally with +86)"
        }
        return nil
    }

    /// Why `value` is no caller a voice browser sends: a number, a `tel:` or `sip:` URI, or a withheld caller's
    /// placeholder are fine (the last is answered with a goodbye); control characters or over 256 characters are not.
    static func caller(_ value: String, field: String) -> String? {
        if value.count > 256 { return "`\(field)` is over 256 characters" }
        if hasControlCharacters(value) { return "`\(field)` holds control characters" }
        return nil
    }

    /// Why `value` is no usable id (too long, or holding control characters such as NUL), or nil.
    static func identifier(_ value: String, field: String) -> String? {
        if value.count > maxIdentifierLength { return "`\(field)` is over \(maxIdentifierLength) characters" }
        if hasControlCharacters(value) { return "`\(field)` holds control characters" }
        return nil
    }

    /// Why `value` is no usable short code or service code, or nil.
    static func code(_ value: String, field: String) -> String? {
        if value.count > maxCodeLength { return "`\(field)` is over \(maxCodeLength) characters" }
        if hasControlCharacters(value) { return "`\(field)` holds control characters" }
        return nil
    }

    /// Why `value` holds more keys than one IVR step takes, or nil.
    static func keys(_ value: String, field: String) -> String? {
        if value.count > IVRChannel.maxKeysPerStep {
            return "`\(field)` holds \(value.count) keys; one step takes at most \(IVRChannel.maxKeysPerStep)"
        }
        if hasControlCharacters(value) { return "`\(field)` holds control characters" }
        return nil
    }

    /// The first problem among `checks`, each a field's check already applied.
    static func first(_ checks: String?...) -> String? { checks.lazy.compactMap { $0 }.first }

    static func hasControlCharacters(_ value: String) -> Bool {
        value.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }
    }
}
