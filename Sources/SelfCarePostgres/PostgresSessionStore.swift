import Foundation
import Logging
import SelfCareChannels
import SelfCareCore
import SelfCareCrypto
import Synchronization

/// Live USSD sessions or IVR calls in the PostgreSQL database the gateway nodes share, so that the next step of a
/// session may reach any node: the one that served the last step may have been stopped, upgraded or killed.
///
/// Each session is one row of the unlogged `live_sessions` table, its state sealed with AES-256-GCM under a key
/// derived from the pepper (which stays outside the database) and bound to the session's kind and id: password
/// digits being keyed in never reach the disk, a WAL or a replica in clear, and a sealed state moved to another
/// session does not open. A state that does not open is a session that is gone.
///
/// Bounds, as `MemorySessionStore` keeps them: idle expiry on every load; a caller's new session past
/// `perCaller` replaces that caller's least valuable one at once; the per-source bound and the capacity, which
/// count across every node, are enforced by `sweep`, which every node runs every few seconds and after opening
/// a tenth of the capacity in new sessions: the table never holds more than about a tenth of the cap per node
/// beyond it.
///
/// A database fault loses the session (`load` answers nil, the customer sees the channel's "session ended"
/// screen) and is logged; it never stops the step.
public final class PostgresSessionStore<State: SessionState & Codable>: SessionStore, Sendable {
    /// What the rows of this store are: `ussd` or `ivr`.
    public let kind: String
    /// Seconds a session may stay idle.
    public let idleTimeout: TimeInterval
    /// The bounds: in all, per caller and per source.
    public let limits: SessionLimits
    /// The most sessions the store holds (`limits.capacity`).
    public var capacity: Int { limits.capacity }

    private let store: PostgresServiceStore
    private let key: [UInt8]
    private let logger: Logger
    /// New sessions this process opened since its last sweep: past a tenth of the capacity it sweeps at once, so
    /// a flood cannot grow the table far past the cap between two timed sweeps.
    private let opened = Atomic<Int>(0)

    /// Sessions of `kind` in `store`'s database, sealed under `sealingKey` (32 bytes:
    /// `Pepper.derivedKey(purpose: "live sessions")`), idle at most `idleTimeout` seconds, within `limits`.
    public init(
        kind: String, store: PostgresServiceStore, sealingKey: [UInt8], idleTimeout: TimeInterval,
        limits: SessionLimits, logger: Logger = Logger(label: "selfcare.sessions")
    ) {
        precondition(sealingKey.count == 32, "a sealing key has 32 bytes")
        precondition(limits.capacity >= 1 && limits.perCaller >= 1)
        self.kind = kind
        self.store = store
        key = sealingKey
        self.idleTimeout = idleTimeout
        self.limits = limits
        self.logger = logger
    }

    /// The state of session `id`; nil when it is unknown, idle past the timeout at `now` (then it is deleted), or
    /// its sealed state does not open.
    public func load(_ id: String, now: Date) async -> State? {
        let kind = self.kind
        let timeout = idleTimeout
        let row: (sealed: String, lastActive: Double)?
        do {
            row = try await store.withSession { session in
                let rows = try session.query(
                    "SELECT state, last_active FROM live_sessions WHERE kind = $1 AND id = $2", Binds(kind, id)
                ).rows
                guard let first = rows.first else { return nil }
                let cells = Cells(first)
                let found = (try cells.string(0), try cells.double(1))
                if now.timeIntervalSince1970 - found.1 > timeout {
                    // Idle past its timeout: gone (unless a step on another node has just refreshed it).
                    try session.query(
                        "DELETE FROM live_sessions WHERE kind = $1 AND id = $2 AND last_active = $3",
                        Binds(kind, id, found.1))
                    return nil
                }
                return found
            }
        } catch {
            logger.error("live \(kind) sessions: cannot load one: \(error)")
            return nil
        }
        guard let row else { return nil }
        return open(row.sealed, id: id, now: now)
    }

    /// Stores `state` as session `id`, last active at `now`; a new session past its caller's bound replaces that
    /// caller's least valuable one.
    public func save(_ id: String, _ state: State, now: Date) async {
        guard let sealed = seal(state, id: id, now: now) else { return }
        let kind = self.kind
        let perCaller = limits.perCaller
        let inserted: Bool
        do {
            inserted = try await store.withSession { session in
                let inserted = try session.query(
                    """
                    INSERT INTO live_sessions (kind, id, caller, source, standing, last_active, state)
                    VALUES ($1, $2, $3, $4, $5, $6, $7)
                    ON CONFLICT (kind, id) DO UPDATE SET caller = EXCLUDED.caller, source = EXCLUDED.source,
                        standing = EXCLUDED.standing, last_active = EXCLUDED.last_active, state = EXCLUDED.state
                    RETURNING xmax = 0
                    """,
                    Binds(
                        kind, id, state.sessionCaller, state.sessionSource, state.standing.rawValue,
                        now.timeIntervalSince1970, sealed)
                ).rows.first.map { try Cells($0).bool(0) }
                guard inserted == true, !state.sessionCaller.isEmpty else { return inserted == true }
                // The caller's own sessions beyond the bound, least valuable first: browsing before engaged,
                // least recently active first.
                try session.query(
                    """
                    DELETE FROM live_sessions WHERE kind = $1 AND id IN (
                        SELECT id FROM live_sessions WHERE kind = $1 AND caller = $2 AND id <> $3
                        ORDER BY standing DESC, last_active DESC OFFSET $4)
                    """, Binds(kind, state.sessionCaller, id, perCaller - 1))
                return true
            }
        } catch {
            logger.error("live \(kind) sessions: cannot save one: \(error)")
            return
        }
        if inserted, opened.add(1, ordering: .relaxed).newValue >= max(1, capacity / 10) {
            opened.store(0, ordering: .relaxed)
            await sweep(now: now)
        }
    }

