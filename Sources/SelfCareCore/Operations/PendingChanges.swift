import Foundation
import Logging

/// Pending changes (next month's plan, a scheduled suspension) applied when due by the tick.
extension OperationEngine {

    /// Applies every pending change due on or before today (local), each in its own transaction with its record.
    /// - Returns: the records written, one a change.
    @discardableResult
    public func applyDueChanges() async throws -> [ServiceRecord] {
        let now = clock.now()
        let today = configuration.calendar.date(of: now)
        let due = try await store.read { try $0.duePendingChanges(onOrBefore: today) }
        var records: [ServiceRecord] = []
        let rules = self.rules
        let prompts = self.prompts
        for change in due {
            let record: ServiceRecord? = try await transaction(at: now) { tx -> ServiceRecord? in
                // Re-read: the change may have been cancelled or replaced since the list was taken.
                guard
                    let current = try tx.writer.pendingChanges(change.msisdn).first(where: { $0.kind == change.kind }),
                    current.effective <= today
                else { return nil }
                try tx.writer.deletePendingChange(msisdn: current.msisdn, kind: current.kind)
                var inputs = ["scheduled": current.effective.description]
                if let plan = current.planCode { inputs["plan"] = plan }
                guard let subscriber = try tx.writer.subscriber(current.msisdn) else {
                    let draft = RecordDraft(
                        time: now, channel: .api, session: "tick", caller: OperationName.tickCaller,
                        subject: current.msisdn,
                        operation: current.kind.rawValue, inputs: inputs, auth: .none, result: .refused,
                        reason: .unknownSubscriber, reply: "", durationMS: 0)
                    let record = try tx.writer.append(draft)
                    try tx.orderDroppedChange(current, record: record)
                    return record
                }
                let language = prompts.language(for: subscriber.language)
                let decision = try rules.applyDue(current, to: subscriber, store: tx.writer)
                let (result, reason, reply): (ResultKind, ReasonCode, String)
                switch decision {
                case .refuse(let code, let values):
                    (result, reason, reply) = (
                        .refused, code, prompts.render(.noticePendingDropped, in: language, values)
                    )
                case .apply(let effects, let key, let values):
                    for case .saveSubscriber(let s) in effects { try tx.writer.save(s) }
                    (result, reason, reply) = (.ok, .ok, prompts.render(key, in: language, values))
                }
                let record = try tx.writer.append(
                    RecordDraft(
                        time: now, channel: .api, session: "tick", caller: OperationName.tickCaller,
                        subject: current.msisdn,
                        operation: current.kind.rawValue, inputs: inputs, auth: .none, result: result, reason: reason,
                        reply: reply, durationMS: 0))
                if result == .refused { try tx.orderDroppedChange(current, record: record) }
                if subscriber.status != .closed {
                    try tx.queueNotice(
                        to: subscriber.msisdn, result == .refused ? .noticePendingDropped : Self.noticeKey(decision),
                        text: reply, record: record)
                }
                return record
            }
            if let record {
                records.append(record)
                metrics.count(
                    channel: record.channel, operation: record.operation, result: record.result, reason: record.reason)
            }
        }
        return records
    }

    /// The notice prompt of an applied due change.
    static func noticeKey(_ decision: Decision) -> PromptKey {
        if case .apply(_, let key, _) = decision { return key }
        return .noticePendingDropped
    }
}
