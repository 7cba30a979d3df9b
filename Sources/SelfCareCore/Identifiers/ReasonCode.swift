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
    // The rest of the catalogue (docs/operations.md).
    /// `recharge.card`: the card number or its PIN is wrong (one answer for both, so serials cannot be probed).
    public static let badPIN: ReasonCode = "bad_pin"
    /// `recharge.card`: too many wrong PINs from this caller, or for this card; nothing was checked.
    public static let pinLocked: ReasonCode = "pin_locked"
    /// `recharge.card`: the card was used already (the reply says when, never by whom).
    public static let cardUsed: ReasonCode = "card_used"
    /// `recharge.card`: the card is past its expiry date.
    public static let cardExpired: ReasonCode = "card_expired"
    /// `recharge.card`: the voucher system froze the card.
    public static let cardFrozen: ReasonCode = "card_frozen"
    /// The balance does not cover a prepaid account's fee or deposit.
    public static let insufficientBalance: ReasonCode = "insufficient_balance"
    /// `points.redeem`: not enough points for the reward.
    public static let insufficientPoints: ReasonCode = "insufficient_points"
    /// No data pack has the code asked for.
    public static let unknownPack: ReasonCode = "unknown_pack"
    /// The pack is withdrawn, or not for the account's plan or payment type.
    public static let packNotEligible: ReasonCode = "pack_not_eligible"
    /// `data.pack.order`: the pack is already on the account for that month.
    public static let packAlready: ReasonCode = "pack_already"
    /// `data.pack.cancel`: the pack is not on the account for next month.
    public static let packNotOrdered: ReasonCode = "pack_not_ordered"
    /// `data.pack.cancel`: only this month's pack is on the account, and it is in use.
    public static let packInUse: ReasonCode = "pack_in_use"
    /// No basic service has the code asked for, or it is withdrawn.
    public static let unknownService: ReasonCode = "unknown_service"
    /// `service.subscribe`: the service is on the account already.
    public static let alreadySubscribed: ReasonCode = "already_subscribed"
    /// `service.unsubscribe`: the service is not on the account.
    public static let notSubscribed: ReasonCode = "not_subscribed"
    /// `service.subscribe` of three-way calling while international roaming is on.
    public static let roamingActive: ReasonCode = "roaming_active"
    /// `forwarding.set`: the target is not a valid number, or is the subscriber's own.
    public static let invalidTarget: ReasonCode = "invalid_target"
    /// `forwarding.cancel`: no forwarding (of that kind) is set.
    public static let notForwarded: ReasonCode = "not_forwarded"
    /// `roaming.on` on a blacklisted number 黑名单.
    public static let blacklisted: ReasonCode = "blacklisted"
    /// `roaming.on` with roaming already on.
    public static let alreadyRoaming: ReasonCode = "already_roaming"
    /// `roaming.off` with roaming not on.
    public static let notRoaming: ReasonCode = "not_roaming"
    /// No reward has the code asked for.
    public static let unknownReward: ReasonCode = "unknown_reward"
    /// A survey rating by SMS (`PJ 5`) with no survey question waiting for one.
    public static let noSurvey: ReasonCode = "no_survey"
    /// A confirmation whose amounts (fee, card value, points, deposit) changed since the question: nothing applied.
    public static let termsChanged: ReasonCode = "terms_changed"
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
    // The gateway's own work with the billing system (not customer-facing).
    /// A service order could not be handed to billing; it is tried again later (result `error`).
    public static let deliveryFailed: ReasonCode = "delivery_failed"
    /// A service order failed its last allowed delivery and is dead until an operator retries it (result `error`).
    public static let orderDead: ReasonCode = "order_dead"
    /// A rejected order's change could not be undone in full: a field changed again since, or a password (result
    /// `error`); an operator finishes it.
    public static let compensationIncomplete: ReasonCode = "compensation_incomplete"
    /// An operator asked to clear a password lockout that is not there (result `refused`).
    public static let notLocked: ReasonCode = "not_locked"
    /// Billing's answer names no order, or contradicts the answer it gave before (result `refused`).
    public static let orderUnknown: ReasonCode = "order_unknown"

    /// Every reason a customer can be refused with; each has a `refused.CODE` prompt.
    public static let customerFacing: [ReasonCode] = [
        .closed, .noData, .alreadyLost, .stateSuspended, .prepaidPeriod, .notLost, .stateLost, .arrears, .contract,
        .unknownPlan, .samePlan, .planNotEligible, .nothingPending, .premiumNumber, .notSuspended, .weakPassword,
        .passwordMismatch, .unknownSubscriber, .unknownCommand, .badPassword, .passwordLocked, .passwordRequired,
        .passwordNotSet, .duplicate, .rateLimited, .confirmationRequired, .confirmationExpired, .invalidArgument,
        .internalError, .thirdPartyRefused, .thirdPartyLocked, .badPIN, .pinLocked, .cardUsed, .cardExpired,
        .cardFrozen, .insufficientBalance, .insufficientPoints, .unknownPack, .packNotEligible, .packAlready,
        .packNotOrdered, .packInUse, .unknownService, .alreadySubscribed, .notSubscribed, .roamingActive,
        .invalidTarget, .notForwarded, .blacklisted, .alreadyRoaming, .notRoaming, .unknownReward, .noSurvey,
        .termsChanged,
    ]
}
