/// One month of a subscriber's usage and charges, from the billing system.
public struct UsageMonth: Hashable, Sendable {
    /// The subscriber's number, digits only.
    public var msisdn: String
    /// The local calendar month the row covers.
    public var month: Month
    /// Voice minutes used that month.
    public var voiceUsed: Int
    /// Text messages used that month.
    public var smsUsed: Int
    /// Mobile data used that month, in MB.
    public var dataUsedMB: Int
    /// That month's charges in fen: the bill `query.bill` reads, or for the current month the charges so far.
    public var chargesFen: Int

    /// One month of usage with every field given, as the billing system supplies it.
    public init(msisdn: String, month: Month, voiceUsed: Int, smsUsed: Int, dataUsedMB: Int, chargesFen: Int) {
        self.msisdn = msisdn
        self.month = month
        self.voiceUsed = voiceUsed
        self.smsUsed = smsUsed
        self.dataUsedMB = dataUsedMB
        self.chargesFen = chargesFen
    }
}
