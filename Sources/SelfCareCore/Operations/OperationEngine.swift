import Foundation
import Logging
import Synchronization

/// Runs self-service operations under the carrier's rules and writes a service record for every attempt.
///
/// The engine is the one place channels go through: it resolves the subject number, checks the
/// service password where the policy asks (off the cooperative pool, with lockout), applies the
/// business rules inside a store transaction together with the attempt's record, and renders the
/// reply in the customer's language. Refusals are outcomes, never thrown errors.
///
/// ```swift
/// let outcome = await engine.perform(OperationRequest(operation: .queryBalance, channel: .api, caller: "18612345678"))
/// print(outcome.reply, outcome.reason)
/// ```
public final class OperationEngine: Sendable {
    /// Where subscribers live and records go: the engine's alone; channels and the HTTP layer go through the
    /// engine's methods.
    let store: any ServiceStore
    public let hasher: any PasswordHasher
    public let configuration: EngineConfiguration
    private let pool: BlockingWorkPool
    /// Where the engine reads the time; adapters and channels keep their caches on the same clock.
    public let clock: any TimeSource
    private let promptBox: Mutex<PromptCatalog>
    private let rules: BusinessRules
    let logger: Logger
    private let metrics: EngineMetrics
    /// A hash of no one's password, checked instead of a real one when a third party's attempt cannot be
    /// checked (no such number, no password): the answer then takes as long as a real check. Made once.
    private let decoy = Mutex<String?>(nil)

    /// - Parameters:
    ///   - store: where subscribers live and records go.
    ///   - hasher: checks and makes password hashes.
    ///   - prompts: the reply texts.
    ///   - clock: the time source (`SELFCARE_NOW` makes it fixed).
    ///   - pool: where hashing runs; a pool of `configuration.passwords.hashingConcurrency` threads by default.
    ///   - logger: where the engine says what it did and what failed (swift-log's guidance: a library is given
    ///     its logger).
    public init(
        store: any ServiceStore, hasher: any PasswordHasher, prompts: PromptCatalog,
        configuration: EngineConfiguration = EngineConfiguration(), clock: any TimeSource,
        pool: BlockingWorkPool? = nil, logger: Logger
    ) {
        self.store = store
        self.hasher = hasher
        self.configuration = configuration
        self.clock = clock
        self.pool =
            pool
            ?? BlockingWorkPool(
                threads: configuration.passwords.hashingConcurrency, niceness: configuration.passwords.hashingNiceness,
                logger: logger)
        self.promptBox = Mutex(prompts)
        self.rules = BusinessRules(
            calendar: configuration.calendar, recentCallsShown: configuration.recentCallsShown)
        self.logger = logger
        self.metrics = EngineMetrics(factory: configuration.metrics)
    }

    /// The reply texts in use.
    public var prompts: PromptCatalog { promptBox.withLock { $0 } }

    /// Swaps the reply texts atomically; attempts already running keep the texts they started with.
    public func replacePrompts(_ prompts: PromptCatalog) { promptBox.withLock { $0 = prompts } }

    /// The current time as the engine sees it.
    public func now() -> Date { clock.now() }

    /// Runs one attempt and returns its outcome; every attempt writes exactly one record (and a failed
    /// attempt on another number's password, a notice for that number's owner as well).
    public func perform(_ request: OperationRequest) async -> OperationOutcome {
        let timer = ContinuousClock.now
        // Full-width digits are the same password on every channel (the SMS grammar folds them already).
        var request = request
        request.password = request.password?.foldingFullWidthDigits()
        request.newPassword = request.newPassword?.foldingFullWidthDigits()
        request.newPasswordAgain = request.newPasswordAgain?.foldingFullWidthDigits()
        let outcome = await performUnobserved(request)
        // A message refused by the channel's admission check is counted under its record's operation, and
        // not timed: its latency is not the operation's.
        metrics.observe(
            outcome, channel: request.channel, operation: outcome.record?.operation ?? request.operation.rawValue,
            elapsed: outcome.admissionRefusal ? nil : .now - timer)
        return outcome
    }

    private func performUnobserved(_ request: OperationRequest) async -> OperationOutcome {
        let started = request.receivedAt ?? clock.now()
        let prompts = self.prompts
        var attempt = Attempt(request: request, started: started, prompts: prompts)
        do {
            let outcome: OperationOutcome
            do {
                outcome = try await run(&attempt)
            } catch is StalePasswordHash {
                attempt = Attempt(request: request, started: started, prompts: prompts)
                outcome = try await run(&attempt)
            }
            log(outcome, attempt)
            if outcome.reason == .badPassword && attempt.values["remaining"] == "0" {
                metrics.passwordLocked(channel: request.channel)
            }
            if outcome.reason == .thirdPartyRefused && attempt.lockedCaller {
                metrics.callerLocked(channel: request.channel)
            }
            return outcome
        } catch {
            logger.error(
                "operation failed",
                metadata: [
                    "operation": "\(request.operation)", "caller": "\(maskNumber(attempt.caller))",
                    "error": "\(error)",
                ])
            return await failure(attempt)
        }
    }

