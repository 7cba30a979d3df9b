import Foundation

/// When a change takes effect.
public enum Timing: String, Sendable {
    /// At once (当月).
    case now
    /// On the first day of next month (次月).
    case next

    /// Reads `now`/`this`/`DY`/`当月` or `next`/`CY`/`次月`; nil for anything else.
    public init?(argument: String) {
        switch argument.lowercased() {
        case "now", "this", "dy", "当月", "本月": self = .now
        case "next", "cy", "次月", "下月": self = .next
        default: return nil
        }
    }
}

/// What the rules decided for one attempt.
public enum Decision: Sendable, Equatable {
    /// Refused: nothing changes. `values` fill the refusal text.
    case refuse(ReasonCode, values: [String: String] = [:])
    /// Allowed: apply `effects`, reply with `replyKey` filled with `values`.
    case apply([Effect], replyKey: PromptKey, values: [String: String] = [:])
}

/// A state change an allowed operation makes.
public enum Effect: Sendable, Equatable {
    /// Stores the subscriber as changed: a new state, plan or loss state.
    case saveSubscriber(Subscriber)
    /// Stores a pending change, replacing the number's pending change of the same kind.
    case schedule(PendingChange)
    /// Deletes the number's pending change of this kind, if there is one.
    case cancelPending(PendingChange.Kind)
    /// Stores what the account holds beyond its subscriber row: services, forwarding, roaming, packs.
    case saveFeatures(SubscriberFeatures)
    /// Stores a recharge card as changed (used).
    case saveCard(RechargeCard)
    /// Files a complaint or spam ticket for the back office.
    case fileTicket(Ticket)
}

/// The carrier's business rules (SPEC §1), as a pure function of the subscriber and the store's data.
///
/// The rules see the subscriber after authentication, inside the transaction that will apply the
/// result, so what they decide is what lands.
public struct BusinessRules: Sendable {
    /// The carrier's calendar: what today and this month are, and how replies show times.
    public var calendar: LocalCalendar
    /// How many calls `query.calls` lists, newest first (and payments `query.payments`).
    public var recentCallsShown: Int
    /// The catalogue's settings: roaming deposit, card PIN limits, complaint limits.
    public var catalogue: CatalogueRules

    /// Reply values a confirmation question states and `Y` must find unchanged (a fee, a card's value, points): the
    /// customer agreed to these amounts, not to whatever the catalogue says by then.
    public static let confirmedTerms = ["amount", "fee", "cost", "deposit"]

    /// Reply values that are shown to the customer but masked in the service record (a SIM's PUK).
    public static let valuesMaskedInRecords: Set<String> = ["puk"]
    /// What stands for such a value in the record's reply.
    public static let maskedValue = "********"

    /// The reply as the customer got it, from its record: the record masks the PUK of a `query.puk` that
    /// succeeded, and the subscriber's PUK is put back (a repeated message must get what the first got).
    public static func replyAsSent(_ record: ServiceRecord, reader: some StoreReader) throws -> String {
        guard record.operation == OperationName.queryPUK.rawValue, record.result == ResultKind.ok.rawValue,
            record.reply.contains(maskedValue), let puk = try reader.subscriber(record.subject)?.puk, !puk.isEmpty
        else { return record.reply }
        return record.reply.replacingOccurrences(of: maskedValue, with: puk)
    }

    /// The rules on `calendar`, listing `recentCallsShown` calls, with the catalogue's settings `catalogue`.
    public init(calendar: LocalCalendar, recentCallsShown: Int = 5, catalogue: CatalogueRules = CatalogueRules()) {
        self.calendar = calendar
        self.recentCallsShown = recentCallsShown
        self.catalogue = catalogue
    }

    /// Whether `subscriber` may take `plan`: on sale, and for its payment type. The one statement of it: a
    /// change is refused `plan_not_eligible` otherwise, and menus offer only what it allows.
    public static func isEligible(_ plan: Plan, for subscriber: Subscriber) -> Bool {
        plan.onSale && plan.payment.allows(subscriber.payment)
    }

    /// The plans `subscriber` may move to, from `plans` in their order: eligible, and not its current plan.
    public static func eligiblePlans(for subscriber: Subscriber, among plans: [Plan]) -> [Plan] {
        plans.filter { isEligible($0, for: subscriber) && $0.code != subscriber.planCode }
    }

