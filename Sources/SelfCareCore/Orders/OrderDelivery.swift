import Foundation

/// How service orders are handed to billing: how often a failed delivery is tried again, and when an order
/// delivered but not answered is stale.
public struct OrderDeliveryPolicy: Sendable {
    /// Deliveries tried at most; the order is `dead` after the last one fails.
    public var maxAttempts = 8
    /// The wait after the first failure; each later failure doubles it.
    public var baseDelay: TimeInterval = 30
    /// The longest wait between two tries.
    public var maxDelay: TimeInterval = 3600
    /// How long billing may take to answer a delivered order before it is stale (escalated).
    public var answerTimeout: TimeInterval = 24 * 3600

    /// The carrier's defaults.
    public init() {}

    /// The wait before the next try after `failures` failed tries: `baseDelay`·2^(failures−1), at most `maxDelay`,
    /// times `jitter` (a factor in 0.5..<1.5 drawn for each failure, so that orders failed together are not
    /// tried again together).
    public func delay(afterFailures failures: Int, jitter: Double) -> TimeInterval {
        let exponent = Double(max(0, min(failures - 1, 30)))
        return min(baseDelay * pow(2, exponent), maxDelay) * min(max(jitter, 0.5), 1.5)
    }
}

/// Orders a node claimed to post (`claimOrdersDue`): as they were before the claim, and when the claim ends.
public struct OrderClaim: Sendable {
    /// The orders claimed, with their next try as it was before the claim.
    public var orders: [ServiceOrder]
    /// The next try the claim gave them: the end of the hold.
    public var until: String
}

/// How one delivery of service orders ended.
public enum OrderDeliveryResult: Sendable, Equatable {
    /// Billing took the orders (a 2xx answer, or the outbox file written with its sidecar).
    case delivered
    /// It did not; the reason in one line (an HTTP status, a connection error).
    case failed(String)
}

/// Billing's answer to a service order.
public enum OrderAnswer: String, Sendable, Equatable, CaseIterable {
    /// Billing applied the order.
    case accepted
    /// Billing refused it.
    case rejected
}

/// What an answer did.
public enum OrderAnswerOutcome: Sendable, Equatable {
    /// The order is closed with the answer.
    case closed(ServiceOrder)
    /// The same answer again: nothing changed.
    case unchanged(ServiceOrder)
    /// No order has the key, or the order was answered otherwise before: refused, and recorded.
    case refused(String)
}

/// Service orders on their way to billing and back, each step through the engine with its record.
extension OperationEngine {
    /// Pending orders whose next try is due, oldest first, at most `limit`.
    public func ordersDue(limit: Int) async throws -> [ServiceOrder] {
        let now = ISOTime.format(clock.now())
        return try await store.read { try Self.ordersDue(in: $0, now: now, limit: limit) }
    }

    /// Pending orders whose next try is due, as `reader` sees them.
    static func ordersDue(in reader: any StoreReader, now: String, limit: Int) throws -> [ServiceOrder] {
        var due: [ServiceOrder] = []
        var filter = OrderFilter(state: .pending, limit: max(limit, 1) * 4)
        while due.count < limit {
            let page = try reader.orders(filter)
            due += page.filter { ($0.nextAttempt ?? "") <= now }.prefix(limit - due.count)
            guard let last = page.last, page.count == filter.limit else { break }
            filter.afterID = last.id
        }
        return due
    }

    /// Pending orders whose next try is due, oldest first, at most `limit`, **claimed** for `hold` seconds: their
    /// next try moves `hold` ahead in the transaction that finds them, so that no other node on the database takes
    /// them while this one posts them. A node that stops while holding orders leaves them to whichever node looks
    /// once the hold is over: each order is still delivered at least once, and, nodes alive, once. A claim is
    /// delivery bookkeeping, not a change of service: it writes no record (the delivery that follows does).
    public func claimOrdersDue(limit: Int, hold: TimeInterval) async throws -> OrderClaim {
        try await transaction(at: clock.now()) { tx in
            let due = try Self.ordersDue(in: tx.writer, now: ISOTime.format(tx.now), limit: limit)
            let until = ISOTime.format(tx.now.addingTimeInterval(hold))
            for var order in due {
                order.nextAttempt = until
                try tx.writer.update(order)
            }
            return OrderClaim(orders: due, until: until)
        }
    }

    /// Gives back the orders of `claim` this node did not post after all (a pass stopped at a failure): each
    /// still pending and still held by the claim gets its next try back as it was, so that the hold does not delay
    /// it.
    public func release(_ claim: OrderClaim, except posted: Set<Int64>) async throws {
        let unposted = claim.orders.filter { !posted.contains($0.id) }
        guard !unposted.isEmpty else { return }
        try await transaction(at: clock.now()) { tx in
            for order in unposted {
                guard var stored = try tx.writer.order(id: order.id), stored.state == .pending,
                    stored.nextAttempt == claim.until
                else { continue }
                stored.nextAttempt = order.nextAttempt
                try tx.writer.update(stored)
            }
        }
    }

