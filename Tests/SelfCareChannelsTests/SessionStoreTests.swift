import Foundation
import SelfCareChannels
import Testing

/// A session as the store sees it: a value, its caller and source, and whether it is at a menu.
struct TestSession: SessionState, Equatable {
    var value: String
    var caller = ""
    var source = ""
    var engaged = false

    var sessionCaller: String { caller }
    var sessionSource: String { source }
    var standing: SessionStanding { engaged ? .engaged : .browsing }
}

@Suite("Memory session store")
struct SessionStoreTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func idleSessionsExpireAndTheLeastRecentlyUsedGoFirst() async {
        let store: any SessionStore<TestSession> = MemorySessionStore<TestSession>(idleTimeout: 120, capacity: 3)
        await store.save("a", TestSession(value: "A"), now: t0)
        await store.save("b", TestSession(value: "B"), now: t0)
        await store.save("c", TestSession(value: "C"), now: t0)
        await store.save("a", TestSession(value: "A2"), now: t0 + 1)  // a is now the most recent
        await store.save("d", TestSession(value: "D"), now: t0 + 2)  // over capacity: b, the least recent, goes
        #expect(await store.count() == 3)
        #expect(await store.load("b", now: t0 + 3) == nil)
        #expect(await store.load("a", now: t0 + 3)?.value == "A2")
        #expect(await store.load("c", now: t0 + 120)?.value == "C")
        #expect(await store.load("c", now: t0 + 121) == nil, "idle past the timeout")
        await store.remove("d")
        #expect(await store.count() == 1)
    }

    @Test func holdsManySessionsWithinItsCapacity() async {
        let store = MemorySessionStore<TestSession>(idleTimeout: 120, capacity: 10_000)
        for i in 0..<25_000 { await store.save("s\(i)", TestSession(value: "\(i)"), now: t0) }
        #expect(await store.count() == 10_000)
        #expect(await store.load("s24999", now: t0)?.value == "24999")
        #expect(await store.load("s0", now: t0) == nil)
    }

    @Test func aFullStoreEvictsBrowsingSessionsBeforeAnEngagedOne() async {
        let store = MemorySessionStore<TestSession>(idleTimeout: 120, capacity: 100)
        await store.save("customer", TestSession(value: "password", engaged: true), now: t0)
        for i in 0..<1_000 { await store.save("flood-\(i)", TestSession(value: "menu"), now: t0 + 1) }
        #expect(await store.count() == 100)
        #expect(await store.load("customer", now: t0 + 61)?.value == "password", "the oldest, but engaged")
        // Once only engaged sessions are left, the least recently used of them goes.
        for i in 0..<150 { await store.save("busy-\(i)", TestSession(value: "pw", engaged: true), now: t0 + 2) }
        #expect(await store.count() == 100)
        #expect(await store.load("customer", now: t0 + 3) == nil)
        #expect(await store.load("busy-149", now: t0 + 3) != nil)
    }

    @Test func aCallerAndASourceReplaceTheirOwnSessionsPastTheirBounds() async {
        let store = MemorySessionStore<TestSession>(
            idleTimeout: 120, limits: SessionLimits(capacity: 1_000, perCaller: 3, perSource: 50))
        await store.save("mine", TestSession(value: "pw", caller: "186", source: "gw", engaged: true), now: t0)
        await store.save("other", TestSession(value: "menu", caller: "139", source: "gw"), now: t0)
        // One number opens many sessions: it keeps three, its engaged one among them.
        for i in 0..<20 {
            await store.save("186-\(i)", TestSession(value: "menu", caller: "186", source: "gw"), now: t0)
        }
        #expect(await store.load("mine", now: t0) != nil)
        #expect(await store.load("186-19", now: t0) != nil)
        #expect(await store.load("186-0", now: t0) == nil)
        #expect(await store.count() == 4)
        // One address floods with new numbers: it keeps fifty and pushes out nobody else's.
        await store.save("elsewhere", TestSession(value: "menu", caller: "137", source: "aggregator"), now: t0)
        for i in 0..<500 {
            await store.save("x\(i)", TestSession(value: "menu", caller: "150\(i)", source: "attacker"), now: t0 + 1)
        }
        #expect(await store.count() == 4 + 1 + 50)
        #expect(await store.load("elsewhere", now: t0 + 2) != nil)
        #expect(await store.load("mine", now: t0 + 2) != nil)
        #expect(await store.load("x499", now: t0 + 2) != nil)
    }

    @Test func aSweepFreesIdleSessionsNobodyAsksFor() async {
        let store = MemorySessionStore<TestSession>(idleTimeout: 120, capacity: 100_000)
        for i in 0..<20_000 {
            await store.save("s\(i)", TestSession(value: "\(i)", caller: "1\(i)", source: "gw"), now: t0)
        }
        await store.save("late", TestSession(value: "late"), now: t0 + 100)
        await store.sweep(now: t0 + 121)
        #expect(await store.count() == 1)
        #expect(await store.load("late", now: t0 + 121)?.value == "late")
        // New sessions keep sweeping by themselves: the late one goes too, without a sweep of its own.
        await store.save("new", TestSession(value: "new"), now: t0 + 300)
        #expect(await store.count() == 1)
    }
}
