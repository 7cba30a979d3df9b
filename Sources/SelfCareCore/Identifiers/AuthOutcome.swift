/// How the service password figured in an attempt.
public enum AuthOutcome: String, Sendable, Codable, CaseIterable {
    /// No password was needed, or none was checked.
    case none
    /// The password was checked and matched.
    case ok
    /// The password was checked and did not match.
    case failed
    /// The password is locked after too many failures; nothing was checked.
    case locked
}