    /// Records how delivering `ids` through `via` (`webhook`, an outbox file's name) ended, in one transaction: a
    /// delivered order becomes `delivered`; a failed one is tried again after the policy's wait, or becomes `dead`
    /// after its last try. One `order.deliver` record for the batch. Orders no longer pending are left alone (a
    /// second node or an answer got there first).
    /// - Returns: the orders as they now stand.
    @discardableResult
    public func recordDelivery(
        _ ids: [Int64], via: String, result: OrderDeliveryResult, policy: OrderDeliveryPolicy,
        jitter: @escaping @Sendable () -> Double = { Double.random(in: 0.5..<1.5) }
    ) async throws -> [ServiceOrder] {
        let started = clock.now()
        let changed = try await transaction(at: started) { tx in
            let now = ISOTime.format(tx.now)
            var changed: [ServiceOrder] = []
            var dead = 0
            for id in ids {
                guard var order = try tx.writer.order(id: id), order.state == .pending else { continue }
                order.attempts += 1
                order.updated = now
                switch result {
                case .delivered:
                    order.state = .delivered
                    order.nextAttempt = nil
                    order.lastError = nil
                case .failed(let why):
                    order.lastError = String(why.prefix(200))
                    if order.attempts >= policy.maxAttempts {
                        order.state = .dead
                        order.nextAttempt = nil
                        dead += 1
                    } else {
                        let wait = policy.delay(afterFailures: order.attempts, jitter: jitter())
                        order.nextAttempt = ISOTime.format(tx.now.addingTimeInterval(wait))
                    }
                }
                try tx.writer.update(order)
                changed.append(order)
            }
            guard !changed.isEmpty else { return changed }
            var inputs = [
                "via": via, "orders": String(changed.count), "first": String(changed[0].id),
                "last": String(changed[changed.count - 1].id),
            ]
            if changed.count == 1 { inputs["key"] = changed[0].key }
            let (resultKind, reason): (ResultKind, ReasonCode)
            switch result {
            case .delivered: (resultKind, reason) = (.ok, .ok)
            case .failed(let why):
                inputs["error"] = String(why.prefix(200))
                if dead > 0 { inputs["dead"] = String(dead) }
                (resultKind, reason) = (.error, dead > 0 ? .orderDead : .deliveryFailed)
            }
            _ = try tx.writer.append(
                RecordDraft(
                    time: tx.now, channel: .api, session: nil, caller: OperationName.tickCaller,
                    subject: changed.count == 1 ? changed[0].subject : OperationName.tickCaller,
                    operation: OperationName.orderDeliver.rawValue, inputs: inputs, auth: .none, result: resultKind,
                    reason: reason, reply: "", durationMS: 0))
            return changed
        }
        metrics.orderDeliveries("delivered", count: changed.count { $0.state == .delivered })
        metrics.orderDeliveries("failed", count: changed.count { $0.state == .pending })
        metrics.orderDeliveries("dead", count: changed.count { $0.state == .dead })
        return changed
    }

    /// Applies billing's answer to the order with `key` (an HTTP callback or a line of an answer file), with an
    /// `order.ack` record, in one transaction. An answer to a pending order counts too (the delivery's own answer
    /// was lost). The same answer twice changes nothing; a contradicting one, or an unknown key, is refused.
    /// - Parameter source: where the answer came from (`http`, a file's name), for the record.
    public func answerOrder(
        key: String, answer: OrderAnswer, reason: String, source: String
    ) async throws -> OrderAnswerOutcome {
        let started = clock.now()
        let prompts = self.prompts
        return try await transaction(at: started) { tx in
            try Self.answerOrder(
                key: key, answer: answer, reason: reason, source: source,
                context: ApplyContext(
                    writer: tx.writer, now: tx.now, prompts: prompts, calendar: tx.configuration.calendar))
        }
    }

    /// `answerOrder` inside a transaction (a feed file's answers apply in the file's transaction).
    static func answerOrder(
        key: String, answer: OrderAnswer, reason: String, source: String, context: ApplyContext
    ) throws -> OrderAnswerOutcome {
        let (writer, now) = (context.writer, context.now)
        let reasonText = String(reason.prefix(200))
        var inputs = ["key": String(key.prefix(64)), "answer": answer.rawValue, "source": source]
        if !reasonText.isEmpty { inputs["reason"] = reasonText }
        func record(subject: String, result: ResultKind, reason: ReasonCode, reply: String) throws {
            _ = try writer.append(
                RecordDraft(
                    time: now, channel: .api, session: nil, caller: OperationName.tickCaller, subject: subject,
                    operation: OperationName.orderAck.rawValue, inputs: inputs, auth: .none, result: result,
                    reason: reason, reply: reply, durationMS: 0))
        }
        guard var order = try writer.order(key: key) else {
            let why = "no order has the key"
            try record(subject: OperationName.tickCaller, result: .refused, reason: .orderUnknown, reply: why)
            return .refused(why)
        }
        let target: OrderState = answer == .accepted ? .accepted : .rejected
        if order.state == target { return .unchanged(order) }
        if order.isClosed {
            let why = "order \(order.id) was \(order.state.rawValue) already"
            try record(subject: order.subject, result: .refused, reason: .orderUnknown, reply: why)
            return .refused(why)
        }
        order.state = target
        order.updated = ISOTime.format(now)
        order.nextAttempt = nil
        order.answer = reasonText.isEmpty ? nil : reasonText
        try writer.update(order)
        inputs["order"] = String(order.id)
        try record(subject: order.subject, result: .ok, reason: .ok, reply: "order \(order.id) \(target.rawValue)")
        // Billing refused the change: undo it here too, and tell the customer. A ticket changed nothing to undo:
        // its answer is what `complaint.status` shows.
        if target == .rejected, !Compensation.ticketOperations.contains(order.operation) {
            try Compensation.undo(order, context: context)
        }
        return .closed(order)
    }

