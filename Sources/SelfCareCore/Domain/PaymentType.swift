/// How the account pays.
public enum PaymentType: String, Sendable, Codable, CaseIterable {
    /// Billed after use (后付费).
    case postpaid
    /// Paid in advance (预付费); the account goes through the periods of `PrepaidPeriod`.
    case prepaid
}
