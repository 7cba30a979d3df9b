import Foundation

/// Settings of the catalogue's operations (docs/operations.md): the roaming deposit, card PIN limits, complaints.
public struct CatalogueRules: Sendable {
    /// The international roaming deposit 押金 taken from the balance by `roaming.on`, in fen.
    public var roamingDepositFen = 5_000
    /// Tiers exempt from the roaming deposit (免押金).
    public var roamingExemptTiers: Set<Tier> = [.gold, .diamond, .supreme]
    /// Wrong card PINs one caller may key before it is locked out of card recharges.
    public var pinCallerThreshold = 5
    /// Wrong PINs for one card, from any caller, before the card refuses every PIN.
    public var pinCardThreshold = 5
    /// How long a PIN lock lasts, and the window its wrong PINs are counted in.
    public var pinLockout: TimeInterval = 24 * 3600
    /// The longest complaint or spam text kept, in characters; the rest is cut.
    public var ticketTextLimit = 500
    /// How many tickets `complaint.status` lists, newest first.
    public var ticketsShown = 3

    /// The carrier's defaults.
    public init() {}

    /// The deposit `subscriber` pays to turn roaming on: 0 for an exempt tier.
    public func roamingDeposit(for subscriber: Subscriber) -> Int {
        roamingExemptTiers.contains(subscriber.tier) ? 0 : roamingDepositFen
    }

    /// The key a caller's wrong card PINs are counted under (a `CallerThrottle`, apart from its password attempts).
    public static func pinThrottleKey(caller: String) -> String { "pin:" + caller }

    /// The key one card's wrong PINs, from any caller, are counted under.
    public static func pinThrottleKey(card serial: String) -> String { "card:" + serial }
}

extension BusinessRules {
    /// Checks the catalogue operations' arguments before anything else; a refusal when one is malformed.
    func validateCatalogueArguments(_ operation: OperationName, _ arguments: [String: String]) -> Decision? {
        func invalid(_ name: String) -> Decision {
            .refuse(.invalidArgument, values: ["argument": name, "value": arguments[name] ?? ""])
        }
        /// A catalogue code: 1 to 16 ASCII letters, digits, `_` or `-`.
        func code(_ name: String) -> Bool {
            guard let value = arguments[name], (1...16).contains(value.utf8.count) else { return false }
            return value.utf8.allSatisfy {
                (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) || $0 == 0x5F
                    || $0 == 0x2D
            }
        }
        switch operation {
        case .rechargeCard:
            guard let card = arguments["card"], RechargeCard.isSerial(card) else { return invalid("card") }
        case .dataPackOrder:
            guard code("pack") else { return invalid("pack") }
            if let when = arguments["when"], Timing(argument: when) == nil { return invalid("when") }
        case .dataPackCancel:
            guard code("pack") else { return invalid("pack") }
        case .serviceSubscribe, .serviceUnsubscribe:
            guard code("service") else { return invalid("service") }
        case .forwardingSet:
            // No kind: every call (无条件转移).
            if let kind = arguments["kind"], ForwardingKind(argument: kind) == nil { return invalid("kind") }
            guard let target = arguments["target"], !target.isEmpty else { return invalid("target") }
            // Before the password: a target that is no number needs no account to say so.
            if Self.forwardingTarget(target) == nil {
                return .refuse(.invalidTarget, values: ["target": String(target.prefix(20))])
            }
        case .forwardingCancel:
            if let kind = arguments["kind"], !kind.isEmpty, ForwardingKind(argument: kind) == nil {
                return invalid("kind")
            }
        case .pointsRedeem:
            guard code("reward") else { return invalid("reward") }
        case .complaintFile:
            if let category = arguments["category"], !category.isEmpty,
                Self.category(category) == nil
            {
                return invalid("category")
            }
        case .spamReport:
            guard let offender = arguments["offender"], Self.offender(offender) != nil else {
                return invalid("offender")
            }
        default: break
        }
        return nil
    }