    /// Sends a dead or rejected order again (`selfcare orders retry`): pending, due now, its tries counted from
    /// zero, with an `order.retry` record naming `operator`.
    /// - Returns: the order as it now stands; nil when there is no such order.
    /// - Throws: `OrderRetryRefusal` when the order is not dead (a pending or delivered order is on its way, an
    ///   accepted one done).
    public func retryOrder(id: Int64, by operatorName: String) async throws -> ServiceOrder? {
        let started = clock.now()
        return try await transaction(at: started) { tx in
            guard var order = try tx.writer.order(id: id) else { return nil }
            guard order.state == .dead else { throw OrderRetryRefusal(order: order) }
            let before = order.state
            order.state = .pending
            order.attempts = 0
            order.nextAttempt = nil
            // A new file for it, after the ones billing has seen.
            order.outboxFile = nil
            order.updated = ISOTime.format(tx.now)
            try tx.writer.update(order)
            _ = try tx.writer.append(
                RecordDraft(
                    time: tx.now, channel: .api, session: nil, caller: operatorName, subject: order.subject,
                    operation: OperationName.orderRetry.rawValue,
                    inputs: ["order": String(order.id), "key": order.key, "was": before.rawValue], auth: .none,
                    result: .ok, reason: .ok, reply: "order \(order.id) pending again", durationMS: 0))
            return order
        }
    }

    /// Orders delivered more than the policy's answer timeout ago and still not answered, oldest first.
    public func staleOrders(policy: OrderDeliveryPolicy, limit: Int? = nil) async throws -> [ServiceOrder] {
        let cutoff = ISOTime.format(clock.now().addingTimeInterval(-policy.answerTimeout))
        return try await store.read { reader in
            var stale: [ServiceOrder] = []
            var filter = OrderFilter(state: .delivered, limit: 1000)
            while true {
                let page = try reader.orders(filter)
                stale += page.filter { $0.updated < cutoff }
                if let limit, stale.count >= limit { return Array(stale.prefix(limit)) }
                guard let last = page.last, page.count == filter.limit else { return stale }
                filter.afterID = last.id
            }
        }
    }

    /// How many orders are in each state, and when the oldest pending one was written: the backlog in /metrics.
    public func orderBacklog() async throws -> (counts: [OrderState: Int], oldestPending: Date?) {
        try await store.read { reader in
            let counts = try reader.orderCounts()
            let oldest = try reader.orders(OrderFilter(state: .pending, limit: 1)).first.flatMap {
                ISOTime.parse($0.created)
            }
            return (counts, oldest)
        }
    }
}

/// `orders retry` on an order that is not dead.
public struct OrderRetryRefusal: Error, CustomStringConvertible {
    /// The order as it stands.
    public var order: ServiceOrder
    /// Why it is not retried, one line.
    public var description: String {
        "order \(order.id) is \(order.state.rawValue): only a dead order is sent again"
            + (order.state == .pending ? " (it is on its way)" : "")
    }
}

/// Delivery by outbox files: which orders go in the next file.
extension OperationEngine {
    /// The next outbox file to write: a file given out before and not recorded as written (a stop between the two)
    /// first, with the same orders, so that it is written again byte for byte; else due pending orders not yet in
    /// a file, at most `limit`, put in file `last + 1` in one transaction. Nil when nothing is due.
    public func claimOutboxFile(limit: Int) async throws -> (sequence: Int, orders: [ServiceOrder])? {
        let started = clock.now()
        return try await transaction(at: started) { tx in
            let now = ISOTime.format(tx.now)
            var filter = OrderFilter(state: .pending, limit: 1000)
            var due: [ServiceOrder] = []
            while true {
                let page = try tx.writer.orders(filter)
                for order in page {
                    if let file = order.outboxFile {
                        // Files go out in sequence: a file that failed is written again when due, before any other.
                        guard (order.nextAttempt ?? "") <= now else { return nil }
                        return (file, try tx.writer.orders(inOutboxFile: file))
                    }
                    if due.count < limit && (order.nextAttempt ?? "") <= now { due.append(order) }
                }
                guard let last = page.last, page.count == filter.limit else { break }
                filter.afterID = last.id
            }
            guard !due.isEmpty else { return nil }
            let sequence = try tx.writer.lastOutboxFile() + 1
            for var order in due {
                order.outboxFile = sequence
                try tx.writer.update(order)
            }
            return (sequence, try tx.writer.orders(inOutboxFile: sequence))
        }
    }
}
