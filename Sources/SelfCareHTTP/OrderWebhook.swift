import Foundation
import SelfCareCore

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Delivers service orders to billing's webhook (docs/orders.md): one `POST` of JSON a order, with its
/// idempotency key in an `Idempotency-Key` header, so a receiver that honours the key applies each order once
/// however often it arrives. A 2xx answer delivers the order; anything else, or no answer, is tried again after
/// the policy's wait with jitter, and the order is dead after its last try.
public struct OrderWebhook: Sendable {
    /// The engine the orders are read from and their deliveries recorded through.
    public let engine: OperationEngine
    /// Billing's endpoint.
    public let url: URL
    /// Sent as `Authorization: Bearer TOKEN` when set.
    public var token: String?
    /// Seconds a call may take.
    public var timeout: TimeInterval = 10
    /// Tries and waits.
    public var policy = OrderDeliveryPolicy()

    /// A webhook posting to `url`.
    public init(engine: OperationEngine, url: URL) {
        self.engine = engine
        self.url = url
    }

    /// What a pass did.
    public struct Pass: Sendable, Equatable {
        /// Orders billing took.
        public var delivered = 0
        /// Orders it did not, tried again later (or dead).
        public var failed = 0

        /// A pass that delivered `delivered` orders and failed `failed`.
        public init(delivered: Int = 0, failed: Int = 0) {
            self.delivered = delivered
            self.failed = failed
        }
    }

    /// Orders claimed at a time: each chunk is posted well within its hold.
    static let chunk = 20

    /// How long a claimed order is held for this node: the calls of a whole chunk at their deadline, with room.
    var hold: TimeInterval { max(60, timeout * Double(Self.chunk) + 30) }

    /// Posts every due order, oldest first, at most `limit`, claiming them a chunk at a time so that several nodes
    /// on one database never post the same order (`claimOrdersDue`); stops at the first failure, so that an
    /// endpoint that is down costs one try a pass, not one per order (the orders of the chunk not posted then are
    /// given back as they were).
    public func drain(limit: Int = 500) async throws -> Pass {
        var pass = Pass()
        while pass.delivered + pass.failed < limit {
            let claim = try await engine.claimOrdersDue(
                limit: min(Self.chunk, limit - pass.delivered - pass.failed), hold: hold)
            if claim.orders.isEmpty { break }
            var posted: Set<Int64> = []
            for order in claim.orders {
                let result = await post(order)
                posted.insert(order.id)
                try await engine.recordDelivery([order.id], via: "webhook", result: result, policy: policy)
                if result == .delivered {
                    pass.delivered += 1
                } else {
                    pass.failed += 1
                    try await engine.release(claim, except: posted)
                    return pass
                }
            }
        }
        return pass
    }

    /// One call: delivered on a 2xx answer.
    func post(_ order: ServiceOrder) async -> OrderDeliveryResult {
        var request = URLRequest(url: url, timeoutInterval: timeout)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue(order.key, forHTTPHeaderField: "Idempotency-Key")
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        request.httpBody = Data(order.payload.utf8)
        switch await OutboundHTTP.call(request, timeout: timeout) {
        case .answered(let status, _):
            return (200..<300).contains(status) ? .delivered : .failed("HTTP \(status)")
        case .unreachable(let why), .noAnswer(let why):
            return .failed(why)
        }
    }
}
