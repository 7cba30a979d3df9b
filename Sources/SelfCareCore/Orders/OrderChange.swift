import Foundation

/// What an applied transaction changed, as its service order tells billing: each field billing keeps that the
/// transaction touched, before and after. The password is told as a fact (`set`, `none`, `changed`), never as its
/// hash.
struct OrderChange: Equatable {
    var before: [String: String] = [:]
    var after: [String: String] = [:]

    /// The change from `old` to `new`, and of the pending changes from `pendingBefore` to `pendingAfter`.
    init(
        from old: Subscriber, to new: Subscriber, pendingBefore: [PendingChange] = [],
        pendingAfter: [PendingChange] = []
    ) {
        if old.status != new.status {
            before["status"] = old.status.rawValue
            after["status"] = new.status.rawValue
        }
        if old.planCode != new.planCode {
            before["plan"] = old.planCode
            after["plan"] = new.planCode
        }
        if old.balanceFen != new.balanceFen {
            before["balance_fen"] = String(old.balanceFen)
            after["balance_fen"] = String(new.balanceFen)
        }
        if old.points != new.points {
            before["points"] = String(old.points)
            after["points"] = String(new.points)
        }
        if old.prepaidPeriod != new.prepaidPeriod {
            before["prepaid_period"] = old.prepaidPeriod?.rawValue ?? "none"
            after["prepaid_period"] = new.prepaidPeriod?.rawValue ?? "none"
        }
        if old.passwordHash != new.passwordHash {
            before["password"] = old.passwordHash == nil ? "none" : "set"
            after["password"] = "changed"
        }
        for kind in PendingChange.Kind.allCases {
            let was = pendingBefore.first { $0.kind == kind }
            let now = pendingAfter.first { $0.kind == kind }
            if was != now {
                before["pending.\(kind.rawValue)"] = Self.describe(was)
                after["pending.\(kind.rawValue)"] = Self.describe(now)
            }
        }
    }

    /// Adds what changed of the account's features: `service.CODE` (`on`/`off`), `forwarding.KIND` (the target or
    /// `none`), `roaming` (`on`/`off`), `roaming_deposit_fen`, `pack.CODE.MONTH` (`on`/`off`), `valid_until`.
    mutating func add(features old: SubscriberFeatures, _ new: SubscriberFeatures) {
        func field(_ name: String, _ was: String, _ now: String) {
            guard was != now else { return }
            before[name] = was
            after[name] = now
        }
        for code in old.services.union(new.services) {
            field(
                "service.\(code)", old.services.contains(code) ? "on" : "off",
                new.services.contains(code) ? "on" : "off")
        }
        for kind in Set(old.forwarding.keys).union(new.forwarding.keys) {
            field("forwarding.\(kind)", old.forwarding[kind] ?? "none", new.forwarding[kind] ?? "none")
        }
        field("roaming", old.roaming ? "on" : "off", new.roaming ? "on" : "off")
        field("roaming_deposit_fen", String(old.roamingDepositFen), String(new.roamingDepositFen))
        for pack in Set(old.packs).union(new.packs) {
            field(
                "pack.\(pack.code).\(pack.month)", old.packs.contains(pack) ? "on" : "off",
                new.packs.contains(pack) ? "on" : "off")
        }
        field("valid_until", old.validUntil?.description ?? "none", new.validUntil?.description ?? "none")
    }

    /// Adds a card used (`card.SERIAL`: `unused` → `used`) or a ticket filed (`ticket`, `kind`, `category`,
    /// `text`, `offender`), from the decision's effects.
    mutating func add(_ effects: [Effect]) {
        for effect in effects {
            switch effect {
            case .saveCard(let card):
                before["card.\(card.serial)"] = RechargeCard.State.unused.rawValue
                after["card.\(card.serial)"] = card.state.rawValue
            case .fileTicket(let ticket):
                before["ticket"] = "none"
                after["ticket"] = ticket.number
                after["kind"] = ticket.kind.rawValue
                after["category"] = ticket.category
                after["text"] = ticket.text
                if let offender = ticket.offender { after["offender"] = offender }
            default: break
            }
        }
    }

    /// `P98 from 2026-12-01`, `from 2026-12-01` (a suspension), or `none`.
    static func describe(_ change: PendingChange?) -> String {
        guard let change else { return "none" }
        return (change.planCode.map { "\($0) " } ?? "") + "from \(change.effective)"
    }
}

extension EngineTransaction {
    /// Writes the order that tells billing a scheduled change was dropped when it fell due (the tick found the
    /// number no longer eligible, or gone), after the tick's `record` and in its transaction: billing had its
    /// order when the change was scheduled.
    func orderDroppedChange(_ change: PendingChange, record: ServiceRecord) throws {
        _ = try writer.append(
            OrderDraft(
                time: now, operation: OperationName(rawValue: change.kind.rawValue), subject: change.msisdn,
                channel: .api, record: record.id, key: "SC-" + record.hash.prefix(32),
                before: ["pending.\(change.kind.rawValue)": OrderChange.describe(change)],
                after: ["pending.\(change.kind.rawValue)": "none"]))
    }

    @discardableResult
    func placeOrder(_ attempt: Attempt, record: ServiceRecord, change: OrderChange) throws -> ServiceOrder {
        try writer.append(
            OrderDraft(
                time: now, operation: attempt.request.operation, subject: attempt.subject,
                channel: attempt.request.channel, record: record.id, key: "SC-" + record.hash.prefix(32),
                before: change.before, after: change.after))
    }
}
