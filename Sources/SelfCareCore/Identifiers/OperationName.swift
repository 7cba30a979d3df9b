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
    /// 缴费历史: recent payments.
    public static let queryPayments: OperationName = "query.payments"
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

    /// 充值卡充值: recharge the caller's or another number with a recharge card.
    public static let rechargeCard: OperationName = "recharge.card"
    /// 流量包办理: order a data pack for this month or next month.
    public static let dataPackOrder: OperationName = "data.pack.order"
    /// 流量包退订: cancel next month's data pack.
    public static let dataPackCancel: OperationName = "data.pack.cancel"
    /// 基础业务办理: subscribe to a basic service (caller ID, ring-back tone, three-way calling…).
    public static let serviceSubscribe: OperationName = "service.subscribe"
    /// 基础业务退订: unsubscribe from a basic service.
    public static let serviceUnsubscribe: OperationName = "service.unsubscribe"
    /// 呼叫转移设置: forward calls (unconditional, busy, no answer, unreachable) to another number.
    public static let forwardingSet: OperationName = "forwarding.set"
    /// 取消呼叫转移: cancel call forwarding, one kind or all.
    public static let forwardingCancel: OperationName = "forwarding.cancel"
    /// 开通国际漫游: turn international roaming on.
    public static let roamingOn: OperationName = "roaming.on"
    /// 关闭国际漫游: turn international roaming off.
    public static let roamingOff: OperationName = "roaming.off"
    /// 积分兑换: redeem points for recharge value.
    public static let pointsRedeem: OperationName = "points.redeem"
    /// 投诉建议: file a complaint or suggestion; the ticket goes to the back office.
    public static let complaintFile: OperationName = "complaint.file"
    /// 历史投诉: the caller's recent tickets and where they stand.
    public static let complaintStatus: OperationName = "complaint.status"
    /// 垃圾短信举报: report a spam SMS, its sender and text.
    public static let spamReport: OperationName = "spam.report"

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
    /// Service orders handed to billing (a webhook's call or an outbox file): one record a delivery.
    public static let orderDeliver: OperationName = "order.deliver"
    /// Billing's answer to a service order: accepted or rejected.
    public static let orderAck: OperationName = "order.ack"
    /// An operator sending a dead or rejected order again (`selfcare orders retry`).
    public static let orderRetry: OperationName = "order.retry"
    /// An SMS notice handed to the SMS gateway (Kannel's sendsms): one record a call.
    public static let noticeSend: OperationName = "notice.send"
    /// A rejected service order's change undone, and the customer told.
    public static let orderCompensate: OperationName = "order.compensate"
    /// A batch of the billing system's data applied (`selfcare import`, the demo data): one record a file.
    public static let dataImport: OperationName = "import"
    /// A satisfaction rating 满意度评价 (1–5) given after a transaction, or the question skipped.
    public static let surveyRate: OperationName = "survey.rate"
    /// A console account viewing one subscriber's data (the subscriber view, the records of one number): the access
    /// record of who, when, which number and why (`inputs.reason`).
    public static let consoleView: OperationName = "console.view"
    /// An operator clearing a subscriber's password lockout from the console.
    public static let passwordUnlock: OperationName = "password.unlock"
    /// The caller of what the gateway does by itself: a due pending change applied by `selfcare tick` or the
    /// server's periodic task, a notice for a subscriber.
    public static let tickCaller = "system"

    /// Every operation of the carrier's service standard, in the order of SPEC §1.
    public static let all: [OperationName] = [
        .queryBalance, .queryPlan, .queryData, .queryPoints, .queryBill, .queryCalls, .queryServices, .queryPUK,
        .queryPayments, .lossReport, .lossCancel, .planChange, .planCancel, .suspendKeep, .suspendResume,
        .passwordChange, .rechargeCard, .dataPackOrder, .dataPackCancel, .serviceSubscribe, .serviceUnsubscribe,
        .forwardingSet, .forwardingCancel, .roamingOn, .roamingOff, .pointsRedeem, .complaintFile, .complaintStatus,
        .spamReport,
    ]

    /// Operations that change the subscriber's state (transactions 业务办理), or hand the back office a ticket: each
    /// applied one writes a service order.
    public var isTransaction: Bool { Self.transactions.contains(self) }

    private static let transactions: Set<OperationName> = [
        .lossReport, .lossCancel, .planChange, .planCancel, .suspendKeep, .suspendResume, .passwordChange,
        .rechargeCard, .dataPackOrder, .dataPackCancel, .serviceSubscribe, .serviceUnsubscribe, .forwardingSet,
        .forwardingCancel, .roamingOn, .roamingOff, .pointsRedeem, .complaintFile, .spamReport,
    ]
}
