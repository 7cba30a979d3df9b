import Foundation
import HTTPTypes
import Hummingbird
import SelfCareChannels
import SelfCareCore

/// Plugs one gateway's wire protocol (Kannel, a USSD aggregator, a voice browser, …) into SelfCare's
/// channels: it adds its routes to the gateway's router and turns each request into channel calls.
///
/// Implementation requirements — `AdapterConformance` in `SelfCareTesting` checks each of them:
/// - **Idempotency.** A gateway retries; a retry must not run an operation twice. Message adapters
///   pass the gateway's message id to the SMS channel (`InboundSMS.id`), which applies a repeated id
///   once. Session adapters answer a repeated request (same session, same input) with the same screen
///   without handling the input again.
/// - **Screen limits.** A reply fits its unit: an SMS reply its parts (`SMSConfiguration.partCap`
///   parts of 67 UCS-2 or 153 GSM 7-bit characters), a USSD screen 80 UCS-2 or 182 GSM characters
///   (`USSDConfiguration`). The channels size their texts; an adapter must not add to them beyond its
///   protocol's framing (`CON `/`END `).
/// - **Never echo password digits.** A response carries only what the channels return; never the
///   request's text, digits or fields.
/// - **Customer mistakes are replies, not errors.** Unknown text, a wrong key or a refused operation is
///   a 200 with the polite reply: a gateway turns an HTTP error into a canned failure text.
/// - **Malformed requests are refused clearly.** A missing field or a body of the wrong type gets a 4xx
///   with a one-line reason (`Gateway.plain`), a body over `GatewayConfiguration.maxBodyBytes` gets
///   413 (`FormFields.of` does both), and invalid UTF-8 is replaced, never a crash or a 5xx.
/// - Adapters are values: `register` may be called once per router, and the adapter keeps no
///   per-request state of its own outside actors.
///
/// For tools (the conformance checker, load scripts), an adapter also says how one customer action looks
/// on its wire (`request(for:)`) and what the customer gets from a response (`reply(to:for:)`).
public protocol ChannelAdapter: Sendable {
    /// A short name for messages: `kannel`, `ussd-at`, `vxml`.
    var name: String { get }
    /// Whether the adapter carries single messages (SMS) or sessions of steps (USSD, IVR).
    var style: AdapterStyle { get }
    /// What each reply must fit (the conformance checker measures it).
    var replyUnit: ReplyUnit { get }
    /// Adds the adapter's routes.
    func register(
        on router: Router<BasicRequestContext>, channels: GatewayChannels, configuration: GatewayConfiguration)
    /// The HTTP request that carries `action` in this adapter's protocol.
    func request(for action: CustomerAction) -> AdapterRequest
    /// What the customer sees of `response`, and whether the exchange ended; throws when the response is
    /// not one the gateway could use.
    func reply(to response: AdapterResponse, for action: CustomerAction) throws -> AdapterReply
}

/// What a reply must fit.
public enum ReplyUnit: String, Sendable {
    /// SMS parts: `SMSConfiguration.partCap` parts of 67 UCS-2 or 153 GSM 7-bit characters.
    case smsParts
    /// One USSD screen: 80 UCS-2 or 182 GSM characters (`USSDConfiguration`).
    case ussdScreen
    /// Speech: no character limit.
    case speech
}

extension ChannelAdapter {
    /// SMS parts for message adapters, speech for session adapters; a USSD adapter says `.ussdScreen`.
    public var replyUnit: ReplyUnit { style == .message ? .smsParts : .speech }
}

public enum AdapterStyle: String, Sendable {
    /// One message in, one reply out (SMS).
    case message
    /// A session: an opening, then one step per input (USSD, IVR).
    case session
}

/// One thing a customer does, independent of any wire protocol.
public struct CustomerAction: Sendable {
    public enum Kind: Sendable, Equatable {
        /// A text message.
        case message(String)
        /// Dialling the service (USSD) or calling in (IVR).
        case open
        /// Keys pressed at the current step (`1`, `258036`).
        case keys(String)
        /// Nothing pressed before the timeout (IVR), or an empty answer (USSD).
        case noInput
    }

