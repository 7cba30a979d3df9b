import Foundation
import SelfCareCore
import SelfCareCrypto
import Synchronization

/// A signed-in console session.
public struct ConsoleSession: Sendable {
    /// The account signed in.
    public var account: String
    public var role: ConsoleRole
    /// The token every form and script request must carry (`csrf` field, `X-CSRF-Token` header).
    public var csrf: String
    /// A short id of the session for records and logs: never the cookie's token.
    public var id: String
    public var created: Date
    public var lastSeen: Date
}

/// The console's sessions, in this process's memory: an opaque random token in an `HttpOnly` cookie maps to a
/// session, kept by the token's SHA-256 (the table never holds a token itself). A session ends when signed out,
/// idle for `idleTimeout`, or older than `maxAge`.
public final class ConsoleSessions: Sendable {
    private let table = Mutex<[String: ConsoleSession]>([:])
    public let idleTimeout: TimeInterval
    public let maxAge: TimeInterval
    /// Sessions at most; the least recently seen goes first.
    public let capacity: Int

    public init(idleTimeout: TimeInterval = 30 * 60, maxAge: TimeInterval = 12 * 3600, capacity: Int = 10_000) {
        self.idleTimeout = idleTimeout
        self.maxAge = maxAge
        self.capacity = capacity
    }

    static func key(_ token: String) -> String {
        LibCrypto.sha256(Array(token.utf8)).hexString
    }

    /// Opens a session for `account`; returns its cookie token and the session.
    public func open(account: String, role: ConsoleRole, now: Date) throws -> (token: String, session: ConsoleSession) {
        let token = (try LibCrypto.randomBytes(32)).hexString
        let session = ConsoleSession(
            account: account, role: role, csrf: (try LibCrypto.randomBytes(32)).hexString,
            id: String(Self.key(token).prefix(12)), created: now, lastSeen: now)
        table.withLock { table in
            if table.count >= capacity, let oldest = table.min(by: { $0.value.lastSeen < $1.value.lastSeen }) {
                table.removeValue(forKey: oldest.key)
            }
            table[Self.key(token)] = session
        }
        return (token, session)
    }

    /// The live session of `token`, seen now; nil (and the session dropped) when it is unknown or expired.
    public func session(token: String, now: Date) -> ConsoleSession? {
        let key = Self.key(token)
        return table.withLock { table in
            guard var session = table[key] else { return nil }
            guard now.timeIntervalSince(session.lastSeen) < idleTimeout, now.timeIntervalSince(session.created) < maxAge
            else {
                table.removeValue(forKey: key)
                return nil
            }
            session.lastSeen = max(now, session.lastSeen)
            table[key] = session
            return session
        }
    }

    /// Ends the session of `token`.
    public func close(token: String) { _ = table.withLock { $0.removeValue(forKey: Self.key(token)) } }

    /// Ends every session of `account` (its password changed, the account removed).
    public func close(account: String) { table.withLock { $0 = $0.filter { $0.value.account != account } } }

    /// The live sessions (for the admin page): account, role, id, last seen.
    public func list(now: Date) -> [ConsoleSession] {
        table.withLock { table in
            table = table.filter {
                now.timeIntervalSince($0.value.lastSeen) < idleTimeout
                    && now.timeIntervalSince($0.value.created) < maxAge
            }
            return table.values.sorted { $0.lastSeen > $1.lastSeen }
        }
    }
}

/// Failed sign-ins over a sliding window, limited three ways: an account from one address, one address whatever
/// the accounts, and one account from every address together (a guess spread over many addresses), which holds back
/// only the addresses that failed on that account. Past a limit, further tries are refused without checking the
/// password until the window has passed. A stranger's wrong passwords never lock the owner out of an address of
/// their own.
public final class LoginThrottle: Sendable {
    private let failures = Mutex<[String: [Date]]>([:])
    /// Failures of one account from one address.
    public let perAccountAndAddress: Int
    /// Failures from one address, whatever the accounts.
    public let perAddress: Int
    /// Failures of one account from every address.
    public let perAccount: Int
    public let window: TimeInterval

    public init(
        perAccountAndAddress: Int = 5, perAddress: Int = 20, perAccount: Int = 100, window: TimeInterval = 15 * 60
    ) {
        self.perAccountAndAddress = perAccountAndAddress
        self.perAddress = perAddress
        self.perAccount = perAccount
        self.window = window
    }

    private static func keys(_ account: String, _ address: String) -> [String] {
        ["pair:\(account)|\(address)", "address:" + address, "account:" + account]
    }

    /// Seconds until `account` from `address` may try again; nil: it may now.
    public func wait(account: String, address: String, now: Date) -> TimeInterval? {
        failures.withLock { table in
            func blocked(_ key: String, _ limit: Int) -> TimeInterval? {
                let recent = (table[key] ?? []).filter { now.timeIntervalSince($0) < window }
                table[key] = recent.isEmpty ? nil : recent
                guard recent.count >= limit, let oldest = recent.min() else { return nil }
                return max(1, window - now.timeIntervalSince(oldest))
            }
            let keys = Self.keys(account, address)
            let pair = blocked(keys[0], perAccountAndAddress)
            // The account-wide count holds back only the addresses that failed on this account themselves: a
            // guess spread over many addresses gets one try from each, and the owner, from an address of their
            // own, is never locked out by strangers.
            let tried = !(table[keys[0]] ?? []).isEmpty
            let wide = tried ? blocked(keys[2], perAccount) : nil
            return [pair, blocked(keys[1], perAddress), wide].compactMap { $0 }.max()
        }
    }

    /// Counts a failed sign-in of `account` from `address`.
    public func fail(account: String, address: String, now: Date) {
        failures.withLock { table in
            for key in Self.keys(account, address) { table[key, default: []].append(now) }
            if table.count > 100_000 {
                table = table.filter { $0.value.contains { now.timeIntervalSince($0) < window } }
            }
        }
    }

    /// Forgets the failures of `account` from `address` after it signed in from there.
    public func succeed(account: String, address: String) {
        _ = failures.withLock { $0.removeValue(forKey: Self.keys(account, address)[0]) }
    }
}

/// Who a console request comes from, for the sign-in throttle.
public enum ConsoleClient {
    /// The client's address of a request from `peer`: `peer`, unless it is `trustedProxy`, whose `X-Forwarded-For`
    /// (`forwardedFor`) names the client last (the address the proxy itself saw; earlier ones are the client's say).
    public static func address(peer: String, forwardedFor: String?, trustedProxy: String?) -> String {
        guard let trustedProxy, !peer.isEmpty, peer == trustedProxy, let forwardedFor,
            let last = forwardedFor.split(separator: ",").last?.trimmingCharacters(in: .whitespaces), !last.isEmpty
        else { return peer }
        return String(last.prefix(64))
    }
}
