import Foundation

/// One transaction of the engine, and what its steps need: the writer, the time it runs at and the engine's
/// settings. Every record the engine writes is appended through one, together with the state it changes.
struct EngineTransaction {
    let writer: any StoreWriter
    let now: Date
    let configuration: EngineConfiguration
    let rules: BusinessRules

    /// Applies a decision's effects on `subject`.
    func apply(_ effects: [Effect], subject: String) throws {
        for effect in effects {
            switch effect {
            case .saveSubscriber(let changed): try writer.save(changed)
            case .schedule(let change): try writer.save(change)
            case .cancelPending(let kind): try writer.deletePendingChange(msisdn: subject, kind: kind)
            case .saveFeatures(let features): try writer.save(features, of: subject)
            case .saveCard(let card): try writer.save(card)
            case .fileTicket(let ticket): try writer.insert(ticket)
            }
        }
    }

    /// Applies an accepted decision's `effects` on `subject` for `attempt` (then `andThen`: a new password hash),
    /// appends the record `draft` makes, and for a transaction its service order: the change, its record and its
    /// order land in this one transaction. The one place a decision is applied.
    func applyDecision(
        _ effects: [Effect], on subject: Subscriber, for attempt: Attempt, andThen: () throws -> Void = {},
        record draft: () -> RecordDraft
    ) throws -> ServiceRecord {
        let ordered = attempt.request.operation.isTransaction
        let pendingBefore = ordered ? try writer.pendingChanges(subject.msisdn) : []
        let touchesFeatures = effects.contains { if case .saveFeatures = $0 { true } else { false } }
        let featuresBefore = touchesFeatures ? try writer.features(subject.msisdn) : nil
        try apply(effects, subject: subject.msisdn)
        try andThen()
        let record = try writer.append(draft())
        if attempt.request.operation == .lossReport, attempt.caller != subject.msisdn {
            // The owner hears of a loss reported from another phone, in case it was not them.
            let text = attempt.prompts.render(
                .noticeLossOtherPhone, in: attempt.prompts.language(for: subject.language),
                [
                    "number": subject.msisdn, "caller": maskNumber(attempt.caller),
                    "time": configuration.calendar.dateTime(of: now),
                ])
            try queueNotice(to: subject.msisdn, .noticeLossOtherPhone, text: text, record: record)
        }
        if ordered {
            // Billing hears of every applied transaction that changed something: its order, in this transaction.
            // (Scheduling again the change already scheduled changes nothing, and orders nothing.)
            var change = OrderChange(
                from: subject, to: try writer.subscriber(subject.msisdn) ?? subject, pendingBefore: pendingBefore,
                pendingAfter: try writer.pendingChanges(subject.msisdn))
            if let featuresBefore { change.add(features: featuresBefore, try writer.features(subject.msisdn)) }
            change.add(effects)
            if !change.after.isEmpty { try placeOrder(attempt, record: record, change: change) }
        }
        try askSurveyBySMS(record, subject: subject, prompts: attempt.prompts)
        return record
    }

    /// Writes the service order of a transaction applied for `attempt`, after its `record` and in the same
    /// transaction: the change, its record and its order land together or not at all. The key is `SC-` and the
    /// first 32 hex digits of the record's hash: unique, and the same on every delivery.
    /// Runs the request's admission check; when it refuses, writes that record.
    func admit(_ attempt: Attempt) throws -> OperationOutcome? {
        let request = attempt.request
        return try admit(
            request.admission,
            for: ChannelAttempt(
                channel: request.channel, session: request.session, caller: attempt.caller, operation: .unknown,
                inputs: [:], result: .refused, reason: .unknownCommand, languageHint: request.languageHint),
            started: attempt.started, prompts: attempt.prompts)
    }

    /// Runs `admission`'s check for a channel's attempt; when it refuses, writes the refusal's record instead.
    func admit(
        _ admission: Admission?, for attempt: ChannelAttempt, started: Date, prompts: PromptCatalog
    ) throws -> OperationOutcome? {
        guard let admission, let refusal = try admission.check(writer) else { return nil }
        var refused = attempt
        refused.operation = refusal.operation
        refused.inputs = refusal.inputs
        refused.result = .refused
        refused.reason = refusal.reason
        refused.replyKey = nil
        refused.text = refusal.text
        refused.recordedText = refusal.recordedText
        var outcome = try record(refused, started: started, prompts: prompts)
        outcome.admissionRefusal = true
        return outcome
    }

