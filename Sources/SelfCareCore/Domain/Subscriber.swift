import Foundation

/// A subscriber as the gateway sees it: the billing system's view plus self-service state.
public struct Subscriber: Hashable, Sendable {
    /// The number, digits only (`18612345678`).
    public var msisdn: String
    /// The subscriber's name as the billing system has it; replies address the customer by it (`{name}`).
    public var name: String
    /// The life-cycle state, which most rules check.
    public var status: SubscriberStatus
    /// The state a loss report interrupted; `loss.cancel` returns to it.
    public var statusBeforeLoss: SubscriberStatus?
    /// Whether the account is prepaid or postpaid.
    public var payment: PaymentType
    /// Set for prepaid accounts only.
    public var prepaidPeriod: PrepaidPeriod?
    /// The code of the current plan, upper-case (`P58`).
    public var planCode: String
    /// Account balance in fen (negative when owing).
    public var balanceFen: Int
    /// Loyalty points 积分, a whole number from 0.
    public var points: Int
    /// The service tier 分层服务, which picks the IVR menu and the agent queue.
    public var tier: Tier
    /// The language the subscriber's replies are in, whatever the keyword's language.
    public var language: Language
    /// 靓号
    public var premium: Bool
    /// 合约期: the contract runs through this date.
    public var contractEnd: LocalDate?
    /// 黑名单
    public var blacklist: Bool
    /// The PHC-style hash of the service password, nil when none is set.
    public var passwordHash: String?
    /// Consecutive wrong passwords since the last good one.
    public var failedPasswordAttempts: Int
    /// Set while the password is locked.
    public var passwordLockedUntil: Date?
    /// The SIM's PUK code, when the billing system supplied it.
    public var puk: String?

    /// A subscriber with the billing system's fields; by default a normal postpaid account of the standard tier,
    /// answered in Chinese, with no contract, flag, password or PUK.
    public init(
        msisdn: String, name: String, status: SubscriberStatus = .normal, statusBeforeLoss: SubscriberStatus? = nil,
        payment: PaymentType = .postpaid, prepaidPeriod: PrepaidPeriod? = nil, planCode: String,
        balanceFen: Int = 0, points: Int = 0, tier: Tier = .standard, language: Language = .chinese,
        premium: Bool = false, contractEnd: LocalDate? = nil, blacklist: Bool = false, passwordHash: String? = nil,
        failedPasswordAttempts: Int = 0, passwordLockedUntil: Date? = nil, puk: String? = nil
    ) {
        self.msisdn = msisdn
        self.name = name
        self.status = status
        self.statusBeforeLoss = statusBeforeLoss
        self.payment = payment
        self.prepaidPeriod = prepaidPeriod
        self.planCode = planCode
        self.balanceFen = balanceFen
        self.points = points
        self.tier = tier
        self.language = language
        self.premium = premium
        self.contractEnd = contractEnd
        self.blacklist = blacklist
        self.passwordHash = passwordHash
        self.failedPasswordAttempts = failedPasswordAttempts
        self.passwordLockedUntil = passwordLockedUntil
        self.puk = puk
    }

    /// Whether a contract is still running on `date`.
    public func hasRunningContract(on date: LocalDate) -> Bool {
        guard let end = contractEnd else { return false }
        return date <= end
    }
}
