import Foundation

/// What the engine needs to answer an order inside a transaction: where to write, when, and how to tell the
/// customer.
struct AnswerContext {
    let writer: any StoreWriter
    let now: Date
    let prompts: PromptCatalog
    let calendar: LocalCalendar
}

/// The compensation of a rejected service order: billing refused the change, so the gateway undoes it.
enum Compensation {
    /// Undoes what `order` changed, field by field, where the field still holds what the order set (a later change
    /// is never overwritten: that field is a conflict, left for an operator); writes an `order.compensate` record
    /// and queues a notice to the customer. A password change cannot be undone (the old hash is not kept): it is
    /// recorded as such, and the customer is not told anything was restored.
    static func undo(_ order: ServiceOrder, context: AnswerContext) throws {
        let writer = context.writer
        var undone: [String] = []
        var conflicts: [String] = []
        var impossible: [String] = []
        if var subscriber = try writer.subscriber(order.subject) {
            for field in order.after.keys.sorted() {
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
        let complete = conflicts.isEmpty && impossible.isEmpty
        let record = try writer.append(
            RecordDraft(
                time: context.now, channel: .api, session: nil, caller: OperationName.tickCaller,
                subject: order.subject, operation: OperationName.orderCompensate.rawValue, inputs: inputs,
                auth: .none, result: complete ? .ok : .error, reason: complete ? .ok : .compensationIncomplete,
                reply: "", durationMS: 0))
        guard !undone.isEmpty, let subscriber = try writer.subscriber(order.subject), subscriber.status != .closed
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
