import Foundation
import HTTPTypes
import Hummingbird
import SelfCareChannels
import SelfCareCore

/// The USSD aggregator convention (Africa's Talking and many others): `POST /ussd/at` with the form fields
/// `sessionId`, `serviceCode`, `phoneNumber` and `text`, answered with `CON …` (more to come) or `END …`.
/// `text` holds every input so far joined with `*` (empty on the first request), or, with
/// `cumulativeText` off, only the current input. A repeated request (the aggregator retrying) gets the
/// same screen again, the last one too, and nothing is handled twice; in current-input mode a retry
/// cannot be told from the same key pressed again, so only a retry of the last screen is caught there.
public struct USSDAggregatorAdapter: ChannelAdapter {
    public let name = "ussd-at"
    public let style = AdapterStyle.session
    public let replyUnit = ReplyUnit.ussdScreen
    public var cumulativeText: Bool
    /// The service code tools dial.
    public var serviceCode = "*100#"

    public init(cumulativeText: Bool = true) { self.cumulativeText = cumulativeText }

    public func register(
        on router: Router<BasicRequestContext>, channels: GatewayChannels, configuration: GatewayConfiguration
    ) {
        let ussdInputs = USSDInputTracker(clock: channels.clock)
        let serializer = KeyedSerializer()
        let cumulative = cumulativeText
        router.post(
            "/ussd/at",
            use: FormFields.handler(configuration) { fields in
                guard let session = fields["sessionId"], !session.isEmpty, let phone = fields["phoneNumber"],
                    !phone.isEmpty,
                    let code = fields["serviceCode"], !code.isEmpty
                else {
                    return Gateway.plain(.badRequest, "missing sessionId, serviceCode or phoneNumber\n")
                }
                if let problem = FieldCheck.first(
                    FieldCheck.identifier(session, field: "sessionId"), FieldCheck.number(phone, field: "phoneNumber"),
                    FieldCheck.code(code, field: "serviceCode"))
                {
                    return Gateway.plain(.badRequest, problem + "\n")
                }
                let text = fields["text"] ?? ""
                // One request of a session at a time: a retry sent while the first is running waits for it
                // and then gets its screen.
                let screen = await serializer.run(session) {
                    await Self.step(
                        session: session, phone: phone, code: code, text: text, cumulative: cumulative, ussdInputs,
                        channels.ussd)
                }
                return Gateway.plain(.ok, screen.description)
            })
    }

    private static func step(
        session: String, phone: String, code: String, text: String, cumulative: Bool, _ ussdInputs: USSDInputTracker,
        _ ussd: USSDChannel
    ) async -> USSDScreen {
        // A retry of the request that ended the session gets its last screen again; the session does not
        // start over. Anything else with that id (another caller, other inputs) is a new session.
        if let last = await ussdInputs.endedScreen(session, phone: phone, text: text) { return last }
        let (isNew, inputs) = await ussdInputs.newInputs(session: session, text: text, cumulative: cumulative)
        // The first request of a session opens it (dialling the service code), then applies any inputs
        // it already carries, as a direct string would.
        var screen = USSDScreen(text: "", ends: false)
        if !isNew && inputs.isEmpty, let last = await ussdInputs.lastScreen(session) {
            return last  // a repeated request gets the same screen again
        }
        if isNew {
            screen = await ussd.handle(sessionID: session, caller: phone, serviceCode: code, input: nil)
        }
        for input in inputs where !screen.ends {
            screen = await ussd.handle(sessionID: session, caller: phone, serviceCode: code, input: input)
        }
        if screen.ends {
            await ussdInputs.end(session, screen, phone: phone, text: text)
        } else {
            await ussdInputs.remember(session, screen)
        }
        return screen
    }

    public func request(for action: CustomerAction) -> AdapterRequest {
        var text = ""
        switch action.kind {
        case .open: text = ""
        case .message(let t), .keys(let t): text = cumulativeText ? action.inputs.joined(separator: "*") : t
        case .noInput: text = cumulativeText ? action.inputs.joined(separator: "*") : ""
        }
        return .form(
            "/ussd/at",
            [
                ("sessionId", action.id), ("serviceCode", serviceCode), ("phoneNumber", action.caller),
                ("networkCode", "46001"), ("text", text),
            ])
    }

    public func reply(to response: AdapterResponse, for action: CustomerAction) throws -> AdapterReply {
        guard response.status == .ok else { throw AdapterReplyError("HTTP \(response.status.code): \(response.text)") }
        let text = response.text
        if text.hasPrefix("CON ") { return AdapterReply(text: String(text.dropFirst(4)), ends: false) }
        if text.hasPrefix("END ") { return AdapterReply(text: String(text.dropFirst(4)), ends: true) }
        throw AdapterReplyError("a USSD answer starts with CON or END: \(text.prefix(40))")
    }
}

/// Remembers how many inputs of each USSD session were handled, to find the new ones in the
/// aggregator's cumulative `text` (`1*2*258036`), the last screen of each live session, and the END
/// screen of sessions that just ended (for retries). Entries idle for ten minutes are dropped.
actor USSDInputTracker {
    private struct Ended {
        var screen: USSDScreen
        var phone: String
        var text: String
    }

    private var handled: [String: Int] = [:]
    private var lastSeen: [String: Date] = [:]
    private var screens: [String: USSDScreen] = [:]
    private var ended: [String: Ended] = [:]
    private let clock: any TimeSource
    private var lastSweep: Date

    init(clock: any TimeSource) {
        self.clock = clock
        lastSweep = clock.now()
    }

    /// Whether the session is new, and the inputs not handled yet. In current-input mode `text` is one
    /// input (empty on the first request).
    func newInputs(session: String, text: String, cumulative: Bool) -> (isNew: Bool, inputs: [String]) {
        let done = handled[session]
        let now = clock.now()
        lastSeen[session] = now
        if now.timeIntervalSince(lastSweep) > 60 { sweep(now) }
        ended[session] = nil
        guard cumulative else {
            handled[session] = (done ?? 0) + 1
            return (done == nil, done == nil && text.isEmpty ? [] : [text])
        }
        let parts = text.isEmpty ? [] : text.split(separator: "*", omittingEmptySubsequences: false).map(String.init)
        // A late copy of an earlier request (fewer inputs) must not make inputs count again.
        handled[session] = max(done ?? 0, parts.count)
        return (done == nil, parts.count > (done ?? 0) ? Array(parts[(done ?? 0)...]) : [])
    }

    func remember(_ session: String, _ screen: USSDScreen) { screens[session] = screen }

    func lastScreen(_ session: String) -> USSDScreen? { screens[session] }

    /// The session ended with `screen` on the request `text` from `phone`: kept for that request's retries.
    func end(_ session: String, _ screen: USSDScreen, phone: String, text: String) {
        handled[session] = nil
        screens[session] = nil
        ended[session] = Ended(screen: screen, phone: phone, text: text)
        lastSeen[session] = clock.now()
    }

    /// The END screen of `session` when this request repeats the one that ended it.
    func endedScreen(_ session: String, phone: String, text: String) -> USSDScreen? {
        guard let entry = ended[session], entry.phone == phone, entry.text == text else { return nil }
        return entry.screen
    }

    private func sweep(_ now: Date) {
        lastSweep = now
        let cutoff = now.addingTimeInterval(-600)
        for (session, seen) in lastSeen where seen < cutoff {
            handled[session] = nil
            lastSeen[session] = nil
            screens[session] = nil
            ended[session] = nil
        }
    }
}
