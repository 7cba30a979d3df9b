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
    public var cumulativeText: Bool

    public init(cumulativeText: Bool = true) { self.cumulativeText = cumulativeText }

    /// The aggregator's form fields (`networkCode` and others it sends are not read).
    struct Fields: Decodable {
        var sessionId: String?
        var serviceCode: String?
        var phoneNumber: String?
        var text: String?
    }

    public func register<Context: RequestContext>(
        on router: some RouterMethods<Context>, channels: GatewayChannels, configuration: GatewayConfiguration
    ) {
        let recent = RecentUSSDSessions(like: channels.ussd.sessions, shared: channels.recentUSSD)
        channels.caches.register { now in await recent.sessions.sweep(now: now) }
        let serializer = KeyedSerializer()
        let cumulative = cumulativeText
        let handler: @Sendable (Request, Context) async throws -> Response = FormRequest.handler(
            Fields.self, configuration
        ) { fields in
            guard configuration.channels.contains(.ussd) else { return Gateway.channelOff(.ussd) }
            guard let session = fields.sessionId, !session.isEmpty, let phone = fields.phoneNumber, !phone.isEmpty,
                let code = fields.serviceCode, !code.isEmpty
            else {
                return Gateway.plain(.badRequest, "missing sessionId, serviceCode or phoneNumber\n")
            }
            if let problem = FieldCheck.first(
                FieldCheck.identifier(session, field: "sessionId"), FieldCheck.number(phone, field: "phoneNumber"),
                FieldCheck.code(code, field: "serviceCode"))
            {
                return Gateway.plain(.badRequest, problem + "\n")
            }
            let request = Step(
                session: session, phone: phone, code: code, text: fields.text ?? "", cumulative: cumulative,
                source: RequestSource.address ?? "")
            // One request of a session at a time: a retry sent while the first is running waits for it
            // and then gets its screen.
            let outcome = await serializer.run(session) { await request.run(recent, channels.ussd) }
            switch outcome {
            case .screen(let screen): return Gateway.plain(.ok, screen.description)
            case .refused(let reason): return Gateway.plain(.badRequest, reason + "\n")
            }
        }
        router.post("/ussd/at", use: handler)
    }

    /// One request of the aggregator.
    struct Step: Sendable {
        enum Outcome: Sendable {
            case screen(USSDScreen)
            case refused(String)
        }

        let session: String
        let phone: String
        let code: String
        let text: String
        let cumulative: Bool
        let source: String

        func run(_ recent: RecentUSSDSessions, _ ussd: USSDChannel) async -> Outcome {
            let limit = ussd.configuration.maxInputsPerRequest
            let now = ussd.engine.now()
            let fingerprint = RecentUSSDSessions.fingerprint(phone: phone, text: text)
            let seen = await recent.sessions.load(session, now: now)
            // A retry of the request that ended the session gets its last screen again; the session does not
            // start over. Anything else with that id (another caller, other inputs) is a new session.
            if let ended = seen?.ended, ended.fingerprint == fingerprint { return .screen(ended.screen) }
            let keys = USSDChannel.directKeys(code).count
            guard keys <= limit else {
                return .refused("`serviceCode` holds \(keys) keys; one request takes at most \(limit)")
            }
            let progress = await ussd.progress(sessionID: session)
            // Seen live before, and gone now (idle past its timeout, or evicted): the channel says it is over.
            let lost = progress == nil && seen != nil && seen?.ended == nil
            var isNew = false
            var inputs: [String]
            if cumulative {
                let parts =
                    text.isEmpty ? [] : text.split(separator: "*", omittingEmptySubsequences: false).map(String.init)
                if let progress {
                    // A repeated request (or a late copy of an earlier one) gets the same screen again.
                    guard parts.count > progress.inputs else { return .screen(progress.screen) }
                    inputs = Array(parts[progress.inputs...])
                } else if lost {
                    inputs = [parts.last ?? ""]
                } else {
                    isNew = true
                    inputs = parts
                }
            } else {
                isNew = progress == nil && !lost
                inputs = isNew && text.isEmpty ? [] : [text]
            }
            guard inputs.count <= limit else {
                return .refused("`text` holds \(inputs.count) new inputs; one request takes at most \(limit)")
            }
            await recent.sessions.save(session, RecentUSSD(), now: now)
            // The first request of a session opens it (dialling the service code), then applies any inputs
            // it already carries, as a direct string would.
            var screen = USSDScreen(text: "", ends: false)
            if isNew {
                screen = await ussd.handle(
                    sessionID: session, caller: phone, serviceCode: code, input: nil, source: source)
            }
            for input in inputs where !screen.ends {
                screen = await ussd.handle(
                    sessionID: session, caller: phone, serviceCode: code, input: input, source: source)
            }
            if screen.ends {
                await recent.sessions.save(
                    session, RecentUSSD(ended: .init(screen: screen, fingerprint: fingerprint)), now: now)
            }
            return .screen(screen)
        }
    }
}

/// The USSD session ids seen lately (for twice the sessions' idle timeout), beside the channel's live sessions:
/// a request for a session that was live and is gone gets "session expired" rather than opening a new one (which
/// would replay its inputs), and a retry of the request that ended a session gets its END screen again. As many
/// ids as the channel has sessions at most; the inputs and screens of live sessions are kept in the sessions.
/// Kept where the live sessions are: in memory, or shared by the nodes (`GatewayChannels.recentUSSD`), so that a
/// retry reaching another node is recognised there too.
struct RecentUSSDSessions: Sendable {
    let sessions: any SessionStore<RecentUSSD>

    init(like live: any SessionStore, shared: (any SessionStore<RecentUSSD>)? = nil) {
        sessions =
            shared
            ?? MemorySessionStore<RecentUSSD>(
                idleTimeout: 2 * live.idleTimeout, limits: SessionLimits(capacity: live.capacity))
    }

    /// Stands for the request's caller and text (kept instead of a text of up to 64 KiB): FNV-1a over both, the
    /// same in every process (Swift's `Hasher` is seeded a process), so that any node recognises a retry.
    static func fingerprint(phone: String, text: String) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in Array(phone.utf8) + [0] + Array(text.utf8) {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        return Int(truncatingIfNeeded: hash)
    }
}

/// A USSD session id seen lately, with the END screen when the session ended.
public struct RecentUSSD: SessionState, Codable {
    /// How a session ended: its last screen, and the request that ended it.
    public struct Ended: Sendable, Codable {
        var screen: USSDScreen
        var fingerprint: Int
    }

    var ended: Ended?
}
