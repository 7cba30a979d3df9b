import Foundation

/// What the web console does through the engine: the access records of subscriber data viewed, and the actions an
/// operator may take on a subscriber's behalf. Each writes its record into the same chain as the customers' own,
/// with the console account as the caller (`console:NAME`) and the reason the operator gave.
extension OperationEngine {
    /// The caller a record names for console account `account`: `console:NAME`.
    public static func consoleCaller(_ account: String) -> String { "console:" + account }

    /// The subject of an access record to the records of many numbers at once (the records view without a number).
    public static let everyNumber = "*"

    /// Writes the access record of `account` (whose role is `role`) viewing `view` of `subject`'s data, for
    /// `reason`: who, when, which number (`everyNumber` for a view of many) and why, in the record chain, with
    /// `details` (the filters of a records view). Returns the record, or nil when the store cannot take it (the
    /// caller must then refuse to show the data).
    public func recordAccess(
        account: String, role: String, subject: String, view: String, reason: String, session: String?,
        details: [String: String] = [:]
    ) async -> ServiceRecord? {
        let draft = RecordDraft(
            time: clock.now(), channel: .console, session: session, caller: Self.consoleCaller(account),
            subject: subject, operation: OperationName.consoleView.rawValue,
            inputs: details.merging(["view": view, "reason": reason, "role": role]) { _, fixed in fixed }, auth: .none,
            result: .ok, reason: .ok, reply: "", durationMS: 0)
        do {
            let number = subject == Self.everyNumber ? nil : subject
            return try await transaction(at: draft.time, for: number) { tx in try tx.writer.append(draft) }
        } catch {
            logger.error(
                "the console's access record could not be written",
                metadata: ["subject": "\(maskNumber(subject))", "error": "\(error)"])
            return nil
        }
    }

    /// Clears `msisdn`'s password lockout on console account `account`'s authority, for `reason`; writes a
    /// `password.unlock` record. Refused `unknown_subscriber` for an unknown number and `not_locked` when there is
    /// no lockout or failed attempts to clear.
    public func unlockPassword(
        of msisdn: String, by account: String, reason: String, session: String?
    ) async
        -> OperationOutcome
    {
        await consoleAction(.passwordUnlock, msisdn, account, reason, session, arguments: [:]) { tx, attempt, s in
            let now = tx.now
            guard s.failedPasswordAttempts > 0 || (s.passwordLockedUntil.map { $0 > now } ?? false) else {
                return try tx.refuse(attempt, .notLocked).0
            }
            var unlocked = s
            unlocked.failedPasswordAttempts = 0
            unlocked.passwordLockedUntil = nil
            try tx.writer.save(unlocked)
            let reply = attempt.prompts.render(.replyPasswordUnlock, in: attempt.language, attempt.values)
            let record = try tx.writer.append(
                attempt.draft(now: now, auth: .none, result: .ok, reason: .ok, reply: reply))
            return OperationOutcome(result: .ok, reason: .ok, reply: reply, language: attempt.language, record: record)
        }
    }

    /// Cancels `msisdn`'s pending change of `kind` on console account `account`'s authority, for `reason`, as
    /// `plan.cancel` does for the customer: the record (channel `console`) and the service order that tells
    /// billing land together. Refused `nothing_pending` when there is no such change.
    public func cancelPendingChange(
        of msisdn: String, kind: PendingChange.Kind, by account: String, reason: String, session: String?
    ) async -> OperationOutcome {
        await consoleAction(.planCancel, msisdn, account, reason, session, arguments: ["kind": kind.rawValue]) {
            tx, attempt, s in
            let pending = try tx.writer.pendingChanges(msisdn)
            guard pending.contains(where: { $0.kind == kind }) else {
                return try tx.refuse(attempt, .nothingPending).0
            }
            var attempt = attempt
            attempt.values["changes"] = kind.rawValue
            let frozen = attempt
            let now = tx.now
            let record = try tx.applyDecision([.cancelPending(kind)], on: s, for: attempt) {
                frozen.draft(
                    now: now, auth: .none, result: .ok, reason: .ok,
                    reply: frozen.prompts.render(.replyPlanCancel, in: frozen.language, frozen.values))
            }
            return OperationOutcome(
                result: .ok, reason: .ok, reply: record.reply, language: attempt.language, record: record)
        }
    }

