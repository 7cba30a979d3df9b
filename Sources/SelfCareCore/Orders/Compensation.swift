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
            for field in order.after.keys.sorted() {
                if touchedLater.contains(field) {
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
