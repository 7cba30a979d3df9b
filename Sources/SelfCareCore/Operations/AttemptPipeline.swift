import Foundation
import Logging

/// The attempt pipeline: the subject resolved, the password checked outside any transaction, then the rules and
/// the record in one transaction.
extension OperationEngine {
    /// Checks before the rules, once the subject is read: known, not closed, arguments well formed.
    /// Returns the refusal, if any; sets the reply's `name`.
    static func prepare(_ attempt: inout Attempt, subject: Subscriber?, rules: BusinessRules) -> ReasonCode? {
        guard let subject else { return .unknownSubscriber }
        attempt.values[.name] = subject.name
        if subject.status == .closed { return .closed }
        return validate(&attempt, rules: rules)
    }

    /// The refusal of a malformed argument, if any; the value is echoed with long digit runs masked.
    static func validate(_ attempt: inout Attempt, rules: BusinessRules) -> ReasonCode? {
        if case .refuse(let reason, let values)? = rules.validateArguments(
            attempt.request.operation, attempt.request.arguments)
        {
            attempt.values.merge(values) { $1 }
            // A malformed argument is echoed so the customer sees what was wrong, but a run of six digits or
            // more may be the password keyed in the wrong place: it is masked in the reply and the record.
            if let value = values[.value] { attempt.values[.value] = maskingLongDigitRuns(value) }
            if let argument = values[.argument], let raw = attempt.inputs[argument] {
                attempt.inputs[argument] = maskingLongDigitRuns(raw)
            }
            return reason
        }
        return nil
    }

    /// `text` with every run of six digits or more masked, but for a mobile number, and every stretch of
    /// digit groups joined by spaces holding six to eight digits (a password typed in groups: `258 036`).
    /// Groups joined otherwise stay: the reply echoes what was wrong (`month：2026-13`).
    static func maskingLongDigitRuns(_ text: String) -> String {
        maskDigitGroups(text, joinedBy: \.isWhitespace) { digits, groups in
            groups == 1
                ? digits.count >= 6 && !(digits.count == 11 && digits.hasPrefix("1")) : (6...8).contains(digits.count)
        }
    }

    /// Takes `keyed` as the attempt's subject when it is a number of seven digits at least (a six-digit password
    /// keyed into the number field is never taken for one) and says whether it was. Otherwise it is probably the
    /// password in the wrong place: the record keeps the caller as subject and only a mask of what was keyed.
    static func takeSubject(_ keyed: String, into attempt: inout Attempt) -> Bool {
        if let subject = normalizeNumber(keyed), subject.count >= 7 {
            attempt.subject = subject
            attempt.values[.number] = subject
            return true
        }
        attempt.inputs["subject"] = maskNumber(keyed)
        attempt.values[.argument] = "number"
        attempt.values[.value] = maskNumber(keyed)
        return false
    }

