import Foundation

extension EngineTransaction {
    /// Queues an SMS notice to `msisdn`, in this transaction: it is sent only if what it tells of lands.
    /// - Parameter key: the notice's prompt (`notice.plan.applied`); its kind is the key after `notice.`.
    func queueNotice(to msisdn: String, _ key: PromptKey, text: String, record: ServiceRecord) throws {
        let kind = key.rawValue.hasPrefix("notice.") ? String(key.rawValue.dropFirst("notice.".count)) : key.rawValue
        _ = try writer.append(NoticeDraft(msisdn: msisdn, kind: kind, text: text, time: now, record: record.id))
    }
}

/// How one call to the SMS gateway ended.
public enum NoticeCallResult: Sendable, Equatable {
    /// The gateway accepted the message.
    case accepted
    /// The gateway answered and refused it (it did not take it): tried again later, or failed after the last try.
    case refused(String)
    /// No answer, or an answer that cannot be read: the message may have gone. Never tried again.
    case unknown(String)
}

/// SMS notices to customers, sent at most once each, every step through the engine with its record.
extension OperationEngine {
    /// Takes the oldest due pending notice for a call: marks it `sending` (committed before the call, so a stop
    /// during the call can never lead to a second one). Nil when none is due, or in the quiet hours.
    public func claimNotice(policy: NoticePolicy) async throws -> Notice? {
        let started = clock.now()
        let hour = configuration.calendar.hour(of: started)
        guard !policy.isQuiet(hour: hour) else { return nil }
        return try await transaction(at: started) { tx -> Notice? in
            let now = ISOTime.format(tx.now)
            var filter = NoticeFilter(state: .pending, limit: 200)
            while true {
                let page = try tx.writer.notices(filter)
                if var notice = page.first(where: { ($0.nextAttempt ?? "") <= now }) {
                    notice.state = .sending
                    notice.attempts += 1
                    notice.updated = now
                    try tx.writer.update(notice)
                    return notice
                }
                guard let last = page.last, page.count == filter.limit else { return nil }
                filter.afterID = last.id
            }
        }
    }

    /// Records how the call for a claimed notice ended, with a `notice.send` record: `sent`; `pending` again
    /// after a wait when refused, or `failed` after the policy's last try; `unknown` when the outcome is not known.
    @discardableResult
    public func recordNoticeCall(
        _ id: Int64, result: NoticeCallResult, policy: NoticePolicy
    ) async throws -> Notice? {
        let started = clock.now()
        return try await transaction(at: started) { tx -> Notice? in
            guard var notice = try tx.writer.notice(id: id), notice.state == .sending else { return nil }
            notice.updated = ISOTime.format(tx.now)
            let (kind, reason): (ResultKind, ReasonCode)
            var inputs = ["notice": String(notice.id), "kind": notice.kind, "attempt": String(notice.attempts)]
            switch result {
            case .accepted:
                notice.state = .sent
                notice.lastError = nil
                (kind, reason) = (.ok, .ok)
            case .refused(let why):
                notice.lastError = String(why.prefix(200))
                inputs["error"] = notice.lastError
                if notice.attempts >= policy.maxAttempts {
                    notice.state = .failed
                } else {
                    notice.state = .pending
                    let wait = policy.baseDelay * pow(2, Double(max(0, min(notice.attempts - 1, 20))))
                    notice.nextAttempt = ISOTime.format(tx.now.addingTimeInterval(min(wait, 6 * 3600)))
                }
                (kind, reason) = (.error, .deliveryFailed)
            case .unknown(let why):
                notice.state = .unknown
                notice.lastError = String(why.prefix(200))
                inputs["error"] = notice.lastError
                (kind, reason) = (.error, .deliveryFailed)
            }
            try tx.writer.update(notice)
            _ = try tx.writer.append(
                RecordDraft(
                    time: tx.now, channel: .sms, session: nil, caller: OperationName.tickCaller,
                    subject: notice.msisdn, operation: OperationName.noticeSend.rawValue, inputs: inputs, auth: .none,
                    result: kind, reason: reason, reply: notice.state == .sent ? notice.text : "", durationMS: 0))
            return notice
        }
    }

    /// Notices left `sending` for longer than `after` seconds (a stop during their call): marked `unknown`, never
    /// sent again. Returns how many.
    @discardableResult
    public func settleInterruptedNotices(after: TimeInterval = 300) async throws -> Int {
        let started = clock.now()
        let cutoff = ISOTime.format(started.addingTimeInterval(-after))
        let stuck = try await store.read { try $0.notices(NoticeFilter(state: .sending)) }.filter {
            $0.updated < cutoff
        }
        for notice in stuck {
            try await recordNoticeCall(
                notice.id, result: .unknown("the gateway stopped during the call"), policy: NoticePolicy())
        }
        return stuck.count
    }

    /// The notices `filter` selects, oldest first.
    public func notices(_ filter: NoticeFilter) async throws -> [Notice] {
        try await store.read { try $0.notices(filter) }
    }
}
