import Foundation
import SelfCareCore
import SelfCareGrammar

/// One text message from a phone to the short code.
public struct InboundSMS: Sendable {
    /// The sender's number as the SMS gateway gave it (`+8618612345678`); normalised before use.
    public var from: String
    /// The short code the message was sent to (`10010`); the record keeps it.
    public var to: String
    /// The message as the customer typed it; the record keeps it with the digits that could be a password masked.
    public var text: String
    /// The gateway's message id; a repeat of an id already handled is answered once and applied once.
    public var id: String?
    /// When the message arrived; nil is now. The record's `duration_ms` counts from it.
    public var receivedAt: Date?

    /// A message from `from` to the short code `to`.
    public init(from: String, to: String = "10010", text: String, id: String? = nil, receivedAt: Date? = nil) {
        self.from = from
        self.to = to
        self.text = text
        self.id = id
        self.receivedAt = receivedAt
    }
}

/// The answer to one inbound SMS.
public struct SMSReply: Sendable {
    /// The whole reply text.
    public var text: String
    /// The parts it is sent as (one or more).
    public var segments: [String]
    /// The encoding the parts need: GSM 7-bit, or UCS-2 for any other character (Chinese).
    public var encoding: SMSEncoding
    /// The attempt's outcome (its record, reason and result).
    public var outcome: OperationOutcome
}

/// Settings of the SMS channel.
public struct SMSConfiguration: Sendable {
    /// Messages a number may send in `rateWindow` before it is refused `rate_limited`.
    public var rateLimit = 30
    /// Seconds over which `rateLimit` counts a number's messages.
    public var rateWindow: TimeInterval = 60
    /// The most parts a reply is sent as.
    public var partCap = 5

    /// The carrier's defaults: 30 messages a minute, replies of at most 5 parts.
    public init() {}
}

/// The SMS short-code channel: keyword → operation with slots → password check → second confirmation
/// for transactions → the operation → a reply sized by encoding. Every message writes one record.
///
/// ```swift
/// let reply = await channel.handle(InboundSMS(from: "18612345678", text: "CXYE"))
/// print(reply.segments)
/// ```
public final class SMSChannel: Sendable {
    /// The engine every message's attempt goes through.
    public let engine: OperationEngine
    /// The grammars; the `sms` channel's turns a text into an operation.
    public let grammars: GrammarSet
    /// The channel's settings.
    public let configuration: SMSConfiguration
    private let serializer = KeyedSerializer()

    /// An SMS channel on `engine`, reading texts with the `sms` grammar of `grammars`.
    public init(engine: OperationEngine, grammars: GrammarSet, configuration: SMSConfiguration = SMSConfiguration()) {
        self.engine = engine
        self.grammars = grammars
        self.configuration = configuration
    }

    /// Handles one inbound message; messages from the same number are handled in order.
    public func handle(_ message: InboundSMS) async -> SMSReply {
        let received = message.receivedAt ?? engine.now()
        var stamped = message
        stamped.receivedAt = received
        let caller = normalizeNumber(message.from) ?? message.from
        let inbound = stamped
        let outcome = await serializer.run(caller) { [self] in await self.process(inbound, caller: caller) }
        let segmenter = SMSSegmenter(partCap: configuration.partCap)
        return SMSReply(
            text: outcome.reply, segments: segmenter.segments(outcome.reply),
            encoding: SMSSegmenter.encoding(of: outcome.reply), outcome: outcome)
    }

