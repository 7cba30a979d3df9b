import Foundation
import SelfCareConsole
import SelfCareCore
import Testing

@Suite struct ConsoleAccountsTests {
    @Test func anAccountsFileRoundTripsAndItsPasswordsVerify() throws {
        let hasher = ConsoleAccounts.hasher(iterations: 1_000)
        var accounts = ConsoleAccounts([])
        accounts.set(
            ConsoleAccount(name: "li.na", role: .operator_, passwordHash: try hasher.hash(Secret("long enough 1"))))
        accounts.set(
            ConsoleAccount(name: "audit-1", role: .auditor, passwordHash: try hasher.hash(Secret("long enough 2"))))
        let parsed = try ConsoleAccounts.parse(accounts.text, path: "accounts")
        #expect(parsed.accounts.count == 2)
        #expect(parsed.accounts["li.na"]?.role == .operator_)
        let stored = try #require(parsed.accounts["audit-1"]?.passwordHash)
        #expect(try hasher.verify(Secret("long enough 2"), against: stored).matches)
        #expect(try !hasher.verify(Secret("long enough 1"), against: stored).matches)
        #expect(!accounts.text.contains("long enough"))
    }

    @Test(arguments: [
        ("alice operator", "expected NAME ROLE HASH"),
        ("alice boss $pbkdf2-sha256$v=1$i=1,l=32$AA$AA", "not a role"),
        ("Alice operator $pbkdf2-sha256$v=1$i=1,l=32$AA$AA", "not an account name"),
        ("alice operator secret", "not a PBKDF2 hash"),
        ("a admin $pbkdf2-sha256$x\na auditor $pbkdf2-sha256$y", "listed twice"),
    ])
    func aBadLineIsRefusedWithItsLineNumber(line: String, message: String) {
        do {
            _ = try ConsoleAccounts.parse("# accounts\n" + line + "\n", path: "accounts")
            Issue.record("accepted: \(line)")
        } catch let error as ConsoleAccountsError {
            #expect(error.description.contains(message), "\(error)")
            #expect(error.line >= 2)
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test func theDemoMakesOneAccountARoleWithFreshPasswords() throws {
        let (first, passwords) = try ConsoleAccounts.demo(iterations: 1_000)
        #expect(try ConsoleAccounts.demo().0.accounts["demo-admin"]?.passwordHash.contains("i=160000,") == true)
        let (second, _) = try ConsoleAccounts.demo(iterations: 1_000)
        #expect(Set(first.accounts.values.map(\.role)) == Set(ConsoleRole.allCases))
        #expect(first.accounts["demo-admin"]?.passwordHash != second.accounts["demo-admin"]?.passwordHash)
        for (account, password) in passwords {
            #expect(password.count == 12)
            #expect(try ConsoleAccounts.hasher().verify(Secret(password), against: account.passwordHash).matches)
        }
    }

    @Test func oneDraftIsTriedAtATime() {
        let gate = TrialGate()
        #expect(gate.enter())
        #expect(!gate.enter())
        gate.leave()
        #expect(gate.enter())
    }

    @Test func theSignInThrottleCountsAnAccountAndAnAddressApart() {
        let throttle = LoginThrottle(perAccountAndAddress: 2, perAddress: 3, perAccount: 4, window: 60)
        let start = Date(timeIntervalSince1970: 1_000_000)
        throttle.fail(account: "a", address: "10.0.0.1", now: start)
        #expect(throttle.wait(account: "a", address: "10.0.0.1", now: start) == nil)
        throttle.fail(account: "a", address: "10.0.0.1", now: start)
        // The account is held back from that address only: a stranger cannot lock its owner out.
        #expect(throttle.wait(account: "a", address: "10.0.0.1", now: start + 1) != nil)
        #expect(throttle.wait(account: "a", address: "10.0.0.9", now: start + 1) == nil)
        // One address, many accounts.
        throttle.fail(account: "b", address: "10.0.0.1", now: start)
        #expect(throttle.wait(account: "d", address: "10.0.0.1", now: start + 1) != nil)
        // One account, many addresses.
        for n in 1...3 { throttle.fail(account: "e", address: "10.0.1.\(n)", now: start) }
        #expect(throttle.wait(account: "e", address: "10.0.1.4", now: start + 1) == nil)
        throttle.fail(account: "e", address: "10.0.1.4", now: start)
        // Past the account-wide count, an address that failed on it is held back; a clean one is not.
        #expect(throttle.wait(account: "e", address: "10.0.1.1", now: start + 1) != nil)
        #expect(throttle.wait(account: "e", address: "10.0.1.5", now: start + 1) == nil)
        // The window passes.
        #expect(throttle.wait(account: "a", address: "10.0.0.1", now: start + 61) == nil)
    }

    @Test func sessionsEndIdleOldOrClosed() throws {
        let sessions = ConsoleSessions(idleTimeout: 60, maxAge: 300)
        let start = Date(timeIntervalSince1970: 1_000_000)
        let (token, session) = try sessions.open(account: "a", role: .auditor, now: start)
        #expect(token.count == 64)
        #expect(!token.contains(session.id))
        #expect(sessions.session(token: token, now: start + 50)?.account == "a")
        #expect(sessions.session(token: token, now: start + 100)?.account == "a")
        #expect(sessions.session(token: token, now: start + 170) == nil)
        let (second, _) = try sessions.open(account: "a", role: .auditor, now: start)
        for minute in 1...4 { #expect(sessions.session(token: second, now: start + Double(minute) * 59) != nil) }
        #expect(sessions.session(token: second, now: start + 301) == nil)
        let (third, _) = try sessions.open(account: "b", role: .admin, now: start)
        sessions.close(account: "b")
        #expect(sessions.session(token: third, now: start) == nil)
    }

    @Test func onlyTheTrustedProxyIsBelievedAboutTheClientsAddress() {
        #expect(ConsoleClient.address(peer: "10.0.0.5", forwardedFor: "1.2.3.4", trustedProxy: nil) == "10.0.0.5")
        #expect(
            ConsoleClient.address(peer: "10.0.0.5", forwardedFor: "1.2.3.4", trustedProxy: "10.0.0.9") == "10.0.0.5")
        #expect(
            ConsoleClient.address(peer: "10.0.0.9", forwardedFor: "6.6.6.6, 1.2.3.4", trustedProxy: "10.0.0.9")
                == "1.2.3.4")
        #expect(ConsoleClient.address(peer: "10.0.0.9", forwardedFor: nil, trustedProxy: "10.0.0.9") == "10.0.0.9")
        #expect(ConsoleClient.address(peer: "", forwardedFor: "1.2.3.4", trustedProxy: "") == "")
    }
}
