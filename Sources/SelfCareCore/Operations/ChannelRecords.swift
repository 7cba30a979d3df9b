import Foundation
import Logging

/// Attempts a channel settles itself (help, unknown text, a duplicate, a rate limit).
extension OperationEngine {
    /// Writes the record of an attempt a channel settles itself (help, unknown text, a duplicate, a rate
    /// limit) and returns its outcome; the reply is `text`, or the prompt `replyKey` in the caller's language.
    /// The record keeps `recordedText` instead of the reply when it is given (a secret masked).
    public func recordChannelAttempt(
        channel: Channel, session: String?, caller: String, operation: OperationName, inputs: [String: String],
        result: ResultKind, reason: ReasonCode, replyKey: PromptKey? = nil, text: String? = nil,
        recordedText: String? = nil, languageHint: Language? = nil, receivedAt: Date? = nil,
        admission: Admission? = nil
    ) async -> OperationOutcome {
        await record(
            ChannelAttempt(
                channel: channel, session: session, caller: caller, operation: operation, inputs: inputs,
                result: result, reason: reason, replyKey: replyKey, text: text, recordedText: recordedText,
                languageHint: languageHint),
            receivedAt: receivedAt, admission: admission)
    }

    /// Writes the record of `attempt` (after `admission`'s check, which may refuse it instead) and returns its
    /// outcome.
    public func record(
        _ attempt: ChannelAttempt, receivedAt: Date? = nil, admission: Admission? = nil
    ) async -> OperationOutcome {
        await observed(channel: attempt.channel, operation: attempt.operation, timed: false) { [self] in
            let started = receivedAt ?? clock.now()
            let prompts = self.prompts
            var attempt = attempt
            attempt.caller = normalizeNumber(attempt.caller) ?? attempt.caller
            let settled = attempt
            do {
                let expected = admission?.expectedReads ?? []
                return try await transaction(at: clock.now(), for: settled.caller, expecting: expected) { tx in
                    if let refused = try tx.admit(admission, for: settled, started: started, prompts: prompts) {
                        return refused
                    }
                    return try tx.record(settled, started: started, prompts: prompts)
                }
            } catch {
                logger.error(
                    "record failed", metadata: ["caller": "\(maskNumber(settled.caller))", "error": "\(error)"])
                var request = OperationRequest(
                    operation: settled.operation, channel: settled.channel, session: settled.session,
                    caller: settled.caller, receivedAt: started)
                request.arguments = settled.inputs
                return await failure(Attempt(request: request, started: started, prompts: prompts))
            }
        }
    }
}
