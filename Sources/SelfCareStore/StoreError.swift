import Foundation
import SelfCareCore

/// A storage fault, with SQLite's own code and message kept visible.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    /// The fault, one line, with SQLite's own words where it has any.
    public var message: String
    /// A fault saying `message`.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}
