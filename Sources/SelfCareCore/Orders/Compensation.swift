import Foundation

/// What the engine needs to apply a row or answer an order inside a transaction: where to write, when, how to
/// tell the customer, and (for a data load of subscribers) the plan codes, read once for the whole load.
struct ApplyContext {
    let writer: any StoreWriter
    let now: Date
    let prompts: PromptCatalog
    let calendar: LocalCalendar
    var planCodes: Set<String>? = nil
}

/// The compensation of a rejected service order: billing refused the change, so the gateway undoes it.
enum Compensation {
    /// Operations whose orders are tickets for the back office: a rejection closes the ticket and undoes nothing.
    static let ticketOperations: Set<String> = [
        OperationName.complaintFile.rawValue, OperationName.spamReport.rawValue,
    ]

    /// Fields that add up (money, points): undone by taking back the order's difference, whatever came after.
    static let additiveFields: Set<String> = ["balance_fen", "points"]

    /// Undoes what `order` changed, field by field, where the field still holds what the order set and no later
    /// order touched it (a later change is never overwritten, even one that came back to the same value: that
    /// field is a conflict, left for an operator); writes an `order.compensate` record, and when everything was
    /// undone queues a notice to the customer. Nothing is undone on a number closed or reassigned since the order
    /// (`superseded`), nor a scheduled change whose date has passed. A password change cannot be undone (the old
    /// hash is not kept).
    static func undo(_ order: ServiceOrder, context: ApplyContext) throws {
        let writer = context.writer
        var undone: [String] = []
        var conflicts: [String] = []
        var impossible: [String] = []
        let today = context.calendar.date(of: context.now)
        // The fields a later order of the number changed: they belong to that later change now.
        var touchedLater = Set<String>()
        var filter = OrderFilter(afterID: order.id, limit: 1000)
        filter.subject = order.subject
        while true {
            let page = try writer.orders(filter)
            for later in page { touchedLater.formUnion(later.after.keys) }
            guard let last = page.last, page.count == filter.limit else { break }
            filter.afterID = last.id
        }
        if order.superseded {
            conflicts = order.after.keys.sorted()
        } else if var subscriber = try writer.subscriber(order.subject) {
            var features = try writer.features(order.subject)
            let featuresBefore = features
            for field in order.after.keys.sorted() {
                if touchedLater.contains(field) && !additiveFields.contains(field) {
                    conflicts.append(field)
                    continue
                }
                let before = order.before[field] ?? "none"
                let after = order.after[field] ?? "none"
                switch field {
                case "status":
                    guard subscriber.status.rawValue == after, let restored = SubscriberStatus(rawValue: before) else {
                        conflicts.append(field)
                        continue
                    }
                    subscriber.statusBeforeLoss =
                        restored == .lost ? (subscriber.status == .lost ? nil : subscriber.status) : nil
                    subscriber.status = restored
                    undone.append(field)
                case "plan":
                    guard subscriber.planCode == after, try writer.plan(before) != nil else {
                        conflicts.append(field)
                        continue
                    }
                    subscriber.planCode = before
                    undone.append(field)
                case "password":
                    impossible.append(field)
                case "balance_fen", "points":
                    guard let was = Int(before), let now = Int(after) else {
                        conflicts.append(field)
                        continue
                    }
                    if field == "points" {
                        guard subscriber.points >= now - was else {
                            conflicts.append(field)
                            continue
                        }
                        subscriber.points -= now - was
                    } else {
                        subscriber.balanceFen = try checkedSum(subscriber.balanceFen, was - now)
                    }
                    undone.append(field)
                case "prepaid_period":
                    guard (subscriber.prepaidPeriod?.rawValue ?? "none") == after else {
                        conflicts.append(field)
                        continue
                    }
                    subscriber.prepaidPeriod = PrepaidPeriod(rawValue: before)
                    undone.append(field)
                case _ where field.hasPrefix("card."):
                    let serial = String(field.dropFirst("card.".count))
                    guard var card = try writer.card(serial), card.state.rawValue == after,
                        card.usedFor == order.subject, let state = RechargeCard.State(rawValue: before)
                    else {
                        conflicts.append(field)
                        continue
                    }
                    card.state = state
                    card.usedAt = nil
                    card.usedFor = nil
                    try writer.save(card)
                    undone.append(field)
                case _ where FeatureField.isFeature(field):
                    guard FeatureField.value(field, in: features) == after,
                        FeatureField.set(field, to: before, in: &features)
                    else {
                        conflicts.append(field)
                        continue
                    }
                    undone.append(field)
                default:
                    guard field.hasPrefix("pending."),
                        let kind = PendingChange.Kind(rawValue: String(field.dropFirst("pending.".count)))
                    else {
                        conflicts.append(field)
                        continue
                    }
                    let current = try writer.pendingChanges(order.subject).first { $0.kind == kind }
                    guard OrderChange.describe(current) == after else {
                        conflicts.append(field)
                        continue
                    }
                    if let change = parsePending(before, kind: kind, msisdn: order.subject, at: context.now) {
                        // A change whose date has passed cannot be scheduled again: no operation could.
                        guard change.effective > today else {
                            conflicts.append(field)
                            continue
                        }
                        try writer.save(change)
                    } else {
                        try writer.deletePendingChange(msisdn: order.subject, kind: kind)
                    }
                    undone.append(field)
                }
            }
            try writer.save(subscriber)
            if features != featuresBefore { try writer.save(features, of: order.subject) }
        } else {
            conflicts = order.after.keys.sorted()
        }
        var inputs = ["order": String(order.id), "key": order.key, "operation": order.operation]
        if !undone.isEmpty { inputs["undone"] = undone.joined(separator: ",") }
        if !conflicts.isEmpty { inputs["conflicts"] = conflicts.joined(separator: ",") }
        if !impossible.isEmpty { inputs["not_undoable"] = impossible.joined(separator: ",") }
        if order.superseded { inputs["superseded"] = "the number was closed since the order" }
        let complete = conflicts.isEmpty && impossible.isEmpty
        let record = try writer.append(
            RecordDraft(
                time: context.now, channel: .api, session: nil, caller: OperationName.tickCaller,
                subject: order.subject, operation: OperationName.orderCompensate.rawValue, inputs: inputs,
                auth: .none, result: complete ? .ok : .error, reason: complete ? .ok : .compensationIncomplete,
                reply: "", durationMS: 0))
        // The customer is told only of a change undone in full: a partial one is an operator's to finish.
        guard complete, !undone.isEmpty, let subscriber = try writer.subscriber(order.subject),
            subscriber.status != .closed
        else { return }
        let created = ISOTime.parse(order.created) ?? context.now
        let text = context.prompts.render(
            .noticeOrderCompensated, in: context.prompts.language(for: subscriber.language),
            ["number": subscriber.msisdn, "time": context.calendar.dateTime(of: created)])
        _ = try writer.append(
            NoticeDraft(
                msisdn: subscriber.msisdn, kind: "order.compensated", text: text, time: context.now, record: record.id))
    }

