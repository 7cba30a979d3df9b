import Foundation

/// Where a service order (工单) stands on its way to the billing system and back.
public enum OrderState: String, Sendable, Codable, CaseIterable {
    /// Written with its change, not yet handed to billing.
    case pending
    /// Handed to billing, not yet answered.
    case delivered
    /// Billing applied it.
    case accepted
    /// Billing refused it (the change is to be undone).
    case rejected
    /// Delivery gave up after its tries; an operator retries it.
    case dead
}

/// A service order about to be written, in the transaction of the change it reports.
public struct OrderDraft: Sendable, Equatable {
    /// When the change was made (the record's time).
    public var time: Date
    /// The operation applied (`loss.report`).
    public var operation: OperationName
    /// The number the change concerns.
    public var subject: String
    /// The channel the change came through.
    public var channel: Channel
    /// The service record written with the change.
    public var record: Int64
    /// The idempotency key billing deduplicates by: unique, and the same on every delivery of the order.
    public var key: String
    /// What the change touched, as it was before: `status`, `plan`, `password`, `pending.plan.change`…
    public var before: [String: String]
    /// The same fields after the change.
    public var after: [String: String]

    /// A draft with every field given.
    public init(
        time: Date, operation: OperationName, subject: String, channel: Channel, record: Int64, key: String,
        before: [String: String], after: [String: String]
    ) {
        self.time = time
        self.operation = operation
        self.subject = subject
        self.channel = channel
        self.record = record
        self.key = key
        self.before = before
        self.after = after
    }
}

/// A service order as stored: a change applied here that the billing system must hear of (工单闭环).
public struct ServiceOrder: Sendable, Equatable {
    /// 1, 2, 3… in the order written.
    public var id: Int64
    /// The idempotency key (`SC-` and 32 hex digits of the record's hash).
    public var key: String
    /// The operation applied.
    public var operation: String
    /// The number the change concerns.
    public var subject: String
    /// The channel the change came through.
    public var channel: String
    /// The service record written with the change.
    public var record: Int64
    /// When the order was written: ISO 8601 UTC with milliseconds, as records.
    public var created: String
    /// What the change touched, before it.
    public var before: [String: String]
    /// The same fields after it.
    public var after: [String: String]
    /// Where the order stands.
    public var state: OrderState
    /// Deliveries tried so far.
    public var attempts: Int
    /// When the state last changed (ISO 8601 UTC).
    public var updated: String
    /// When the next delivery is tried (ISO 8601 UTC), after a failed one; nil: as soon as possible.
    public var nextAttempt: String?
    /// Why the last delivery failed, when it did (one line).
    public var lastError: String?
    /// Billing's answer: its reason for accepting or rejecting the order, when it gave one.
    public var answer: String?
    /// The sequence number of the outbox file the order was put in, when delivery is by files.
    public var outboxFile: Int?
    /// Whether the number was closed (or given to a new customer) after the order: its change is then never undone.
    public var superseded = false

    /// An order with every field given, as stored.
    public init(
        id: Int64, key: String, operation: String, subject: String, channel: String, record: Int64, created: String,
        before: [String: String], after: [String: String], state: OrderState, attempts: Int, updated: String,
        nextAttempt: String? = nil, lastError: String? = nil, answer: String? = nil, outboxFile: Int? = nil,
        superseded: Bool = false
    ) {
        self.id = id
        self.key = key
        self.operation = operation
        self.subject = subject
        self.channel = channel
        self.record = record
        self.created = created
        self.before = before
        self.after = after
        self.state = state
        self.attempts = attempts
        self.updated = updated
        self.nextAttempt = nextAttempt
        self.lastError = lastError
        self.answer = answer
        self.outboxFile = outboxFile
        self.superseded = superseded
    }