    /// Checks before the rules, once the subject is read: known, not closed, arguments well formed.
    /// Returns the refusal, if any; sets the reply's `name`.
    static func prepare(_ attempt: inout Attempt, subject: Subscriber?, rules: BusinessRules) -> ReasonCode? {
        guard let subject else { return .unknownSubscriber }
        attempt.values["name"] = subject.name
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
            if let value = values["value"] { attempt.values["value"] = maskingLongDigitRuns(value) }
            if let argument = values["argument"], let raw = attempt.inputs[argument] {
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

    /// The outcome of an attempt that hit a fault: an `error` record if the store still takes one.
    private func failure(_ attempt: Attempt) async -> OperationOutcome {
        var attempt = attempt
        // Still in the customer's language when only writing failed (a full disk): reads may work.
        let caller = try? await store.read({ [number = attempt.caller] in try $0.subscriber(number) })
        attempt.language = attempt.prompts.language(for: caller?.language ?? attempt.request.languageHint)
        // Arguments were masked inside the transaction that failed: mask them again here.
        attempt.inputs = attempt.inputs.mapValues(Self.maskingLongDigitRuns)
        let reply = attempt.scrub(
            attempt.prompts.render("refused.internal_error", in: attempt.language, attempt.values))
        let draft = attempt.draft(
            now: clock.now(), auth: attempt.auth, result: .error, reason: .internalError, reply: reply)
        let record = try? await store.write { try $0.append(draft) }
        return OperationOutcome(
            result: .error, reason: .internalError, reply: reply, language: attempt.language, record: record)
    }

    private func run(_ attempt: inout Attempt) async throws -> OperationOutcome {
        let request = attempt.request
        let operation = request.operation
        let known = OperationName.all.contains(operation)
        let needsPassword = configuration.policy.needsPassword(operation)
        var keyedIsNumber = true
        if known, needsPassword, let keyed = request.subject {
            // Seven digits at least: a six-digit password keyed into the number field is never taken for one.
            if let subject = normalizeNumber(keyed), subject.count >= 7 {
                attempt.subject = subject
                attempt.values["number"] = subject
            } else {
                // Probably the password in the wrong place: the record keeps the caller as subject and
                // only a mask of what was keyed.
                keyedIsNumber = false
                attempt.inputs["subject"] = maskNumber(keyed)
                attempt.values["argument"] = "number"
                attempt.values["value"] = maskNumber(keyed)
            }
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
                attempt.values["until"] = configuration.calendar.dateTime(of: until)
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
                        attempt.values["rule"] = weakness.rawValue
                        attempt.inputs["weak_rule"] = weakness.rawValue
                        pendingRefusal = .weakPassword
                    } else {
                        newHash = try await pool.run { try hasher.hash(new) }
                    }
                } else {
                    attempt.values["argument"] = "new_password"
                    attempt.values["value"] = ""
                    pendingRefusal = .invalidArgument
                }
            }
        }
        return try await finish(
            &attempt, verification: verification, checkedHash: checkedHash, newHash: newHash,
            pendingRefusal: pendingRefusal)
    }

    /// The transaction: re-reads the subject, settles the password outcome, applies the rules and appends the record.
    private func finish(
        _ attempt: inout Attempt, verification: PasswordVerification?, checkedHash: String?, newHash: String?,
        pendingRefusal: ReasonCode?, resolve: Bool = false
    ) async throws -> OperationOutcome {
        let now = clock.now()
        let frozen = attempt
        let rules = self.rules
        let passwords = configuration.passwords
        let calendar = configuration.calendar
        let policy = configuration.policy
        let ttl = configuration.confirmationTTL
        let outcome: (OperationOutcome, Attempt) = try await store.write { writer in
            var attempt = frozen
            if let refused = try Self.admit(attempt, now: now, writer: writer) { return (refused, attempt) }
            let found = try writer.subscriber(attempt.subject)
            if resolve {
                let caller = attempt.caller == attempt.subject ? found : try writer.subscriber(attempt.caller)
                attempt.language = attempt.prompts.language(
                    for: caller?.language ?? attempt.request.languageHint ?? found?.language)
                if let reason = Self.prepare(&attempt, subject: found, rules: rules) {
                    return try Self.refusal(attempt, reason, now: now, writer: writer)
                }
            }
            let thirdParty = attempt.caller != attempt.subject
            if thirdParty && verification != nil {
                // Another attempt of this caller may have locked it out while this one was hashing.
                if let throttle = try writer.callerThrottle(attempt.caller), throttle.isLocked(at: now) {
                    attempt.auth = .locked
                    return try Self.refusal(attempt, .thirdPartyLocked, now: now, writer: writer)
                }
                if let cause = Self.uncheckable(found, now: now) {
                    if cause == .passwordLocked { attempt.auth = .locked }
                    return try Self.thirdPartyFailure(
                        attempt, cause: cause, subject: found, now: now, passwords: passwords, calendar: calendar,
                        writer: writer)
                }
            }
            guard var subject = found else {
                return try Self.refusal(attempt, .unknownSubscriber, now: now, writer: writer)
            }
            if let verification {
                if let until = subject.passwordLockedUntil, until > now {
                    // Another attempt locked the password while this one was hashing.
                    attempt.auth = .locked
                    attempt.values["until"] = calendar.dateTime(of: until)
                    return try Self.refusal(attempt, .passwordLocked, now: now, writer: writer)
                }
                if subject.passwordHash != checkedHash {
                    // Changed while this attempt was hashing (a rehash, `password set`): check again.
                    throw StalePasswordHash()
                }
                if !verification.matches && thirdParty {
                    // Never counted against the owner: against the caller, with one answer for every cause.
                    attempt.auth = .failed
                    return try Self.thirdPartyFailure(
                        attempt, cause: .badPassword, subject: subject, now: now, passwords: passwords,
                        calendar: calendar, writer: writer)
                }
                if !verification.matches {
                    attempt.auth = .failed
                    subject.failedPasswordAttempts += 1
                    if subject.failedPasswordAttempts >= passwords.lockoutThreshold {
                        let until = now + passwords.lockoutDuration
                        subject.passwordLockedUntil = until
                        subject.failedPasswordAttempts = 0
                        attempt.values["until"] = calendar.dateTime(of: until)
                        attempt.values["remaining"] = "0"
                        try writer.save(subject)
                        return try Self.refusal(
                            attempt, .badPassword, now: now, writer: writer, replyKey: "refused.bad_password.locked")
                    }
                    let remaining = passwords.lockoutThreshold - subject.failedPasswordAttempts
                    attempt.values["remaining"] = String(remaining)
                    try writer.save(subject)
                    return try Self.refusal(
                        attempt, .badPassword, now: now, writer: writer,
                        replyKey: remaining == 1 ? "refused.bad_password.one" : nil)
                }
                attempt.auth = .ok
                if let language = attempt.languageOnceVerified {
                    attempt.language = attempt.prompts.language(for: language)
                }
                if subject.failedPasswordAttempts != 0 || subject.passwordLockedUntil != nil {
                    subject.failedPasswordAttempts = 0
                    subject.passwordLockedUntil = nil
                    try writer.save(subject)
                }
            }
            if let pendingRefusal {
                return try Self.refusal(attempt, pendingRefusal, now: now, writer: writer)
            }
            let decision = try rules.decide(
                attempt.request.operation, for: subject, arguments: attempt.request.arguments,
                language: attempt.language, prompts: attempt.prompts, now: now, store: writer)
            switch decision {
            case .refuse(let reason, let values):
                attempt.values.merge(values) { $1 }
                return try Self.refusal(attempt, reason, now: now, writer: writer)
            case .apply(let effects, let replyKey, let values):
                attempt.values.merge(values) { $1 }
                if attempt.request.requiresConfirmation
                    && policy.confirmationRequired.contains(attempt.request.operation)
                {
                    return try Self.askConfirmation(attempt, replyKey: replyKey, now: now, ttl: ttl, writer: writer)
                }
                try Self.apply(effects, subject: subject.msisdn, writer: writer)
                if let newHash {
                    var changed = try writer.subscriber(subject.msisdn) ?? subject
                    changed.passwordHash = newHash
                    try writer.save(changed)
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
                let record = try writer.append(
                    attempt.draft(now: now, auth: attempt.auth, result: .ok, reason: .ok, reply: recorded))
                return (
                    OperationOutcome(
                        result: .ok, reason: .ok, reply: reply, language: attempt.language, record: record),
                    attempt
                )
            }
        }
        attempt = outcome.1
        if let verification, verification.needsRehash, outcome.0.isOK, newHash == nil,
            let password = attempt.request.password, let checkedHash
        {
            await rehash(attempt.subject, password: password, replacing: checkedHash)
        }
        return outcome.0
    }

    /// Upgrades a hash made at a lower cost, after a good login. Best effort: a failure keeps the old hash.
    private func rehash(_ msisdn: String, password: Secret, replacing old: String) async {
        let hasher = self.hasher
        do {
            let upgraded = try await pool.run { try hasher.hash(password) }
            try await store.write { writer in
                guard var s = try writer.subscriber(msisdn), s.passwordHash == old else { return }
                s.passwordHash = upgraded
                try writer.save(s)
            }
            logger.info("password hash upgraded", metadata: ["subject": "\(maskNumber(msisdn))"])
        } catch {
            logger.warning(
                "password rehash failed", metadata: ["subject": "\(maskNumber(msisdn))", "error": "\(error)"])
        }
    }

    /// Sets `msisdn`'s service password on an operator's authority (a shop, `selfcare password set`) and
    /// clears any lockout; writes a `password.set` record with `caller` as the operator. The weak-password
    /// rules are the caller's to apply first. Refused `unknown_subscriber` for an unknown number.
    public func setPassword(of msisdn: String, to password: Secret, by caller: String) async -> OperationOutcome {
        let password = password.foldingFullWidthDigits()
        let started = clock.now()
        var request = OperationRequest(operation: .passwordSet, channel: .api, caller: caller, receivedAt: started)
        request.subject = msisdn
        var attempt = Attempt(request: request, started: started, prompts: prompts)
        attempt.caller = caller
        attempt.subject = msisdn
        attempt.values["number"] = msisdn
        attempt.inputs = [:]
        do {
            let hasher = self.hasher
            let hash = try await pool.run { try hasher.hash(password) }
            let now = clock.now()
            let frozen = attempt
            return try await store.write { writer in
                var attempt = frozen
                guard var s = try writer.subscriber(msisdn) else {
                    return try Self.refusal(attempt, .unknownSubscriber, now: now, writer: writer).0
                }
                attempt.language = attempt.prompts.language(for: s.language)
                s.passwordHash = hash
                s.failedPasswordAttempts = 0
                s.passwordLockedUntil = nil
                try writer.save(s)
                let reply = attempt.prompts.render("reply.password.set", in: attempt.language, attempt.values)
                let record = try writer.append(
                    attempt.draft(now: now, auth: .none, result: .ok, reason: .ok, reply: reply))
                return OperationOutcome(
                    result: .ok, reason: .ok, reply: reply, language: attempt.language, record: record)
            }
        } catch {
            logger.error("password set failed", metadata: ["subject": "\(maskNumber(msisdn))", "error": "\(error)"])
            return await failure(attempt)
        }
    }

    /// Stores the pending confirmation and writes the `confirmation_required` record, in the caller's transaction.
    private static func askConfirmation(
        _ attempt: Attempt, replyKey: String, now: Date, ttl: TimeInterval, writer: any StoreWriter
    ) throws -> (OperationOutcome, Attempt) {
        var attempt = attempt
        let pending = PendingConfirmation(
            caller: attempt.caller, channel: attempt.request.channel, operation: attempt.request.operation,
            subject: attempt.subject, arguments: attempt.inputs.filter { $0.key != "subject" },
            session: attempt.request.session, requestedAt: now, expiresAt: now + ttl, language: attempt.language)
        try writer.save(pending)
        attempt.values["minutes"] = String(Int((ttl / 60).rounded(.up)))
        let key = "confirm." + replyKey.dropFirst("reply.".count)
        // What will happen, then how this channel confirms (`confirm.ask.sms`: reply Y within N minutes).
        let how = "confirm.ask.\(attempt.request.channel.rawValue)"
        let text =
            attempt.prompts.render(key, in: attempt.language, attempt.values)
            + (attempt.prompts.templates[attempt.language]?[how] != nil
                ? attempt.prompts.render(how, in: attempt.language, attempt.values) : "")
        let reply = attempt.scrub(text.trimmingCharacters(in: .whitespacesAndNewlines))
        let record = try writer.append(
            attempt.draft(now: now, auth: attempt.auth, result: .refused, reason: .confirmationRequired, reply: reply))
        return (
            OperationOutcome(
                result: .refused, reason: .confirmationRequired, reply: reply, language: attempt.language,
                record: record),
            attempt
        )
    }

    /// Applies the transaction `caller` was asked to confirm on `channel` (the customer replied `Y`).
    ///
    /// The password was checked when the transaction was requested; the rules are checked again now,
    /// against the subscriber as it is. Writes one record: the outcome, `confirmation_expired` when the
    /// time limit has passed, or `unknown_command` (reply `confirm.nothing`) when nothing waits.
    public func confirm(
        caller: String, channel: Channel, session: String?, languageHint: Language? = nil, receivedAt: Date? = nil,
        admission: Admission? = nil
    ) async -> OperationOutcome {
        let timer = ContinuousClock.now
        let outcome = await confirmUnobserved(
            caller: caller, channel: channel, session: session, languageHint: languageHint, receivedAt: receivedAt,
            admission: admission)
        metrics.observe(
            outcome, channel: channel, operation: outcome.record?.operation ?? OperationName.confirm.rawValue,
            elapsed: outcome.admissionRefusal ? nil : .now - timer)
        return outcome
    }

    private func confirmUnobserved(
        caller: String, channel: Channel, session: String?, languageHint: Language?, receivedAt: Date?,
        admission: Admission?
    ) async -> OperationOutcome {
        let started = receivedAt ?? clock.now()
        let prompts = self.prompts
        let now = clock.now()
        let rules = self.rules
        let tolerance = configuration.clockSkewTolerance
        let callerNumber = normalizeNumber(caller) ?? caller
        do {
            return try await store.write { writer in
                if let refused = try Self.admit(
                    admission, channel: channel, session: session, caller: callerNumber, languageHint: languageHint,
                    started: started, prompts: prompts, now: now, writer: writer)
                {
                    return refused
                }
                let callerSubscriber = try writer.subscriber(callerNumber)
                guard let pending = try writer.confirmation(caller: callerNumber, channel: channel) else {
                    var request = OperationRequest(
                        operation: "confirm", channel: channel, session: session, caller: callerNumber,
                        receivedAt: started)
                    var attempt = Attempt(request: request, started: started, prompts: prompts)
                    attempt.language = prompts.language(for: callerSubscriber?.language ?? languageHint)
                    return try Self.refusal(
                        attempt, .unknownCommand, now: now, writer: writer, replyKey: "confirm.nothing"
                    ).0
                }
                try writer.deleteConfirmation(caller: callerNumber, channel: channel)
                var request = OperationRequest(
                    operation: pending.operation, channel: channel, session: session, caller: callerNumber,
                    subject: pending.subject == callerNumber ? nil : pending.subject, arguments: pending.arguments,
                    receivedAt: started)
                var attempt = Attempt(request: request, started: started, prompts: prompts)
                attempt.subject = pending.subject
                attempt.values["number"] = pending.subject
                attempt.inputs["confirms"] = pending.session ?? ISOTime.format(pending.requestedAt)
                let subject = try writer.subscriber(pending.subject)
                // The language the request was answered in wins over the confirming word's (`YES` to a
                // Chinese question is still answered in Chinese).
                attempt.language = prompts.language(
                    for: callerSubscriber?.language ?? pending.language ?? languageHint ?? subject?.language)
                // Bounded on both sides: a confirmation asked for "later" than now was asked before the
                // clock was set back, and is as stale as one past its time.
                guard pending.expiresAt > now,
                    pending.requestedAt <= now.addingTimeInterval(tolerance)
                else {
                    return try Self.refusal(attempt, .confirmationExpired, now: now, writer: writer).0
                }
                guard let subject else {
                    return try Self.refusal(attempt, .unknownSubscriber, now: now, writer: writer).0
                }
                attempt.auth = .ok
                attempt.values["name"] = subject.name
                let decision = try rules.decide(
                    pending.operation, for: subject, arguments: pending.arguments, language: attempt.language,
                    prompts: prompts, now: now, store: writer)
                switch decision {
                case .refuse(let reason, let values):
                    attempt.values.merge(values) { $1 }
                    return try Self.refusal(attempt, reason, now: now, writer: writer).0
                case .apply(let effects, let replyKey, let values):
                    attempt.values.merge(values) { $1 }
                    try Self.apply(effects, subject: subject.msisdn, writer: writer)
                    let reply = attempt.prompts.render(replyKey, in: attempt.language, attempt.values)
                    let record = try writer.append(
                        attempt.draft(now: now, auth: .ok, result: .ok, reason: .ok, reply: reply))
                    return OperationOutcome(
                        result: .ok, reason: .ok, reply: reply, language: attempt.language, record: record)
                }
            }
        } catch {
            logger.error(
                "confirmation failed", metadata: ["caller": "\(maskNumber(callerNumber))", "error": "\(error)"])
            return await failure(
                Attempt(
                    request: OperationRequest(
                        operation: .confirm, channel: channel, session: session, caller: callerNumber,
                        receivedAt: started),
                    started: started, prompts: prompts))
        }
    }

    /// Cancels the transaction `caller` was asked to confirm on `channel` (a menu's cancel key): the confirmation
    /// is deleted and the attempt recorded in the same transaction, `refused` with `confirmation_cancelled` under
    /// the operation it was for, with the reply `replyKey` in the caller's language. When nothing waits (it
    /// expired and was confirmed elsewhere), the attempt is recorded under `confirm` all the same.
    public func cancelConfirmation(
        caller: String, channel: Channel, session: String?, replyKey: String, receivedAt: Date? = nil
    ) async -> OperationOutcome {
        let started = receivedAt ?? clock.now()
        let prompts = self.prompts
        let now = clock.now()
        let callerNumber = normalizeNumber(caller) ?? caller
        let outcome: OperationOutcome
        do {
            outcome = try await store.write { writer in
                let callerSubscriber = try writer.subscriber(callerNumber)
                let pending = try writer.confirmation(caller: callerNumber, channel: channel)
                if pending != nil { try writer.deleteConfirmation(caller: callerNumber, channel: channel) }
                let request = OperationRequest(
                    operation: pending?.operation ?? .confirm, channel: channel, session: session,
                    caller: callerNumber, subject: pending.flatMap { $0.subject == callerNumber ? nil : $0.subject },
                    arguments: pending?.arguments ?? [:], receivedAt: started)
                var attempt = Attempt(request: request, started: started, prompts: prompts)
                if let pending {
                    attempt.subject = pending.subject
                    attempt.values["number"] = pending.subject
                    attempt.inputs["confirms"] = pending.session ?? ISOTime.format(pending.requestedAt)
                }
                attempt.language = prompts.language(for: callerSubscriber?.language ?? pending?.language)
                return try Self.refusal(attempt, .confirmationCancelled, now: now, writer: writer, replyKey: replyKey).0
            }
        } catch {
            logger.error(
                "cancelling a confirmation failed",
                metadata: ["caller": "\(maskNumber(callerNumber))", "error": "\(error)"])
            outcome = await failure(
                Attempt(
                    request: OperationRequest(
                        operation: .confirm, channel: channel, session: session, caller: callerNumber,
                        receivedAt: started),
                    started: started, prompts: prompts))
        }
        metrics.observe(
            outcome, channel: channel, operation: outcome.record?.operation ?? OperationName.confirm.rawValue,
            elapsed: nil)
        return outcome
    }

    /// Writes the record of an attempt a channel settles itself (help, unknown text, a duplicate, a rate
    /// limit) and returns its outcome; the reply is `text`, or the prompt `replyKey` in the caller's language.
    /// The record keeps `recordedText` instead of the reply when it is given (a secret masked).
    public func recordChannelAttempt(
        channel: Channel, session: String?, caller: String, operation: OperationName, inputs: [String: String],
        result: ResultKind, reason: ReasonCode, replyKey: String? = nil, text: String? = nil,
        recordedText: String? = nil, languageHint: Language? = nil, receivedAt: Date? = nil,
        admission: Admission? = nil
    ) async -> OperationOutcome {
        let outcome = await recordChannelAttemptUnobserved(
            channel: channel, session: session, caller: caller, operation: operation, inputs: inputs, result: result,
            reason: reason, replyKey: replyKey, text: text, recordedText: recordedText, languageHint: languageHint,
            receivedAt: receivedAt, admission: admission)
        metrics.observe(
            outcome, channel: channel, operation: outcome.record?.operation ?? operation.rawValue, elapsed: nil)
        return outcome
    }

    private func recordChannelAttemptUnobserved(
        channel: Channel, session: String?, caller: String, operation: OperationName, inputs: [String: String],
        result: ResultKind, reason: ReasonCode, replyKey: String?, text: String?, recordedText: String?,
        languageHint: Language?, receivedAt: Date?, admission: Admission?
    ) async -> OperationOutcome {
        let started = receivedAt ?? clock.now()
        let prompts = self.prompts
        let callerNumber = normalizeNumber(caller) ?? caller
        let now = clock.now()
        do {
            return try await store.write { writer in
                if let refused = try Self.admit(
                    admission, channel: channel, session: session, caller: callerNumber, languageHint: languageHint,
                    started: started, prompts: prompts, now: now, writer: writer)
                {
                    return refused
                }
                return try Self.channelRecord(
                    channel: channel, session: session, caller: callerNumber, operation: operation, inputs: inputs,
                    result: result, reason: reason, replyKey: replyKey, text: text, recordedText: recordedText,
                    languageHint: languageHint, started: started, prompts: prompts, now: now, writer: writer)
            }
        } catch {
            logger.error("record failed", metadata: ["caller": "\(maskNumber(callerNumber))", "error": "\(error)"])
            var request = OperationRequest(
                operation: operation, channel: channel, session: session, caller: callerNumber, receivedAt: started)
            request.arguments = inputs
            return await failure(Attempt(request: request, started: started, prompts: prompts))
        }
    }

    private static func apply(_ effects: [Effect], subject: String, writer: any StoreWriter) throws {
        for effect in effects {
            switch effect {
            case .saveSubscriber(let changed): try writer.save(changed)
            case .schedule(let change): try writer.save(change)
            case .cancelPending(let kind): try writer.deletePendingChange(msisdn: subject, kind: kind)
            }
        }
    }

    private func refuse(_ attempt: Attempt, _ reason: ReasonCode) async throws -> OperationOutcome {
        let now = clock.now()
        return try await store.write { writer in
            if let refused = try Self.admit(attempt, now: now, writer: writer) { return refused }
            return try Self.refusal(attempt, reason, now: now, writer: writer).0
        }
    }

    // MARK: - Third-party attempts

    /// Why a third party's password cannot be checked against `subject`, if it cannot: no such number, a
    /// closed one, no password set, or a password locked by the owner's own failures.
    static func uncheckable(_ subject: Subscriber?, now: Date) -> ReasonCode? {
        guard let subject else { return .unknownSubscriber }
        if subject.status == .closed { return .closed }
        if subject.passwordHash == nil { return .passwordNotSet }
        if let until = subject.passwordLockedUntil, until > now { return .passwordLocked }
        return nil
    }

    /// The hash checked instead of a real one when a third party's attempt cannot be checked.
    private func decoyHash() async throws -> String {
        if let made = decoy.withLock({ $0 }) { return made }
        let hasher = self.hasher
        let made = try await pool.run { try hasher.hash(Secret(UUID().uuidString)) }
        return decoy.withLock { value in
            if value == nil { value = made }
            return value!
        }
    }

    /// Records a third party's failed attempt that never reached a hash check, in its own transaction.
    private func refuseThirdParty(_ attempt: inout Attempt, cause: ReasonCode) async throws -> OperationOutcome {
        let now = clock.now()
        let frozen = attempt
        let passwords = configuration.passwords
        let calendar = configuration.calendar
        let (outcome, settled): (OperationOutcome, Attempt) = try await store.write { writer in
            var attempt = frozen
            if let refused = try Self.admit(attempt, now: now, writer: writer) { return (refused, attempt) }
            if let throttle = try writer.callerThrottle(attempt.caller), throttle.isLocked(at: now) {
                attempt.auth = .locked
                return try Self.refusal(attempt, .thirdPartyLocked, now: now, writer: writer)
            }
            // Read again: the number may have changed since the attempt looked (a notice goes to its owner).
            let subject = try writer.subscriber(attempt.subject)
            let cause = Self.uncheckable(subject, now: now) ?? cause
            if cause == .passwordLocked { attempt.auth = .locked }
            return try Self.thirdPartyFailure(
                attempt, cause: cause, subject: subject, now: now, passwords: passwords, calendar: calendar,
                writer: writer)
        }
        attempt = settled
        return outcome
    }

    /// Settles a third party's failed attempt in the caller's transaction: counts it against the caller
    /// (locking the caller out of third-party attempts at the threshold), never against the subject; answers
    /// `third_party_refused` whatever the cause, which the record keeps in `inputs.cause`; and records a
    /// notice for the subject's owner when the number is a live account.
    private static func thirdPartyFailure(
        _ attempt: Attempt, cause: ReasonCode, subject: Subscriber?, now: Date, passwords: PasswordConfiguration,
        calendar: LocalCalendar, writer: any StoreWriter
    ) throws -> (OperationOutcome, Attempt) {
        var attempt = attempt
        let throttle = CallerThrottle.counting(
            try writer.callerThrottle(attempt.caller), caller: attempt.caller, at: now,
            threshold: passwords.thirdPartyThreshold, duration: passwords.thirdPartyLockoutDuration)
        try writer.save(throttle)
        attempt.lockedCaller = throttle.lockedUntil != nil
        attempt.inputs["cause"] = cause.rawValue
        let (outcome, settled) = try refusal(attempt, .thirdPartyRefused, now: now, writer: writer)
        if let subject, subject.status != .closed, let record = outcome.record {
            try recordNotice(for: subject, about: settled, record: record, now: now, calendar: calendar, writer: writer)
        }
        return (outcome, settled)
    }

    /// Appends the notice for `subject`'s owner that another phone tried their password: caller `system`,
    /// operation `password.notice`, reason `notice_pending` until outbound notices exist; the text, in the
    /// owner's language, shows the other phone's number masked, the record's inputs keep it whole.
    private static func recordNotice(
        for subject: Subscriber, about attempt: Attempt, record: ServiceRecord, now: Date, calendar: LocalCalendar,
        writer: any StoreWriter
    ) throws {
        let language = attempt.prompts.language(for: subject.language)
        let text = attempt.prompts.render(
            "notice.password.third_party", in: language,
            ["number": subject.msisdn, "caller": maskNumber(attempt.caller), "time": calendar.dateTime(of: now)])
        _ = try writer.append(
            RecordDraft(
                time: now, channel: .sms, session: nil, caller: OperationName.tickCaller, subject: subject.msisdn,
                operation: OperationName.passwordNotice.rawValue,
                inputs: [
                    "from": attempt.caller, "attempt": String(record.id),
                    "operation": attempt.request.operation.rawValue, "channel": attempt.request.channel.rawValue,
                ],
                auth: .none, result: .ok, reason: .noticePending, reply: text, durationMS: 0))
    }

    /// Runs the request's admission check inside the transaction; when it refuses, writes that record.
    private static func admit(_ attempt: Attempt, now: Date, writer: any StoreWriter) throws -> OperationOutcome? {
        let request = attempt.request
        return try admit(
            request.admission, channel: request.channel, session: request.session, caller: attempt.caller,
            languageHint: request.languageHint, started: attempt.started, prompts: attempt.prompts, now: now,
            writer: writer)
    }

    private static func admit(
        _ admission: Admission?, channel: Channel, session: String?, caller: String, languageHint: Language?,
        started: Date, prompts: PromptCatalog, now: Date, writer: any StoreWriter
    ) throws -> OperationOutcome? {
        guard let admission, let refusal = try admission.check(writer) else { return nil }
        var outcome = try channelRecord(
            channel: channel, session: session, caller: caller, operation: refusal.operation, inputs: refusal.inputs,
            result: .refused, reason: refusal.reason, replyKey: nil, text: refusal.text,
            recordedText: refusal.recordedText, languageHint: languageHint, started: started, prompts: prompts,
            now: now, writer: writer)
        outcome.admissionRefusal = true
        return outcome
    }

    /// Writes the record of an attempt a channel settled itself, in the caller's language.
    private static func channelRecord(
        channel: Channel, session: String?, caller: String, operation: OperationName, inputs: [String: String],
        result: ResultKind, reason: ReasonCode, replyKey: String?, text: String?, recordedText: String?,
        languageHint: Language?, started: Date, prompts: PromptCatalog, now: Date, writer: any StoreWriter
    ) throws -> OperationOutcome {
        let subscriber = try writer.subscriber(caller)
        let language = prompts.language(for: subscriber?.language ?? languageHint)
        var request = OperationRequest(
            operation: operation, channel: channel, session: session, caller: caller, receivedAt: started)
        request.arguments = inputs
        let attempt = Attempt(request: request, started: started, prompts: prompts)
        let reply = text ?? prompts.render(replyKey ?? "refused.\(reason.rawValue)", in: language, attempt.values)
        let record = try writer.append(
            attempt.draft(now: now, auth: .none, result: result, reason: reason, reply: recordedText ?? reply))
        return OperationOutcome(result: result, reason: reason, reply: reply, language: language, record: record)
    }

    /// Writes the refusal record (reply `refused.REASON` unless `replyKey` says otherwise) in the caller's transaction.
    private static func refusal(
        _ attempt: Attempt, _ reason: ReasonCode, now: Date, writer: any StoreWriter, replyKey: String? = nil
    ) throws -> (OperationOutcome, Attempt) {
        let reply = attempt.scrub(
            attempt.prompts.render(replyKey ?? "refused.\(reason.rawValue)", in: attempt.language, attempt.values))
        let record = try writer.append(
            attempt.draft(now: now, auth: attempt.auth, result: .refused, reason: reason, reply: reply))
        return (
            OperationOutcome(
                result: .refused, reason: reason, reply: reply, language: attempt.language, record: record),
            attempt
        )
    }

    private func log(_ outcome: OperationOutcome, _ attempt: Attempt) {
        logger.info(
            "operation",
            metadata: [
                "operation": "\(attempt.request.operation)", "channel": "\(attempt.request.channel)",
                "caller": "\(maskNumber(attempt.caller))", "subject": "\(maskNumber(attempt.subject))",
                "result": "\(outcome.result.rawValue)", "reason": "\(outcome.reason)",
                "auth": "\(attempt.auth.rawValue)",
            ])
    }

    // MARK: - Pending changes

    /// Applies every pending change due on or before today (local), each in its own transaction with its record.
    /// - Returns: the records written, one a change.
    @discardableResult
    public func applyDueChanges() async throws -> [ServiceRecord] {
        let now = clock.now()
        let today = configuration.calendar.date(of: now)
        let due = try await store.read { try $0.duePendingChanges(onOrBefore: today) }
        var records: [ServiceRecord] = []
        let rules = self.rules
        let prompts = self.prompts
        for change in due {
            let record: ServiceRecord? = try await store.write { writer in
                // Re-read: the change may have been cancelled or replaced since the list was taken.
                guard let current = try writer.pendingChanges(change.msisdn).first(where: { $0.kind == change.kind }),
                    current.effective <= today
                else { return nil }
                try writer.deletePendingChange(msisdn: current.msisdn, kind: current.kind)
                var inputs = ["scheduled": current.effective.description]
                if let plan = current.planCode { inputs["plan"] = plan }
                guard let subscriber = try writer.subscriber(current.msisdn) else {
                    let draft = RecordDraft(
                        time: now, channel: .api, session: "tick", caller: OperationName.tickCaller,
                        subject: current.msisdn,
                        operation: current.kind.rawValue, inputs: inputs, auth: .none, result: .refused,
                        reason: .unknownSubscriber, reply: "", durationMS: 0)
                    return try writer.append(draft)
                }
                let language = prompts.language(for: subscriber.language)
                let decision = try rules.applyDue(current, to: subscriber, store: writer)
                let (result, reason, reply): (ResultKind, ReasonCode, String)
                switch decision {
                case .refuse(let code, let values):
                    (result, reason, reply) = (
                        .refused, code, prompts.render("notice.pending.dropped", in: language, values)
                    )
                case .apply(let effects, let key, let values):
                    for case .saveSubscriber(let s) in effects { try writer.save(s) }
                    (result, reason, reply) = (.ok, .ok, prompts.render(key, in: language, values))
                }
                return try writer.append(
                    RecordDraft(
                        time: now, channel: .api, session: "tick", caller: OperationName.tickCaller,
                        subject: current.msisdn,
                        operation: current.kind.rawValue, inputs: inputs, auth: .none, result: result, reason: reason,
                        reply: reply, durationMS: 0))
            }
            if let record {
                records.append(record)
                metrics.count(
                    channel: record.channel, operation: record.operation, result: record.result, reason: record.reason)
            }
        }
        return records
    }
}

/// The stored hash changed between the password check and its transaction.
struct StalePasswordHash: Error {}

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
    var auth: AuthOutcome = .none
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
        let secrets = [request.password, request.newPassword, request.newPasswordAgain].compactMap { $0 }
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
