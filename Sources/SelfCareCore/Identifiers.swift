/// The name of a self-service operation, such as `query.balance` or `loss.report`.
///
/// Operation names are stable outside identifiers: they appear in records, grammars and
/// scenario files. New names can be added without a source break.
public struct OperationName: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible,
    ExpressibleByStringLiteral
{
    /// The name as records, grammars and scenario files spell it (`query.balance`).
    public let rawValue: String
    /// The operation named `rawValue`. Any name is accepted; the engine refuses one outside `all` with
    /// `unknown_command`.
    public init(rawValue: String) { self.rawValue = rawValue }
    /// The operation named `rawValue`, as `init(rawValue:)`.
    public init(_ rawValue: String) { self.rawValue = rawValue }
    /// The operation named by a literal (`"query.balance"`), as `init(rawValue:)`.
    public init(stringLiteral value: String) { self.rawValue = value }
    /// The name as records spell it.
    public var description: String { rawValue }

    /// 余额/当月话费: balance and this month's charges.
    public static let queryBalance: OperationName = "query.balance"
    /// 套餐余量: what is left of the plan's allowances this month.
    public static let queryPlan: OperationName = "query.plan"
    /// 上网流量: mobile data used and left this month.
    public static let queryData: OperationName = "query.data"
    /// 积分: loyalty points.
    public static let queryPoints: OperationName = "query.points"
    /// 历史账单: the bill of one month.
    public static let queryBill: OperationName = "query.bill"
    /// 通话详单: recent calls.
    public static let queryCalls: OperationName = "query.calls"
    /// 已办理业务: the services on the account.
    public static let queryServices: OperationName = "query.services"
    /// PUK码: the SIM's PUK code.
    public static let queryPUK: OperationName = "query.puk"
    /// 挂失: report the number lost.
    public static let lossReport: OperationName = "loss.report"
    /// 解挂: cancel a loss report.
    public static let lossCancel: OperationName = "loss.cancel"
    /// 套餐变更: change the plan this month or next month.
    public static let planChange: OperationName = "plan.change"
    /// 取消预约变更: cancel a pending next-month change.
    public static let planCancel: OperationName = "plan.cancel"
    /// 停机保号: suspend service and keep the number, now or next month.
    public static let suspendKeep: OperationName = "suspend.keep"
    /// 复机: resume a suspended number.
    public static let suspendResume: OperationName = "suspend.resume"
    /// 服务密码修改: change the service password.
    public static let passwordChange: OperationName = "password.change"

    // Names a channel records for attempts it settles itself.
    /// Help text asked for (`HELP`, `帮助`).
    public static let help: OperationName = "help"
    /// A reply confirming a transaction (`Y`, `是`), when nothing waits for one.
    public static let confirm: OperationName = "confirm"
    /// A text that matched no command.
    public static let unknown: OperationName = "unknown"
    /// An inbound SMS refused before it was read (rate limit).
    public static let smsMessage: OperationName = "sms"
    /// An operator setting a password (`selfcare password set`).
    public static let passwordSet: OperationName = "password.set"
    /// A notice for a subscriber that another phone tried their service password and failed, recorded to be
    /// sent once outbound notices exist (reason `notice_pending`).
    public static let passwordNotice: OperationName = "password.notice"
    /// The caller of what the gateway does by itself: a due pending change applied by `selfcare tick` or the
    /// server's periodic task, a notice for a subscriber.
    public static let tickCaller = "system"

    /// Every operation of the carrier's service standard, in the order of SPEC §1.
    public static let all: [OperationName] = [
        .queryBalance, .queryPlan, .queryData, .queryPoints, .queryBill, .queryCalls, .queryServices, .queryPUK,
        .lossReport, .lossCancel, .planChange, .planCancel, .suspendKeep, .suspendResume, .passwordChange,
    ]

    /// Operations that change the subscriber's state (transactions 业务办理).
    public var isTransaction: Bool {
        [.lossReport, .lossCancel, .planChange, .planCancel, .suspendKeep, .suspendResume, .passwordChange]
            .contains(self)
    }
}