    /// Runs one attempt to its record; nil when the stored password hash changed while it was checked (see
    /// `finish`).
    func run(_ attempt: inout Attempt) async throws -> OperationOutcome? {
        let request = attempt.request
        let operation = request.operation
        let known = OperationName.all.contains(operation)
        let needsPassword = configuration.policy.needsPassword(operation)
        // Another number keyed in: the subject of an operation with a password, or the number a card recharges
        // (no password, so nothing of that number but its existence is ever told).
        var keyedIsNumber = true
        if known, let keyed = request.subject, needsPassword || (operation == .rechargeCard && !keyed.isEmpty) {
            keyedIsNumber = Self.takeSubject(keyed, into: &attempt)
        }
        if operation == .complaintFile || operation == .spamReport, let text = request.arguments["text"] {
            // The record keeps the text as the ticket does.
            attempt.inputs["text"] = BusinessRules.ticketText(text, limit: configuration.catalogue.ticketTextLimit)
        }
        if operation == .rechargeCard, let pin = request.cardPIN, pin.count > 0, let serial = request.arguments["card"],
            RechargeCard.isSerial(serial)
        {
            attempt.pinDigest = try hasher.cardPINDigest(pin.foldingFullWidthDigits(), serial: serial)
        }
        guard known, keyedIsNumber else {
            // Refused before the rules, but still in the caller's language.
            let callerNumber = attempt.caller
            let caller = try await store.read { try $0.subscriber(callerNumber) }
            attempt.language = attempt.prompts.language(for: caller?.language ?? request.languageHint)
            return try await refuse(attempt, known ? .invalidArgument : .unknownCommand)
        }
        if !needsPassword {
            // Nothing slow to do outside the transaction: the reads, the rules and the record in one write.
            return try await finish(
                &attempt, verification: nil, checkedHash: nil, newHash: nil, pendingRefusal: nil, resolve: true)
        }
        let subjectNumber = attempt.subject
        let callerNumber = attempt.caller
        let thirdParty = subjectNumber != callerNumber
        let (found, caller, throttle) = try await store.read { reader in
            (
                try reader.subscriber(subjectNumber), try reader.subscriber(callerNumber),
                thirdParty ? try reader.callerThrottle(callerNumber) : nil
            )
        }
        if thirdParty {
            // The caller's language, never the subject's: the answer must not tell whose number it is. Once
            // the subject's password is proved, a caller with no language of its own gets the subject's.
            attempt.language = attempt.prompts.language(for: caller?.language ?? request.languageHint)
            attempt.languageOnceVerified = caller?.language ?? request.languageHint ?? found?.language
            if let throttle, throttle.isLocked(at: clock.now()) {
                attempt.auth = .locked
                return try await refuse(attempt, .thirdPartyLocked)
            }
            // What does not depend on the number first, so that these answers do not tell either.
            if let reason = Self.validate(&attempt, rules: rules) { return try await refuse(attempt, reason) }
            guard let password = request.password, password.count > 0 else {
                return try await refuse(attempt, .passwordRequired)
            }
            if let cause = Self.uncheckable(found, now: clock.now()) {
                // As long as a real check, so that the time of the answer does not tell either.
                let decoy = try await decoyHash()
                let hasher = self.hasher
                _ = try await pool.run { try hasher.verify(password, against: decoy) }
                return try await refuseThirdParty(&attempt, cause: cause)
            }
        } else {
            attempt.language = attempt.prompts.language(
                for: caller?.language ?? request.languageHint ?? found?.language)
            if let reason = Self.prepare(&attempt, subject: found, rules: rules) {
                return try await refuse(attempt, reason)
            }
        }
        guard let subject = found else { return try await refuse(attempt, .unknownSubscriber) }

        // Password check, outside any transaction: hashing is slow and must not hold the write lock.
        var verification: PasswordVerification?
        var checkedHash: String?
        var newHash: String?
        var pendingRefusal: ReasonCode?
        if needsPassword {
            guard let password = request.password, password.count > 0 else {
                return try await refuse(attempt, .passwordRequired)
            }
            guard let stored = subject.passwordHash else { return try await refuse(attempt, .passwordNotSet) }
            if let until = subject.passwordLockedUntil, until > clock.now() {
                attempt.auth = .locked
                attempt.values[.until] = configuration.calendar.dateTime(of: until)
                return try await refuse(attempt, .passwordLocked)
            }
            let hasher = self.hasher
            let result = try await pool.run { try hasher.verify(password, against: stored) }
            verification = result
            checkedHash = stored
            if result.matches && operation == .passwordChange {
                if let new = request.newPassword, let again = request.newPasswordAgain {
                    if !new.matches(again) {
                        pendingRefusal = .passwordMismatch
                    } else if let weakness = PasswordRules.weakness(of: new, for: subject.msisdn, old: password) {
                        attempt.values[.rule] = weakness.rawValue
                        attempt.inputs["weak_rule"] = weakness.rawValue
                        pendingRefusal = .weakPassword
                    } else {
                        newHash = try await pool.run { try hasher.hash(new) }
                    }
                } else {
                    attempt.values[.argument] = "new_password"
                    attempt.values[.value] = ""
                    pendingRefusal = .invalidArgument
                }
            }
        }
        return try await finish(
            &attempt, verification: verification, checkedHash: checkedHash, newHash: newHash,
            pendingRefusal: pendingRefusal)
    }

