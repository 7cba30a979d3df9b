import Foundation

/// A change scheduled for a later date (预约变更).
public struct PendingChange: Hashable, Sendable {
    /// What the change does.
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// Move to `planCode`.
        case planChange = "plan.change"
        /// Suspend and keep the number (停机保号).
        case suspend = "suspend.keep"
    }

    /// The number the change applies to, digits only.
    public var msisdn: String
    /// What the change does: move to another plan, or suspend.
    public var kind: Kind
    /// The target plan for `.planChange`.
    public var planCode: String?
    /// The day it takes effect: the first day of the month after the request.
    public var effective: LocalDate
    /// When the customer asked for the change.
    public var requestedAt: Date

    /// A change of `msisdn` that takes effect on `effective`; `planCode` is the target plan of a plan change, nil for a
    /// suspension.
    public init(msisdn: String, kind: Kind, planCode: String?, effective: LocalDate, requestedAt: Date) {
        self.msisdn = msisdn
        self.kind = kind
        self.planCode = planCode
        self.effective = effective
        self.requestedAt = requestedAt
    }
}
