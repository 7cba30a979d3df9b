import Foundation
import SelfCareTesting
import Testing

@testable import SelfCareCore

/// The owner's password check as a pure value: what each verification does to the failure count and the lock.
@Suite("Password check")
struct PasswordCheckTests {
    let now = Fixtures.midNovember
    let passwords = PasswordConfiguration()
    let right = PasswordVerification(matches: true, needsRehash: false)
    let wrong = PasswordVerification(matches: false, needsRehash: false)

    func subject(failures: Int = 0, lockedUntil: Date? = nil) -> Subscriber {
        var s = Fixtures.subscriber()
        s.failedPasswordAttempts = failures
        s.passwordLockedUntil = lockedUntil
        return s
    }

    @Test func aWrongPasswordCountsAndTheLastAllowedOneLocks() {
        let fresh = subject()
        let (first, saved) = PasswordCheck.settle(
            wrong, of: fresh.passwordHash, against: fresh, thirdParty: false, now: now, passwords: passwords)
        #expect(first == .wrong(remaining: passwords.lockoutThreshold - 1, lockedUntil: nil))
        #expect(saved?.failedPasswordAttempts == 1)
        let almost = subject(failures: passwords.lockoutThreshold - 1)
        let (last, locked) = PasswordCheck.settle(
            wrong, of: almost.passwordHash, against: almost, thirdParty: false, now: now, passwords: passwords)
        #expect(last == .wrong(remaining: 0, lockedUntil: now + passwords.lockoutDuration))
        #expect(locked?.passwordLockedUntil == now + passwords.lockoutDuration)
        #expect(locked?.failedPasswordAttempts == 0)
    }

    @Test func aRightPasswordClearsTheCountAndNothingIsSavedWhenThereIsNone() {
        let failing = subject(failures: 3)
        let (check, saved) = PasswordCheck.settle(
            right, of: failing.passwordHash, against: failing, thirdParty: false, now: now, passwords: passwords)
        #expect(check == .right)
        #expect(saved?.failedPasswordAttempts == 0)
        let clean = subject()
        let (again, none) = PasswordCheck.settle(
            right, of: clean.passwordHash, against: clean, thirdParty: false, now: now, passwords: passwords)
        #expect(again == .right && none == nil)
    }

    @Test func aLockAStaleHashAndAThirdPartyChangeNothing() {
        let locked = subject(lockedUntil: now + 60)
        #expect(
            PasswordCheck.settle(
                right, of: locked.passwordHash, against: locked, thirdParty: false, now: now, passwords: passwords)
                == (.locked(until: now + 60), nil))
        // A lock that has run out is no lock: the right password clears it.
        let expired = subject(lockedUntil: now - 60)
        #expect(
            PasswordCheck.settle(
                right, of: expired.passwordHash, against: expired, thirdParty: false, now: now, passwords: passwords
            ).0 == .right)
        let s = subject(failures: 2)
        #expect(
            PasswordCheck.settle(
                right, of: "another hash", against: s, thirdParty: false, now: now, passwords: passwords)
                == (.stale, nil))
        #expect(
            PasswordCheck.settle(
                wrong, of: s.passwordHash, against: s, thirdParty: true, now: now, passwords: passwords)
                == (.wrongForThirdParty, nil))
    }
}
