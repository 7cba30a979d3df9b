import Foundation

/// Where an SMS notice to a customer stands. A notice is sent at most once: it is marked `sending` (committed)
/// before the SMS gateway is called, and a call whose outcome is unknown is never repeated.
public enum NoticeState: String, Sendable, Codable, CaseIterable {
    /// Queued with the change it tells of; not sent yet.
    case pending
    /// Handed to the SMS gateway's call now (or when the gateway stopped during the call).
    case sending
    /// The SMS gateway accepted it.
    case sent
    /// The SMS gateway refused it after every try, or the number cannot take it.
    case failed
    /// The call's outcome is unknown (no answer, a stop during the call): not sent again, so never twice.
    case unknown
}

/// A notice about to be queued, in the transaction of what it tells of.
public struct NoticeDraft: Sendable, Equatable {
    /// The number it goes to.
    public var msisdn: String
    /// What it tells of (`plan.applied`, `password.third_party`, `order.compensated`…): the prompt key after
    /// `notice.`.
    public var kind: String
    /// The text, rendered in the customer's language.
    public var text: String
    /// When it was queued.
    public var time: Date
    /// The service record of what it tells of.
    public var record: Int64

    /// A draft with every field given.
    public init(msisdn: String, kind: String, text: String, time: Date, record: Int64) {
        self.msisdn = msisdn
        self.kind = kind
        self.text = text
        self.time = time
        self.record = record
    }
}

/// An SMS notice to a customer as stored (docs/notices.md).
public struct Notice: Sendable, Equatable {
    /// 1, 2, 3… in the order queued.
    public var id: Int64
    /// The number it goes to.
    public var msisdn: String
    /// What it tells of.
    public var kind: String
    /// The text.
    public var text: String
    /// When it was queued (ISO 8601 UTC).
    public var created: String
    /// The service record of what it tells of.
    public var record: Int64
    /// Where it stands.
    public var state: NoticeState
    /// Calls tried.
    public var attempts: Int
    /// When the state last changed.
    public var updated: String
    /// When it may be tried next after a refused call (ISO 8601 UTC); nil: as soon as allowed.
    public var nextAttempt: String?
    /// Why the last call failed.
    public var lastError: String?

    /// A notice with every field given.
    public init(
        id: Int64, msisdn: String, kind: String, text: String, created: String, record: Int64, state: NoticeState,
        attempts: Int, updated: String, nextAttempt: String? = nil, lastError: String? = nil
    ) {
        self.id = id
        self.msisdn = msisdn
        self.kind = kind
        self.text = text
        self.created = created
        self.record = record
        self.state = state
        self.attempts = attempts
        self.updated = updated
        self.nextAttempt = nextAttempt
        self.lastError = lastError
    }

    /// The notice `draft` becomes as the `id`th: pending, never tried.
    public init(id: Int64, draft: NoticeDraft) {
        let created = ISOTime.format(draft.time)
        self.init(
            id: id, msisdn: draft.msisdn, kind: draft.kind, text: draft.text, created: created, record: draft.record,
            state: .pending, attempts: 0, updated: created)
    }

    /// One JSON Lines row: `id`, `msisdn`, `kind`, `text`, `created`, `record`, `state`, `attempts`, `updated`,
    /// `next_attempt`, `last_error`.
    public var jsonLine: String {
        var s = "{\"id\":\(id),\"msisdn\":\(jsonString(msisdn)),\"kind\":\(jsonString(kind)),"
        s += "\"text\":\(jsonString(text)),\"created\":\(jsonString(created)),\"record\":\(record),"
        s += "\"state\":\(jsonString(state.rawValue)),\"attempts\":\(attempts),\"updated\":\(jsonString(updated)),"
        s += "\"next_attempt\":\(nextAttempt.map(jsonString) ?? "null"),"
        s += "\"last_error\":\(lastError.map(jsonString) ?? "null")}"
        return s
    }
}

/// When notices may go out: never in the quiet hours of the carrier's local day.
public struct NoticePolicy: Sendable {
    /// The local hour quiet hours start (22: 22:00); nil: no quiet hours.
    public var quietFrom: Int? = 22
    /// The local hour they end (8: 08:00); may be earlier than `quietFrom` (the night).
    public var quietUntil: Int = 8
    /// Refused calls tried at most before the notice is `failed`.
    public var maxAttempts = 5
    /// The wait after a refused call, doubled after each.
    public var baseDelay: TimeInterval = 60

    /// The carrier's defaults: quiet from 22:00 to 08:00.
    public init() {}

    /// Whether `hour` (0–23, local) is in the quiet hours.
    public func isQuiet(hour: Int) -> Bool {
        guard let from = quietFrom, from != quietUntil else { return false }
        return from < quietUntil ? (hour >= from && hour < quietUntil) : (hour >= from || hour < quietUntil)
    }
}

/// Which notices to list.
public struct NoticeFilter: Sendable, Equatable {
    /// Only notices in this state, when set.
    public var state: NoticeState?
    /// Only notices with a greater id.
    public var afterID: Int64?
    /// At most this many.
    public var limit: Int?

    /// A filter keeping the notices that match every criterion given.
    public init(state: NoticeState? = nil, afterID: Int64? = nil, limit: Int? = nil) {
        self.state = state
        self.afterID = afterID
        self.limit = limit
    }
}