    /// `text` with what could be a secret masked, stretch by stretch: a stretch is digit groups joined by one space,
    /// `-` or `.`. Masked: one run of six digits or more but a mobile number's; groups that make six digits in all
    /// (a password typed in parts, `258 036`) or 13 and more (a card's serial or PIN in parts). Kept: a date and a
    /// time (`2026-11-15 10:30`), a number in groups (`186 1234 5678`), amounts.
    static func maskSecretLikeDigits(_ text: String) -> String {
        var out = ""
        var stretch: [Character] = []
        var digits = 0
        var groups = 0
        var run = ""
        func flush() {
            // A trailing separator is not part of the stretch.
            var tail = ""
            while let last = stretch.last, !last.isNumber {
                tail = String(last) + tail
                stretch.removeLast()
            }
            let single = groups == 1
            let mask =
                single
                ? digits >= 6 && !(digits == 11 && run.hasPrefix("1"))
                : digits == 6 || digits >= 13
            out += mask ? String(stretch.map { $0.isNumber ? "*" : $0 }) : String(stretch)
            out += tail
            stretch = []
            digits = 0
            groups = 0
            run = ""
        }
        for c in text {
            let isDigit = c.isASCIIDigit || ("０"..."９").contains(c)
            if isDigit {
                if stretch.last.map({ !$0.isNumber }) ?? true { groups += 1 }
                stretch.append(c)
                digits += 1
                if groups == 1 { run.append(c) }
            } else if !stretch.isEmpty, c == " " || c == "-" || c == ".", stretch.last?.isNumber == true {
                stretch.append(c)
            } else {
                if !stretch.isEmpty { flush() }
                out.append(c)
            }
        }
        if !stretch.isEmpty { flush() }
        return out
    }

    /// `text` cut to `limit` characters, the cut said with `…`.
    static func shortened(_ text: String, to limit: Int) -> String {
        text.count <= limit ? text : String(text.prefix(limit - 1)) + "…"
    }

    /// A forwarding target: a number of 7 to 15 digits (`+86`/`0086` dropped); nil for anything else.
    static func forwardingTarget(_ text: String) -> String? {
        guard let number = normalizeNumber(text), number.count >= 7 else { return nil }
        return number
    }

    /// A complaint category by name or menu key (`1` network, `2` billing, `3` service, `4` other); nil otherwise.
    static func category(_ text: String) -> String? {
        let lowered = text.lowercased()
        if Ticket.categories.contains(lowered) { return lowered }
        guard let n = Int(text), (1...Ticket.categories.count).contains(n) else { return nil }
        return Ticket.categories[n - 1]
    }