    /// Checks the arguments `operation` needs before anything else; returns a refusal when one is malformed.
    public func validateArguments(_ operation: OperationName, _ arguments: [String: String]) -> Decision? {
        switch operation {
        case .queryBill:
            if let month = arguments["month"], Month(month) == nil {
                return .refuse(.invalidArgument, values: ["argument": "month", "value": month])
            }
        case .planChange:
            guard let plan = arguments["plan"], !plan.isEmpty else {
                return .refuse(.invalidArgument, values: ["argument": "plan", "value": ""])
            }
            if let when = arguments["when"], Timing(argument: when) == nil {
                return .refuse(.invalidArgument, values: ["argument": "when", "value": when])
            }
        case .suspendKeep:
            if let when = arguments["when"], Timing(argument: when) == nil {
                return .refuse(.invalidArgument, values: ["argument": "when", "value": when])
            }
        default: return validateCatalogueArguments(operation, arguments)
        }
        return nil
    }

    /// The reads `decide` makes of the store for `operation` about `subject` at `now`, beyond the subscriber: this
    /// month's usage for the queries that show it (`ServiceStore.write(for:expecting:_:)`).
    public func expectedReads(of operation: OperationName, subject: String, now: Date) -> [ExpectedRead] {
        switch operation {
        case .queryBalance, .queryPlan, .queryData: [.usage(msisdn: subject, month: calendar.date(of: now).monthOf)]
        default: []
        }
    }

