import Foundation
import SelfCareCore

/// Keeps the state of live USSD and IVR sessions between steps.
///
/// Implementation requirements:
/// - `load` returns nil for an unknown session and for one idle longer than the store's timeout.
/// - The store is bounded: past its capacity it drops the least recently used sessions.
/// - Session state may hold password digits being collected; it is never written to disk or logged.
public protocol SessionStore<State>: Sendable {
    associatedtype State: Sendable
    func load(_ id: String, now: Date) async -> State?
    func save(_ id: String, _ state: State, now: Date) async
    func remove(_ id: String) async
    /// How many sessions are live.
    func count() async -> Int
}

/// The default session store: in memory, idle expiry, at most `capacity` sessions (least recently used
/// dropped first).
public actor MemorySessionStore<State: Sendable>: SessionStore {
    private struct Entry {
        var state: State
        var lastActive: Date
        var order: UInt64
    }

    public let idleTimeout: TimeInterval
    public let capacity: Int
    private var entries: [String: Entry] = [:]
    private var recency: [UInt64: String] = [:]
    private var nextOrder: UInt64 = 0
    private var oldestOrder: UInt64 = 0

    public init(idleTimeout: TimeInterval = 120, capacity: Int = 200_000) {
        precondition(capacity >= 1)
        self.idleTimeout = idleTimeout
        self.capacity = capacity
    }

    public func load(_ id: String, now: Date) -> State? {
        guard let entry = entries[id] else { return nil }
        if now.timeIntervalSince(entry.lastActive) > idleTimeout {
            remove(id)
            return nil
        }
        return entry.state
    }

    public func save(_ id: String, _ state: State, now: Date) {
        if let old = entries[id] { recency[old.order] = nil }
        entries[id] = Entry(state: state, lastActive: now, order: nextOrder)
        recency[nextOrder] = id
        nextOrder += 1
        while entries.count > capacity, oldestOrder < nextOrder {
            if let victim = recency.removeValue(forKey: oldestOrder) { entries[victim] = nil }
            oldestOrder += 1
        }
    }

    public func remove(_ id: String) {
        if let old = entries.removeValue(forKey: id) { recency[old.order] = nil }
    }

    public func count() -> Int { entries.count }
}
