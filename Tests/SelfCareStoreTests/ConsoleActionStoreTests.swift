import Foundation
import SelfCareCore
import SelfCareTesting
import Testing

/// The console's access records and operators' actions, through the engine, on every store.
@Suite("Console actions, on memory, SQLite and PostgreSQL")
struct ConsoleActionStoreTests {
    @Test(arguments: StoreKind.available)
    func accessRecordsUnlocksAndCancelsLandWithTheirRecords(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            var locked = Fixtures.subscriber()
            locked.failedPasswordAttempts = 5
            locked.passwordLockedUntil = Fixtures.midNovember.addingTimeInterval(3600)
            try await Fixtures.seed(store, subscribers: [locked])
            try await store.write {
                try $0.save(
                    PendingChange(
                        msisdn: "18612345678", kind: .planChange, planCode: "P58",
                        effective: LocalDate(year: 2026, month: 12, day: 1), requestedAt: Fixtures.midNovember))
            }
            let engine = try Fixtures.engine(store: store)
            let view = await engine.recordAccess(
                account: "li.na", role: "operator", subject: "18612345678", view: "subscriber",
                reason: "customer called", session: "abc123")
            #expect(view?.operation == "console.view")
            #expect(view?.caller == "console:li.na")
            #expect(view?.inputValues == ["view": "subscriber", "reason": "customer called", "role": "operator"])
            let unlock = await engine.unlockPassword(
                of: "18612345678", by: "li.na", reason: "locked out", session: "abc123")
            #expect(unlock.isOK)
            #expect(unlock.record?.channel == "console")
            let again = await engine.unlockPassword(of: "18612345678", by: "li.na", reason: "again", session: nil)
            #expect(again.reason == .notLocked)
            let cancel = await engine.cancelPendingChange(
                of: "18612345678", kind: .planChange, by: "li.na", reason: "asked by phone", session: nil)
            #expect(cancel.isOK)
            let none = await engine.cancelPendingChange(
                of: "18612345678", kind: .planChange, by: "li.na", reason: "asked by phone", session: nil)
            #expect(none.reason == .nothingPending)
            let unknown = await engine.unlockPassword(of: "18699999999", by: "li.na", reason: "typo", session: nil)
            #expect(unknown.reason == .unknownSubscriber)
            let s = try await store.read { try $0.subscriber("18612345678") }
            #expect(s?.failedPasswordAttempts == 0 && s?.passwordLockedUntil == nil)
            #expect(try await store.read { try $0.pendingChanges("18612345678") }.isEmpty)
            let orders = try await store.read { try $0.orders(OrderFilter()) }
            #expect(orders.map(\.operation) == ["plan.cancel"])
            #expect(orders.first?.channel == "console")
            let records = try await store.records(matching: RecordFilter())
            #expect(
                records.map { "\($0.operation) \($0.reason)" } == [
                    "console.view ok", "password.unlock ok", "password.unlock not_locked", "plan.cancel ok",
                    "plan.cancel nothing_pending", "password.unlock unknown_subscriber",
                ])
            #expect(records.allSatisfy { $0.caller == "console:li.na" && $0.channel == "console" })
            #expect(records.dropFirst().allSatisfy { $0.inputValues["reason"] != nil })
            #expect(try store.verifyRecords().brokenCount == 0)
            let head = try engine.recordChainHead()
            #expect(head?.id == records.last?.id)
        }
    }
}
