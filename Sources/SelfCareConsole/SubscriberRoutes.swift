import Foundation
import Hummingbird
import SelfCareCore

/// The subscriber view: one number's account, opened with a reason that goes into the access record.
extension ConsoleRoutes {
    static let subscriberRoles: [ConsoleRole] = [.operator_, .admin]

    /// A reason an operator gives: 4 to 200 characters, at least 4 of them visible, without control, format,
    /// private-use, unassigned or ignorable code points, fillers or noncharacters (nothing invisible, and no
    /// right-to-left mark that would make the access record read otherwise).
    static func reason(_ text: String?) -> String? {
        guard let text = text?.trimmingCharacters(in: .whitespacesAndNewlines), (4...200).contains(text.count) else {
            return nil
        }
        let fillers: Set<UInt32> = [0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800, 0x303F, 0x180E]
        var visible = 0
        for scalar in text.unicodeScalars {
            let properties = scalar.properties
            if properties.isDefaultIgnorableCodePoint || properties.isNoncharacterCodePoint
                || fillers.contains(scalar.value)
            {
                return nil
            }
            switch properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator, .privateUse, .unassigned, .surrogate:
                return nil
            case .spaceSeparator, .nonspacingMark, .enclosingMark, .spacingMark:
                continue
            default:
                visible += 1
            }
        }
        return visible >= 4 ? text : nil
    }

    func addSubscriber(to router: RouterGroup<BasicRequestContext>) {
        router.get("subscriber") { request, _ in
            try await page(request, roles: Self.subscriberRoles) { visit in
                let query = Self.queryFields(request)
                let typed = query["number"] ?? ""
                guard !typed.isEmpty else { return subscriberPage(visit, number: nil, reason: nil, notice: nil) }
                guard let number = normalizeNumber(typed) else {
                    return subscriberPage(
                        visit, number: nil, reason: nil, notice: pages.text("not_a_number", visit.language),
                        status: .badRequest)
                }
                guard let reason = Self.reason(query["reason"]) else {
                    // The number alone: masked, and the form asks why it is opened.
                    return subscriberPage(
                        visit, number: number, reason: nil,
                        notice: query["reason"] == nil ? nil : pages.text("reason_needed", visit.language),
                        status: query["reason"] == nil ? .ok : .badRequest)
                }
                return try await openSubscriber(visit, number: number, reason: reason, notice: nil)
            }
        }
        router.post("subscriber/unlock") { request, _ in
            try await form(request, roles: Self.subscriberRoles) { visit, fields in
                guard let number = fields["number"].flatMap(normalizeNumber), let reason = Self.reason(fields["reason"])
                else {
                    return subscriberPage(
                        visit, number: nil, reason: nil, notice: pages.text("reason_needed", visit.language),
                        status: .badRequest)
                }
                let outcome = await engine.unlockPassword(
                    of: number, by: visit.session.account, reason: reason, session: visit.session.id)
                return try await openSubscriber(visit, number: number, reason: reason, notice: outcome.reply)
            }
        }
        router.post("subscriber/cancel") { request, _ in
            try await form(request, roles: Self.subscriberRoles) { visit, fields in
                guard let number = fields["number"].flatMap(normalizeNumber),
                    let reason = Self.reason(fields["reason"])
                else {
                    return subscriberPage(
                        visit, number: nil, reason: nil, notice: pages.text("reason_needed", visit.language),
                        status: .badRequest)
                }
                guard let kind = fields["kind"].flatMap(PendingChange.Kind.init(rawValue:)) else {
                    return subscriberPage(
                        visit, number: nil, reason: nil, notice: pages.text("sub_bad_kind", visit.language),
                        status: .badRequest)
                }
                let outcome = await engine.cancelPendingChange(
                    of: number, kind: kind, by: visit.session.account, reason: reason, session: visit.session.id)
                return try await openSubscriber(visit, number: number, reason: reason, notice: outcome.reply)
            }
        }
    }

    /// The view of `number` opened for `reason`: the access record first, then the data; no record, no data.
    func openSubscriber(_ visit: Visit, number: String, reason: String, notice: String?) async throws -> Response {
        guard
            await engine.recordAccess(
                account: visit.session.account, role: visit.session.role.rawValue, subject: number, view: "subscriber",
                reason: reason, session: visit.session.id) != nil
        else {
            return pages.render(
                "error", visit, console: console, title: "subscriber",
                ["message": pages.text("access_not_recorded", visit.language)], status: .serviceUnavailable)
        }
        guard let view = try await engine.consoleAccount(number) else {
            return subscriberPage(
                visit, number: number, reason: reason, notice: pages.text("unknown_number", visit.language),
                status: .notFound)
        }
        var filter = RecordFilter()
        filter.subject = number
        let head = (try? engine.recordChainHead())?.id ?? 0
        filter.afterID = max(0, head - 20_000)
        var recent: [ServiceRecord] = []
        for record in try await engine.records(matching: filter) {
            recent.append(record)
            if recent.count > 20 { recent.removeFirst() }
        }
        let language = visit.language
        let calendar = engine.configuration.calendar
        let s = view.subscriber
        let now = engine.now()
        let locked = s.passwordLockedUntil.map { $0 > now } ?? false
        var values: [String: Any] = [
            "number": number, "reason": reason, "opened": true,
            "name": s.name, "status": s.status.rawValue, "tier": s.tier.rawValue, "payment": s.payment.rawValue,
            "plan": view.plan.map { "\($0.code) · \($0.name(in: language))" } ?? s.planCode,
            "balance": formatYuan(s.balanceFen), "points": s.points, "language": s.language.rawValue,
            "failed_attempts": s.failedPasswordAttempts, "locked": locked,
            "can_unlock": locked || s.failedPasswordAttempts > 0,
            "locked_until": s.passwordLockedUntil.map { calendar.dateTime(of: $0) } ?? "",
            "pending": view.pending.map {
                [
                    "kind": $0.kind.rawValue, "plan": $0.planCode ?? "", "effective": $0.effective.description,
                ] as [String: Any]
            },
            "has_pending": !view.pending.isEmpty,
            "orders": view.openOrders.map {
                ["id": $0.id, "operation": $0.operation, "state": $0.state.rawValue, "created": $0.created]
                    as [String: Any]
            },
            "has_orders": !view.openOrders.isEmpty,
            "calls": view.recentCalls.map {
                [
                    "time": calendar.dateTime(of: $0.startedAt), "other": $0.peer,
                    "direction": $0.outgoing ? "→" : "←", "seconds": $0.durationSeconds,
                ] as [String: Any]
            },
            "has_calls": !view.recentCalls.isEmpty,
            "records": recent.reversed().map(recordRow),
            "has_records": !recent.isEmpty,
        ]
        if let notice { values["notice"] = notice }
        values["has_notice"] = notice != nil
        return pages.render("subscriber", visit, console: console, title: "subscriber", values)
    }

    func subscriberPage(
        _ visit: Visit, number: String?, reason: String?, notice: String?, status: HTTPResponse.Status = .ok
    ) -> Response {
        pages.render(
            "subscriber", visit, console: console, title: "subscriber",
            [
                "number": number ?? "", "masked": number.map(maskNumber) ?? "", "asking": number != nil,
                "opened": false, "notice": notice ?? "", "has_notice": notice != nil,
            ], status: status)
    }

    /// One record as a row of the console's tables.
    func recordRow(_ record: ServiceRecord) -> [String: Any] {
        [
            "id": record.id, "time": record.time, "channel": record.channel, "caller": record.caller,
            "subject": record.subject, "operation": record.operation, "result": record.result,
            "reason": record.reason, "reply": record.reply, "inputs": record.inputs,
            "refused": record.result != "ok",
        ]
    }
}