    /// A spam sender's number: 3 to 20 digits, a leading `+` allowed (short codes and `1069…` senders included).
    static func offender(_ text: String) -> String? {
        var digits = Substring(text.trimmingCharacters(in: .whitespaces))
        if digits.hasPrefix("+") { digits = digits.dropFirst() }
        guard (3...20).contains(digits.utf8.count), digits.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
            return nil
        }
        return String(digits)
    }

    /// `text` as a ticket (and the attempt's record) keeps it: control characters dropped, white space runs made one
    /// space, at most `limit` characters, and what could be a password or a card's PIN masked (a secret typed into a
    /// complaint goes no further).
    public static func ticketText(_ text: String, limit: Int) -> String {
        var kept = String.UnicodeScalarView()
        var lastWasSpace = false
        for scalar in text.unicodeScalars {
            if scalar.properties.generalCategory == .control || scalar.properties.generalCategory == .format {
                if scalar == "\n" || scalar == "\t" || scalar == "\r" {
                    if !lastWasSpace { kept.append(" ") }
                    lastWasSpace = true
                }
                continue
            }
            let space = scalar.properties.isWhitespace
            if space && lastWasSpace { continue }
            kept.append(space ? " " : scalar)
            lastWasSpace = space
        }
        let cut = String(String(kept).trimmingCharacters(in: .whitespaces).prefix(limit))
        return maskSecretLikeDigits(cut)
    }

    /// Decides one of the catalogue's operations for `subscriber` (already authenticated where the policy asks; for
    /// `recharge.card`, the card's PIN already checked).
    func decideCatalogue(
        _ operation: OperationName, for subscriber: Subscriber, arguments: [String: String], language: Language,
        prompts: PromptCatalog, now: Date, store: any StoreReader, values initial: [String: String], caller: String?
    ) throws -> Decision {
        let today = calendar.date(of: now)
        var s = subscriber
        var values = initial
        var features = try store.features(s.msisdn)
        let before = features

        /// Saves the subscriber (when changed) and the features (when changed).
        func effects(_ extra: [Effect] = []) -> [Effect] {
            var list: [Effect] = []
            if s != subscriber { list.append(.saveSubscriber(s)) }
            if features != before { list.append(.saveFeatures(features)) }
            return list + extra
        }
        /// A number stopped for arrears is reopened once its balance is no longer negative.
        func reopenIfPaid() {
            if s.status == .arrears && s.balanceFen >= 0 { s.status = .normal }
        }

        switch operation {
        case .rechargeCard:
            let serial = arguments["card"] ?? ""
            values[.card] = maskCard(serial)
            guard let card = try store.card(serial) else { return .refuse(.badPIN, values: values) }
            switch card.state {
            case .used:
                values[.time] = card.usedAt.map { calendar.dateTime(of: $0) } ?? "-"
                return .refuse(.cardUsed, values: values)
            case .frozen: return .refuse(.cardFrozen, values: values)
            case .expired:
                values[.date] = card.expires.description
                return .refuse(.cardExpired, values: values)
            case .unused:
                if card.expires < today {
                    values[.date] = card.expires.description
                    return .refuse(.cardExpired, values: values)
                }
            }
            s.balanceFen = try checkedSum(s.balanceFen, card.valueFen)
            reopenIfPaid()
            values[.amount] = formatYuan(card.valueFen)
            values[.balance] = formatYuan(s.balanceFen)
            values[.days] = String(card.validityDays)
            if s.payment == .prepaid {
                // A recharge is how an account leaves its recharge or locked period (单向/双向停机).
                if s.prepaidPeriod == .recharge || s.prepaidPeriod == .locked { s.prepaidPeriod = .valid }
                let from = max(features.validUntil ?? today, today)
                features.validUntil = from.adding(days: card.validityDays)
            }
            values[.date] = features.validUntil?.description ?? "-"
            var used = card
            used.state = .used
            used.usedAt = now
            used.usedFor = s.msisdn
            let own = caller == nil || caller == s.msisdn
            let reply: PromptKey =
                !own ? .replyRechargeCardOther : s.payment == .prepaid ? .replyRechargeCardPrepaid : .replyRechargeCard
            return .apply(effects([.saveCard(used)]), replyKey: reply, values: values)

        case .dataPackOrder:
            if let refusal = stateRefusal(s, values) ?? prepaidRefusal(s, values) { return refusal }
            let code = (arguments["pack"] ?? "").uppercased()
            guard let pack = try store.dataPack(code) else { return .refuse(.unknownPack, values: values) }
            values[.pack] = pack.name(in: language)
            values[.fee] = formatYuan(pack.feeFen)
            guard pack.allows(s) else { return .refuse(.packNotEligible, values: values) }
            let next = Timing(argument: arguments["when"] ?? "now") == .next
            let month = next ? today.monthOf.next : today.monthOf
            values[.month] = month.description
            let subscription = PackSubscription(code: pack.code, month: month.description, feeFen: pack.feeFen)
            if features.packs.contains(subscription) { return .refuse(.packAlready, values: values) }
            if s.payment == .prepaid && s.balanceFen < pack.feeFen {
                values[.balance] = formatYuan(s.balanceFen)
                return .refuse(.insufficientBalance, values: values)
            }
            s.balanceFen = try checkedSum(s.balanceFen, -pack.feeFen)
            values[.balance] = formatYuan(s.balanceFen)
            // Packs of months gone by are dropped as the account changes: the list holds this month's and next's.
            features.packs = features.packs.filter { Month($0.month).map { $0 >= today.monthOf } ?? false }
            features.packs.append(subscription)
            return .apply(effects(), replyKey: next ? .replyDataPackOrderNext : .replyDataPackOrder, values: values)

        case .dataPackCancel:
            let code = (arguments["pack"] ?? "").uppercased()
            let pack = try store.dataPack(code)
            values[.pack] = pack?.name(in: language) ?? code
            let nextMonth = PackSubscription(code: code, month: today.monthOf.next.description)
            guard let held = features.packs.first(where: { $0 == nextMonth }) else {
                let thisMonth = PackSubscription(code: code, month: today.monthOf.description)
                return .refuse(features.packs.contains(thisMonth) ? .packInUse : .packNotOrdered, values: values)
            }
            features.packs.removeAll { $0 == nextMonth }
            // Next month's pack was paid when ordered: what was paid goes back to the balance.
            let refund = held.feeFen ?? pack?.feeFen ?? 0
            s.balanceFen = try checkedSum(s.balanceFen, refund)
            reopenIfPaid()
            values[.fee] = formatYuan(refund)
            values[.month] = nextMonth.month
            return .apply(effects(), replyKey: .replyDataPackCancel, values: values)

        case .serviceSubscribe, .serviceUnsubscribe:
            if operation == .serviceSubscribe, let refusal = stateRefusal(s, values) { return refusal }
            let code = (arguments["service"] ?? "").uppercased()
            guard let service = try store.basicService(code) else { return .refuse(.unknownService, values: values) }
            values[.service] = service.name(in: language)
            values[.fee] = formatYuan(service.monthlyFeeFen)
            if operation == .serviceUnsubscribe {
                guard features.services.contains(code) else { return .refuse(.notSubscribed, values: values) }
                features.services.remove(code)
                return .apply(effects(), replyKey: .replyServiceUnsubscribe, values: values)
            }
            guard service.onSale else { return .refuse(.unknownService, values: values) }
            if features.services.contains(code) { return .refuse(.alreadySubscribed, values: values) }
            if code == BasicService.threeWayCalling && features.roaming {
                return .refuse(.roamingActive, values: values)
            }
            features.services.insert(code)
            return .apply(effects(), replyKey: .replyServiceSubscribe, values: values)

        case .forwardingSet:
            switch s.status {
            case .lost: return .refuse(.stateLost, values: values)
            case .suspended: return .refuse(.stateSuspended, values: values)
            default: break
            }
            let kind = ForwardingKind(argument: arguments["kind"] ?? "") ?? .unconditional
            values[.kind] = prompts.render(.forwardingKind(kind), in: language)
            let keyed = arguments["target"] ?? ""
            // The subscriber's own number in any spelling (`0186…`, `86186…`) is its own.
            guard let target = Self.forwardingTarget(keyed), !target.hasSuffix(s.msisdn) else {
                values[.target] = String(keyed.prefix(20))
                return .refuse(.invalidTarget, values: values)
            }
            values[.target] = target
            features.forwarding[kind.rawValue] = target
            return .apply(effects(), replyKey: .replyForwardingSet, values: values)

        case .forwardingCancel:
            let kind = (arguments["kind"]).flatMap { $0.isEmpty ? nil : ForwardingKind(argument: $0) }
            if let kind {
                values[.kind] = prompts.render(.forwardingKind(kind), in: language)
                guard features.forwarding.removeValue(forKey: kind.rawValue) != nil else {
                    return .refuse(.notForwarded, values: values)
                }
            } else {
                values[.kind] = prompts.render(.forwardingAll, in: language)
                guard !features.forwarding.isEmpty else { return .refuse(.notForwarded, values: values) }
                features.forwarding = [:]
            }
            return .apply(effects(), replyKey: .replyForwardingCancel, values: values)

        case .roamingOn:
            if s.blacklist { return .refuse(.blacklisted, values: values) }
            switch s.status {
            case .lost: return .refuse(.stateLost, values: values)
            case .suspended: return .refuse(.stateSuspended, values: values)
            case .arrears: return .refuse(.arrears, values: values)
            default: break
            }
            if let refusal = prepaidRefusal(s, values) { return refusal }
            if s.balanceFen < 0 {
                values[.balance] = formatYuan(s.balanceFen)
                return .refuse(.arrears, values: values)
            }
            if features.roaming { return .refuse(.alreadyRoaming, values: values) }
            let deposit = catalogue.roamingDeposit(for: s)
            values[.deposit] = formatYuan(deposit)
            if s.balanceFen < deposit {
                values[.balance] = formatYuan(s.balanceFen)
                return .refuse(.insufficientBalance, values: values)
            }
            s.balanceFen = try checkedSum(s.balanceFen, -deposit)
            features.roaming = true
            features.roamingDepositFen = deposit
            let closesThreeWay = features.services.remove(BasicService.threeWayCalling) != nil
            let reply: PromptKey =
                closesThreeWay
                ? (deposit > 0 ? .replyRoamingOnThreeWay : .replyRoamingOnExemptThreeWay)
                : (deposit > 0 ? .replyRoamingOn : .replyRoamingOnExempt)
            return .apply(effects(), replyKey: reply, values: values)

        case .roamingOff:
            guard features.roaming else { return .refuse(.notRoaming, values: values) }
            let deposit = features.roamingDepositFen
            values[.deposit] = formatYuan(deposit)
            features.roaming = false
            // The deposit is billing's to refund (the order says so): it comes back with a later bill or payment.
            features.roamingDepositFen = 0
            return .apply(
                effects(), replyKey: deposit > 0 ? .replyRoamingOffDeposit : .replyRoamingOff, values: values)

        case .pointsRedeem:
            if s.status == .lost { return .refuse(.stateLost, values: values) }
            let code = (arguments["reward"] ?? "").uppercased()
            guard let reward = try store.reward(code) else { return .refuse(.unknownReward, values: values) }
            values[.reward] = reward.name(in: language)
            values[.cost] = String(reward.points)
            values[.points] = String(s.points)
            guard s.points >= reward.points else { return .refuse(.insufficientPoints, values: values) }
            s.points -= reward.points
            s.balanceFen = try checkedSum(s.balanceFen, reward.valueFen)
            reopenIfPaid()
            values[.points] = String(s.points)
            values[.amount] = formatYuan(reward.valueFen)
            values[.balance] = formatYuan(s.balanceFen)
            return .apply(effects(), replyKey: .replyPointsRedeem, values: values)

        case .complaintFile, .spamReport:
            let spam = operation == .spamReport
            let category = spam ? "spam" : (arguments["category"].flatMap(Self.category) ?? "other")
            let text = Self.ticketText(arguments["text"] ?? "", limit: catalogue.ticketTextLimit)
            values[.category] = prompts.render(.ticketCategory(category), in: language)
            let ticket = Ticket(
                id: try store.lastTicketID() + 1, msisdn: s.msisdn, kind: spam ? .spam : .complaint,
                category: category, text: text, offender: spam ? arguments["offender"].flatMap(Self.offender) : nil,
                created: now)
            values[.ticket] = ticket.number
            return .apply(
                [.fileTicket(ticket)], replyKey: spam ? .replySpamReport : .replyComplaintFile, values: values)

        case .complaintStatus:
            let tickets = try store.tickets(s.msisdn, limit: catalogue.ticketsShown)
            guard !tickets.isEmpty else { return .apply([], replyKey: .replyComplaintStatusNone, values: values) }
            var answers: [String: ServiceOrder] = [:]
            var filter = OrderFilter(limit: 500)
            filter.subject = s.msisdn
            while true {
                let page = try store.orders(filter)
                for order in page { if let number = order.after["ticket"] { answers[number] = order } }
                guard let last = page.last, page.count == filter.limit else { break }
                filter.afterID = last.id
            }
            values[.count] = String(tickets.count)
            values[.tickets] = tickets.map { ticket in
                let order = answers[ticket.number]
                let progress: PromptKey =
                    switch order?.state {
                    case .accepted?: .ticketAnswered
                    case .rejected?: .ticketClosed
                    default: .ticketProcessing
                    }
                return prompts.render(
                    order?.answer.map { !$0.isEmpty } == true ? .itemTicketAnswered : .itemTicket, in: language,
                    [
                        "ticket": ticket.number, "date": calendar.date(of: ticket.created).description,
                        "category": prompts.render(.ticketCategory(ticket.category), in: language),
                        "progress": prompts.render(progress, in: language),
                        "answer": Self.shortened(order?.answer ?? "", to: 40),
                    ])
            }.joined(separator: "\n")
            return .apply([], replyKey: .replyComplaintStatus, values: values)

        default:
            return .refuse(.unknownCommand, values: values)
        }
    }

    /// The refusal for a prepaid account outside its valid period, for what costs money from the balance (a pack,
    /// the roaming deposit): in its recharge or locked period the balance is not usable until it is recharged.
    func prepaidRefusal(_ s: Subscriber, _ values: [String: String]) -> Decision? {
        guard s.payment == .prepaid, let period = s.prepaidPeriod, period != .valid else { return nil }
        var values = values
        values[.period] = period.rawValue
        return .refuse(.prepaidPeriod, values: values)
    }

    /// The refusal for a subscriber who is not in `normal` state, for catalogue transactions (as for plan changes).
    func stateRefusal(_ s: Subscriber, _ values: [String: String]) -> Decision? {
        switch s.status {
        case .normal: nil
        case .lost: .refuse(.stateLost, values: values)
        case .arrears: .refuse(.arrears, values: values)
        case .suspended: .refuse(.stateSuspended, values: values)
        case .closed: .refuse(.closed, values: values)
        }
    }
}

