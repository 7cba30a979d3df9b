import Foundation
import SelfCareCore
import SelfCareGrammar
import Testing

@testable import SelfCareChannels

/// The slot collection USSD and the IVR share: what each answer does to the slot asked for.
@Suite("Slot collection")
struct SlotCollectionTests {
    static func slot(_ name: String, optional: Bool = false) -> SlotRequest {
        SlotRequest(name: name, optional: optional, location: SourceLocation(line: 1, column: 1))
    }

    @Test func answersFillSlotsInOrderAndSecretsStayApart() {
        var call = SlotCollection(
            operation: .lossReport,
            collect: [Self.slot("subject"), Self.slot("month", optional: true), Self.slot("password")],
            assignments: [])
        #expect(call.take("123456") == .invalid, "six digits are no number: a password keyed in its place")
        #expect(call.remaining.first?.name == "subject" && call.slots.isEmpty)
        #expect(call.take("186 1234 5678") == .taken)
        #expect(call.slots["subject"] == "18612345678")
        #expect(call.take("") == .skipped, "an optional slot is skipped by no answer")
        #expect(call.take("") == .missing, "the password is not optional")
        #expect(call.remaining.map(\.name) == ["password"])
        #expect(call.take("258036") == .taken)
        #expect(
            call.remaining.isEmpty && call.slots["password"] == nil
                && call.secrets["password"]?.matches(Secret("258036")) == true)
        let request = call.request(channel: .ivr, session: "c1", caller: "13900000000")
        #expect(
            request.subject == "18612345678" && request.password?.matches(Secret("258036")) == true
                && request.requiresConfirmation)
        #expect(request.arguments.isEmpty)
    }

    @Test func aChosenPlanFillsItsSlot() {
        var call = SlotCollection(
            operation: .planChange, collect: [Self.slot("plan"), Self.slot("password")],
            assignments: [
                Assignment(
                    name: "when", value: "next", location: SourceLocation(line: 1, column: 1),
                    valueLocation: SourceLocation(line: 1, column: 1))
            ])
        call.choose("plan", code: "P98")
        #expect(call.remaining.map(\.name) == ["password"])
        #expect(call.slots == ["when": "next", "plan": "P98"])
    }
}