    /// The transaction: re-reads the subject, settles the password outcome, applies the rules and appends the
    /// record. Nil when the stored hash changed while this attempt was hashing (a rehash, `password set`): the
    /// attempt is to be checked again.
    func finish(
        _ attempt: inout Attempt, verification: PasswordVerification?, checkedHash: String?, newHash: String?,
        pendingRefusal: ReasonCode?, resolve: Bool = false
    ) async throws -> OperationOutcome? {
        let now = clock.now()
        let frozen = attempt
        // What the transaction will read: the admission's reads, and the rules'.
        let expected =
            (frozen.request.admission?.expectedReads ?? [])
            + rules.expectedReads(of: frozen.request.operation, subject: frozen.subject, now: now)
        let settlement: Settlement = try await transaction(at: now, for: frozen.caller, expecting: expected) { tx in
            var attempt = frozen
            let (rules, calendar) = (tx.rules, tx.configuration.calendar)
            if let refused = try tx.admit(attempt) { return .settled(refused, attempt) }
            let found = try tx.writer.subscriber(attempt.subject)
            if resolve {
                let caller = attempt.caller == attempt.subject ? found : try tx.writer.subscriber(attempt.caller)
                // A card recharge for another number answers in the caller's language: the subject's would tell a
                // stranger something of whose number it is.
                let subjectLanguage = attempt.request.operation == .rechargeCard ? nil : found?.language
                attempt.language = attempt.prompts.language(
                    for: caller?.language ?? attempt.request.languageHint ?? subjectLanguage)
                if attempt.request.operation == .rechargeCard {
                    // The card's PIN first: nothing of the number to recharge is told to someone without one, and
                    // a caller with one good card who probes numbers is counted as one who guesses PINs.
                    if let reason = Self.validate(&attempt, rules: rules) {
                        return .settled(try tx.refuse(attempt, reason))
                    }
                    if let refused = try tx.checkCardPIN(&attempt) { return .settled(refused) }
                    if let reason = Self.prepare(&attempt, subject: found, rules: rules) {
                        if attempt.subject != attempt.caller { try tx.countRechargeProbe(attempt) }
                        return .settled(try tx.refuse(attempt, reason))
                    }
                } else if let reason = Self.prepare(&attempt, subject: found, rules: rules) {
                    return .settled(try tx.refuse(attempt, reason))
                }
            }
            let thirdParty = attempt.caller != attempt.subject
            if thirdParty && verification != nil {
                // Another attempt of this caller may have locked it out while this one was hashing.
                if let throttle = try tx.writer.callerThrottle(attempt.caller), throttle.isLocked(at: now) {
                    attempt.auth = .locked
                    return .settled(try tx.refuse(attempt, .thirdPartyLocked))
                }
                if let cause = Self.uncheckable(found, now: now) {
                    if cause == .passwordLocked { attempt.auth = .locked }
                    return .settled(try tx.thirdPartyFailure(attempt, cause: cause, subject: found))
                }
            }
            guard var subject = found else {
                return .settled(try tx.refuse(attempt, .unknownSubscriber))
            }
            if let verification {
                let (check, changed) = PasswordCheck.settle(
                    verification, of: checkedHash, against: subject, thirdParty: thirdParty, now: now,
                    passwords: tx.configuration.passwords)
                if let changed {
                    try tx.writer.save(changed)
                    subject = changed
                }
                switch check {
                case .stale:
                    return .stale
                case .locked(let until):
                    // Another attempt locked the password while this one was hashing.
                    attempt.auth = .locked
                    attempt.values[.until] = calendar.dateTime(of: until)
                    return .settled(try tx.refuse(attempt, .passwordLocked))
                case .wrongForThirdParty:
                    // Never counted against the owner: against the caller, with one answer for every cause.
                    attempt.auth = .failed
                    return .settled(try tx.thirdPartyFailure(attempt, cause: .badPassword, subject: subject))
                case .wrong(let remaining, let lockedUntil?):
                    attempt.auth = .failed
                    attempt.lockedPassword = true
                    attempt.values[.until] = calendar.dateTime(of: lockedUntil)
                    attempt.values[.remaining] = String(remaining)
                    let settled = try tx.refuse(attempt, .badPassword, replyKey: .refusedBadPasswordLocked)
                    if let record = settled.0.record {
                        // The owner is told the password is locked, and until when.
                        let text = attempt.prompts.render(
                            .noticePasswordLocked, in: attempt.prompts.language(for: subject.language),
                            ["number": subject.msisdn, "until": calendar.dateTime(of: lockedUntil)])
                        try tx.queueNotice(to: subject.msisdn, .noticePasswordLocked, text: text, record: record)
                    }
                    return .settled(settled)
                case .wrong(let remaining, nil):
                    attempt.auth = .failed
                    attempt.values[.remaining] = String(remaining)
                    return .settled(
                        try tx.refuse(
                            attempt, .badPassword, replyKey: remaining == 1 ? .refusedBadPasswordOne : nil))
                case .right:
                    attempt.auth = .ok
                    if let language = attempt.languageOnceVerified {
                        attempt.language = attempt.prompts.language(for: language)
                    }
                }
            }
            if let pendingRefusal {
                return .settled(try tx.refuse(attempt, pendingRefusal))
            }
            let decision = try rules.decide(
                attempt.request.operation, for: subject, arguments: attempt.request.arguments,
                language: attempt.language, prompts: attempt.prompts, now: now, store: tx.writer,
                caller: attempt.caller)
            switch decision {
            case .refuse(let reason, let values):
                attempt.values.merge(values) { $1 }
                return .settled(try tx.refuse(attempt, reason))
            case .apply(let effects, let replyKey, let values):
                attempt.values.merge(values) { $1 }
                if attempt.request.requiresConfirmation
                    && tx.configuration.policy.confirmationRequired.contains(attempt.request.operation)
                {
                    return .settled(try tx.askConfirmation(attempt, replyKey: replyKey))
                }
                let reply = attempt.scrub(attempt.prompts.render(replyKey, in: attempt.language, attempt.values))
                var recorded = reply
                if BusinessRules.valuesMaskedInRecords.contains(where: { attempt.values[$0] != nil }) {
                    var masked = attempt.values
                    for key in BusinessRules.valuesMaskedInRecords where masked[key] != nil {
                        masked[key] = BusinessRules.maskedValue
                    }
                    recorded = attempt.scrub(attempt.prompts.render(replyKey, in: attempt.language, masked))
                }
                let record = try tx.applyDecision(
                    effects, on: subject, for: attempt,
                    andThen: {
                        if let newHash {
                            var changed = try tx.writer.subscriber(subject.msisdn) ?? subject
                            changed.passwordHash = newHash
                            try tx.writer.save(changed)
                        }
                    },
                    record: { attempt.draft(now: now, auth: attempt.auth, result: .ok, reason: .ok, reply: recorded) })
                return .settled(
                    OperationOutcome(
                        result: .ok, reason: .ok, reply: reply, language: attempt.language, record: record),
                    attempt)
            }
        }
        guard case .settled(let outcome, let settled) = settlement else { return nil }
        attempt = settled
        if let verification, verification.needsRehash, outcome.isOK, newHash == nil,
            let password = attempt.request.password, let checkedHash
        {
            await rehash(attempt.subject, password: password, replacing: checkedHash)
        }
        return outcome
    }

    /// Upgrades a hash made at a lower cost, after a good login. Best effort: a failure keeps the old hash.
    func rehash(_ msisdn: String, password: Secret, replacing old: String) async {
        let hasher = self.hasher
        do {
            let upgraded = try await pool.run { try hasher.hash(password) }
            try await transaction(at: clock.now(), for: msisdn) { tx in
                guard var s = try tx.writer.subscriber(msisdn), s.passwordHash == old else { return }
                s.passwordHash = upgraded
                try tx.writer.save(s)
            }
            logger.info("password hash upgraded", metadata: ["subject": "\(maskNumber(msisdn))"])
        } catch {
            logger.warning(
                "password rehash failed", metadata: ["subject": "\(maskNumber(msisdn))", "error": "\(error)"])
        }
    }

    func refuse(_ attempt: Attempt, _ reason: ReasonCode) async throws -> OperationOutcome {
        let now = clock.now()
        return try await transaction(at: now, for: attempt.caller) { tx in
            if let refused = try tx.admit(attempt) { return refused }
            return try tx.refuse(attempt, reason).0
        }
    }
}
