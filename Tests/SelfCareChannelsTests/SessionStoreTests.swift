import Foundation
import SelfCareChannels
import Testing

@Suite("Memory session store")
struct SessionStoreTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func idleSessionsExpireAndTheLeastRecentlyUsedGoFirst() async {
        let store: any SessionStore<String> = MemorySessionStore<String>(idleTimeout: 120, capacity: 3)
        await store.save("a", "A", now: t0)
        await store.save("b", "B", now: t0)
        await store.save("c", "C", now: t0)
        await store.save("a", "A2", now: t0 + 1)  // a is now the most recent
        await store.save("d", "D", now: t0 + 2)  // over capacity: b, the least recent, goes
        #expect(await store.count() == 3)
        #expect(await store.load("b", now: t0 + 3) == nil)
        #expect(await store.load("a", now: t0 + 3) == "A2")
        #expect(await store.load("c", now: t0 + 120) == "C")
        #expect(await store.load("c", now: t0 + 121) == nil, "idle past the timeout")
        await store.remove("d")
        #expect(await store.count() == 1)
    }

    @Test func holdsManySessionsWithinItsCapacity() async {
        let store = MemorySessionStore<Int>(idleTimeout: 120, capacity: 10_000)
        for i in 0..<25_000 { await store.save("s\(i)", i, now: t0) }
        #expect(await store.count() == 10_000)
        #expect(await store.load("s24999", now: t0) == 24_999)
        #expect(await store.load("s0", now: t0) == nil)
    }
}