    /// Forgets session `id` at once (it ended).
    public func remove(_ id: String) async {
        let kind = self.kind
        do {
            try await store.withSession {
                _ = try $0.query("DELETE FROM live_sessions WHERE kind = $1 AND id = $2", Binds(kind, id))
            }
        } catch {
            logger.error("live \(kind) sessions: cannot remove one: \(error)")
        }
    }

    /// How many sessions of this kind are live on every node together (idle ones not yet swept included).
    public func count() async -> Int {
        let kind = self.kind
        do {
            return try await store.withSession {
                try $0.query("SELECT count(*) FROM live_sessions WHERE kind = $1", Binds(kind)).rows.first.map {
                    try Cells($0).int(0)
                } ?? 0
            }
        } catch {
            logger.error("live \(kind) sessions: cannot count them: \(error)")
            return 0
        }
    }

    /// Deletes the sessions idle past the timeout at `now`, then, least valuable first, those beyond a source's
    /// bound and beyond the capacity.
    public func sweep(now: Date) async {
        let kind = self.kind
        let (cutoff, sourceBound, capacity) = (now.timeIntervalSince1970 - idleTimeout, limits.sourceBound, capacity)
        do {
            try await store.withSession { session in
                try session.query(
                    "DELETE FROM live_sessions WHERE kind = $1 AND last_active < $2", Binds(kind, cutoff))
                let crowded = try session.query(
                    """
                    SELECT source FROM live_sessions WHERE kind = $1 AND source <> ''
                    GROUP BY source HAVING count(*) > $2
                    """, Binds(kind, sourceBound)
                ).rows.map { try Cells($0).string(0) }
                for source in crowded {
                    try session.query(
                        """
                        DELETE FROM live_sessions WHERE kind = $1 AND id IN (
                            SELECT id FROM live_sessions WHERE kind = $1 AND source = $2
                            ORDER BY standing DESC, last_active DESC OFFSET $3)
                        """, Binds(kind, source, sourceBound))
                }
                try session.query(
                    """
                    DELETE FROM live_sessions WHERE kind = $1 AND id IN (
                        SELECT id FROM live_sessions WHERE kind = $1
                        ORDER BY standing DESC, last_active DESC OFFSET $2)
                    """, Binds(kind, capacity))
            }
        } catch {
            logger.error("live \(kind) sessions: cannot sweep them: \(error)")
        }
    }

    // MARK: - Sealing

    /// What a sealed state is bound to: a state sealed for one session does not open as another's.
    private func context(_ id: String) -> [UInt8] { Array("\(kind)\u{0}\(id)".utf8) }

    /// What is sealed: the state and when it was saved. The time is inside the seal: a state copied back into the
    /// table later (its row's `last_active` made fresh) is still idle past its timeout when it is opened.
    private struct Sealed: Codable {
        var saved: Double
        var state: State
    }

    private func seal(_ state: State, id: String, now: Date) -> String? {
        let encoder = JSONEncoder()
        encoder.userInfo[Secret.sealedCoding] = true
        do {
            var plain = [UInt8](try encoder.encode(Sealed(saved: now.timeIntervalSince1970, state: state)))
            defer { LibCrypto.cleanse(&plain) }
            return Data(try LibCrypto.sealAESGCM(plain, key: key, context: context(id))).base64EncodedString()
        } catch {
            logger.error("live \(kind) sessions: cannot seal one: \(error)")
            return nil
        }
    }

    private func open(_ sealed: String, id: String, now: Date) -> State? {
        guard let box = Data(base64Encoded: sealed),
            var plain = LibCrypto.openAESGCM([UInt8](box), key: key, context: context(id))
        else {
            logger.warning("live \(kind) sessions: a sealed state did not open (another pepper, or altered)")
            return nil
        }
        defer { LibCrypto.cleanse(&plain) }
        let decoder = JSONDecoder()
        decoder.userInfo[Secret.sealedCoding] = true
        guard let opened = try? decoder.decode(Sealed.self, from: Data(plain)) else { return nil }
        guard now.timeIntervalSince1970 - opened.saved <= idleTimeout else {
            logger.warning("live \(kind) sessions: a sealed state older than its row says (replayed?): refused")
            return nil
        }
        return opened.state
    }
}
