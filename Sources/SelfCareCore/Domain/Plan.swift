/// A tariff plan (套餐).
public struct Plan: Hashable, Sendable, NamedInBothLanguages {
    /// Which payment types may take the plan.
    public enum Eligibility: String, Sendable, Codable, CaseIterable {
        /// Prepaid accounts only.
        case prepaid
        /// Postpaid accounts only.
        case postpaid
        /// Prepaid and postpaid accounts alike.
        case both

        /// Whether an account paying by `payment` may take the plan.
        public func allows(_ payment: PaymentType) -> Bool {
            switch self {
            case .both: true
            case .prepaid: payment == .prepaid
            case .postpaid: payment == .postpaid
            }
        }
    }

    /// The plan's code, what customers key in: ASCII letters, digits, `_` and `-`, stored upper-case (`P58`).
    public var code: String
    /// The plan's name in Chinese replies (`畅享58元套餐`).
    public var nameZh: String
    /// The plan's name in English replies.
    public var nameEn: String
    /// The monthly fee 月租, in fen.
    public var monthlyFeeFen: Int
    /// Voice minutes included each month.
    public var voiceMinutes: Int
    /// Text messages included each month.
    public var sms: Int
    /// Mobile data included each month, in MB.
    public var dataMB: Int
    /// Which payment types may take the plan.
    public var payment: Eligibility
    /// Whether new subscriptions are accepted.
    public var onSale: Bool
    /// Whether a subscriber under contract may move to this plan.
    public var contractOK: Bool

    /// A plan with every field given, as the billing system supplies it.
    public init(
        code: String, nameZh: String, nameEn: String, monthlyFeeFen: Int, voiceMinutes: Int, sms: Int, dataMB: Int,
        payment: Eligibility, onSale: Bool, contractOK: Bool
    ) {
        self.code = code
        self.nameZh = nameZh
        self.nameEn = nameEn
        self.monthlyFeeFen = monthlyFeeFen
        self.voiceMinutes = voiceMinutes
        self.sms = sms
        self.dataMB = dataMB
        self.payment = payment
        self.onSale = onSale
        self.contractOK = contractOK
    }

}
