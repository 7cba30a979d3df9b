import Foundation
import Metrics

/// One attempt at an operation, as a channel hands it to the engine.
public struct OperationRequest: Sendable {
    /// The operation asked for; a name outside `OperationName.all` is refused `unknown_command`.
    public var operation: OperationName
    /// The channel the request came through; its record carries it, and a confirmation is asked on it.
    public var channel: Channel
    /// The channel session (USSD/IVR session id, SMS message id), if any.
    public var session: String?
    /// The number the request came from.
    public var caller: String
    /// The number the operation is about, when the caller keyed in another one (a lost phone's number).
    /// Honoured only for operations that need a password; queries without one concern the caller.
    public var subject: String?
    /// Named arguments: `month` (`YYYYMM` or `YYYY-MM`), `plan` (a plan code), `when` (`now` or `next`).
    public var arguments: [String: String]
    /// The service password, for operations whose policy needs one; for `password.change`, the old one.
    public var password: Secret?
    /// For `password.change`: the new password.
    public var newPassword: Secret?
    /// For `password.change`: the new password keyed in again; it must equal `newPassword`.
    public var newPasswordAgain: Secret?
    /// For `recharge.card`: the card's PIN, as secret as a password (never logged, recorded or echoed).
    public var cardPIN: Secret?
    /// When the request arrived; the record's `duration_ms` counts from here.
    public var receivedAt: Date?
    /// Ask for a second confirmation before a transaction the policy names (SMS); the engine then
    /// stores a `PendingConfirmation` instead of acting.
    public var requiresConfirmation = false
    /// The language the request was written in (an English keyword), for a caller who is not a subscriber.
    public var languageHint: Language?
    /// The channel's own check of the message, run first inside the transaction that records the attempt.
    public var admission: Admission?

    /// A request for `operation` from `caller` on `channel`; `requiresConfirmation`, `languageHint` and
    /// `admission` are set afterwards where a channel needs them.
    public init(
        operation: OperationName, channel: Channel, session: String? = nil, caller: String, subject: String? = nil,
        arguments: [String: String] = [:], password: Secret? = nil, newPassword: Secret? = nil,
        newPasswordAgain: Secret? = nil, receivedAt: Date? = nil
    ) {
        self.operation = operation
        self.channel = channel
        self.session = session
        self.caller = caller
        self.subject = subject
        self.arguments = arguments
        self.password = password
        self.newPassword = newPassword
        self.newPasswordAgain = newPasswordAgain
        self.receivedAt = receivedAt
    }

    /// The argument names operations read; a record keeps these only (another name could hold anything, a secret
    /// included, and an append-only chain could never let it go).
    public static let argumentNames: Set<String> = [
        "month", "plan", "when", "card", "pack", "service", "kind", "target", "reward", "category", "text",
        "offender", "rating",
    ]

    /// Argument names that could hold a secret; they never reach a record.
    public static let secretArgumentNames: Set<String> = [
        "password", "pin", "old", "new", "new2", "old_password", "new_password", "new_password_again", "secret",
    ]
}

/// A channel's own check of an inbound message (a repeated message id, a rate limit), run inside the
/// transaction that records the attempt, before anything else happens in it: nothing can slip between
/// the check and the record, and the check needs no read transaction of its own. (A read transaction on
/// a busy database starts with a cold page cache, as every commit invalidates it; the writer's stays warm.)
///
/// When `check` returns a refusal, that refusal is recorded instead of the attempt and nothing else happens.
public struct Admission: Sendable {
    /// What a refused message is recorded as.
    public struct Refusal: Sendable {
        /// The operation the record names, such as `sms` for a rate limit or the first attempt's operation for a
        /// repeat.
        public var operation: OperationName
        /// The record's inputs (the channel's view of the message, masked).
        public var inputs: [String: String]
        /// Why the message is refused (`duplicate`, `rate_limited`).
        public var reason: ReasonCode
        /// The reply; nil is the prompt `refused.REASON` in the caller's language.
        public var text: String?
        /// What the record keeps of the reply when it must differ from `text` (a repeated PUK query's reply,
        /// whose PUK the record masks); nil: `text`.
        public var recordedText: String?

        /// A refusal recorded under `operation` with `reason`; the reply is `text`, else `refused.REASON`.
        public init(
            operation: OperationName, inputs: [String: String], reason: ReasonCode, text: String? = nil,
            recordedText: String? = nil
        ) {
            self.operation = operation
            self.inputs = inputs
            self.reason = reason
            self.text = text
            self.recordedText = recordedText
        }
    }

    /// The check, run on the reader of the transaction that records the attempt: a refusal, or nil to go on. A
    /// fault it throws ends the attempt as `internal_error`.
    public let check: @Sendable (any StoreReader) throws -> Refusal?

