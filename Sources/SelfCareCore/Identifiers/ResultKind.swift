/// How an attempt ended.
public enum ResultKind: String, Sendable, Codable, CaseIterable {
    /// The operation succeeded.
    case ok
    /// The carrier's rules or a channel's check refused the attempt; the reason code says why.
    case refused
    /// A fault inside the gateway stopped the attempt (reason `internal_error`); nothing changed.
    case error
}
