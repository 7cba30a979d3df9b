import Foundation
import Logging

/// Second confirmations (二次确认): asked in the attempt's transaction, then confirmed or cancelled, each recorded.
extension OperationEngine {
    /// Applies the transaction `caller` was asked to confirm on `channel` (the customer replied `Y`).
    ///
    /// The password was checked when the transaction was requested; the rules are checked again now,
    /// against the subscriber as it is. Writes one record: the outcome, `confirmation_expired` when the
    /// time limit has passed, or `unknown_command` (reply `confirm.nothing`) when nothing waits.
    public func confirm(
        caller: String, channel: Channel, session: String?, languageHint: Language? = nil, receivedAt: Date? = nil,
        admission: Admission? = nil
    ) async -> OperationOutcome {
        await observed(channel: channel, operation: .confirm) { [self] in
            await settleConfirmation(
                caller: caller, channel: channel, session: session, languageHint: languageHint,
                receivedAt: receivedAt, admission: admission)
        }
    }

    func settleConfirmation(
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
            return try await transaction(at: now) { tx in
                let asked = ChannelAttempt(
                    channel: channel, session: session, caller: callerNumber, operation: .confirm, inputs: [:],
                    result: .refused, reason: .unknownCommand, languageHint: languageHint)
                if let refused = try tx.admit(admission, for: asked, started: started, prompts: prompts) {
                    return refused
                }
                let callerSubscriber = try tx.writer.subscriber(callerNumber)
                guard let pending = try tx.writer.confirmation(caller: callerNumber, channel: channel) else {
                    let request = OperationRequest(
                        operation: "confirm", channel: channel, session: session, caller: callerNumber,
                        receivedAt: started)
                    var attempt = Attempt(request: request, started: started, prompts: prompts)
                    attempt.language = prompts.language(for: callerSubscriber?.language ?? languageHint)
                    return try tx.refuse(
                        attempt, .unknownCommand, replyKey: .confirmNothing
                    ).0
                }
                try tx.writer.deleteConfirmation(caller: callerNumber, channel: channel)
                let request = OperationRequest(
                    operation: pending.operation, channel: channel, session: session, caller: callerNumber,
                    subject: pending.subject == callerNumber ? nil : pending.subject,
                    arguments: pending.arguments.filter { !$0.key.hasPrefix("terms.") }, receivedAt: started)
                var attempt = Attempt(request: request, started: started, prompts: prompts)
                attempt.subject = pending.subject
                attempt.values[.number] = pending.subject
                attempt.inputs["confirms"] = pending.session ?? ISOTime.format(pending.requestedAt)
                let subject = try tx.writer.subscriber(pending.subject)
                // The language the request was answered in wins over the confirming word's (`YES` to a
                // Chinese question is still answered in Chinese).
                attempt.language = prompts.language(
                    for: callerSubscriber?.language ?? pending.language ?? languageHint ?? subject?.language)
                // Bounded on both sides: a confirmation asked for "later" than now was asked before the
                // clock was set back, and is as stale as one past its time.
                guard pending.expiresAt > now,
                    pending.requestedAt <= now.addingTimeInterval(tolerance)
                else {
                    return try tx.refuse(attempt, .confirmationExpired).0
                }
                guard let subject else {
                    return try tx.refuse(attempt, .unknownSubscriber).0
                }
                attempt.auth = .ok
                attempt.values[.name] = subject.name
                let decision = try rules.decide(
                    pending.operation, for: subject, arguments: pending.arguments, language: attempt.language,
                    prompts: prompts, now: now, store: tx.writer, caller: callerNumber)
                switch decision {
                case .refuse(let reason, let values):
                    attempt.values.merge(values) { $1 }
                    return try tx.refuse(attempt, reason).0
                case .apply(let effects, let replyKey, let values):
                    attempt.values.merge(values) { $1 }
                    // An amount the question stated that is no longer what the rules ask: nothing is applied.
                    for key in BusinessRules.confirmedTerms {
                        if let agreed = pending.arguments["terms." + key], agreed != values[key] {
                            return try tx.refuse(attempt, .termsChanged).0
                        }
                    }
                    let reply = attempt.prompts.render(replyKey, in: attempt.language, attempt.values)
                    let record = try tx.applyDecision(
                        effects, on: subject, for: attempt,
                        record: { attempt.draft(now: now, auth: .ok, result: .ok, reason: .ok, reply: reply) })
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
        caller: String, channel: Channel, session: String?, replyKey: PromptKey, receivedAt: Date? = nil
    ) async -> OperationOutcome {
        await observed(channel: channel, operation: .confirm, timed: false) { [self] in
            await settleCancellation(
                caller: caller, channel: channel, session: session, replyKey: replyKey, receivedAt: receivedAt)
        }
    }

    func settleCancellation(
        caller: String, channel: Channel, session: String?, replyKey: PromptKey, receivedAt: Date?
    ) async -> OperationOutcome {
        let started = receivedAt ?? clock.now()
        let prompts = self.prompts
        let now = clock.now()
        let callerNumber = normalizeNumber(caller) ?? caller
        let outcome: OperationOutcome
        do {
            outcome = try await transaction(at: now) { tx in
                let callerSubscriber = try tx.writer.subscriber(callerNumber)
                let pending = try tx.writer.confirmation(caller: callerNumber, channel: channel)
                if pending != nil { try tx.writer.deleteConfirmation(caller: callerNumber, channel: channel) }
                let request = OperationRequest(
                    operation: pending?.operation ?? .confirm, channel: channel, session: session,
                    caller: callerNumber, subject: pending.flatMap { $0.subject == callerNumber ? nil : $0.subject },
                    arguments: pending?.arguments.filter { !$0.key.hasPrefix("terms.") } ?? [:], receivedAt: started)
                var attempt = Attempt(request: request, started: started, prompts: prompts)
                if let pending {
                    attempt.subject = pending.subject
                    attempt.values[.number] = pending.subject
                    attempt.inputs["confirms"] = pending.session ?? ISOTime.format(pending.requestedAt)
                }
                attempt.language = prompts.language(for: callerSubscriber?.language ?? pending?.language)
                return try tx.refuse(attempt, .confirmationCancelled, replyKey: replyKey).0
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
        return outcome
    }
}
