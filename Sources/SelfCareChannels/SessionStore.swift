import Foundation
import SelfCareCore

#if canImport(Glibc)
    import Glibc
#endif

/// Keeps the state of live USSD and IVR sessions between steps.
///
/// Implementation requirements:
/// - `load` returns nil for an unknown session and for one idle longer than the store's timeout.
/// - The store is bounded: it never holds more than `capacity` sessions, and sessions idle past the timeout are
///   freed by `sweep` (which the server runs periodically), not only when their id comes back.
/// - Session state may hold password digits being collected; it is never written to disk or logged.
public protocol SessionStore<State>: Sendable {
    /// What the store keeps of each session (`USSDSession`, `IVRSession`).
    associatedtype State: Sendable
    /// The state of session `id`; nil when it is unknown or has been idle longer than the timeout at `now`.
    func load(_ id: String, now: Date) async -> State?
    /// Stores `state` as session `id`, last active at `now`; to stay within its bounds the store may evict
    /// other sessions.
    func save(_ id: String, _ state: State, now: Date) async
    /// Forgets session `id` at once (it ended).
    func remove(_ id: String) async
    /// How many sessions are live.
    func count() async -> Int
    /// Frees every session idle past the timeout at `now`.
    func sweep(now: Date) async
    /// The most sessions the store holds; caches kept beside it (an adapter's) are bounded by the same number.
    var capacity: Int { get }
    /// Seconds a session may stay idle.
    var idleTimeout: TimeInterval { get }
}

/// How much a session is worth keeping when the store is full.
public enum SessionStanding: Int, Sendable, Comparable {
    /// At a menu: nothing the customer typed is lost when it goes; evicted first.
    case browsing = 0
    /// In the middle of something (a password or another value being keyed in, a plan being chosen, a
    /// confirmation): evicted only when no browsing session is left to evict.
    case engaged = 1

    /// Whether losing `a` costs less than losing `b`: browsing sessions go before engaged ones.
    public static func < (a: SessionStanding, b: SessionStanding) -> Bool { a.rawValue < b.rawValue }
}

/// What a session store needs to know of a session to bound it fairly.
public protocol SessionState: Sendable {
    /// The caller's number: at most `SessionLimits.perCaller` live sessions each. Empty: not limited.
    var sessionCaller: String { get }
    /// Where the session's requests come from (an aggregator's or a voice browser's address): at most
    /// `SessionLimits.perSource` live sessions each. Empty: not limited.
    var sessionSource: String { get }
    /// Whether losing the session would lose a step in progress.
    var standing: SessionStanding { get }
}

extension SessionState {
    /// No caller: not limited per caller.
    public var sessionCaller: String { "" }
    /// No source: not limited per source.
    public var sessionSource: String { "" }
    /// Always browsing: evicted like a session at a menu.
    public var standing: SessionStanding { .browsing }
}

/// The bounds of a `MemorySessionStore`.
public struct SessionLimits: Sendable, Equatable {
    /// Live sessions at most (`selfcare serve --session-cap`).
    public var capacity: Int
    /// Live sessions of one caller at most: a caller's new session past it replaces that caller's own least
    /// recently used one (a browsing one first), so one number cannot push anybody else's session out.
    public var perCaller: Int
    /// Live sessions from one source at most; nil: half the capacity. A source's new session past it replaces
    /// that source's own least recently used one (browsing first), so one flooding client cannot fill the store.
    public var perSource: Int?

    /// Bounds of `capacity` sessions, `perCaller` of one caller and `perSource` from one source (nil: half the
    /// capacity).
    public init(capacity: Int = 200_000, perCaller: Int = 8, perSource: Int? = nil) {
        self.capacity = capacity
        self.perCaller = perCaller
        self.perSource = perSource
    }

    /// The per-source bound in force.
    public var sourceBound: Int { max(1, perSource ?? capacity / 2) }
}