    /// Decides `operation` for `subscriber` (already authenticated where the policy asks).
    ///
    /// `password.change` is decided by the engine, which owns the hashes; here it only needs a live account.
    /// `caller` is the number the request came from, when it is not the subscriber's own (a card recharge for
    /// another number is answered without that number's balance).
    public func decide(
        _ operation: OperationName, for subscriber: Subscriber, arguments: [String: String], language: Language,
        prompts: PromptCatalog, now: Date, store: any StoreReader, caller: String? = nil
    ) throws -> Decision {
        let today = calendar.date(of: now)
        let thisMonth = today.monthOf
        var s = subscriber
        var values = ["number": s.msisdn, "name": s.name]
        if s.status == .closed { return .refuse(.closed, values: values) }

        func planName(_ code: String) throws -> String { try store.plan(code)?.name(in: language) ?? code }
        /// A change effective on the first day of next month, replacing any pending one of its kind.
        func scheduleNextMonth(_ kind: PendingChange.Kind, plan: String?, reply: PromptKey) -> Decision {
            let effective = thisMonth.next.firstDay
            values[.date] = effective.description
            let change = PendingChange(
                msisdn: s.msisdn, kind: kind, planCode: plan, effective: effective, requestedAt: now)
            return .apply([.schedule(change)], replyKey: reply, values: values)
        }
        func describe(_ changes: [PendingChange]) throws -> String {
            try changes.map { change in
                change.kind == .planChange
                    ? prompts.render(
                        .itemPendingPlan, in: language,
                        ["date": change.effective.description, "plan": try planName(change.planCode ?? "")])
                    : prompts.render(.itemPendingSuspend, in: language, ["date": change.effective.description])
            }.joined(separator: prompts.render(.itemSeparator, in: language))
        }

        switch operation {
        case .queryBalance:
            let usage = try store.usage(s.msisdn, month: thisMonth)
            values[.balance] = formatYuan(s.balanceFen)
            values[.charges] = formatYuan(usage?.chargesFen ?? 0)
            values[.month] = thisMonth.description
            return .apply([], replyKey: .replyQueryBalance, values: values)

        case .queryPlan, .queryData:
            guard let plan = try store.plan(s.planCode) else { return .refuse(.noData, values: values) }
            let usage = try store.usage(s.msisdn, month: thisMonth)
            values[.plan] = plan.name(in: language)
            values[.month] = thisMonth.description
            values[.dataTotal] = String(plan.dataMB)
            values[.dataUsed] = String(usage?.dataUsedMB ?? 0)
            values[.dataLeft] = String(max(0, plan.dataMB - (usage?.dataUsedMB ?? 0)))
            if operation == .queryData { return .apply([], replyKey: .replyQueryData, values: values) }
            values[.voiceLeft] = String(max(0, plan.voiceMinutes - (usage?.voiceUsed ?? 0)))
            values[.smsLeft] = String(max(0, plan.sms - (usage?.smsUsed ?? 0)))
            if let pending = try store.pendingChanges(s.msisdn).first(where: { $0.kind == .planChange }),
                let code = pending.planCode
            {
                values[.pendingPlan] = try planName(code)
                values[.pendingDate] = pending.effective.description
                return .apply([], replyKey: .replyQueryPlanPending, values: values)
            }
            return .apply([], replyKey: .replyQueryPlan, values: values)

        case .queryPoints:
            values[.points] = String(s.points)
            return .apply([], replyKey: .replyQueryPoints, values: values)

        case .queryBill:
            let month = arguments["month"].flatMap { Month($0) } ?? thisMonth.previous
            values[.month] = month.description
            guard let usage = try store.usage(s.msisdn, month: month) else { return .refuse(.noData, values: values) }
            values[.charges] = formatYuan(usage.chargesFen)
            values[.voice] = String(usage.voiceUsed)
            values[.sms] = String(usage.smsUsed)
            values[.data] = String(usage.dataUsedMB)
            return .apply([], replyKey: .replyQueryBill, values: values)

        case .queryCalls:
            let calls = try store.recentCalls(s.msisdn, limit: recentCallsShown)
            values[.count] = String(calls.count)
            values[.calls] = calls.map { call in
                prompts.render(
                    call.outgoing ? .itemCallOut : .itemCallIn, in: language,
                    [
                        "time": calendar.dateTime(of: call.startedAt), "peer": call.peer,
                        "duration": "\(call.durationSeconds / 60):\(pad2(call.durationSeconds % 60))",
                        "charge": formatYuan(call.chargeFen),
                    ])
            }.joined(separator: "\n")
            return .apply([], replyKey: calls.isEmpty ? .replyQueryCallsNone : .replyQueryCalls, values: values)

        case .queryPayments:
            let payments = try store.recentPayments(s.msisdn, limit: recentCallsShown)
            values[.count] = String(payments.count)
            values[.payments] = payments.map { payment in
                prompts.render(
                    .itemPayment, in: language,
                    [
                        "time": calendar.dateTime(of: payment.paidAt), "amount": formatYuan(payment.amountFen),
                        "method": prompts.render(PromptKey.paymentMethod(payment.method), in: language),
                    ])
            }.joined(separator: "\n")
            return .apply(
                [], replyKey: payments.isEmpty ? .replyQueryPaymentsNone : .replyQueryPayments, values: values)

        case .queryServices:
            let plan = try store.plan(s.planCode)
            values[.plan] = plan?.name(in: language) ?? s.planCode
            values[.fee] = formatYuan(plan?.monthlyFeeFen ?? 0)
            values[.status] = s.status.rawValue
            values[.contractEnd] = s.contractEnd.map(\.description) ?? "-"
            values[.premium] = s.premium ? "Y" : "N"
            values[.pending] = try describe(store.pendingChanges(s.msisdn))
            if values[.pending]!.isEmpty { values[.pending] = "-" }
            let features = try store.features(s.msisdn)
            let services = try features.services.sorted().map { code in
                try store.basicService(code)?.name(in: language) ?? code
            }
            values[.services] =
                services.isEmpty ? "-" : services.joined(separator: prompts.render(.itemSeparator, in: language))
            let forwarding = ForwardingKind.allCases.compactMap { kind in
                features.forwarding[kind.rawValue].map { target in
                    prompts.render(
                        .itemForwarding, in: language,
                        ["kind": prompts.render(.forwardingKind(kind), in: language), "target": target])
                }
            }
            values[.forwarding] =
                forwarding.isEmpty ? "-" : forwarding.joined(separator: prompts.render(.itemSeparator, in: language))
            values[.roaming] = prompts.render(features.roaming ? .roamingStateOn : .roamingStateOff, in: language)
            return .apply([], replyKey: .replyQueryServices, values: values)

        case .queryPUK:
            guard let puk = s.puk, !puk.isEmpty else { return .refuse(.noData, values: values) }
            values[.puk] = puk
            return .apply([], replyKey: .replyQueryPuk, values: values)

        case .lossReport:
            switch s.status {
            case .lost: return .refuse(.alreadyLost, values: values)
            case .suspended: return .refuse(.stateSuspended, values: values)
            case .closed: return .refuse(.closed, values: values)
            case .normal, .arrears:
                if s.payment == .prepaid && (s.prepaidPeriod ?? .valid) != .valid {
                    values[.period] = s.prepaidPeriod?.rawValue ?? "-"
                    return .refuse(.prepaidPeriod, values: values)
                }
            }
            s.statusBeforeLoss = s.status
            s.status = .lost
            values[.time] = calendar.dateTime(of: now)
            return .apply([.saveSubscriber(s)], replyKey: .replyLossReport, values: values)

        case .lossCancel:
            guard s.status == .lost else { return .refuse(.notLost, values: values) }
            s.status = s.statusBeforeLoss ?? .normal
            s.statusBeforeLoss = nil
            values[.time] = calendar.dateTime(of: now)
            return .apply([.saveSubscriber(s)], replyKey: .replyLossCancel, values: values)

        case .planChange:
            if let refusal = stateRefusal(s, values) { return refusal }
            if s.payment == .prepaid && (s.prepaidPeriod == .recharge || s.prepaidPeriod == .locked) {
                return .refuse(.prepaidPeriod, values: values)
            }
            let code = (arguments["plan"] ?? "").uppercased()
            values[.planCode] = code
            guard let target = try store.plan(code) else { return .refuse(.unknownPlan, values: values) }
            values[.plan] = target.name(in: language)
            values[.fee] = formatYuan(target.monthlyFeeFen)
            if target.code == s.planCode { return .refuse(.samePlan, values: values) }
            guard Self.isEligible(target, for: s) else { return .refuse(.planNotEligible, values: values) }
            if s.hasRunningContract(on: today) && !target.contractOK {
                values[.contractEnd] = s.contractEnd!.description
                return .refuse(.contract, values: values)
            }
            if Timing(argument: arguments["when"] ?? "now") == .next {
                return scheduleNextMonth(.planChange, plan: target.code, reply: .replyPlanChangeNext)
            }
            s.planCode = target.code
            return .apply(
                [.saveSubscriber(s), .cancelPending(.planChange)], replyKey: .replyPlanChangeNow, values: values)

        case .planCancel:
            let pending = try store.pendingChanges(s.msisdn)
            guard !pending.isEmpty else { return .refuse(.nothingPending, values: values) }
            values[.changes] = try describe(pending)
            return .apply(pending.map { .cancelPending($0.kind) }, replyKey: .replyPlanCancel, values: values)

        case .suspendKeep:
            if let refusal = stateRefusal(s, values) { return refusal }
            if s.premium { return .refuse(.premiumNumber, values: values) }
            if s.hasRunningContract(on: today) {
                values[.contractEnd] = s.contractEnd!.description
                return .refuse(.contract, values: values)
            }
            if Timing(argument: arguments["when"] ?? "now") == .next {
                return scheduleNextMonth(.suspend, plan: nil, reply: .replySuspendKeepNext)
            }
            s.status = .suspended
            return .apply(
                [.saveSubscriber(s), .cancelPending(.suspend)], replyKey: .replySuspendKeepNow, values: values)

        case .suspendResume:
            guard s.status == .suspended else { return .refuse(.notSuspended, values: values) }
            s.status = .normal
            return .apply([.saveSubscriber(s)], replyKey: .replySuspendResume, values: values)

        case .passwordChange:
            return .apply([], replyKey: .replyPasswordChange, values: values)

        default:
            return try decideCatalogue(
                operation, for: s, arguments: arguments, language: language, prompts: prompts, now: now,
                store: store, values: values, caller: caller)
        }
    }

    /// Decides what a due pending change does when its day comes.
    public func applyDue(
        _ change: PendingChange, to subscriber: Subscriber, store: any StoreReader
    ) throws
        -> Decision
    {
        var s = subscriber
        let values = ["number": s.msisdn, "name": s.name, "date": change.effective.description]
        if s.status == .closed { return .refuse(.closed, values: values) }
        switch change.kind {
        case .planChange:
            // The account's life cycle goes on whatever its state (SPEC §1), so a change validated when it
            // was requested applies unless the plan itself can no longer be had.
            guard let code = change.planCode, let plan = try store.plan(code) else {
                return .refuse(.unknownPlan, values: values)
            }
            guard Self.isEligible(plan, for: s) else { return .refuse(.planNotEligible, values: values) }
            s.planCode = plan.code
            var v = values
            v[.plan] = plan.name(in: s.language)
            return .apply([.saveSubscriber(s)], replyKey: .noticePlanApplied, values: v)
        case .suspend:
            if let refusal = stateRefusal(s, values) { return refusal }
            s.status = .suspended
            return .apply([.saveSubscriber(s)], replyKey: .noticeSuspendApplied, values: values)
        }
    }
}