    public var kind: Kind
    /// The customer's number.
    public var caller: String
    /// The gateway's message id (messages) or session id (sessions).
    public var id: String
    /// Every input of the session so far, this one included (for protocols that resend them all).
    public var inputs: [String]
    /// What the previous reply left for the next request (a VoiceXML submit URL), if anything.
    public var continuation: String?

    public init(_ kind: Kind, caller: String, id: String, inputs: [String] = [], continuation: String? = nil) {
        self.kind = kind
        self.caller = caller
        self.id = id
        self.inputs = inputs
        self.continuation = continuation
    }
}

/// An HTTP request as a tool sends it.
public struct AdapterRequest: Sendable {
    public var method: HTTPRequest.Method
    /// Path and query: `/sms/kannel?from=…`.
    public var uri: String
    public var headers: HTTPFields
    public var body: [UInt8]?

    public init(method: HTTPRequest.Method, uri: String, headers: HTTPFields = [:], body: [UInt8]? = nil) {
        self.method = method
        self.uri = uri
        self.headers = headers
        self.body = body
    }

    /// A form POST.
    public static func form(_ uri: String, _ fields: [(String, String)]) -> AdapterRequest {
        AdapterRequest(
            method: .post, uri: uri, headers: [.contentType: "application/x-www-form-urlencoded"],
            body: Array(formEncode(fields).utf8))
    }

    /// A JSON POST.
    public static func json(_ uri: String, _ object: [String: any Sendable]) -> AdapterRequest {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return AdapterRequest(
            method: .post, uri: uri, headers: [.contentType: "application/json"], body: Array(data))
    }

    /// `a=1&b=x%20y`, every reserved character percent-encoded.
    public static func formEncode(_ fields: [(String, String)]) -> String {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        return fields.map { key, value in
            (key.addingPercentEncoding(withAllowedCharacters: allowed) ?? key) + "="
                + (value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value)
        }.joined(separator: "&")
    }
}

/// An HTTP response as a tool received it.
public struct AdapterResponse: Sendable {
    public var status: HTTPResponse.Status
    public var headers: HTTPFields
    public var body: [UInt8]

    public init(status: HTTPResponse.Status, headers: HTTPFields, body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// What the customer gets from one response.
public struct AdapterReply: Sendable, Equatable {
    /// The text shown or spoken (prompts joined with newlines).
    public var text: String
    /// Whether the exchange is over (always, for a message; `END`, a hang-up or a transfer for a session).
    public var ends: Bool
    /// What the next request needs from this response (a VoiceXML submit URL).
    public var continuation: String?

    public init(text: String, ends: Bool, continuation: String? = nil) {
        self.text = text
        self.ends = ends
        self.continuation = continuation
    }
}

public struct AdapterReplyError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The last answer of each call, by step, so a voice platform's retry of a step gets the same answer
/// instead of handling the keys twice. Keys are kept as hashes (they hold the digits pressed). Bounded like the
/// IVR channel's sessions: as many calls as it holds at most, each dropped when idle as long as a call may be.
struct StepCache: Sendable {
    struct Answer: SessionState {
        var key: Int
        var body: ByteBuffer
    }

    private let clock: any TimeSource
    let answers: MemorySessionStore<Answer>

    init(clock: any TimeSource, like sessions: any SessionStore) {
        self.clock = clock
        answers = MemorySessionStore(
            idleTimeout: sessions.idleTimeout, limits: SessionLimits(capacity: sessions.capacity))
    }

    func answer(call: String, key: String) async -> ByteBuffer? {
        guard let entry = await answers.load(call, now: clock.now()), entry.key == key.hashValue else { return nil }
        return entry.body
    }

    func store(call: String, key: String, body: ByteBuffer) async {
        await answers.save(call, Answer(key: key.hashValue, body: body), now: clock.now())
    }

    /// A new call or a hang-up: nothing of an earlier call with this id is answered again.
    func forget(call: String) async { await answers.remove(call) }
}

/// The longest session or call id the adapters take: ids are kept in memory between steps.
let maxSessionIDLength = 128