/// The default session store: in memory, idle expiry, at most `capacity` sessions.
///
/// When it is full, a new session evicts the least recently used *browsing* session (one at a menu), and an
/// engaged one (a password, a value or a confirmation being keyed in) only when no browsing one is left; a caller
/// or a source at its own bound evicts one of its own sessions instead (`SessionLimits`). Sessions idle past the
/// timeout are freed by `sweep`, which also runs by itself as sessions are saved; the tables shrink again after
/// a flood, so the memory a flood took is given back.
public actor MemorySessionStore<State: SessionState>: SessionStore {
    private struct Entry {
        var state: State
        var lastActive: Date
        var caller: String
        var source: String
        var standing: SessionStanding
        /// The entry's place in `recency[standing]` and in its source's list.
        var order: UInt64
        var sourceOrder: UInt64
    }

    private struct Source {
        var lists = [RecencyList(), RecencyList()]
        var count = 0
    }

    /// Seconds a session may stay idle before it is gone.
    public nonisolated let idleTimeout: TimeInterval
    /// The store's bounds: in all, per caller and per source.
    public nonisolated let limits: SessionLimits
    /// The most sessions the store holds (`limits.capacity`).
    public nonisolated var capacity: Int { limits.capacity }

    private var entries: [String: Entry] = [:]
    /// Least recently saved first, one list a standing.
    private var recency = [RecencyList(), RecencyList()]
    private var sources: [String: Source] = [:]
    private var callers: [String: [String]] = [:]
    private var lastSweep: Date?
    private var highWater = 0

    /// A store of at most `capacity` sessions idle at most `idleTimeout` seconds (USSD's 120 by default), with the
    /// default per-caller and per-source bounds.
    public init(idleTimeout: TimeInterval = 120, capacity: Int = 200_000) {
        self.init(idleTimeout: idleTimeout, limits: SessionLimits(capacity: capacity))
    }

    /// A store with every bound given; `limits` needs a capacity and a per-caller bound of at least 1.
    public init(idleTimeout: TimeInterval, limits: SessionLimits) {
        precondition(limits.capacity >= 1 && limits.perCaller >= 1)
        self.idleTimeout = idleTimeout
        self.limits = limits
    }

    /// The state of session `id`; nil when it is unknown or idle past the timeout at `now` (then it is dropped).
    public func load(_ id: String, now: Date) -> State? {
        guard let entry = entries[id] else { return nil }
        if now.timeIntervalSince(entry.lastActive) > idleTimeout {
            drop(id)
            return nil
        }
        return entry.state
    }

    /// Stores `state` as session `id`, last active at `now`. A new session makes room first: the caller's own
    /// least valuable session past `perCaller`, the source's own past its bound, then anybody's least valuable one.
    public func save(_ id: String, _ state: State, now: Date) {
        let caller = state.sessionCaller
        let source = state.sessionSource
        let standing = state.standing
        if var entry = entries[id], entry.caller == caller, entry.source == source {
            recency[entry.standing.rawValue].remove(entry.order)
            entry.order = recency[standing.rawValue].append(id)
            if !source.isEmpty {
                sources[source]?.lists[entry.standing.rawValue].remove(entry.sourceOrder)
                entry.sourceOrder = sources[source]?.lists[standing.rawValue].append(id) ?? 0
            }
            entry.state = state
            entry.lastActive = now
            entry.standing = standing
            entries[id] = entry
            return
        }
        if entries[id] != nil { drop(id) }
        sweepIfDue(now)
        // Room for a new session: the caller's own, then the source's own, then anybody's least valuable one.
        if !caller.isEmpty, let own = callers[caller], own.count >= limits.perCaller {
            evictLeastValuable(of: own)
        }
        if !source.isEmpty, let count = sources[source]?.count, count >= limits.sourceBound {
            if let victim = sources[source]?.lists[0].oldest() ?? sources[source]?.lists[1].oldest() {
                drop(victim)
            }
        }
        while entries.count >= limits.capacity, let victim = recency[0].oldest() ?? recency[1].oldest() {
            drop(victim)
        }
        var entry = Entry(
            state: state, lastActive: now, caller: caller, source: source, standing: standing,
            order: recency[standing.rawValue].append(id), sourceOrder: 0)
        if !source.isEmpty {
            entry.sourceOrder = sources[source, default: Source()].lists[standing.rawValue].append(id)
            sources[source]!.count += 1
        }
        if !caller.isEmpty { callers[caller, default: []].append(id) }
        entries[id] = entry
        highWater = max(highWater, entries.count)
    }

    /// Forgets session `id` at once (it ended).
    public func remove(_ id: String) {
        drop(id)
        shrinkIfSparse()
    }

    /// How many sessions the store holds, idle ones not yet swept included.
    public func count() -> Int { entries.count }

    /// Frees every session idle past the timeout at `now`, and shrinks the tables once a flood has gone.
    public func sweep(now: Date) {
        lastSweep = now
        let cutoff = now.addingTimeInterval(-idleTimeout)
        for standing in 0..<2 {
            // Each list is in the order sessions were last saved, so the idle ones are at its head.
            while let id = recency[standing].oldest(), let entry = entries[id], entry.lastActive < cutoff {
                drop(id)
            }
        }
        shrinkIfSparse()
    }

    /// Sweeps when a tenth of the timeout has passed since the last sweep (at most every 10 seconds).
    private func sweepIfDue(_ now: Date) {
        guard let last = lastSweep else {
            lastSweep = now
            return
        }
        if now.timeIntervalSince(last) >= min(idleTimeout / 10, 10) { sweep(now: now) }
    }

    /// Among one caller's sessions: the least recently used browsing one, else the least recently used.
    private func evictLeastValuable(of ids: [String]) {
        let victim = ids.compactMap { id in entries[id].map { (id, $0) } }
            .min { ($0.1.standing, $0.1.lastActive) < ($1.1.standing, $1.1.lastActive) }
        if let victim { drop(victim.0) }
    }

    private func drop(_ id: String) {
        guard let entry = entries.removeValue(forKey: id) else { return }
        recency[entry.standing.rawValue].remove(entry.order)
        // In place: a copy of a source's lists would copy every order they hold.
        if !entry.source.isEmpty {
            sources[entry.source]?.lists[entry.standing.rawValue].remove(entry.sourceOrder)
            sources[entry.source]?.count -= 1
            if sources[entry.source]?.count == 0 { sources[entry.source] = nil }
        }
        if !entry.caller.isEmpty {
            callers[entry.caller]?.removeAll { $0 == id }
            if callers[entry.caller]?.isEmpty == true { callers[entry.caller] = nil }
        }
    }

    /// After a flood has gone, rebuilds the tables at their present size: a dictionary keeps its largest
    /// allocation otherwise, and the memory a flood took would stay resident.
    private func shrinkIfSparse() {
        guard highWater >= 1024, entries.count * 4 < highWater else { return }
        entries = Self.rebuilt(entries)
        callers = Self.rebuilt(callers)
        sources = Self.rebuilt(sources).mapValues { source in
            var source = source
            source.lists = source.lists.map { $0.compacted() }
            return source
        }
        recency = recency.map { $0.compacted() }
        highWater = entries.count
        releaseFreedMemory()
    }

    private static func rebuilt<Value>(_ table: [String: Value]) -> [String: Value] {
        var fresh = [String: Value](minimumCapacity: table.count)
        for (key, value) in table { fresh[key] = value }
        return fresh
    }
}

