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