    private func process(_ message: InboundSMS, caller: String) async -> OperationOutcome {
        let received = message.receivedAt ?? engine.now()
        let inputs = ["text": Self.masked(message.text), "to": message.to]
        // An empty id is no id: never a repeat, recorded without a session.
        let id = message.id.flatMap { $0.isEmpty ? nil : $0 }
        let admission = admission(id: id, caller: caller, inputs: inputs)
        let match = grammars.grammar(for: .sms)?.match(message.text)
        if let match, engine.configuration.policy.needsPassword(match.operation) {
            // Checked before the password is hashed too, so that neither a repeat nor a flood costs a hash.
            let refusal: Admission.Refusal?
            do {
                refusal = try await engine.admissionRefusal(admission)
            } catch {
                // A failed read must not pass for "not a duplicate": that could apply a repeat twice.
                return await engine.recordChannelAttempt(
                    channel: .sms, session: id, caller: caller, operation: .smsMessage, inputs: inputs,
                    result: .error, reason: .internalError, receivedAt: received)
            }
            if let refusal {
                return await engine.recordChannelAttempt(
                    channel: .sms, session: id, caller: caller, operation: refusal.operation,
                    inputs: refusal.inputs, result: .refused, reason: refusal.reason, text: refusal.text,
                    recordedText: refusal.recordedText, languageHint: match.language, receivedAt: received)
            }
        }
        guard let match else {
            return await engine.recordChannelAttempt(
                channel: .sms, session: id, caller: caller, operation: .unknown, inputs: inputs,
                result: .refused, reason: .unknownCommand, replyKey: .smsHelp, receivedAt: received,
                admission: admission)
        }
        switch match.operation {
        case .help:
            return await engine.recordChannelAttempt(
                channel: .sms, session: id, caller: caller, operation: .help, inputs: inputs, result: .ok,
                reason: .ok, replyKey: .smsHelp, languageHint: match.language, receivedAt: received,
                admission: admission)
        case .confirm:
            return await engine.confirm(
                caller: caller, channel: .sms, session: id, languageHint: match.language, receivedAt: received,
                admission: admission)
        case .surveyRate:
            return await engine.rateBySMS(
                rating: match.slots["rating"] ?? "", caller: caller, session: id, languageHint: match.language,
                receivedAt: received, admission: admission)
        default:
            var arguments = match.slots
            let subject = arguments.removeValue(forKey: "subject")
            var request = OperationRequest(
                operation: match.operation, channel: .sms, session: id, caller: caller,
                subject: subject, arguments: arguments, password: match.secrets["password"],
                newPassword: match.secrets["new_password"], newPasswordAgain: match.secrets["new_password_again"],
                receivedAt: received)
            request.cardPIN = match.secrets["pin"]
            request.requiresConfirmation = true
            request.languageHint = match.language
            request.admission = admission
            return await engine.perform(request)
        }
    }

    /// The duplicate and rate-limit check of `message`, run inside the transaction that records it: a
    /// repeat of a message id already settled gets the first answer again; a number over its rate is
    /// refused `rate_limited` (and that refusal does not settle the id, so a later resend is handled).
    private func admission(id: String?, caller: String, inputs: [String: String]) -> Admission {
        let now = engine.now()
        let since = now.addingTimeInterval(-configuration.rateWindow)
        // Bounded on both sides: messages recorded before the clock was set back do not count for ever.
        let until = now.addingTimeInterval(engine.configuration.clockSkewTolerance)
        let rateLimit = configuration.rateLimit
        var expected: [ExpectedRead] = id.map { [.firstRecord(channel: .sms, session: $0, caller: caller)] } ?? []
        expected.append(.recordCount(channel: .sms, caller: caller, since: since, until: until))
        return Admission(expecting: expected) { reader in
            if let id, let first = try reader.firstRecord(channel: .sms, session: id, caller: caller) {
                return Admission.Refusal(
                    operation: OperationName(first.operation), inputs: inputs, reason: .duplicate,
                    text: try BusinessRules.replyAsSent(first, reader: reader), recordedText: first.reply)
            }
            if try reader.recordCount(channel: .sms, caller: caller, since: since, until: until) >= rateLimit {
                return Admission.Refusal(operation: .smsMessage, inputs: inputs, reason: .rateLimited)
            }
            return nil
        }
    }

    /// `text` as it is recorded: every run of four or more digits masked, unless it is a mobile number
    /// (eleven digits starting with 1), and every stretch of digit groups that holds four to eight digits
    /// (`258 036`, `25-80-36`): the text may hold a password, whole, in groups or run together with others.
    static func masked(_ text: String) -> String {
        maskDigitGroups(text) { digits, groups in
            groups == 1
                ? digits.count >= 4 && !(digits.count == 11 && digits.hasPrefix("1")) : (4...8).contains(digits.count)
        }
    }
}