/// A reason code: why an attempt ended as it did (`ok` on success).
///
/// Reason codes are stable outside identifiers written into every service record.
public struct ReasonCode: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible,
    ExpressibleByStringLiteral
{
    /// The code as records, prompt keys (`refused.CODE`) and metrics spell it (`already_lost`).
    public let rawValue: String
    /// The reason code `rawValue`; a carrier may add its own.
    public init(rawValue: String) { self.rawValue = rawValue }
    /// The reason code of a literal (`"already_lost"`), as `init(rawValue:)`.
    public init(stringLiteral value: String) { self.rawValue = value }
    /// The code as records spell it.
    public var description: String { rawValue }

    /// The operation succeeded (result `ok`).
    public static let ok: ReasonCode = "ok"
    // State and rule refusals (SPEC §1).
    /// The subject's number is closed 销户; every operation, queries included, is refused.
    public static let closed: ReasonCode = "closed"
    /// The billing system supplied nothing to answer with: no bill for the month, no PUK on file, or the subscriber's
    /// plan missing.
    public static let noData: ReasonCode = "no_data"
    /// `loss.report` on a number already reported lost.
    public static let alreadyLost: ReasonCode = "already_lost"
    /// A loss report, plan change or suspension on a number suspended 停机保号.
    public static let stateSuspended: ReasonCode = "state_suspended"
    /// A prepaid account outside the period the operation needs (`valid` for a loss report; not `recharge` or
    /// `locked` for a plan change).
    public static let prepaidPeriod: ReasonCode = "prepaid_period"
    /// `loss.cancel` on a number that is not reported lost.
    public static let notLost: ReasonCode = "not_lost"
    /// A plan change or suspension (or a due suspension) on a number reported lost.
    public static let stateLost: ReasonCode = "state_lost"
    /// A plan change or suspension (or a due suspension) on a number stopped for arrears 欠费停机.
    public static let arrears: ReasonCode = "arrears"
    /// A contract 合约期 runs today and forbids the change (a suspension, or a plan without `contractOK`).
    public static let contract: ReasonCode = "contract"
    /// No plan has the code asked for (or a due change's plan no longer exists).
    public static let unknownPlan: ReasonCode = "unknown_plan"
    /// `plan.change` to the plan the subscriber is already on.
    public static let samePlan: ReasonCode = "same_plan"
    /// The plan asked for is withdrawn (not on sale) or not for the account's payment type.
    public static let planNotEligible: ReasonCode = "plan_not_eligible"
    /// `plan.cancel` with no pending change to cancel.
    public static let nothingPending: ReasonCode = "nothing_pending"
    /// `suspend.keep` on a premium number 靓号, which only a shop may suspend.
    public static let premiumNumber: ReasonCode = "premium_number"
    /// `suspend.resume` on a number that is not suspended.
    public static let notSuspended: ReasonCode = "not_suspended"
    /// The new service password breaks a rule of `PasswordRules` (the record's `inputs.weak_rule` names which).
    public static let weakPassword: ReasonCode = "weak_password"
    /// The new service password and its repetition differ.
    public static let passwordMismatch: ReasonCode = "password_mismatch"
    /// The caller's own number is not a subscriber's (another number keyed in gets `thirdPartyRefused` instead).
    public static let unknownSubscriber: ReasonCode = "unknown_subscriber"
    /// Not an operation the gateway knows; on SMS also a text no command matches, or `Y` with nothing to confirm.
    public static let unknownCommand: ReasonCode = "unknown_command"
    // Authentication.
    /// A wrong service password (`auth: failed`), the one that locks it included.
    public static let badPassword: ReasonCode = "bad_password"
    /// The service password is locked after too many wrong ones (`auth: locked`); nothing was checked.
    public static let passwordLocked: ReasonCode = "password_locked"
    /// The operation needs a service password and none was given.
    public static let passwordRequired: ReasonCode = "password_required"
    /// The subscriber has no service password yet; a shop or `selfcare password set` sets one.
    public static let passwordNotSet: ReasonCode = "password_not_set"
    // Third-party attempts: the caller keyed in another number (caller ≠ subject).
    /// A third party's attempt failed: no such number, a wrong password, no password set, a closed number or a
    /// locked password, one answer for all (the record's `inputs.cause` names which).
    public static let thirdPartyRefused: ReasonCode = "third_party_refused"
    /// The caller failed too many attempts on other numbers' passwords and is locked out of them for a while.
    public static let thirdPartyLocked: ReasonCode = "third_party_locked"
    /// A notice for the subscriber is recorded, to be sent once outbound notices exist.
    public static let noticePending: ReasonCode = "notice_pending"
    // Channel-level outcomes (SPEC §2).
    /// SMS: a message id this sender already used; the first reply is sent again and nothing is applied twice.
    public static let duplicate: ReasonCode = "duplicate"
    /// SMS: the number sent more messages than its rate limit allows (`SMSConfiguration.rateLimit`).
    public static let rateLimited: ReasonCode = "rate_limited"
    /// A transaction passed every check and waits for the customer's second confirmation (`Y` on SMS, `1` on a
    /// USSD screen or at the IVR); nothing has changed yet.
    public static let confirmationRequired: ReasonCode = "confirmation_required"
    /// The confirmation came after its time limit (`EngineConfiguration.confirmationTTL`); nothing changed.
    public static let confirmationExpired: ReasonCode = "confirmation_expired"
    /// The customer declined the transaction they were asked to confirm (a menu's cancel key); nothing changed.
    public static let confirmationCancelled: ReasonCode = "confirmation_cancelled"
    /// An argument is missing or malformed (a month that is not `YYYYMM`, no plan code).
    public static let invalidArgument: ReasonCode = "invalid_argument"
    /// A fault inside the gateway (storage, corrupt data); the record has result `error`.
    public static let internalError: ReasonCode = "internal_error"

    /// Every reason a customer can be refused with; each has a `refused.CODE` prompt.
    public static let customerFacing: [ReasonCode] = [
        .closed, .noData, .alreadyLost, .stateSuspended, .prepaidPeriod, .notLost, .stateLost, .arrears, .contract,
        .unknownPlan, .samePlan, .planNotEligible, .nothingPending, .premiumNumber, .notSuspended, .weakPassword,
        .passwordMismatch, .unknownSubscriber, .unknownCommand, .badPassword, .passwordLocked, .passwordRequired,
        .passwordNotSet, .duplicate, .rateLimited, .confirmationRequired, .confirmationExpired, .invalidArgument,
        .internalError, .thirdPartyRefused, .thirdPartyLocked,
    ]
}