    /// Runs a console action on `msisdn` in one transaction: its record names the account, the reason and
    /// `arguments`; an unknown number is refused `unknown_subscriber`.
    private func consoleAction(
        _ operation: OperationName, _ msisdn: String, _ account: String, _ reason: String, _ session: String?,
        arguments: [String: String],
        _ body: @escaping @Sendable (EngineTransaction, Attempt, Subscriber) throws -> OperationOutcome
    ) async -> OperationOutcome {
        let started = clock.now()
        let caller = Self.consoleCaller(account)
        var request = OperationRequest(operation: operation, channel: .console, caller: caller, receivedAt: started)
        request.subject = msisdn
        request.session = session
        var attempt = Attempt(request: request, started: started, prompts: prompts)
        attempt.caller = caller
        attempt.subject = msisdn
        attempt.values["number"] = msisdn
        attempt.inputs = arguments.merging(["reason": reason]) { a, _ in a }
        let frozen = attempt
        let outcome = await observed(channel: .console, operation: operation) { [self] in
            do {
                return try await transaction(at: clock.now(), for: msisdn) { tx in
                    var attempt = frozen
                    guard let s = try tx.writer.subscriber(msisdn) else {
                        return try tx.refuse(attempt, .unknownSubscriber).0
                    }
                    attempt.language = attempt.prompts.language(for: s.language)
                    return try body(tx, attempt, s)
                }
            } catch {
                logger.error(
                    "console action failed",
                    metadata: ["operation": "\(operation)", "subject": "\(maskNumber(msisdn))", "error": "\(error)"])
                return await failure(frozen)
            }
        }
        return outcome
    }

    /// Verifies the whole record chain, as `selfcare records verify` does without checkpoints, on `pool` (a long
    /// read: never on the pool that checks customers' passwords).
    public func verifyRecords(on pool: BlockingWorkPool) async throws -> RecordChainReport {
        let store = self.store
        return try await pool.run { try store.verifyRecords() }
    }

    /// The last record of the chain (the highest id and its hash), nil before the first.
    public func recordChainHead() throws -> (id: Int64, hash: String)? {
        try store.recordChainHead()
    }

    /// A subscriber's account as the console shows it: the row, its pending changes, its features and the orders
    /// still open. Nil for an unknown number.
    public func consoleAccount(_ msisdn: String) async throws -> ConsoleAccountView? {
        try await store.read { reader in
            guard let subscriber = try reader.subscriber(msisdn) else { return nil }
            var filter = OrderFilter()
            filter.subject = msisdn
            let orders = try reader.orders(filter).filter { !$0.isClosed }
            return ConsoleAccountView(
                subscriber: subscriber, plan: try reader.plan(subscriber.planCode),
                pending: try reader.pendingChanges(msisdn), features: try reader.features(msisdn),
                openOrders: orders, recentCalls: try reader.recentCalls(msisdn, limit: 10))
        }
    }
}

/// One subscriber's account as the console's subscriber view shows it.
public struct ConsoleAccountView: Sendable {
    /// The subscriber's row.
    public var subscriber: Subscriber
    /// The plan the subscriber is on, nil when the catalogue lacks it.
    public var plan: Plan?
    /// Changes scheduled for a later date.
    public var pending: [PendingChange]
    /// Services, forwarding, roaming and packs.
    public var features: SubscriberFeatures
    /// Service orders not yet closed by billing.
    public var openOrders: [ServiceOrder]
    /// The latest calls, newest first (call details: shown only once the view was opened with a reason).
    public var recentCalls: [CallDetail]
}
