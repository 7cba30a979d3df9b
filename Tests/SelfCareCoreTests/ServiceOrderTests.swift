import Foundation
import SelfCareCore
import SelfCareTesting
import Testing

/// Every applied transaction leaves one service order in its own transaction, telling billing what changed
/// (docs/orders.md); nothing else does.
@Suite("Service orders")
struct ServiceOrderTests {
    static let number = "18612345678"

    func engine(_ subscribers: [Subscriber]) async throws -> OperationEngine {
        let store = MemoryServiceStore()
        try await Fixtures.seed(store, subscribers: subscribers)
        return try Fixtures.engine(store: store)
    }

    func perform(
        _ engine: OperationEngine, _ operation: OperationName, _ arguments: [String: String] = [:],
        password: Secret? = Fixtures.password, confirm: Bool = false
    ) async -> OperationOutcome {
        var request = OperationRequest(
            operation: operation, channel: .sms, caller: Self.number, arguments: arguments, password: password)
        request.requiresConfirmation = confirm
        return await engine.perform(request)
    }

    @Test func eachTransactionSaysWhatItChanged() async throws {
        let engine = try await engine([Fixtures.subscriber(Self.number)])
        let steps: [(OperationName, [String: String], [String: String], [String: String])] = [
            (.lossReport, [:], ["status": "normal"], ["status": "lost"]),
            (.lossCancel, [:], ["status": "lost"], ["status": "normal"]),
            (.planChange, ["plan": "P18"], ["plan": "P38"], ["plan": "P18"]),
            (
                .planChange, ["plan": "P58", "when": "next"], ["pending.plan.change": "none"],
                ["pending.plan.change": "P58 from 2026-12-01"]
            ),
            (.planCancel, [:], ["pending.plan.change": "P58 from 2026-12-01"], ["pending.plan.change": "none"]),
            (.suspendKeep, [:], ["status": "normal"], ["status": "suspended"]),
            (.suspendResume, [:], ["status": "suspended"], ["status": "normal"]),
        ]
        for (i, (operation, arguments, before, after)) in steps.enumerated() {
            let outcome = await perform(engine, operation, arguments)
            #expect(outcome.isOK, "\(operation): \(outcome.reason) \(outcome.reply)")
            let orders = try await engine.orders(OrderFilter())
            #expect(orders.count == i + 1, "\(operation) leaves one order")
            let order = try #require(orders.last)
            #expect(order.operation == operation.rawValue && order.subject == Self.number && order.channel == "sms")
            #expect(order.before == before && order.after == after, "\(operation)")
            #expect(order.record == outcome.record?.id)
            #expect(order.key == "SC-" + (outcome.record?.hash.prefix(32) ?? ""))
        }
    }

    /// A scheduled change is ordered when scheduled: applying it when due orders nothing more; scheduling the
    /// same again changes nothing and orders nothing; a change the tick drops is ordered as dropped.
    @Test func scheduledChangesAreOrderedOnceAndADroppedOneIsToldToo() async throws {
        let store = MemoryServiceStore()
        try await Fixtures.seed(store, subscribers: [Fixtures.subscriber(Self.number)])
        let clock = ManualTimeSource(Fixtures.midNovember)
        let engine = try Fixtures.engine(store: store, clock: clock)
        #expect(await perform(engine, .planChange, ["plan": "P58", "when": "next"]).isOK)
        #expect(await perform(engine, .planChange, ["plan": "P58", "when": "next"]).isOK)
        #expect(await perform(engine, .suspendKeep, ["when": "next"]).isOK)
        #expect(await perform(engine, .lossReport).isOK)
        #expect(
            try await engine.orders(OrderFilter()).map(\.operation) == ["plan.change", "suspend.keep", "loss.report"])
        clock.advance(by: 20 * 86_400)  // into December: both changes fall due, the number is lost
        let records = try await engine.applyDueChanges()
        #expect(records.map(\.result).sorted() == ["ok", "refused"], "\(records.map(\.reason))")
        let orders = try await engine.orders(OrderFilter())
        #expect(orders.count == 4, "the applied change orders nothing more; the dropped one is told")
        let dropped = try #require(orders.last)
        let refused = try #require(records.first { $0.result == "refused" })
        #expect(dropped.record == refused.id && dropped.operation == refused.operation)
        #expect(dropped.after.values.allSatisfy { $0 == "none" } && dropped.before.count == 1)
    }

    @Test func aPasswordChangeIsToldAsAFactNeverAsItsHash() async throws {
        let engine = try await engine([Fixtures.subscriber(Self.number)])
        let outcome = await engine.perform(
            OperationRequest(
                operation: .passwordChange, channel: .sms, caller: Self.number, password: Fixtures.password,
                newPassword: Secret("147036"), newPasswordAgain: Secret("147036")))
        #expect(outcome.isOK, "\(outcome.reason)")
        let order = try #require(try await engine.orders(OrderFilter()).last)
        #expect(order.before == ["password": "set"] && order.after == ["password": "changed"])
        #expect(!order.jsonLine.contains("pbkdf2") && !order.jsonLine.contains("147036"))
        let set = await engine.setPassword(of: Self.number, to: Secret("258036"), by: "operator")
        #expect(set.isOK)
        let operatorOrder = try #require(try await engine.orders(OrderFilter()).last)
        #expect(operatorOrder.operation == "password.set" && operatorOrder.after == ["password": "changed"])
    }

    @Test func queriesRefusalsAndUnconfirmedRequestsLeaveNoOrder() async throws {
        let engine = try await engine([Fixtures.subscriber(Self.number, status: .lost)])
        _ = await perform(engine, .queryBalance, password: nil)
        let refused = await perform(engine, .lossReport)
        #expect(refused.reason == .alreadyLost)
        let wrong = await perform(engine, .lossCancel, password: Secret("000000"))
        #expect(wrong.reason == .badPassword)
        let asked = await perform(engine, .lossCancel, confirm: true)
        #expect(asked.reason == .confirmationRequired)
        #expect(try await engine.orders(OrderFilter()).isEmpty)
        // The customer's "Y" applies it: now there is one.
        let confirmed = await engine.confirm(caller: Self.number, channel: .sms, session: nil)
        #expect(confirmed.isOK, "\(confirmed.reason)")
        let orders = try await engine.orders(OrderFilter())
        #expect(orders.map(\.operation) == ["loss.cancel"] && orders.first?.record == confirmed.record?.id, "\(orders)")
    }
}
