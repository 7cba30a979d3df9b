import Foundation
import SelfCareCore
import SelfCareTesting
import Testing

/// SMS notices queued with what they tell of and sent at most once (docs/notices.md), and rejected orders undone
/// (docs/orders.md).
@Suite("Notices and compensation")
struct NoticeAndCompensationTests {
    static let number = "18612345678"

    static func engine(
        _ subscribers: [Subscriber] = [Fixtures.subscriber(number)],
        clock: ManualTimeSource = ManualTimeSource(Fixtures.midNovember)
    ) async throws -> (OperationEngine, MemoryServiceStore) {
        let store = MemoryServiceStore()
        try await Fixtures.seed(store, subscribers: subscribers)
        return (try Fixtures.engine(store: store, clock: clock), store)
    }

    static func perform(
        _ engine: OperationEngine, _ operation: OperationName, caller: String = number, subject: String? = nil,
        _ arguments: [String: String] = [:], password: String = "258036"
    ) async -> OperationOutcome {
        await engine.perform(
            OperationRequest(
                operation: operation, channel: .sms, caller: caller, subject: subject, arguments: arguments,
                password: Secret(password)))
    }

    @Test func noticesAreQueuedWithWhatTheyTellOfInTheCustomersLanguage() async throws {
        let (engine, _) = try await Self.engine([
            Fixtures.subscriber(Self.number), Fixtures.subscriber("18611110001", language: .english),
        ])
        // A query tells nothing.
        _ = await Self.perform(engine, .queryBalance)
        #expect(try await engine.notices(NoticeFilter()).isEmpty)
        // A loss reported from another phone, with the owner's password.
        let loss = await Self.perform(engine, .lossReport, caller: "13900000000", subject: "18611110001")
        #expect(loss.isOK, "\(loss.reason)")
        // Five wrong passwords from the number itself lock it.
        for _ in 0..<5 { _ = await Self.perform(engine, .queryBill, password: "000000") }
        let notices = try await engine.notices(NoticeFilter())
        #expect(notices.map(\.kind) == ["loss.other_phone", "password.locked"])
        #expect(notices[0].msisdn == "18611110001" && notices[0].text.hasPrefix("Security notice: number 18611110001"))
        #expect(notices[0].text.contains("139****0000") && !notices[0].text.contains("13900000000"))
        #expect(notices[1].msisdn == Self.number && notices[1].text.hasPrefix("【安全提醒】您的服务密码因连续输错已被锁定"))
        #expect(notices.allSatisfy { $0.state == .pending && $0.attempts == 0 })
    }

    @Test func aDueChangeAndAThirdPartysWrongPasswordQueueNotices() async throws {
        let clock = ManualTimeSource(Fixtures.midNovember)
        let (engine, _) = try await Self.engine(clock: clock)
        #expect(await Self.perform(engine, .planChange, ["plan": "P58", "when": "next"]).isOK)
        _ = await Self.perform(engine, .lossReport, caller: "13900000000", subject: Self.number, password: "000000")
        clock.advance(by: 20 * 86_400)
        try await engine.applyDueChanges()
        let notices = try await engine.notices(NoticeFilter())
        #expect(notices.map(\.kind) == ["password.third_party", "plan.applied"])
        #expect(notices[1].text.contains("2026-12-01"))
    }