/// The channel an attempt came through.
public struct Channel: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible,
    ExpressibleByStringLiteral
{
    /// The channel's name as records and metrics spell it (`sms`).
    public let rawValue: String
    /// The channel named `rawValue`.
    public init(rawValue: String) { self.rawValue = rawValue }
    /// The channel named by a literal (`"sms"`), as `init(rawValue:)`.
    public init(stringLiteral value: String) { self.rawValue = value }
    /// The channel's name as records spell it.
    public var description: String { rawValue }

    /// The SMS short-code channel (`SMSChannel`).
    public static let sms: Channel = "sms"
    /// USSD menus dialled from the phone (`USSDChannel`).
    public static let ussd: Channel = "ussd"
    /// The voice menus of the IVR (`IVRChannel`).
    public static let ivr: Channel = "ivr"
    /// Operations named directly rather than through a menu or a text: `selfcare op`, the pending changes `tick`
    /// applies, `selfcare password set`.
    public static let api: Channel = "api"
}

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

/// How an attempt ended.
public enum ResultKind: String, Sendable, Codable, CaseIterable {
    /// The operation succeeded.
    case ok
    /// The carrier's rules or a channel's check refused the attempt; the reason code says why.
    case refused
    /// A fault inside the gateway stopped the attempt (reason `internal_error`); nothing changed.
    case error
}
