/// A password or its digits, kept out of every description, log and record.
///
/// `description`, `debugDescription` and reflection all print `<redacted>`. Read the value only
/// where it is hashed or checked, through `withBytes`.
public struct Secret: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    private let value: String

    public init(_ value: String) { self.value = value }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: [:]) }

    /// The number of characters, for format checks.
    public var count: Int { value.count }

    /// Calls `body` with the UTF-8 bytes of the secret.
    public func withBytes<T>(_ body: ([UInt8]) throws -> T) rethrows -> T { try body(Array(value.utf8)) }

    /// Calls `body` with the secret's text. Use only for rule checks, never to build output.
    public func withText<T>(_ body: (String) throws -> T) rethrows -> T { try body(value) }

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