/// Hands pages freed by a shrink back to the system: glibc keeps them in its arenas otherwise, and the memory a
/// flood took would stay resident after its sessions are gone. (`malloc_trim` is looked up, as Swift's Glibc
/// module does not declare it.)
private func releaseFreedMemory() {
    #if canImport(Glibc)
        typealias Trim = @convention(c) (Int) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return }
        _ = unsafeBitCast(symbol, to: Trim.self)(0)
    #endif
}

/// Ids in the order they were appended, with removal by the order number `append` returned.
struct RecencyList: Sendable {
    private var ids: [UInt64: String] = [:]
    private var next: UInt64 = 0
    /// No live entry has an order below `head`.
    private var head: UInt64 = 0

    var count: Int { ids.count }

    mutating func append(_ id: String) -> UInt64 {
        ids[next] = id
        next += 1
        return next - 1
    }

    mutating func remove(_ order: UInt64) { ids[order] = nil }

    /// The least recently appended id still in the list.
    mutating func oldest() -> String? {
        while head < next {
            if let id = ids[head] { return id }
            head += 1
        }
        return nil
    }

    /// The same list in freshly sized storage.
    func compacted() -> RecencyList {
        var copy = RecencyList()
        copy.ids = [UInt64: String](minimumCapacity: ids.count)
        for (order, id) in ids { copy.ids[order] = id }
        copy.next = next
        copy.head = head
        return copy
    }
}