    /// Writes the record of an attempt a channel settled itself, in the caller's language.
    func record(_ channelAttempt: ChannelAttempt, started: Date, prompts: PromptCatalog) throws -> OperationOutcome {
        let subscriber = try writer.subscriber(channelAttempt.caller)
        let language = prompts.language(for: subscriber?.language ?? channelAttempt.languageHint)
        var request = OperationRequest(
            operation: channelAttempt.operation, channel: channelAttempt.channel, session: channelAttempt.session,
            caller: channelAttempt.caller, receivedAt: started)
        request.arguments = channelAttempt.inputs
        let attempt = Attempt(request: request, started: started, prompts: prompts)
        let (result, reason) = (channelAttempt.result, channelAttempt.reason)
        let reply =
            channelAttempt.text
            ?? prompts.render(channelAttempt.replyKey ?? .refused(reason), in: language, attempt.values)
        let record = try writer.append(
            attempt.draft(
                now: now, auth: .none, result: result, reason: reason, reply: channelAttempt.recordedText ?? reply))
        return OperationOutcome(result: result, reason: reason, reply: reply, language: language, record: record)
    }

    /// Writes the refusal record (reply `refused.REASON` unless `replyKey` says otherwise).
    func refuse(
        _ attempt: Attempt, _ reason: ReasonCode, replyKey: PromptKey? = nil
    ) throws -> (OperationOutcome, Attempt) {
        let reply = attempt.scrub(
            attempt.prompts.render(replyKey ?? .refused(reason), in: attempt.language, attempt.values))
        let record = try writer.append(
            attempt.draft(now: now, auth: attempt.auth, result: .refused, reason: reason, reply: reply))
        return (
            OperationOutcome(
                result: .refused, reason: reason, reply: reply, language: attempt.language, record: record),
            attempt
        )
    }