    /// `P58 from 2026-12-01` or `from 2026-12-01` (as `OrderChange.describe` writes it) as a pending change; nil
    /// for `none` or anything else.
    static func parsePending(_ text: String, kind: PendingChange.Kind, msisdn: String, at now: Date) -> PendingChange? {
        let parts = text.split(separator: " ")
        guard let fromIndex = parts.firstIndex(of: "from"), fromIndex + 1 < parts.count,
            let date = LocalDate(iso: parts[fromIndex + 1])
        else { return nil }
        let plan = fromIndex > 0 ? String(parts[0]) : nil
        guard (kind == .planChange) == (plan != nil) else { return nil }
        return PendingChange(msisdn: msisdn, kind: kind, planCode: plan, effective: date, requestedAt: now)
    }
}

/// The account features an order names as fields (`OrderChange.add(features:_:)`): read and set back by name.
enum FeatureField {
    static func isFeature(_ field: String) -> Bool {
        field.hasPrefix("service.") || field.hasPrefix("forwarding.") || field.hasPrefix("pack.") || field == "roaming"
            || field == "roaming_deposit_fen" || field == "valid_until"
    }

    /// The field's value in `features`, as an order writes it.
    static func value(_ field: String, in features: SubscriberFeatures) -> String? {
        if let code = suffix(field, "service.") { return features.services.contains(code) ? "on" : "off" }
        if let kind = suffix(field, "forwarding.") { return features.forwarding[kind] ?? "none" }
        if let pack = self.pack(field) { return features.packs.contains(pack) ? "on" : "off" }
        switch field {
        case "roaming": return features.roaming ? "on" : "off"
        case "roaming_deposit_fen": return String(features.roamingDepositFen)
        case "valid_until": return features.validUntil?.description ?? "none"
        default: return nil
        }
    }

    /// Sets the field to `text` (as an order writes it) in `features`; false when `text` is no value of it.
    static func set(_ field: String, to text: String, in features: inout SubscriberFeatures) -> Bool {
        if let code = suffix(field, "service.") {
            guard text == "on" || text == "off" else { return false }
            if text == "on" { features.services.insert(code) } else { features.services.remove(code) }
            return true
        }
        if let kind = suffix(field, "forwarding.") {
            features.forwarding[kind] = text == "none" ? nil : text
            return true
        }
        if let pack = self.pack(field) {
            guard text == "on" || text == "off" else { return false }
            features.packs.removeAll { $0 == pack }
            if text == "on" { features.packs.append(pack) }
            return true
        }
        switch field {
        case "roaming":
            guard text == "on" || text == "off" else { return false }
            features.roaming = text == "on"
        case "roaming_deposit_fen":
            guard let fen = Int(text) else { return false }
            features.roamingDepositFen = fen
        case "valid_until":
            if text == "none" {
                features.validUntil = nil
            } else {
                guard let date = LocalDate(iso: text) else { return false }
                features.validUntil = date
            }
        default: return false
        }
        return true
    }

    private static func suffix(_ field: String, _ prefix: String) -> String? {
        field.hasPrefix(prefix) ? String(field.dropFirst(prefix.count)) : nil
    }

    /// `pack.D10.2026-12` as the pack subscription it names.
    private static func pack(_ field: String) -> PackSubscription? {
        guard let rest = suffix(field, "pack."), let dot = rest.lastIndex(of: ".") else { return nil }
        return PackSubscription(code: String(rest[..<dot]), month: String(rest[rest.index(after: dot)...]))
    }
}
