import Foundation
import Logging

/// The stored hash changed between the password check and its transaction, twice in a row.
struct PasswordChangedDuringCheck: Error, CustomStringConvertible {
    var description: String { "the password changed twice while it was being checked" }
}

/// How an attempt's transaction ended: settled with its outcome and record, or to be checked again because the
/// stored password hash changed while it was hashing.
enum Settlement: Sendable {
    case settled(OperationOutcome, Attempt)
    case stale

    static func settled(_ pair: (OperationOutcome, Attempt)) -> Settlement { .settled(pair.0, pair.1) }
}

/// An owner's password check settled against the subscriber as the transaction reads it: a pure value, with the
/// subscriber as it must be saved.
enum PasswordCheck: Equatable {
    /// The stored hash is not the one checked: check again.
    case stale
    /// Locked (by another attempt meanwhile) until then.
    case locked(until: Date)
    /// Wrong: `remaining` tries before the lock, or 0 with the time this attempt locks it until.
    case wrong(remaining: Int, lockedUntil: Date?)
    /// Wrong, on another number: never counted against the owner (the caller's throttle counts it).
    case wrongForThirdParty
    /// Right: the owner's failure count and lock are cleared.
    case right

    /// Settles `verification` of `checkedHash` against `subject` at `now`.
    /// - Returns: the outcome, and the subscriber to save when its failure count or lock changes.
    static func settle(
        _ verification: PasswordVerification, of checkedHash: String?, against subject: Subscriber, thirdParty: Bool,
        now: Date, passwords: PasswordConfiguration
    ) -> (PasswordCheck, Subscriber?) {
        if let until = subject.passwordLockedUntil, until > now { return (.locked(until: until), nil) }
        if subject.passwordHash != checkedHash { return (.stale, nil) }
        var changed = subject
        if !verification.matches {
            if thirdParty { return (.wrongForThirdParty, nil) }
            changed.failedPasswordAttempts += 1
            if changed.failedPasswordAttempts >= passwords.lockoutThreshold {
                let until = now + passwords.lockoutDuration
                changed.passwordLockedUntil = until
                changed.failedPasswordAttempts = 0
                return (.wrong(remaining: 0, lockedUntil: until), changed)
            }
            return (
                .wrong(remaining: passwords.lockoutThreshold - changed.failedPasswordAttempts, lockedUntil: nil),
                changed
            )
        }
        guard subject.failedPasswordAttempts != 0 || subject.passwordLockedUntil != nil else { return (.right, nil) }
        changed.failedPasswordAttempts = 0
        changed.passwordLockedUntil = nil
        return (.right, changed)
    }
}

/// What the engine knows about one attempt as it goes.
struct Attempt: Sendable {
    let request: OperationRequest
    let started: Date
    let prompts: PromptCatalog
    var caller: String
    var subject: String
    var language: Language
    /// A third party's reply language once the subject's password is proved (until then, the caller's).
    var languageOnceVerified: Language?
    /// This third-party failure locked its caller out of third-party attempts (for the metrics).
    var lockedCaller = false
    /// This wrong password locked the owner's password (for the metrics).
    var lockedPassword = false
    var auth: AuthOutcome = .none
    /// For `recharge.card`: the keyed digest of the PIN keyed in (`PasswordHasher.cardPINDigest`), never the PIN.
    var pinDigest: String?
    var inputs: [String: String]
    /// Placeholder values for the reply.
    var values: [String: String]

    init(request: OperationRequest, started: Date, prompts: PromptCatalog) {
        self.request = request
        self.started = started
        self.prompts = prompts
        let caller = normalizeNumber(request.caller) ?? request.caller
        self.caller = caller
        self.subject = caller
        self.language = prompts.defaultLanguage
        self.inputs = request.arguments.filter { !OperationRequest.secretArgumentNames.contains($0.key.lowercased()) }
        if let keyed = request.subject { inputs["subject"] = keyed }
        self.values = ["number": caller]
    }

    /// `text` with every secret of the request masked where it stands as a whole run of digits, or as
    /// groups of digits joined by separators (`258 036`): a password the customer typed where an argument
    /// belongs (`TCBG 258036`) must not come back in a reply or go into a record. Digits inside a longer
    /// run (a phone number) are left alone, so the mask never hints at where the password's digits are.
    func scrub(_ text: String) -> String {
        let secrets = [request.password, request.newPassword, request.newPasswordAgain, request.cardPIN].compactMap {
            $0
        }
        .filter { $0.count >= 4 }
        guard !secrets.isEmpty else { return text }
        return maskDigitGroups(text) { digits, _ in
            let folded = Secret(digits).foldingFullWidthDigits()
            return secrets.contains { $0.foldingFullWidthDigits().matches(folded) }
        }
    }

    func draft(now: Date, auth: AuthOutcome, result: ResultKind, reason: ReasonCode, reply: String) -> RecordDraft {
        return RecordDraft(
            time: now, channel: request.channel, session: request.session, caller: caller, subject: subject,
            operation: request.operation.rawValue, inputs: inputs.mapValues(scrub), auth: auth, result: result,
            reason: reason,
            reply: reply, durationMS: max(0, Int((now.timeIntervalSince(started) * 1000).rounded())))
    }
}