    /// Stores the pending confirmation and writes the `confirmation_required` record.
    func askConfirmation(_ attempt: Attempt, replyKey: PromptKey) throws -> (OperationOutcome, Attempt) {
        var attempt = attempt
        let ttl = configuration.confirmationTTL
        // The amounts the customer is asked to agree to travel with the confirmation: `Y` applies them or nothing.
        var arguments = attempt.inputs.filter { $0.key != "subject" }
        for key in BusinessRules.confirmedTerms { arguments["terms." + key] = attempt.values[key] }
        let pending = PendingConfirmation(
            caller: attempt.caller, channel: attempt.request.channel, operation: attempt.request.operation,
            subject: attempt.subject, arguments: arguments,
            session: attempt.request.session, requestedAt: now, expiresAt: now + ttl, language: attempt.language)
        try writer.save(pending)
        attempt.values[.minutes] = String(Int((ttl / 60).rounded(.up)))
        // What will happen, then how this channel confirms (`confirm.ask.sms`: reply Y within N minutes).
        let how = PromptKey.confirmationHow(on: attempt.request.channel)
        let text =
            attempt.prompts.render(.confirmation(of: replyKey), in: attempt.language, attempt.values)
            + (attempt.prompts.has(how, in: attempt.language)
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

    /// Settles a third party's failed attempt: counts it against the caller (locking the caller out of
    /// third-party attempts at the threshold), never against the subject; answers `third_party_refused` whatever
    /// the cause, which the record keeps in `inputs.cause`; and records a notice for the subject's owner when the
    /// number is a live account.
    func thirdPartyFailure(
        _ attempt: Attempt, cause: ReasonCode, subject: Subscriber?
    ) throws -> (OperationOutcome, Attempt) {
        var attempt = attempt
        let passwords = configuration.passwords
        let throttle = CallerThrottle.counting(
            try writer.callerThrottle(attempt.caller), caller: attempt.caller, at: now,
            threshold: passwords.thirdPartyThreshold, duration: passwords.thirdPartyLockoutDuration)
        try writer.save(throttle)
        attempt.lockedCaller = throttle.lockedUntil != nil
        attempt.inputs["cause"] = cause.rawValue
        let (outcome, settled) = try refuse(attempt, .thirdPartyRefused)
        if let subject, subject.status != .closed, let record = outcome.record {
            try recordNotice(for: subject, about: settled, record: record)
        }
        return (outcome, settled)
    }

    /// Appends the notice for `subject`'s owner that another phone tried their password: caller `system`,
    /// operation `password.notice`, reason `notice_pending` until outbound notices exist; the text, in the
    /// owner's language, shows the other phone's number masked, the record's inputs keep it whole.
    func recordNotice(for subject: Subscriber, about attempt: Attempt, record: ServiceRecord) throws {
        let language = attempt.prompts.language(for: subject.language)
        let text = attempt.prompts.render(
            .noticePasswordThirdParty, in: language,
            [
                "number": subject.msisdn, "caller": maskNumber(attempt.caller),
                "time": configuration.calendar.dateTime(of: now),
            ])
        _ = try writer.append(
            RecordDraft(
                time: now, channel: .sms, session: nil, caller: OperationName.tickCaller, subject: subject.msisdn,
                operation: OperationName.passwordNotice.rawValue,
                inputs: [
                    "from": attempt.caller, "attempt": String(record.id),
                    "operation": attempt.request.operation.rawValue, "channel": attempt.request.channel.rawValue,
                ],
                auth: .none, result: .ok, reason: .noticePending, reply: text, durationMS: 0))
        try queueNotice(to: subject.msisdn, .noticePasswordThirdParty, text: text, record: record)
    }
}

extension OperationEngine {
    /// Runs `body` in one store transaction at `now`: its state changes and its records land together or not at all.
    /// With `number`, the transaction is about that caller: a store that partitions its writes by number runs it
    /// in that number's partition unless it touches another; `reads` are reads it is expected to make
    /// (`ServiceStore.write(for:expecting:_:)`).
    func transaction<T: Sendable>(
        at now: Date, for number: String? = nil, expecting reads: [ExpectedRead] = [],
        _ body: @escaping @Sendable (EngineTransaction) throws -> T
    ) async throws -> T {
        let (configuration, rules) = (self.configuration, self.rules)
        return try await store.write(for: number, expecting: reads) { writer in
            try body(EngineTransaction(writer: writer, now: now, configuration: configuration, rules: rules))
        }
    }
}

/// An attempt a channel settles itself (help, unknown text, a duplicate, a rate limit): what its record says.
public struct ChannelAttempt: Sendable {
    /// The channel that settled the attempt.
    public var channel: Channel
    /// The message id or session id, if any.
    public var session: String?
    /// The number the message came from; the record keeps it normalised (`normalizeNumber`).
    public var caller: String
    /// The operation the record names: a channel's own (`help`, `unknown`, `sms`) or the one the attempt was for.
    public var operation: OperationName
    /// The record's inputs (the channel's view of the message, masked).
    public var inputs: [String: String]
    /// How the attempt ended.
    public var result: ResultKind
    /// Why it ended so (`ok` on success).
    public var reason: ReasonCode
    /// The reply's prompt; nil is `refused.REASON`.
    public var replyKey: PromptKey?
    /// The reply itself, when the channel has it (it wins over `replyKey`).
    public var text: String?
    /// What the record keeps instead of the reply (a secret masked); nil: the reply.
    public var recordedText: String?
    /// The language to answer an unknown number in.
    public var languageHint: Language?

    /// An attempt settled by a channel, replying with `text`, else the prompt `replyKey`, else `refused.REASON`.
    public init(
        channel: Channel, session: String?, caller: String, operation: OperationName, inputs: [String: String],
        result: ResultKind, reason: ReasonCode, replyKey: PromptKey? = nil, text: String? = nil,
        recordedText: String? = nil, languageHint: Language? = nil
    ) {
        self.channel = channel
        self.session = session
        self.caller = caller
        self.operation = operation
        self.inputs = inputs
        self.result = result
        self.reason = reason
        self.replyKey = replyKey
        self.text = text
        self.recordedText = recordedText
        self.languageHint = languageHint
    }
}
