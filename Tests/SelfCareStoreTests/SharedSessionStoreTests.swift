import Foundation
import SelfCareChannels
import SelfCareCore
import SelfCareCrypto
import SelfCarePostgres
import SelfCareTesting
import Testing

/// A live session as the store sees it, with password digits being keyed in.
private struct KeyedSession: SessionState, Codable, Equatable {
    var value: String
    var caller = ""
    var source = ""
    var engaged = false
    var digits: Secret?

    var sessionCaller: String { caller }
    var sessionSource: String { source }
    var standing: SessionStanding { engaged ? .engaged : .browsing }

    static func == (a: KeyedSession, b: KeyedSession) -> Bool {
        a.value == b.value && a.caller == b.caller && a.source == b.source && a.engaged == b.engaged
            && a.digits.map { d in b.digits.map { d.matches($0) } ?? false } ?? (b.digits == nil)
    }
}

private let key = Pepper(bytes: Array(repeating: 7, count: 32)).derivedKey(purpose: "live sessions")
private let t0 = Date(timeIntervalSince1970: 1_800_000_000)

private func sessions(
    _ store: PostgresServiceStore, kind: String = "ussd", key sealing: [UInt8] = key,
    limits: SessionLimits = SessionLimits(capacity: 1_000)
) -> PostgresSessionStore<KeyedSession> {
    PostgresSessionStore(kind: kind, store: store, sealingKey: sealing, idleTimeout: 120, limits: limits)
}

@Suite("Live sessions on PostgreSQL", .serialized, .enabled(if: testPostgres != nil))
struct SharedSessionStoreTests {
    @Test func aSessionSavedByOneNodeContinuesOnAnotherUntilItIdlesOut() async throws {
        try await withTemporaryPostgres { first in
            // A second node: a store of its own on the same database.
            let second = try PostgresServiceStore(location: first.location, connections: 2)
            defer { second.close() }
            let a = sessions(first)
            let b = sessions(second)
            await a.save("s1", KeyedSession(value: "menu", caller: "18612345678"), now: t0)
            #expect(await b.load("s1", now: t0 + 60) == KeyedSession(value: "menu", caller: "18612345678"))
            await b.save("s1", KeyedSession(value: "step 2", caller: "18612345678"), now: t0 + 60)
            #expect(await a.load("s1", now: t0 + 179)?.value == "step 2", "refreshed at its last step")
            #expect(await a.load("s1", now: t0 + 181) == nil, "idle past the timeout")
            #expect(await b.count() == 0, "an idle session found is deleted")
            // The IVR's calls are apart from USSD's sessions, whatever their ids.
            let calls = sessions(first, kind: "ivr")
            await a.save("same", KeyedSession(value: "ussd"), now: t0)
            await calls.save("same", KeyedSession(value: "ivr"), now: t0)
            #expect(await a.load("same", now: t0)?.value == "ussd")
            #expect(await calls.load("same", now: t0)?.value == "ivr")
            await calls.remove("same")
            #expect(await calls.load("same", now: t0) == nil)
            #expect(await a.count() == 1)
        }
    }

    @Test func passwordDigitsNeverReachTheTableInClearAndASealedStateOpensOnlyWhereItWasSealed() async throws {
        try await withTemporaryPostgres { store in
            let live = sessions(store)
            let typing = KeyedSession(value: "password", caller: "18612345678", engaged: true, digits: Secret("470159"))
            await live.save("pw", typing, now: t0)
            await live.save("other", KeyedSession(value: "menu", caller: "13912345678"), now: t0)
            #expect(await live.load("pw", now: t0 + 1) == typing)
            let table = try await store.rawRows("SELECT id, caller, state FROM live_sessions ORDER BY id")
            #expect(table.count == 2)
            #expect(!table.joined().contains("470159"), "the digits are sealed: \(table)")
            #expect(!table.joined().contains("password"), "so is the rest of the state")
            // A sealed state copied onto another session, or read under another pepper, does not open.
            try store.executeRaw(
                "UPDATE live_sessions SET state = (SELECT state FROM live_sessions WHERE id = 'pw') WHERE id = 'other'")
            #expect(await live.load("other", now: t0 + 1) == nil)
            let otherPepper = Pepper(bytes: Array(repeating: 8, count: 32)).derivedKey(purpose: "live sessions")
            #expect(await sessions(store, key: otherPepper).load("pw", now: t0 + 1) == nil)
            #expect(await live.load("pw", now: t0 + 1) == typing)
            // An old state put back later with a fresh row: the time inside the seal says it idled out.
            try store.executeRaw(
                "UPDATE live_sessions SET last_active = \(t0.timeIntervalSince1970 + 500) WHERE id = 'pw'")
            #expect(await live.load("pw", now: t0 + 500) == nil)
        }
    }

