import Foundation

/// A subscriber's life-cycle state.
public enum SubscriberStatus: String, Sendable, Codable, CaseIterable {
    /// 正常
    case normal
    /// 挂失
    case lost
    /// 欠费停机
    case arrears
    /// 停机保号
    case suspended
    /// 销户
    case closed
}

/// How the account pays.
public enum PaymentType: String, Sendable, Codable, CaseIterable {
    /// Billed after use (后付费).
    case postpaid
    /// Paid in advance (预付费); the account goes through the periods of `PrepaidPeriod`.
    case prepaid
}

/// The period a prepaid account is in.
public enum PrepaidPeriod: String, Sendable, Codable, CaseIterable {
    /// 有效期
    case valid
    /// 充值期
    case recharge
    /// 锁定期
    case locked
}

/// Service tier (分层服务), highest first.
public enum Tier: String, Sendable, Codable, CaseIterable, Comparable {
    /// 至尊
    case supreme
    /// 钻石
    case diamond
    /// 金
    case gold
    /// 银
    case silver
    /// VIP: the lowest tier that the shipped IVR grammar greets with its own menu and priority queue.
    case vip
    /// The default and lowest tier; a number that is not a subscriber's is served as standard.
    case standard

    private var rank: Int {
        switch self {
        case .supreme: 5
        case .diamond: 4
        case .gold: 3
        case .silver: 2
        case .vip: 1
        case .standard: 0
        }
    }

    /// Whether `lhs` ranks below `rhs`: `standard` is the lowest tier, `supreme` the highest.
    public static func < (lhs: Tier, rhs: Tier) -> Bool { lhs.rank < rhs.rank }
}

/// A reply language.
public struct Language: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    /// The language's tag, as the prompt file is named (`zh-CN` for `prompts/zh-CN.prompts`).
    public let rawValue: String
    /// The language tagged exactly `rawValue`; `init(parsing:)` reads a tag leniently.
    public init(rawValue: String) { self.rawValue = rawValue }
    /// The language's tag.
    public var description: String { rawValue }

    /// Simplified Chinese, the default.
    public static let chinese = Language(rawValue: "zh-CN")
    /// English.
    public static let english = Language(rawValue: "en")
    /// Reads a language tag leniently: `zh-CN`, `zh`, `zh_cn`, `zh-Hans` → Chinese; `en`, `en-US`, `EN` → English.
    /// Returns nil for anything else.
    public init?(parsing text: String) {
        let tag = text.trimmingCharacters(in: .whitespaces).lowercased().replacingOccurrences(of: "_", with: "-")
        if tag == "zh" || tag.hasPrefix("zh-") || tag == "中文" {
            self = .chinese
        } else if tag == "en" || tag.hasPrefix("en-") || tag == "english" {
            self = .english
        } else {
            return nil
        }
    }

    /// The languages the prompts ship in.
    public static let supported: [Language] = [.chinese, .english]
}

/// A calendar date without a time (`2026-12-01`), in the carrier's local time zone.
public struct LocalDate: Hashable, Sendable, Comparable, Codable, CustomStringConvertible {
    /// The year (`2026`).
    public var year: Int
    /// The month of the year, 1 to 12.
    public var month: Int
    /// The day of the month, from 1.
    public var day: Int

    /// The date `year`-`month`-`day`, taken as it is (not checked; `init(iso:)` checks text).
    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses `YYYY-MM-DD`; returns nil for anything else, including impossible dates.
    public init?(iso text: some StringProtocol) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
            (1...12).contains(m), d >= 1, d <= LocalDate.daysIn(year: y, month: m)
        else { return nil }
        self.init(year: y, month: m, day: d)
    }

    /// `YYYY-MM-DD`, as records, replies and import files write dates.
    public var description: String {
        "\(pad4(year))-\(pad2(month))-\(pad2(day))"
    }

    /// The month this date falls in.
    public var monthOf: Month { Month(year: year, month: month) }

    /// Whether `a` comes before `b`.
    public static func < (a: LocalDate, b: LocalDate) -> Bool {
        (a.year, a.month, a.day) < (b.year, b.month, b.day)
    }

    static func daysIn(year: Int, month: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}

/// A calendar month (`2026-11`).
public struct Month: Hashable, Sendable, Comparable, Codable, CustomStringConvertible {
    /// The year (`2026`).
    public var year: Int
    /// The month of the year, 1 to 12.
    public var month: Int

    /// The month `month` of `year`, taken as it is (not checked; `init(_:)` checks text).
    public init(year: Int, month: Int) {
        self.year = year
        self.month = month
    }

