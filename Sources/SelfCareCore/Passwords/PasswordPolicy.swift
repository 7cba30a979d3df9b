import Foundation

/// How service passwords are checked, locked and chosen.
///
/// Two counters guard a password (docs/passwords.md): the owner's own wrong attempts (caller = subject)
/// lock the subject's password on every channel; attempts by a third party (caller ≠ subject) never touch
/// that counter but are counted per caller, locking the caller out of attempts on any other number.
public struct PasswordConfiguration: Sendable {
    /// Consecutive wrong passwords from the number itself that lock its password.
    public var lockoutThreshold = 5
    /// How long a locked password stays locked.
    public var lockoutDuration: TimeInterval = 24 * 3600
    /// Failed attempts on other numbers' passwords (caller ≠ subject: a wrong password, no such number, no
    /// password set, a closed number, a locked password) that lock a caller out of such attempts, whatever
    /// number it tries next. They are counted within `thirdPartyLockoutDuration` of the first one.
    public var thirdPartyThreshold = 5
    /// How long a caller stays locked out of attempts on other numbers, and the window its failures count in.
    public var thirdPartyLockoutDuration: TimeInterval = 24 * 3600
    /// How many hashes may run at once (the hashing pool's threads).
    public var hashingConcurrency = max(1, ProcessInfo.processInfo.activeProcessorCount)
    /// The hashing threads' nice value: above 0 they yield the CPU to request handling, so a burst of
    /// password checks fills the idle cores without stretching every other request's latency.
    public var hashingNiceness: Int32 = 10

    /// The carrier's defaults: five wrong passwords lock for 24 hours (the owner's password, or a third-party
    /// caller); hashing on every core, at nice 10.
    public init() {}
}

/// Why a new password was refused.
public enum WeakPasswordRule: String, Sendable, CaseIterable {
    /// Not exactly six digits.
    case notSixDigits = "not_six_digits"
    /// One digit repeated (`888888`).
    case repeatedDigit = "repeated_digit"
    /// An ascending run (`123456`, `567890`).
    case ascendingRun = "ascending_run"
    /// A descending run (`654321`, `098765`).
    case descendingRun = "descending_run"
    /// The last six digits of the number itself.
    case numberSuffix = "number_suffix"
    /// The same as the current password.
    case sameAsOld = "same_as_old"
}

/// The carrier's rules for new service passwords: six digits, not guessable.
public enum PasswordRules {
    /// The first rule `candidate` breaks for subscriber `msisdn`, or nil when it is acceptable.
    ///
    /// Ascending and descending runs wrap through zero (`789012`, `210987`), as keypads do.
    public static func weakness(of candidate: Secret, for msisdn: String, old: Secret? = nil) -> WeakPasswordRule? {
        candidate.withText { text -> WeakPasswordRule? in
            let digits = text.utf8.map { Int($0) - 48 }
            guard digits.count == 6, digits.allSatisfy({ (0...9).contains($0) }) else { return .notSixDigits }
            if Set(digits).count == 1 { return .repeatedDigit }
            let steps = zip(digits, digits.dropFirst()).map { ($1 - $0 + 10) % 10 }
            if steps.allSatisfy({ $0 == 1 }) { return .ascendingRun }
            if steps.allSatisfy({ $0 == 9 }) { return .descendingRun }
            if msisdn.count >= 6 && msisdn.hasSuffix(text) { return .numberSuffix }
            if let old, old.matches(candidate) { return .sameAsOld }
            return nil
        }
    }
}