/// `a + b`, or a fault when the sum does not fit: a balance that absurd is corrupt data, never a reason to trap.
func checkedSum(_ a: Int, _ b: Int) throws -> Int {
    let (sum, overflow) = a.addingReportingOverflow(b)
    guard !overflow else { throw AmountOverflow() }
    return sum
}

/// A balance or an amount beyond what an account can hold.
struct AmountOverflow: Error, CustomStringConvertible {
    var description: String { "an amount overflowed the balance" }
}

extension EngineTransaction {
    /// Checks a card recharge's PIN against the card, in the attempt's transaction: nil when it is right (the rules
    /// then look at the card's state). A wrong PIN, or a serial no card has (one answer for both), counts against
    /// the caller and, for a real card, against the card; either lock refuses every PIN until it ends. The PIN is
    /// compared as its keyed digest only.
    func checkCardPIN(_ attempt: inout Attempt) throws -> (OperationOutcome, Attempt)? {
        let limits = configuration.catalogue
        let calendar = configuration.calendar
        let serial = attempt.request.arguments["card"] ?? ""
        attempt.values[.card] = maskCard(serial)
        let callerKey = CatalogueRules.pinThrottleKey(caller: attempt.caller)
        let cardKey = CatalogueRules.pinThrottleKey(card: serial)
        let callerThrottle = try writer.callerThrottle(callerKey)
        let cardThrottle = try writer.callerThrottle(cardKey)
        for (throttle, which) in [(callerThrottle, "caller"), (cardThrottle, "card")] {
            guard let throttle, throttle.isLocked(at: now), let until = throttle.lockedUntil else { continue }
            attempt.auth = .locked
            attempt.values[.until] = calendar.dateTime(of: until)
            attempt.inputs["locked"] = which
            return try refuse(attempt, .pinLocked)
        }
        guard let digest = attempt.pinDigest else {
            attempt.values[.argument] = "pin"
            attempt.values[.value] = ""
            return try refuse(attempt, .invalidArgument)
        }
        let card = try writer.card(serial)
        if let card, constantTimeEquals(card.pinDigest, digest) {
            attempt.auth = .ok
            return nil
        }
        // A serial no card has may be the PIN keyed first (`CZ PIN SERIAL`): the record keeps only its last digits.
        if card == nil { attempt.inputs["card"] = maskCard(serial) }
        attempt.inputs["cause"] = card == nil ? "unknown_card" : "wrong_pin"
        var locks: [String] = []
        let counted = CallerThrottle.counting(
            callerThrottle, caller: callerKey, at: now, threshold: limits.pinCallerThreshold,
            duration: limits.pinLockout)
        try writer.save(counted)
        if counted.lockedUntil != nil { locks.append("caller") }
        if card != nil {
            // Within the same window as the caller's: guesses older than it no longer count.
            let countedCard = CallerThrottle.counting(
                cardThrottle, caller: cardKey, at: now, threshold: limits.pinCardThreshold, duration: limits.pinLockout)
            try writer.save(countedCard)
            if countedCard.lockedUntil != nil { locks.append("card") }
        }
        if !locks.isEmpty { attempt.inputs["locks"] = locks.joined(separator: ",") }
        attempt.auth = .failed
        return try refuse(attempt, .badPIN)
    }

    /// Counts a failure against the caller's card-recharge limit without a wrong PIN: a number to recharge that
    /// is nobody's (or closed), which a caller holding one good card could otherwise probe without end.
    func countRechargeProbe(_ attempt: Attempt) throws {
        let limits = configuration.catalogue
        let key = CatalogueRules.pinThrottleKey(caller: attempt.caller)
        try writer.save(
            CallerThrottle.counting(
                try writer.callerThrottle(key), caller: key, at: now, threshold: limits.pinCallerThreshold,
                duration: limits.pinLockout))
    }
}

/// Whether two digests are equal, in time that depends on their length only.
func constantTimeEquals(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8)
    let y = Array(b.utf8)
    guard x.count == y.count else { return false }
    var difference: UInt8 = 0
    for i in x.indices { difference |= x[i] ^ y[i] }
    return difference == 0
}