    /// Parses `YYYY-MM` or `YYYYMM`.
    public init?(_ text: some StringProtocol) {
        let digits = text.filter { $0 != "-" }
        guard digits.count == 6, digits.allSatisfy(\.isASCIIDigit),
            text.count == 6 || (text.count == 7 && text[text.index(text.startIndex, offsetBy: 4)] == "-"),
            let y = Int(String(digits.prefix(4))), let m = Int(String(digits.suffix(2))), (1...12).contains(m)
        else { return nil }
        self.init(year: y, month: m)
    }

    /// `YYYY-MM`.
    public var description: String { "\(pad4(year))-\(pad2(month))" }

    /// The month after this one (`2026-12` → `2027-01`).
    public var next: Month { month == 12 ? Month(year: year + 1, month: 1) : Month(year: year, month: month + 1) }
    /// The month before this one (`2027-01` → `2026-12`); `query.bill` shows it by default.
    public var previous: Month { month == 1 ? Month(year: year - 1, month: 12) : Month(year: year, month: month - 1) }
    /// The month's first day, when a pending change scheduled for it takes effect.
    public var firstDay: LocalDate { LocalDate(year: year, month: month, day: 1) }
    /// The month's last day (`2027-02-28`).
    public var lastDay: LocalDate {
        LocalDate(year: year, month: month, day: LocalDate.daysIn(year: year, month: month))
    }

    /// The month `count` months later (earlier when negative).
    public func advanced(by count: Int) -> Month {
        let index = year * 12 + (month - 1) + count
        return Month(year: index.floorDivided(by: 12), month: index - index.floorDivided(by: 12) * 12 + 1)
    }

    /// Whether `a` comes before `b`.
    public static func < (a: Month, b: Month) -> Bool { (a.year, a.month) < (b.year, b.month) }
}

extension Int {
    fileprivate func floorDivided(by divisor: Int) -> Int {
        self >= 0 ? self / divisor : (self - divisor + 1) / divisor
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}

/// `value` with at least two digits (`7` → `07`).
func pad2(_ value: Int) -> String { value < 10 && value >= 0 ? "0\(value)" : "\(value)" }

/// `value` with at least four digits.
func pad4(_ value: Int) -> String {
    let digits = "\(value)"
    return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
}

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

/// A tariff plan (套餐).
public struct Plan: Hashable, Sendable {
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

    /// The plan's name in `language`.
    public func name(in language: Language) -> String { language == .english ? nameEn : nameZh }
}

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

/// One call in the detail list (通话详单).
public struct CallDetail: Hashable, Sendable {
    /// The subscriber's number, digits only.
    public var msisdn: String
    /// When the call started (an instant; replies show it in local time).
    public var startedAt: Date
    /// The other party's number.
    public var peer: String
    /// Whether the subscriber placed the call; false when they received it.
    public var outgoing: Bool
    /// The call's length in seconds.
    public var durationSeconds: Int
    /// What the call cost, in fen.
    public var chargeFen: Int

    /// One call with every field given, as the billing system supplies it.
    public init(msisdn: String, startedAt: Date, peer: String, outgoing: Bool, durationSeconds: Int, chargeFen: Int) {
        self.msisdn = msisdn
        self.startedAt = startedAt
        self.peer = peer
        self.outgoing = outgoing
        self.durationSeconds = durationSeconds
        self.chargeFen = chargeFen
    }
}

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

/// A transaction waiting for the customer's second confirmation 二次确认 (reply `Y` within the time limit).
public struct PendingConfirmation: Hashable, Sendable {
    /// The number that must confirm (the sender).
    public var caller: String
    /// The channel the confirmation must come through, the one the request came through.
    public var channel: Channel
    /// The transaction waiting to be confirmed.
    public var operation: OperationName
    /// The number the operation concerns.
    public var subject: String
    /// The operation's arguments (no secrets).
    public var arguments: [String: String]
    /// The session or message id of the request.
    public var session: String?
    /// When the transaction was asked for.
    public var requestedAt: Date
    /// When the wait ends: `requestedAt` plus `EngineConfiguration.confirmationTTL`; a later confirmation is
    /// refused `confirmation_expired`.
    public var expiresAt: Date
    /// The language the request was answered in; the outcome keeps it.
    public var language: Language?

    /// A transaction `caller` is asked to confirm on `channel`, with what it will do and when the wait ends.
    public init(
        caller: String, channel: Channel, operation: OperationName, subject: String, arguments: [String: String],
        session: String?, requestedAt: Date, expiresAt: Date, language: Language? = nil
    ) {
        self.language = language
        self.caller = caller
        self.channel = channel
        self.operation = operation
        self.subject = subject
        self.arguments = arguments
        self.session = session
        self.requestedAt = requestedAt
        self.expiresAt = expiresAt
    }
}
