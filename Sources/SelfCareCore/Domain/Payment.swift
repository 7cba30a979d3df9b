import Foundation

/// One payment of a subscriber's payment history (缴费历史), as the billing system sends it.
public struct Payment: Hashable, Sendable {
    /// How a payment was made.
    public enum Method: String, Sendable, CaseIterable {
        /// 营业厅: at a service counter.
        case counter
        /// 银行: through a bank (transfer or direct debit).
        case bank
        /// 充值卡: with a recharge card.
        case card
        /// 网上: online (the carrier's app or website, a payment app).
        case online
        /// 其他: any other way.
        case other
    }

    /// The billing system's id of the payment: what makes a payment the same payment in two files.
    public var id: String
    /// The subscriber's number, digits only.
    public var msisdn: String
    /// When the payment was made (an instant; replies show it in local time).
    public var paidAt: Date
    /// The amount paid, in fen (more than zero).
    public var amountFen: Int
    /// How it was paid.
    public var method: Method

    /// One payment with every field given.
    public init(id: String, msisdn: String, paidAt: Date, amountFen: Int, method: Method) {
        self.id = id
        self.msisdn = msisdn
        self.paidAt = paidAt
        self.amountFen = amountFen
        self.method = method
    }
}

/// One change event of a subscriber (用户异动) in the billing system: the history behind the state the
/// subscriber files carry. Events are history only: the subscriber's state changes through subscriber files.
public struct SubscriberEvent: Hashable, Sendable {
    /// What happened.
    public enum Kind: String, Sendable, CaseIterable {
        /// 开户: the number was opened.
        case open
        /// 套餐变更: the plan changed.
        case plan
        /// 停复机: the service state changed (stopped, resumed, suspended, lost).
        case status
        /// 过户: the account passed to another customer.
        case transfer
        /// 补卡: a new SIM card.
        case sim
        /// 销户: the number was closed.
        case close
        /// 其他: anything else.
        case other
    }

    /// The billing system's id of the event.
    public var id: String
    /// The subscriber's number, digits only.
    public var msisdn: String
    /// When it happened.
    public var at: Date
    /// What happened.
    public var kind: Kind
    /// Billing's description of it, free text (may be empty).
    public var detail: String

    /// One event with every field given.
    public init(id: String, msisdn: String, at: Date, kind: Kind, detail: String) {
        self.id = id
        self.msisdn = msisdn
        self.at = at
        self.kind = kind
        self.detail = detail
    }
}