    @Test func aCallerPastItsBoundReplacesItsOwnLeastValuableSession() async throws {
        try await withTemporaryPostgres { store in
            let live = sessions(store, limits: SessionLimits(capacity: 1_000, perCaller: 3))
            await live.save("mine", KeyedSession(value: "pw", caller: "186", engaged: true), now: t0)
            await live.save("other", KeyedSession(value: "menu", caller: "139"), now: t0)
            for i in 0..<10 {
                await live.save("186-\(i)", KeyedSession(value: "menu", caller: "186"), now: t0 + Double(i))
            }
            #expect(await live.load("mine", now: t0 + 20) != nil, "engaged: kept")
            #expect(await live.load("186-9", now: t0 + 20) != nil)
            #expect(await live.load("186-8", now: t0 + 20) != nil)
            #expect(await live.load("186-7", now: t0 + 20) == nil)
            #expect(await live.load("other", now: t0 + 20) != nil, "nobody else's")
            #expect(await live.count() == 4)
        }
    }

    @Test func aSweepFreesIdleSessionsAndKeepsSourcesAndTheWholeWithinTheirBounds() async throws {
        try await withTemporaryPostgres { store in
            let live = sessions(store, limits: SessionLimits(capacity: 60, perCaller: 8, perSource: 20))
            await live.save("old", KeyedSession(value: "menu", caller: "1"), now: t0 - 200)
            await live.save("customer", KeyedSession(value: "pw", caller: "2", source: "gw", engaged: true), now: t0)
            for i in 0..<50 {
                await live.save(
                    "x\(i)", KeyedSession(value: "menu", caller: "150\(i)", source: "attacker"), now: t0 + Double(i))
            }
            for i in 0..<45 {
                await live.save("g\(i)", KeyedSession(value: "menu", caller: "151\(i)", source: "gw2"), now: t0)
            }
            await live.sweep(now: t0 + 60)
            #expect(await live.load("old", now: t0 + 60) == nil, "idle past the timeout")
            // Each source keeps its 20 most valuable sessions, then the whole keeps 60: browsing ones go first.
            #expect(await live.count() == 41)
            #expect(await live.load("customer", now: t0 + 60) != nil)
            #expect(await live.load("x49", now: t0 + 60) != nil)
            #expect(await live.load("x29", now: t0 + 60) == nil)
            let tight = sessions(store, limits: SessionLimits(capacity: 10, perCaller: 8, perSource: 20))
            await tight.sweep(now: t0 + 60)
            #expect(await tight.count() == 10)
            #expect(await tight.load("customer", now: t0 + 60) != nil, "engaged: the last to go")
        }
    }

    /// A flood of new sessions between two timed sweeps: the node sweeps by itself every tenth of the cap.
    @Test func aFloodStaysNearTheCapWithoutWaitingForTheTimedSweep() async throws {
        try await withTemporaryPostgres { store in
            let live = sessions(store, limits: SessionLimits(capacity: 50, perCaller: 8))
            for i in 0..<400 {
                await live.save("f\(i)", KeyedSession(value: "menu", caller: "150\(i)"), now: t0 + Double(i) / 100)
            }
            let count = await live.count()
            #expect(count <= 55, "\(count) sessions for a cap of 50")
            #expect(await live.load("f399", now: t0 + 4) != nil, "the newest are kept")
        }
    }

    @Test func aSecretIsNeverEncodedOutsideASealedBox() throws {
        #expect(throws: EncodingError.self) {
            try JSONEncoder().encode(KeyedSession(value: "x", digits: Secret("1234")))
        }
        let sealed = #"{"value":"x","engaged":false,"caller":"","source":"","digits":"1234"}"#
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(KeyedSession.self, from: Data(sealed.utf8)) }
    }
}
