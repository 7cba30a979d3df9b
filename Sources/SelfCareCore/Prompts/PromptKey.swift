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
    /// An operator cleared the password lockout from the console.
    public static let replyPasswordUnlock = PromptKey("reply.password.unlock")
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

    // The catalogue's replies (docs/operations.md).
    /// A card recharge of the caller's own postpaid number: the value and the new balance.
    public static let replyRechargeCard = PromptKey("reply.recharge.card")
    /// A card recharge of the caller's own prepaid number: also the validity it now runs to.
    public static let replyRechargeCardPrepaid = PromptKey("reply.recharge.card.prepaid")
    /// A card recharge of another number: the value only, never that number's balance.
    public static let replyRechargeCardOther = PromptKey("reply.recharge.card.other")
    /// A data pack ordered for this month.
    public static let replyDataPackOrder = PromptKey("reply.data.pack.order")
    /// A data pack ordered for next month.
    public static let replyDataPackOrderNext = PromptKey("reply.data.pack.order.next")
    /// Next month's data pack cancelled, its fee refunded.
    public static let replyDataPackCancel = PromptKey("reply.data.pack.cancel")
    /// A basic service subscribed.
    public static let replyServiceSubscribe = PromptKey("reply.service.subscribe")
    /// A basic service unsubscribed.
    public static let replyServiceUnsubscribe = PromptKey("reply.service.unsubscribe")
    /// Call forwarding set.
    public static let replyForwardingSet = PromptKey("reply.forwarding.set")
    /// Call forwarding cancelled.
    public static let replyForwardingCancel = PromptKey("reply.forwarding.cancel")
    /// International roaming on, the deposit taken.
    public static let replyRoamingOn = PromptKey("reply.roaming.on")
    /// International roaming on, the deposit taken, three-way calling closed.
    public static let replyRoamingOnThreeWay = PromptKey("reply.roaming.on.threeway")
    /// International roaming on for an exempt tier, no deposit.
    public static let replyRoamingOnExempt = PromptKey("reply.roaming.on.exempt")
    /// International roaming on for an exempt tier, three-way calling closed.
    public static let replyRoamingOnExemptThreeWay = PromptKey("reply.roaming.on.exempt.threeway")
    /// International roaming off, no deposit held.
    public static let replyRoamingOff = PromptKey("reply.roaming.off")
    /// International roaming off; the deposit is refunded later.
    public static let replyRoamingOffDeposit = PromptKey("reply.roaming.off.deposit")
    /// Points redeemed for recharge value.
    public static let replyPointsRedeem = PromptKey("reply.points.redeem")
    /// A complaint filed, with its ticket number.
    public static let replyComplaintFile = PromptKey("reply.complaint.file")
    /// A spam report filed, with its ticket number.
    public static let replySpamReport = PromptKey("reply.spam.report")
    /// The recent tickets and where they stand.
    public static let replyComplaintStatus = PromptKey("reply.complaint.status")
    /// No ticket on file.
    public static let replyComplaintStatusNone = PromptKey("reply.complaint.status.none")
    /// One ticket in the list: number, date, category, progress.
    public static let itemTicket = PromptKey("item.ticket")
    /// One ticket in the list with the back office's answer.
    public static let itemTicketAnswered = PromptKey("item.ticket.answered")
    /// One call forwarding in the services query.
    public static let itemForwarding = PromptKey("item.forwarding")
    /// A ticket the back office has not answered yet.
    public static let ticketProcessing = PromptKey("ticket.processing")
    /// A ticket the back office answered.
    public static let ticketAnswered = PromptKey("ticket.answered")
    /// A ticket the back office closed without acting (rejected).
    public static let ticketClosed = PromptKey("ticket.closed")
    /// International roaming on, in the services query.
    public static let roamingStateOn = PromptKey("roaming.state.on")
    /// International roaming off, in the services query.
    public static let roamingStateOff = PromptKey("roaming.state.off")
    /// Every kind of call forwarding at once, in a cancellation's reply.
    public static let forwardingAll = PromptKey("forwarding.kind.all")
    /// The name of a kind of call forwarding in replies.
    public static func forwardingKind(_ kind: ForwardingKind) -> PromptKey {
        PromptKey("forwarding.kind.\(kind.rawValue)")
    }
    /// The name of a complaint category in replies.
    public static func ticketCategory(_ category: String) -> PromptKey { PromptKey("ticket.category.\(category)") }

    // The satisfaction survey (docs/operations.md).
    /// The question after a transaction on USSD or IVR.
    public static func surveyAsk(on channel: Channel) -> PromptKey { PromptKey("survey.ask.\(channel.rawValue)") }
    /// The thanks for a rating.
    public static let surveyThanks = PromptKey("survey.thanks")
    /// The goodbye when the customer skipped the rating.
    public static let surveySkipped = PromptKey("survey.skipped")
    /// An operation's name in replies (`operation.recharge.card`: 充值卡充值), as the survey notice names it.
    public static func operationName(_ operation: OperationName) -> PromptKey {
        PromptKey("operation.\(operation.rawValue)")
    }
    /// The notice that asks an SMS customer to rate a transaction.
    public static let noticeSurvey = PromptKey("notice.survey")

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
    /// One entry of the USSD list for `slot`: `ussd.plan.item` for a plan, else `ussd.item.SLOT` (`ussd.item.pack`).
    public static func ussdItem(_ slot: String) -> PromptKey {
        slot == "plan" ? ussdPlanItem : PromptKey("ussd.item.\(slot)")
    }
    /// The answer when the list for `slot` is empty (USSD and IVR): `ussd.no.plans`, else `ussd.no.SLOT`.
    public static func ussdNoChoice(_ slot: String) -> PromptKey {
        slot == "plan" ? ussdNoPlans : PromptKey("ussd.no.\(slot)")
    }
    /// One entry of the spoken IVR list for `slot`: `ivr.plan.item` for a plan, else `ivr.item.SLOT`.
    public static func ivrItem(_ slot: String) -> PromptKey {
        slot == "plan" ? ivrPlanItem : PromptKey("ivr.item.\(slot)")
    }
    /// The list slots other than `plan`, whose item and empty-list texts every prompt file holds.
    static let otherListSlots = ["pack", "service", "reward"]

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
        .replyRechargeCard, .replyRechargeCardPrepaid, .replyRechargeCardOther, .replyDataPackOrder,
        .replyDataPackOrderNext, .replyDataPackCancel, .replyServiceSubscribe, .replyServiceUnsubscribe,
        .replyForwardingSet, .replyForwardingCancel, .replyRoamingOn, .replyRoamingOnThreeWay, .replyRoamingOnExempt,
        .replyRoamingOnExemptThreeWay, .replyRoamingOff, .replyRoamingOffDeposit, .replyPointsRedeem,
        .replyComplaintFile, .replySpamReport, .replyComplaintStatus, .replyComplaintStatusNone,
    ]
    /// Notices and list items the rules and the engine render.
    public static let notices: [PromptKey] =
        [
            .noticePasswordThirdParty, .noticePendingDropped, .noticePlanApplied, .noticeSuspendApplied,
            .noticePasswordLocked, .noticeLossOtherPhone, .noticeOrderCompensated, .itemCallIn,
            .itemCallOut, .itemPendingPlan, .itemPendingSuspend, .itemSeparator, .itemPayment, .itemTicket,
            .itemTicketAnswered, .itemForwarding, .ticketProcessing, .ticketAnswered, .ticketClosed, .roamingStateOn,
            .roamingStateOff, .forwardingAll, .surveyThanks, .surveySkipped, .noticeSurvey,
        ] + Payment.Method.allCases.map(paymentMethod) + OperationName.all.map(operationName)
        + ForwardingKind.allCases.map(forwardingKind)
        + (Ticket.categories + ["spam"]).map(ticketCategory)

    /// Every key the gateway renders itself, in every language: replies, notices, refusals, confirmations and
    /// the channels' texts. `selfcare check` requires each.
    public static var gatewayKeys: [PromptKey] {
        let refusals = ReasonCode.customerFacing.map(refused) + [.refusedBadPasswordLocked, .refusedBadPasswordOne]
        let confirmations = replies.filter { reply in
            OperationPolicy.defaultConfirmationRequired.contains { reply.rawValue.hasPrefix("reply.\($0.rawValue)") }
        }.map(confirmation(of:))
        let lists =
            otherListSlots.flatMap { [ussdItem($0), ussdNoChoice($0), ivrItem($0)] } + [
                surveyAsk(on: .ussd), surveyAsk(on: .ivr),
            ]
        return replies + notices + refusals + confirmations + lists + [
            .confirmNothing, .confirmAskSms, .smsHelp, .replyPasswordSet, .replyPasswordUnlock,
            .refused(.notLocked),
        ]
    }
}
