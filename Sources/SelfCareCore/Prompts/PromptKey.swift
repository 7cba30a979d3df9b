import Foundation

/// The key of a prompt text (`reply.query.balance`), in the prompt files of every language.
///
/// The keys the gateway renders itself are declared here, once, and `PromptKey.gatewayKeys` lists them for
/// `selfcare check`; a grammar names others (its menus' titles and options), checked when it loads.
public struct PromptKey: RawRepresentable, Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The key as the prompt files write it (`reply.query.balance`).
    public let rawValue: String
    /// The key `rawValue`; a key no file holds renders as itself.
    public init(rawValue: String) { self.rawValue = rawValue }
    /// The key `rawValue`, as `init(rawValue:)`.
    public init(_ rawValue: String) { self.rawValue = rawValue }
    /// The key of a literal (`"reply.query.balance"`), as `init(rawValue:)`.
    public init(stringLiteral value: String) { self.rawValue = value }
    /// The key as the prompt files write it.
    public var description: String { rawValue }

    // Replies: one for each answer the rules give (`Decision.apply`).
    /// The reply to a cancelled loss report.
    public static let replyLossCancel = PromptKey("reply.loss.cancel")
    /// The reply to a loss report, with its time.
    public static let replyLossReport = PromptKey("reply.loss.report")
    /// The reply to a changed service password.
    public static let replyPasswordChange = PromptKey("reply.password.change")
    /// The reply to an operator's `password set`.
    public static let replyPasswordSet = PromptKey("reply.password.set")
    /// The reply to cancelled pending changes, listing them.
    public static let replyPlanCancel = PromptKey("reply.plan.cancel")
    /// The reply to a plan change scheduled for next month.
    public static let replyPlanChangeNext = PromptKey("reply.plan.change.next")
    /// The reply to a plan change made at once.
    public static let replyPlanChangeNow = PromptKey("reply.plan.change.now")
    /// The balance query's reply: the balance and this month's charges.
    public static let replyQueryBalance = PromptKey("reply.query.balance")
    /// The bill query's reply: one month's charges and usage.
    public static let replyQueryBill = PromptKey("reply.query.bill")
    /// The recent-calls query's reply: how many calls, and the list.
    public static let replyQueryCalls = PromptKey("reply.query.calls")
    /// The recent-calls query's reply when there are no calls.
    public static let replyQueryCallsNone = PromptKey("reply.query.calls.none")
    /// The payments query's reply: how many payments, and the list.
    public static let replyQueryPayments = PromptKey("reply.query.payments")
    /// The payments query's reply when there are no payments on file.
    public static let replyQueryPaymentsNone = PromptKey("reply.query.payments.none")
    /// One payment in the payments query's list.
    public static let itemPayment = PromptKey("item.payment")
    /// The name of a payment method in replies (`payment.method.online`).
    public static func paymentMethod(_ method: Payment.Method) -> PromptKey {
        PromptKey("payment.method.\(method.rawValue)")
    }
    /// The data query's reply: used, left and total this month.
    public static let replyQueryData = PromptKey("reply.query.data")
    /// The plan query's reply: the allowances left this month.
    public static let replyQueryPlan = PromptKey("reply.query.plan")
    /// The plan query's reply when a plan change is pending, naming it and its date.
    public static let replyQueryPlanPending = PromptKey("reply.query.plan.pending")
    /// The points query's reply.
    public static let replyQueryPoints = PromptKey("reply.query.points")
    /// The PUK query's reply, carrying the code.
    public static let replyQueryPuk = PromptKey("reply.query.puk")
    /// The services query's reply: plan and fee, contract end and pending changes.
    public static let replyQueryServices = PromptKey("reply.query.services")
    /// The reply to a suspension scheduled for next month.
    public static let replySuspendKeepNext = PromptKey("reply.suspend.keep.next")
    /// The reply to a suspension made at once.
    public static let replySuspendKeepNow = PromptKey("reply.suspend.keep.now")
    /// The reply to a resumed number.
    public static let replySuspendResume = PromptKey("reply.suspend.resume")

    // Notices the tick and the engine write for a subscriber.
    /// The notice for a subscriber that another phone tried their service password and failed.
    public static let noticePasswordThirdParty = PromptKey("notice.password.third_party")
    /// The notice to a subscriber whose password the wrong tries just locked, with until when.
    public static let noticePasswordLocked = PromptKey("notice.password.locked")
    /// The notice to a subscriber whose number another phone reported lost.
    public static let noticeLossOtherPhone = PromptKey("notice.loss.other_phone")
    /// The notice to a subscriber whose change billing rejected, and which was undone.
    public static let noticeOrderCompensated = PromptKey("notice.order.compensated")
    /// The notice that a due pending change could not be applied.
    public static let noticePendingDropped = PromptKey("notice.pending.dropped")
    /// The notice that a scheduled plan change took effect.
    public static let noticePlanApplied = PromptKey("notice.plan.applied")
    /// The notice that a scheduled suspension took effect.
    public static let noticeSuspendApplied = PromptKey("notice.suspend.applied")

    // List items the replies are made of.
    /// One incoming call in the recent-calls list.
    public static let itemCallIn = PromptKey("item.call.in")
    /// One outgoing call in the recent-calls list, with its charge.
    public static let itemCallOut = PromptKey("item.call.out")
    /// One pending plan change in a list of pending changes.
    public static let itemPendingPlan = PromptKey("item.pending.plan")
    /// One pending suspension in a list of pending changes.
    public static let itemPendingSuspend = PromptKey("item.pending.suspend")
    /// What stands between two pending changes in a list.
    public static let itemSeparator = PromptKey("item.separator")

    // Refusals that are not one reason's text (`refused(_:)` gives those).
    /// The refusal of the wrong password that locks the service password.
    public static let refusedBadPasswordLocked = PromptKey("refused.bad_password.locked")
    /// The refusal of a wrong password that leaves one try.
    public static let refusedBadPasswordOne = PromptKey("refused.bad_password.one")
    /// The apology for a fault inside the gateway.
    public static let refusedInternalError = PromptKey("refused.internal_error")

    // Confirmations: what is asked, how to answer, nothing to confirm.
    /// How to confirm on SMS (reply `Y` within the time limit), after what will happen.
    public static let confirmAskSms = PromptKey("confirm.ask.sms")
    /// The answer to a confirmation when nothing waits for one.
    public static let confirmNothing = PromptKey("confirm.nothing")

    // The SMS channel's own texts.
    /// The SMS help text, also the answer to a text no command matches.
    public static let smsHelp = PromptKey("sms.help")

    // The USSD channel's own texts.
    /// The USSD confirmation screen: what will happen, then confirm or cancel.
    public static let ussdAskConfirm = PromptKey("ussd.ask.confirm")
    /// The title of the USSD plan list.
    public static let ussdAskPlan = PromptKey("ussd.ask.plan")
    /// The USSD screen after a declined confirmation, or after an ending option without a text of its own.
    public static let ussdCancelled = PromptKey("ussd.cancelled")
    /// The USSD screen for an input to a session that is no longer live (timed out).
    public static let ussdExpired = PromptKey("ussd.expired")
    /// The line heading a USSD screen shown again after an answer it does not take.
    public static let ussdInvalid = PromptKey("ussd.invalid")
    /// The USSD navigation line that goes back one menu.
    public static let ussdNavBack = PromptKey("ussd.nav.back")
    /// The USSD navigation line that goes to the main menu.
    public static let ussdNavHome = PromptKey("ussd.nav.home")
    /// The USSD navigation line that shows the next page.
    public static let ussdNavMore = PromptKey("ussd.nav.more")
    /// The answer when there is no plan to choose from (USSD, and the IVR too).
    public static let ussdNoPlans = PromptKey("ussd.no.plans")
    /// One plan in the USSD plan list, with its fee.
    public static let ussdPlanItem = PromptKey("ussd.plan.item")

    // The IVR channel's own texts.
    /// The IVR option for an agent (key 0), after the choices of a menu or a plan list.
    public static let ivrAgentOption = PromptKey("ivr.agent.option")
    /// The IVR confirmation: what will happen, then the keys to confirm or cancel.
    public static let ivrAskConfirm = PromptKey("ivr.ask.confirm")
    /// The IVR plan list's opening words.
    public static let ivrAskPlan = PromptKey("ivr.ask.plan")
    /// The IVR option that goes back (key `*`), in a submenu or a plan list.
    public static let ivrBackOption = PromptKey("ivr.back.option")
    /// What the IVR says after a declined confirmation.
    public static let ivrCancelled = PromptKey("ivr.cancelled")
    /// The IVR's goodbye before it hangs up.
    public static let ivrGoodbye = PromptKey("ivr.goodbye")
    /// What ends a spoken IVR menu or plan list.
    public static let ivrMenuEnd = PromptKey("ivr.menu.end")
    /// The IVR's apology when it heard no key, before the step again.
    public static let ivrNoinput = PromptKey("ivr.noinput")
    /// The IVR's apology for a key that is not a choice, before the step again.
    public static let ivrNomatch = PromptKey("ivr.nomatch")
    /// One spoken IVR menu option: its label and its key.
    public static let ivrOption = PromptKey("ivr.option")
    /// What stands between two spoken options of an IVR menu or plan list.
    public static let ivrOptionSeparator = PromptKey("ivr.option.separator")
    /// One spoken plan in the IVR plan list, with its fee and key.
    public static let ivrPlanItem = PromptKey("ivr.plan.item")
    /// What ends an IVR menu's title before its options, when the title ends without punctuation.
    public static let ivrTitleEnd = PromptKey("ivr.title.end")
    /// What the IVR says before it transfers the call to an agent.
    public static let ivrTransfer = PromptKey("ivr.transfer")

    /// The refusal text of `reason` (`refused.bad_password`).
    public static func refused(_ reason: ReasonCode) -> PromptKey { PromptKey("refused.\(reason.rawValue)") }

    /// What a transaction will do, asked before it is done: `reply.loss.report` → `confirm.loss.report`.
    public static func confirmation(of reply: PromptKey) -> PromptKey {
        PromptKey("confirm." + reply.rawValue.dropFirst("reply.".count))
    }

    /// How a confirmation is given on `channel` (`confirm.ask.sms`: reply Y within N minutes); a channel
    /// without one asks on its own screen.
    public static func confirmationHow(on channel: Channel) -> PromptKey {
        PromptKey("confirm.ask.\(channel.rawValue)")
    }

    /// The question that asks for `slot` on a session channel (`ussd.ask.password`, `ivr.ask.subject`).
    public static func ask(_ slot: String, on channel: Channel) -> PromptKey {
        PromptKey("\(channel.rawValue).ask.\(slot)")
    }

    /// The recording played instead of the text of `key` at the IVR, when the prompts name one.
    public static func audio(of key: PromptKey) -> PromptKey { PromptKey("ivr.audio.\(key.rawValue)") }

    /// Every reply the rules can answer with.
    public static let replies: [PromptKey] = [
        .replyLossCancel, .replyLossReport, .replyPasswordChange, .replyPlanCancel, .replyPlanChangeNext,
        .replyPlanChangeNow, .replyQueryBalance, .replyQueryBill, .replyQueryCalls, .replyQueryCallsNone,
        .replyQueryData, .replyQueryPayments, .replyQueryPaymentsNone, .replyQueryPlan, .replyQueryPlanPending,
        .replyQueryPoints, .replyQueryPuk,
        .replyQueryServices, .replySuspendKeepNext, .replySuspendKeepNow, .replySuspendResume,
    ]
    /// Notices and list items the rules and the engine render.
    public static let notices: [PromptKey] =
        [
            .noticePasswordThirdParty, .noticePendingDropped, .noticePlanApplied, .noticeSuspendApplied,
            .noticePasswordLocked, .noticeLossOtherPhone, .noticeOrderCompensated, .itemCallIn,
            .itemCallOut, .itemPendingPlan, .itemPendingSuspend, .itemSeparator, .itemPayment,
        ] + Payment.Method.allCases.map(paymentMethod)

    /// Every key the gateway renders itself, in every language: replies, notices, refusals, confirmations and
    /// the channels' texts. `selfcare check` requires each.
    public static var gatewayKeys: [PromptKey] {
        let refusals = ReasonCode.customerFacing.map(refused) + [.refusedBadPasswordLocked, .refusedBadPasswordOne]
        let confirmations = replies.filter { reply in
            OperationPolicy.defaultConfirmationRequired.contains { reply.rawValue.hasPrefix("reply.\($0.rawValue)") }
        }.map(confirmation(of:))
        return replies + notices + refusals + confirmations + [
            .confirmNothing, .confirmAskSms, .smsHelp, .replyPasswordSet,
        ]
    }
}