    /// The reads `check` makes, for a store that can ask for them ahead of time (`ServiceStore.write(for:expecting:_:)`).
    public var expectedReads: [ExpectedRead]

    /// An admission that runs `check`, which makes the reads `expectedReads` (if it names them).
    public init(
        expecting expectedReads: [ExpectedRead] = [], _ check: @escaping @Sendable (any StoreReader) throws -> Refusal?
    ) {
        self.check = check
        self.expectedReads = expectedReads
    }
}

/// How an attempt ended: the record written, and the reply to send.
public struct OperationOutcome: Sendable {
    /// How the attempt ended: ok, refused or error.
    public var result: ResultKind
    /// `ok` on success.
    public var reason: ReasonCode
    /// The reply text, in `language`.
    public var reply: String
    /// The language the reply is in.
    public var language: Language
    /// The record written for the attempt; nil only when even the record could not be written.
    public var record: ServiceRecord?
    /// Refused by the channel's admission check (a repeat, a rate limit): kept out of the latency figures.
    var admissionRefusal = false

    /// An outcome with every field given.
    public init(result: ResultKind, reason: ReasonCode, reply: String, language: Language, record: ServiceRecord?) {
        self.result = result
        self.reason = reason
        self.reply = reply
        self.language = language
        self.record = record
    }

    /// Whether the operation succeeded.
    public var isOK: Bool { result == .ok }
}

/// Which operations need the service password (the carrier's default policy of SPEC §1).
public struct OperationPolicy: Sendable {
    /// Operations that run only after the subject's service password is checked.
    public var passwordRequired: Set<OperationName>

    /// Transactions that need a second confirmation 二次确认 where the channel asks for one.
    public var confirmationRequired: Set<OperationName>

    /// A policy; by default the carrier's (`defaultPasswordRequired`, `defaultConfirmationRequired`).
    public init(
        passwordRequired: Set<OperationName> = OperationPolicy.defaultPasswordRequired,
        confirmationRequired: Set<OperationName> = OperationPolicy.defaultConfirmationRequired
    ) {
        self.passwordRequired = passwordRequired
        self.confirmationRequired = confirmationRequired
    }

    /// Loss, plan and suspension transactions (SPEC §2), and the catalogue's transactions that change the account:
    /// every one but a password change, a complaint and a spam report.
    public static let defaultConfirmationRequired: Set<OperationName> = [
        .lossReport, .lossCancel, .planChange, .planCancel, .suspendKeep, .suspendResume, .rechargeCard,
        .dataPackOrder, .dataPackCancel, .serviceSubscribe, .serviceUnsubscribe, .forwardingSet, .forwardingCancel,
        .roamingOn, .roamingOff, .pointsRedeem,
    ]

    /// Every operation but the four plain queries (balance, plan, data, points), as SPEC §1 has it; of the
    /// catalogue's, all but a card recharge (the card's PIN is its secret), complaints, spam reports and the
    /// complaint history of one's own phone.
    public static let defaultPasswordRequired: Set<OperationName> = [
        .queryBill, .queryCalls, .queryServices, .queryPUK, .queryPayments, .lossReport, .lossCancel, .planChange,
        .planCancel, .suspendKeep, .suspendResume, .passwordChange, .dataPackOrder, .dataPackCancel,
        .serviceSubscribe, .serviceUnsubscribe, .forwardingSet, .forwardingCancel, .roamingOn, .roamingOff,
        .pointsRedeem,
    ]

    /// Whether `operation` needs the service password under this policy.
    public func needsPassword(_ operation: OperationName) -> Bool { passwordRequired.contains(operation) }
}

/// Settings of the operations engine.
public struct EngineConfiguration: Sendable {
    /// How service passwords are checked, locked and hashed.
    public var passwords = PasswordConfiguration()
    /// Which operations need the service password, and which a second confirmation.
    public var policy = OperationPolicy()
    /// The carrier's calendar: replies show local times, and months begin at local midnight.
    public var calendar = LocalCalendar()
    /// How many calls `query.calls` lists.
    public var recentCallsShown = 5
    /// The catalogue's rules: the roaming deposit and who is exempt, card PIN limits, complaint limits.
    public var catalogue = CatalogueRules()
    /// The satisfaction survey: which transactions are rated, how many, how often by SMS (off by default).
    public var survey = SurveyPolicy()
    /// How long a customer has to confirm a transaction.
    public var confirmationTTL: TimeInterval = 300
    /// How far a time written by this or another node may lie ahead of the clock and still count (a
    /// pending confirmation, a message within the rate window). Anything further ahead was written
    /// before the clock was set back, and no longer counts: the windows are bounded on both sides.
    public var clockSkewTolerance: TimeInterval = 60
    /// Where the engine's metrics go; nil is swift-metrics' bootstrapped factory (`MetricsSystem.factory`).
    public var metrics: (any MetricsFactory)?

    /// The carrier's defaults.
    public init() {}
}