    @Test func aNoticeIsSentAtMostOnceAndNeverInTheQuietHours() async throws {
        // 23:00 local (15:00 UTC) is quiet by default; 09:00 local is not.
        let clock = ManualTimeSource(ISOTime.parse("2026-11-15T23:00:00+08:00")!)
        let (engine, store) = try await Self.engine(clock: clock)
        for _ in 0..<5 { _ = await Self.perform(engine, .queryBill, password: "000000") }
        var policy = NoticePolicy()
        policy.maxAttempts = 2
        #expect(try await engine.claimNotice(policy: policy) == nil, "quiet hours")
        clock.advance(by: 10 * 3600)
        let claimed = try #require(try await engine.claimNotice(policy: policy))
        #expect(claimed.state == .sending && claimed.attempts == 1)
        #expect(try await engine.claimNotice(policy: policy) == nil, "a notice being sent is not claimed again")

        // Refused: tried again after its wait, then failed.
        let refused = try #require(
            try await engine.recordNoticeCall(claimed.id, result: .refused("HTTP 503"), policy: policy))
        #expect(refused.state == .pending && refused.nextAttempt != nil)
        #expect(try await engine.claimNotice(policy: policy) == nil, "not before its wait")
        clock.advance(by: 120)
        let again = try #require(try await engine.claimNotice(policy: policy))
        let failed = try #require(
            try await engine.recordNoticeCall(again.id, result: .refused("HTTP 503"), policy: policy))
        #expect(failed.state == .failed && failed.attempts == 2)

        // A stop during a call: the notice is unknown, never sent again.
        for _ in 0..<5 { _ = await Self.perform(engine, .queryBill, password: "000000") }
        clock.advance(by: 25 * 3600)
        for _ in 0..<5 { _ = await Self.perform(engine, .queryBill, password: "000000") }
        let interrupted = try #require(try await engine.claimNotice(policy: policy))
        clock.advance(by: 600)
        #expect(try await engine.settleInterruptedNotices() == 1)
        #expect(try await engine.notices(NoticeFilter(state: .unknown)).map(\.id) == [interrupted.id])
        _ = await Self.perform(engine, .lossReport, caller: "13900000000", subject: Self.number, password: "000000")
        let next = try #require(try await engine.claimNotice(policy: policy))
        #expect(next.id != interrupted.id)
        let sent = try #require(try await engine.recordNoticeCall(next.id, result: .accepted, policy: policy))
        #expect(sent.state == .sent)
        let sends = try await store.records(matching: RecordFilter()).filter { $0.operation == "notice.send" }
        #expect(sends.map(\.result) == ["error", "error", "error", "ok"])
        #expect(sends.last?.reply == sent.text)
    }

    @Test(arguments: [
        (OperationName.lossReport, [String: String](), "status"),
        (.planChange, ["plan": "P58", "when": "next"], "pending.plan.change"),
        (.planChange, ["plan": "P58"], "plan"),
        (.suspendKeep, [:], "status"),
    ])
    func aRejectedOrderIsUndoneAndTheCustomerTold(
        _ operation: OperationName, _ arguments: [String: String], field: String
    ) async throws {
        let (engine, store) = try await Self.engine()
        let before = try #require(try await store.read { try $0.subscriber(Self.number) })
        #expect(await Self.perform(engine, operation, arguments).isOK)
        let order = try #require(try await engine.order(id: 1))
        #expect(order.after[field] != nil)
        guard
            case .closed(let rejected) = try await engine.answerOrder(
                key: order.key, answer: .rejected, reason: "no", source: "test")
        else {
            Issue.record("expected the order closed")
            return
        }
        #expect(rejected.state == .rejected)
        let after = try #require(try await store.read { try $0.subscriber(Self.number) })
        #expect(after.status == before.status && after.planCode == before.planCode)
        #expect(try await store.read { try $0.pendingChanges(Self.number) }.isEmpty)
        let record = try #require(
            try await store.records(matching: RecordFilter()).last { $0.operation == "order.compensate" })
        #expect(record.result == "ok" && record.inputValues["undone"] == field)
        let notice = try #require(try await engine.notices(NoticeFilter()).last)
        #expect(notice.kind == "order.compensated" && notice.text.hasPrefix("很抱歉，您于2026-11-15 10:00办理的业务"))
        #expect(try await engine.orders(OrderFilter()).count == 1, "undoing writes no new order")
    }

    @Test func aFieldChangedSinceIsLeftAndAPasswordCannotBeUndone() async throws {
        let (engine, store) = try await Self.engine()
        #expect(await Self.perform(engine, .lossReport).isOK)
        #expect(await Self.perform(engine, .lossCancel).isOK)
        let loss = try #require(try await engine.order(id: 1))
        _ = try await engine.answerOrder(key: loss.key, answer: .rejected, reason: "", source: "test")
        #expect(try await store.read { try $0.subscriber(Self.number) }?.status == .normal, "not set back to lost")
        var compensations = try await store.records(matching: RecordFilter()).filter {
            $0.operation == "order.compensate"
        }
        #expect(compensations.last?.reason == "compensation_incomplete")
        #expect(compensations.last?.inputValues["conflicts"] == "status")

        var change = OperationRequest(
            operation: .passwordChange, channel: .sms, caller: Self.number, password: Secret("258036"))
        change.newPassword = Secret("582963")
        change.newPasswordAgain = Secret("582963")
        #expect(await engine.perform(change).isOK)
        let password = try #require(try await engine.orders(OrderFilter()).last)
        _ = try await engine.answerOrder(key: password.key, answer: .rejected, reason: "", source: "test")
        compensations = try await store.records(matching: RecordFilter()).filter { $0.operation == "order.compensate" }
        #expect(compensations.last?.inputValues["not_undoable"] == "password")
        #expect(try await engine.notices(NoticeFilter()).filter { $0.kind == "order.compensated" }.isEmpty)
    }

    /// A field a later order changed is never undone, even when it came back to the value the rejected order set;
    /// nor anything on a number closed since; nor a scheduled change whose date has passed.
    @Test func laterChangesClosedNumbersAndPastDatesAreNeverUndone() async throws {
        let clock = ManualTimeSource(Fixtures.midNovember)
        let (engine, store) = try await Self.engine(clock: clock)
        #expect(await Self.perform(engine, .lossReport).isOK)
        #expect(await Self.perform(engine, .lossCancel).isOK)
        #expect(await Self.perform(engine, .lossReport).isOK)
        let first = try #require(try await engine.order(id: 1))
        _ = try await engine.answerOrder(key: first.key, answer: .rejected, reason: "", source: "test")
        #expect(
            try await store.read { try $0.subscriber(Self.number) }?.status == .lost, "the customer's last word stays")
        var record = try #require(
            try await store.records(matching: RecordFilter()).last { $0.operation == "order.compensate" })
        #expect(record.reason == "compensation_incomplete" && record.inputValues["conflicts"] == "status")
        #expect(try await engine.notices(NoticeFilter()).isEmpty, "a partial undo is not told as a restoration")

        // A scheduled suspension dropped by the tick (the number is lost), the drop rejected after the date.
        #expect(await Self.perform(engine, .lossCancel).isOK)
        #expect(await Self.perform(engine, .suspendKeep, ["when": "next"]).isOK)
        #expect(await Self.perform(engine, .lossReport).isOK)
        clock.advance(by: 20 * 86_400)
        try await engine.applyDueChanges()
        let dropped = try #require(try await engine.orders(OrderFilter()).last)
        #expect(dropped.after["pending.suspend.keep"] == "none")
        _ = try await engine.answerOrder(key: dropped.key, answer: .rejected, reason: "", source: "test")
        #expect(try await store.read { try $0.pendingChanges(Self.number) }.isEmpty, "no change dated in the past")
        record = try #require(
            try await store.records(matching: RecordFilter()).last { $0.operation == "order.compensate" })
        #expect(record.inputValues["conflicts"] == "pending.suspend.keep")

        // Closed since the order: nothing is undone, whatever the field holds.
        let last = try #require(
            try await engine.orders(OrderFilter(state: .pending)).last { $0.operation == "loss.report" })
        try await store.write { writer in try writer.supersedeOrders(of: Self.number) }
        _ = try await engine.answerOrder(key: last.key, answer: .rejected, reason: "", source: "test")
        record = try #require(
            try await store.records(matching: RecordFilter()).last { $0.operation == "order.compensate" })
        #expect(record.inputValues["superseded"] != nil && record.result == "error")
        #expect(try await store.read { try $0.subscriber(Self.number) }?.status == .lost)
    }
}
