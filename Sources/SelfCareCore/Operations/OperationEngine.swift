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
    /// Checks service passwords against their stored hashes and makes new ones (on the hashing pool).
    public let hasher: any PasswordHasher
    /// The engine's settings: password lockout, policy, the carrier's calendar, the confirmation time limit.
    public let configuration: EngineConfiguration
    let pool: BlockingWorkPool
    /// Where the engine reads the time; adapters and channels keep their caches on the same clock.
    public let clock: any TimeSource
    private let promptBox: Mutex<PromptCatalog>
    let rules: BusinessRules
    let logger: Logger
    let metrics: EngineMetrics
    /// A hash of no one's password, checked instead of a real one when a third party's attempt cannot be
    /// checked (no such number, no password): the answer then takes as long as a real check. Made once.
    let decoy = Mutex<String?>(nil)

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
            calendar: configuration.calendar, recentCallsShown: configuration.recentCallsShown,
            catalogue: configuration.catalogue)
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
        // Full-width digits are the same password on every channel (the SMS grammar folds them already).
        var request = request
        // Only the arguments operations read go on: another name could hold anything, a secret included, and the
        // record would keep it for ever.
        request.arguments = request.arguments.filter { OperationRequest.argumentNames.contains($0.key) }
        request.password = request.password?.foldingFullWidthDigits()
        request.newPassword = request.newPassword?.foldingFullWidthDigits()
        request.newPasswordAgain = request.newPasswordAgain?.foldingFullWidthDigits()
        let folded = request
        return await observed(channel: request.channel, operation: request.operation) { [self] in
            await settle(folded)
        }
    }

    /// Runs `body` and counts its outcome under its record's operation (`operation` when nothing was recorded),
    /// timed unless `timed` is false or the channel's admission check refused it (its latency is not the
    /// operation's).
    func observed(
        channel: Channel, operation: OperationName, timed: Bool = true,
        _ body: () async -> OperationOutcome
    ) async -> OperationOutcome {
        let timer = ContinuousClock.now
        let outcome = await body()
        metrics.observe(
            outcome, channel: channel, operation: outcome.record?.operation ?? operation.rawValue,
            elapsed: timed && !outcome.admissionRefusal ? .now - timer : nil)
        return outcome
    }

    /// Runs `request` to its outcome, and logs it; a fault is recorded as `internal_error` where the store still
    /// takes a record.
    private func settle(_ request: OperationRequest) async -> OperationOutcome {
        let started = request.receivedAt ?? clock.now()
        let prompts = self.prompts
        var attempt = Attempt(request: request, started: started, prompts: prompts)
        do {
            var settled = try await run(&attempt)
            if settled == nil {
                // The hash changed while it was checked (a rehash, `password set`): once more, against the new one.
                attempt = Attempt(request: request, started: started, prompts: prompts)
                settled = try await run(&attempt)
            }
            guard let outcome = settled else { throw PasswordChangedDuringCheck() }
            log(outcome, attempt)
            if outcome.reason == .badPassword && attempt.lockedPassword {
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

    /// The outcome of an attempt that hit a fault: an `error` record if the store still takes one.
    func failure(_ attempt: Attempt) async -> OperationOutcome {
        var attempt = attempt
        // Still in the customer's language when only writing failed (a full disk): reads may work.
        let caller = try? await store.read({ [number = attempt.caller] in try $0.subscriber(number) })
        attempt.language = attempt.prompts.language(for: caller?.language ?? attempt.request.languageHint)
        // Arguments were masked inside the transaction that failed: mask them again here.
        attempt.inputs = attempt.inputs.mapValues(Self.maskingLongDigitRuns)
        let reply = attempt.scrub(
            attempt.prompts.render(.refusedInternalError, in: attempt.language, attempt.values))
        let draft = attempt.draft(
            now: clock.now(), auth: attempt.auth, result: .error, reason: .internalError, reply: reply)
        var record: ServiceRecord?
        do {
            record = try await store.write { try $0.append(draft) }
        } catch {
            // The customer still gets the apology; the missing record is said here, once.
            logger.critical(
                "the error record could not be written either",
                metadata: ["caller": "\(maskNumber(attempt.caller))", "error": "\(error)"])
        }
        return OperationOutcome(
            result: .error, reason: .internalError, reply: reply, language: attempt.language, record: record)
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
        attempt.values[.number] = msisdn
        attempt.inputs = [:]
        do {
            let hasher = self.hasher
            let hash = try await pool.run { try hasher.hash(password) }
            let now = clock.now()
            let frozen = attempt
            return try await transaction(at: now) { tx in
                var attempt = frozen
                guard var s = try tx.writer.subscriber(msisdn) else {
                    return try tx.refuse(attempt, .unknownSubscriber).0
                }
                attempt.language = attempt.prompts.language(for: s.language)
                let before = s
                s.passwordHash = hash
                s.failedPasswordAttempts = 0
                s.passwordLockedUntil = nil
                try tx.writer.save(s)
                let reply = attempt.prompts.render(.replyPasswordSet, in: attempt.language, attempt.values)
                let record = try tx.writer.append(
                    attempt.draft(now: now, auth: .none, result: .ok, reason: .ok, reply: reply))
                try tx.placeOrder(attempt, record: record, change: OrderChange(from: before, to: s))
                return OperationOutcome(
                    result: .ok, reason: .ok, reply: reply, language: attempt.language, record: record)
            }
        } catch {
            logger.error("password set failed", metadata: ["subject": "\(maskNumber(msisdn))", "error": "\(error)"])
            return await failure(attempt)
        }
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

}
