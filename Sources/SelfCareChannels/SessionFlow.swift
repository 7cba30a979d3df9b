import Foundation
import SelfCareCore
import SelfCareGrammar

/// An operation a session channel (USSD, IVR) collects slot by slot, as a menu option's `collect` list asks.
struct SlotCollection: Sendable, Codable {
    var operation: OperationName
    /// The slots still to ask for, in order.
    var remaining: [SlotRequest]
    var slots: [String: String]
    /// Password slots: never shown, never kept once the password is checked.
    var secrets: [String: Secret]

    /// The collection a menu option starts: its slots to ask for, and the values the option sets itself.
    init(operation: OperationName, collect: [SlotRequest], assignments: [Assignment]) {
        self.operation = operation
        remaining = collect
        slots = Dictionary(assignments.map { ($0.name, $0.value) }, uniquingKeysWith: { _, last in last })
        secrets = [:]
    }

    /// What an answer did to the slot asked for.
    enum Answer: Equatable {
        /// Taken: the next slot, or the operation.
        case taken
        /// Nothing given for an optional slot: skipped.
        case skipped
        /// Nothing given for a slot the operation needs: ask again.
        case missing
        /// Not a value the slot takes (a number too short to be one): ask again.
        case invalid
    }

    /// Takes `entry` as the answer to the first remaining slot.
    mutating func take(_ entry: String) -> Answer {
        let slot = remaining.removeFirst()
        if entry.isEmpty {
            if slot.optional { return .skipped }
            remaining.insert(slot, at: 0)
            return .missing
        }
        if GrammarVocabulary.secretSlots.contains(slot.name) {
            secrets[slot.name] = Secret(entry)
        } else if slot.name == "subject" {
            // Seven digits at least: a password keyed in the number's place is never taken for a number.
            guard let number = normalizeNumber(entry), number.count >= 7 else {
                remaining.insert(slot, at: 0)
                return .invalid
            }
            slots["subject"] = number
        } else {
            slots[slot.name] = entry
        }
        return .taken
    }

    /// Takes the entry chosen from the list offered for `slot`.
    mutating func choose(_ slot: String, code: String) {
        slots[slot] = code
        remaining.removeAll { $0.name == slot }
    }

    /// The most digits an IVR entry for `slot` takes: a number's 15, a card serial's or PIN's 20, else a password's 6.
    static func maxDigits(of slot: String) -> Int {
        switch slot {
        case "subject", "target": 15
        case "card", "pin", "offender": 20
        default: 6
        }
    }

    /// The engine request once every slot is in; transactions ask for a confirmation step.
    func request(channel: Channel, session: String, caller: String) -> OperationRequest {
        var arguments = slots
        let subject = arguments.removeValue(forKey: "subject")
        var request = OperationRequest(
            operation: operation, channel: channel, session: session, caller: caller, subject: subject,
            arguments: arguments, password: secrets["password"], newPassword: secrets["new_password"],
            newPasswordAgain: secrets["new_password_again"])
        request.cardPIN = secrets["pin"]
        request.requiresConfirmation = true
        return request
    }
}

/// What a session channel shows next once an operation is chosen; USSD draws it as a screen, the IVR speaks it.
enum SessionStep: Sendable {
    /// Ask for this slot.
    case ask(SlotRequest)
    /// Offer these entries for `slot` (the eligible plans, cheapest first; packs, services, rewards).
    case choose(slot: String, [MenuChoice])
    /// Nothing to offer for `slot`.
    case noChoices(slot: String)
    /// The engine asks for a confirmation; `summary` says what will happen.
    case confirm(summary: String)
    /// The operation's outcome (or the fault that stopped it).
    case done(OperationOutcome)
}

/// The part of a session USSD and the IVR share once an operation is chosen: slots asked for in order, the lists
/// offered for a list slot (`MenuChoice.listSlots`), the operation run, and its confirmation given or declined, every attempt through the
/// engine.
struct SessionFlow: Sendable {
    let engine: OperationEngine
    let channel: Channel

    /// Asks for the next slot, offers a list (plans, packs, services, rewards), or runs the operation once every
    /// slot is in.
    func next(_ call: SlotCollection, session: String, caller: String, language: Language) async -> SessionStep {
        if let slot = call.remaining.first {
            guard MenuChoice.listSlots.contains(slot.name) else { return .ask(slot) }
            do {
                let choices = try await engine.choices(
                    for: slot.name, operation: call.operation, msisdn: call.slots["subject"] ?? caller,
                    language: language)
                return choices.isEmpty ? .noChoices(slot: slot.name) : .choose(slot: slot.name, choices)
            } catch {
                // A fault is not "no plans": the caller is told, and the attempt recorded.
                return .done(
                    await engine.recordChannelAttempt(
                        channel: channel, session: session, caller: caller, operation: call.operation, inputs: [:],
                        result: .error, reason: .internalError))
            }
        }
        let outcome = await engine.perform(call.request(channel: channel, session: session, caller: caller))
        return outcome.reason == .confirmationRequired ? .confirm(summary: outcome.reply) : .done(outcome)
    }

    /// The answer at a confirmation step: `1` confirms the transaction, any other key declines it (`cancelled` is
    /// the reply then); both are recorded.
    func answerConfirmation(
        _ key: String, session: String, caller: String, cancelled: PromptKey
    ) async -> OperationOutcome {
        if key == "1" { return await engine.confirm(caller: caller, channel: channel, session: session) }
        return await engine.cancelConfirmation(caller: caller, channel: channel, session: session, replyKey: cancelled)
    }
}
