import Foundation

/// The key of a prompt text (`reply.query.balance`), in the prompt files of every language.
///
/// The keys the gateway renders itself are declared here, once, and `PromptKey.gatewayKeys` lists them for
/// `selfcare check`; a grammar names others (its menus' titles and options), checked when it loads.
public struct PromptKey: RawRepresentable, Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }

    // Replies: one for each answer the rules give (`Decision.apply`).
    public static let replyLossCancel = PromptKey("reply.loss.cancel")
    public static let replyLossReport = PromptKey("reply.loss.report")
    public static let replyPasswordChange = PromptKey("reply.password.change")
    public static let replyPasswordSet = PromptKey("reply.password.set")
    public static let replyPlanCancel = PromptKey("reply.plan.cancel")
    public static let replyPlanChangeNext = PromptKey("reply.plan.change.next")
    public static let replyPlanChangeNow = PromptKey("reply.plan.change.now")
    public static let replyQueryBalance = PromptKey("reply.query.balance")
    public static let replyQueryBill = PromptKey("reply.query.bill")
    public static let replyQueryCalls = PromptKey("reply.query.calls")
    public static let replyQueryCallsNone = PromptKey("reply.query.calls.none")
    public static let replyQueryData = PromptKey("reply.query.data")
    public static let replyQueryPlan = PromptKey("reply.query.plan")
    public static let replyQueryPlanPending = PromptKey("reply.query.plan.pending")
    public static let replyQueryPoints = PromptKey("reply.query.points")
    public static let replyQueryPuk = PromptKey("reply.query.puk")
    public static let replyQueryServices = PromptKey("reply.query.services")
    public static let replySuspendKeepNext = PromptKey("reply.suspend.keep.next")
    public static let replySuspendKeepNow = PromptKey("reply.suspend.keep.now")
    public static let replySuspendResume = PromptKey("reply.suspend.resume")

    // Notices the tick and the engine write for a subscriber.
    public static let noticePasswordThirdParty = PromptKey("notice.password.third_party")
    public static let noticePendingDropped = PromptKey("notice.pending.dropped")
    public static let noticePlanApplied = PromptKey("notice.plan.applied")
    public static let noticeSuspendApplied = PromptKey("notice.suspend.applied")

    // List items the replies are made of.
    public static let itemCallIn = PromptKey("item.call.in")
    public static let itemCallOut = PromptKey("item.call.out")
    public static let itemPendingPlan = PromptKey("item.pending.plan")
    public static let itemPendingSuspend = PromptKey("item.pending.suspend")
    public static let itemSeparator = PromptKey("item.separator")

    // Refusals that are not one reason's text (`refused(_:)` gives those).
    public static let refusedBadPasswordLocked = PromptKey("refused.bad_password.locked")
    public static let refusedBadPasswordOne = PromptKey("refused.bad_password.one")
    public static let refusedInternalError = PromptKey("refused.internal_error")

    // Confirmations: what is asked, how to answer, nothing to confirm.
    public static let confirmAskSms = PromptKey("confirm.ask.sms")
    public static let confirmNothing = PromptKey("confirm.nothing")

    // The SMS channel's own texts.
    public static let smsHelp = PromptKey("sms.help")

    // The USSD channel's own texts.
    public static let ussdAskConfirm = PromptKey("ussd.ask.confirm")
    public static let ussdAskPlan = PromptKey("ussd.ask.plan")
    public static let ussdCancelled = PromptKey("ussd.cancelled")
    public static let ussdExpired = PromptKey("ussd.expired")
    public static let ussdInvalid = PromptKey("ussd.invalid")
    public static let ussdNavBack = PromptKey("ussd.nav.back")
    public static let ussdNavHome = PromptKey("ussd.nav.home")
    public static let ussdNavMore = PromptKey("ussd.nav.more")
    public static let ussdNoPlans = PromptKey("ussd.no.plans")
    public static let ussdPlanItem = PromptKey("ussd.plan.item")

    // The IVR channel's own texts.
    public static let ivrAgentOption = PromptKey("ivr.agent.option")
    public static let ivrAskConfirm = PromptKey("ivr.ask.confirm")
    public static let ivrAskPlan = PromptKey("ivr.ask.plan")
    public static let ivrBackOption = PromptKey("ivr.back.option")
    public static let ivrCancelled = PromptKey("ivr.cancelled")
    public static let ivrGoodbye = PromptKey("ivr.goodbye")
    public static let ivrMenuEnd = PromptKey("ivr.menu.end")
    public static let ivrNoinput = PromptKey("ivr.noinput")
    public static let ivrNomatch = PromptKey("ivr.nomatch")
    public static let ivrOption = PromptKey("ivr.option")
    public static let ivrOptionSeparator = PromptKey("ivr.option.separator")
    public static let ivrPlanItem = PromptKey("ivr.plan.item")
    public static let ivrTitleEnd = PromptKey("ivr.title.end")
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
        .replyQueryData, .replyQueryPlan, .replyQueryPlanPending, .replyQueryPoints, .replyQueryPuk,
        .replyQueryServices, .replySuspendKeepNext, .replySuspendKeepNow, .replySuspendResume,
    ]
    /// Notices and list items the rules and the engine render.
    public static let notices: [PromptKey] = [
        .noticePasswordThirdParty, .noticePendingDropped, .noticePlanApplied, .noticeSuspendApplied, .itemCallIn,
        .itemCallOut, .itemPendingPlan, .itemPendingSuspend, .itemSeparator,
    ]

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