    /// What billing receives of the order, one JSON object: `id`, `key`, `operation`, `subject`, `channel`,
    /// `record`, `created`, `before`, `after`. The same bytes on every delivery of the order.
    public var payload: String {
        var s = "{"
        s += "\"id\":\(id),\"key\":\(jsonString(key)),\"operation\":\(jsonString(operation)),"
        s += "\"subject\":\(jsonString(subject)),\"channel\":\(jsonString(channel)),\"record\":\(record),"
        s += "\"created\":\(jsonString(created)),\"before\":\(Self.jsonObject(before)),"
        s += "\"after\":\(Self.jsonObject(after))}"
        return s
    }

    /// Whether `text` has the shape of an order's key: `SC-` and 32 lowercase hex digits.
    public static func isKey(_ text: String) -> Bool {
        text.utf8.count == 35 && text.hasPrefix("SC-")
            && text.utf8.dropFirst(3).allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// Whether billing has answered the order (accepted or rejected): nothing more happens to it.
    public var isClosed: Bool { state == .accepted || state == .rejected }

    /// The order `draft` becomes as the `id`th order: pending, never tried.
    public init(id: Int64, draft: OrderDraft) {
        let created = ISOTime.format(draft.time)
        self.init(
            id: id, key: draft.key, operation: draft.operation.rawValue, subject: draft.subject,
            channel: draft.channel.rawValue, record: draft.record, created: created, before: draft.before,
            after: draft.after, state: .pending, attempts: 0, updated: created)
    }

    /// One JSON Lines row: `id`, `key`, `operation`, `subject`, `channel`, `record`, `created`, `before`, `after`,
    /// `state`, `attempts`, `updated`, `next_attempt`, `last_error`, `answer`, in this order; `before` and `after`
    /// as objects with sorted keys; the last three null when unset.
    public var jsonLine: String {
        var s = String(payload.dropLast())
        s += ",\"state\":\(jsonString(state.rawValue)),"
        s += "\"attempts\":\(attempts),\"updated\":\(jsonString(updated)),"
        s += "\"next_attempt\":\(nextAttempt.map(jsonString) ?? "null"),"
        s += "\"last_error\":\(lastError.map(jsonString) ?? "null"),\"answer\":\(answer.map(jsonString) ?? "null")}"
        return s
    }

    /// The CSV header matching `csvLine`.
    public static let csvHeader =
        "id,key,operation,subject,channel,record,created,before,after,state,attempts,updated,next_attempt,last_error,answer"

    /// One CSV row without its line end, cells quoted and neutralised as the records' export does (`csvCell`);
    /// `before` and `after` as their JSON text.
    public var csvLine: String {
        [
            String(id), key, operation, subject, channel, String(record), created, Self.jsonObject(before),
            Self.jsonObject(after), state.rawValue, String(attempts), updated, nextAttempt ?? "", lastError ?? "",
            answer ?? "",
        ].map(csvCell).joined(separator: ",")
    }

    /// `values` as a JSON object with sorted keys.
    public static func jsonObject(_ values: [String: String]) -> String {
        "{"
            + values.sorted { $0.key < $1.key }.map { jsonString($0.key) + ":" + jsonString($0.value) }
            .joined(separator: ",") + "}"
    }

    /// `text` (a JSON object of strings, as `jsonObject` writes it) as a dictionary; empty when it is not one.
    public static func values(fromJSON text: String) -> [String: String] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: String] ?? [:]
    }
}

/// Which orders to list.
public struct OrderFilter: Sendable, Equatable {
    /// Only orders in this state, when set.
    public var state: OrderState?
    /// Only orders about this number, when set.
    public var subject: String?
    /// Only orders with a greater id: the cursor of a page.
    public var afterID: Int64?
    /// At most this many orders.
    public var limit: Int?

    /// A filter keeping the orders that match every criterion given; with none, every order.
    public init(state: OrderState? = nil, afterID: Int64? = nil, limit: Int? = nil) {
        self.state = state
        self.afterID = afterID
        self.limit = limit
    }
}
