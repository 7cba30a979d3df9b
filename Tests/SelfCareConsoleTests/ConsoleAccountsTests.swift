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
        let (second, _) = try ConsoleAccounts.demo(iterations: 1_000)
        #expect(Set(first.accounts.values.map(\.role)) == Set(ConsoleRole.allCases))
        #expect(first.accounts["demo-admin"]?.passwordHash != second.accounts["demo-admin"]?.passwordHash)
        for (account, password) in passwords {
            #expect(password.count == 12)
            #expect(try ConsoleAccounts.hasher().verify(Secret(password), against: account.passwordHash).matches)
        }
    }
}
