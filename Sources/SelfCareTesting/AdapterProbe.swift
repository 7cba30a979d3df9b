import Foundation
import HTTPTypes
import SelfCareChannels
import SelfCareCore
import SelfCareHTTP

/// How tools drive a channel adapter from outside, as its gateway would: how one customer action looks on the
/// adapter's wire (`request(for:)`) and what the customer gets from a response (`reply(to:for:)`). The
/// conformance checker (`AdapterConformance`), the fuzzers and load scripts talk to adapters through probes.
///
/// A probe is the client side of the protocol, written apart from the adapter on purpose: it reads what the
/// adapter sends as a gateway would (a VoiceXML document with an XML parser, JSON with a decoder of its own
/// types), so an adapter that writes something its gateway cannot read is caught.
public protocol AdapterProbe: Sendable {
    /// Whether the adapter carries single messages (SMS) or sessions of steps (USSD, IVR).
    var style: AdapterStyle { get }
    /// What each reply must fit (the conformance checker measures it).
    var replyUnit: ReplyUnit { get }
    /// The HTTP request that carries `action` in the adapter's protocol.
    func request(for action: CustomerAction) -> AdapterRequest
    /// What the customer sees of `response`, and whether the exchange ended; throws when the response is not
    /// one the gateway could use.
    func reply(to response: AdapterResponse, for action: CustomerAction) throws -> AdapterReply
}

extension AdapterProbe {
    /// SMS parts for message adapters, speech for session adapters; a USSD probe says `.ussdScreen`.
    public var replyUnit: ReplyUnit { style == .message ? .smsParts : .speech }
}

/// The probes of the shipped adapters.
public enum AdapterProbes {
    /// The probe for one of the shipped adapters, set up as the adapter is (its short code, its USSD text
    /// mode); nil for an adapter of another kind.
    public static func shipped(for adapter: any ChannelAdapter) -> (any AdapterProbe)? {
        switch adapter {
        case let kannel as KannelAdapter: KannelProbe(shortCode: kannel.shortCode)
        case let ussd as USSDAggregatorAdapter: USSDAggregatorProbe(cumulativeText: ussd.cumulativeText)
        case is VoiceXMLAdapter: VoiceXMLProbe()
        case is IVRJSONAdapter: IVRJSONProbe()
        case is MessagesJSONAdapter: MessagesJSONProbe()
        default: nil
        }
    }
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

    /// The text of a message or the keys of a step; empty for an opening or no input.
    var text: String {
        switch kind {
        case .message(let text), .keys(let text): text
        case .open, .noInput: ""
        }
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
            body: Array(URLForm.encode(fields).utf8))
    }

    /// A JSON POST of `value`.
    public static func json(_ uri: String, _ value: some Encodable) -> AdapterRequest {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Strings, numbers and flags: encoding them cannot fail.
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return AdapterRequest(
            method: .post, uri: uri, headers: [.contentType: "application/json"], body: Array(data))
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

    /// The body as `T`, when the response is a 200 with JSON the type reads; otherwise the error says what came.
    func decodeJSON<T: Decodable>(_ type: T.Type) throws -> T {
        guard status == .ok else { throw AdapterReplyError("HTTP \(status.code): \(text)") }
        do {
            return try JSONDecoder().decode(type, from: Data(body))
        } catch {
            throw AdapterReplyError("not the JSON the protocol has (\(error)): \(text.prefix(80))")
        }
    }
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

/// Kannel's `sms-service` as Kannel drives it: a GET with `from`, `to`, `text` and `id` in the query; the
/// reply is the body, and `X-Kannel-Coding: 2` must come exactly when the reply needs UCS-2.
public struct KannelProbe: AdapterProbe {
    public let style = AdapterStyle.message
    /// The short code the messages go to (`to`, Kannel's `%P`).
    public var shortCode: String

    public init(shortCode: String = "10010") { self.shortCode = shortCode }

    public func request(for action: CustomerAction) -> AdapterRequest {
        let query = URLForm.encode([
            ("from", action.caller), ("to", shortCode), ("text", action.text), ("id", action.id),
        ])
        return AdapterRequest(method: .get, uri: "/sms/kannel?" + query)
    }

    public func reply(to response: AdapterResponse, for action: CustomerAction) throws -> AdapterReply {
        guard response.status == .ok else { throw AdapterReplyError("HTTP \(response.status.code): \(response.text)") }
        let text = response.text
        let needsUCS2 = SMSSegmenter.encoding(of: text) == .ucs2
        if needsUCS2 != (response.headers[HTTPField.Name("X-Kannel-Coding")!] == "2") {
            throw AdapterReplyError("X-Kannel-Coding does not match the reply (UCS-2 needed: \(needsUCS2))")
        }
        return AdapterReply(text: text, ends: true)
    }
}

/// A USSD aggregator (Africa's Talking convention): a form POST of `sessionId`, `serviceCode`, `phoneNumber`,
/// `networkCode` and `text` (every input so far joined with `*`, or only the current one); the answer starts
/// with `CON ` or `END `.
public struct USSDAggregatorProbe: AdapterProbe {
    public let style = AdapterStyle.session
    public let replyUnit = ReplyUnit.ussdScreen
    /// Whether `text` carries every input so far (as the adapter is set up).
    public var cumulativeText: Bool
    /// The service code dialled.
    public var serviceCode: String

    public init(cumulativeText: Bool = true, serviceCode: String = "*100#") {
        self.cumulativeText = cumulativeText
        self.serviceCode = serviceCode
    }

    public func request(for action: CustomerAction) -> AdapterRequest {
        let text: String
        switch action.kind {
        case .open: text = ""
        case .message, .keys, .noInput: text = cumulativeText ? action.inputs.joined(separator: "*") : action.text
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

/// The generic JSON messages API, as an SMS client uses it: `POST /v1/messages` with
/// `{"channel":"sms","from":…,"text":…,"id":…}`, answered with `{"reply":…,…}`.
public struct MessagesJSONProbe: AdapterProbe {
    public let style = AdapterStyle.message

    public init() {}

    struct Message: Encodable {
        var channel = "sms"
        var from: String
        var text: String
        var id: String
    }

    struct Answer: Decodable {
        var reply: String
    }

    public func request(for action: CustomerAction) -> AdapterRequest {
        .json("/v1/messages", Message(from: action.caller, text: action.text, id: action.id))
    }

    public func reply(to response: AdapterResponse, for action: CustomerAction) throws -> AdapterReply {
        AdapterReply(text: try response.decodeJSON(Answer.self).reply, ends: true)
    }
}

/// IVR as JSON actions, as a voice platform drives it: `POST /v1/ivr` with `start` for the call, then `digits`
/// for each step (none: no input), and its own step counter; the answer is the list of actions.
public struct IVRJSONProbe: AdapterProbe {
    public let style = AdapterStyle.session

    public init() {}

    struct Step: Encodable {
        var call: String
        var from: String
        var start: Bool?
        var digits: String?
        var step: Int
    }

    struct Answer: Decodable {
        struct Action: Decodable {
            var type: String
            var text: String?
        }

        var actions: [Action]
    }

    public func request(for action: CustomerAction) -> AdapterRequest {
        var step = Step(call: action.id, from: action.caller, step: action.inputs.count)
        switch action.kind {
        case .open:
            step.start = true
            step.step = 0
        case .message(let keys), .keys(let keys): step.digits = keys
        case .noInput: break
        }
        return .json("/v1/ivr", step)
    }

    public func reply(to response: AdapterResponse, for action: CustomerAction) throws -> AdapterReply {
        let actions = try response.decodeJSON(Answer.self).actions
        let last = actions.last?.type
        return AdapterReply(
            text: actions.compactMap(\.text).joined(separator: "\n"),
            ends: last == "hangup" || last == "transfer" || actions.isEmpty)
    }
}

/// A VoiceXML 2.1 voice browser: it opens a call with `GET /ivr/vxml?from=…`, then follows the document's own
/// submits (`<filled>` with `digits`, `<noinput>`); the document is read with an XML parser
/// (`VoiceXMLDocument`), its prompts are what the caller hears, and a `<disconnect>`, `<exit>` or `<transfer>`
/// ends the call.
public struct VoiceXMLProbe: AdapterProbe {
    public let style = AdapterStyle.session
    static let contentType = "application/voicexml+xml; charset=utf-8"

    public init() {}

    public func request(for action: CustomerAction) -> AdapterRequest {
        // The documents' submits are relative to `/ivr/vxml`; before one came, the call's own URL.
        let next = "/ivr/" + (action.continuation ?? "vxml?" + URLForm.encode([("call", action.id)]))
        switch action.kind {
        case .open: return AdapterRequest(method: .get, uri: "/ivr/vxml?" + URLForm.encode([("from", action.caller)]))
        case .message(let keys), .keys(let keys): return .form(next, [("digits", keys)])
        case .noInput: return .form(next + "&event=noinput", [])
        }
    }

    public func reply(to response: AdapterResponse, for action: CustomerAction) throws -> AdapterReply {
        guard response.status == .ok, response.headers[.contentType] == Self.contentType else {
            throw AdapterReplyError(
                "HTTP \(response.status.code) \(response.headers[.contentType] ?? ""): \(response.text)")
        }
        let document = try VoiceXMLDocument(response.text)
        guard let root = document.elements.first, root.name == "vxml", root.attributes["version"] == "2.1",
            root.namespace == VoiceXMLDocument.namespace
        else {
            throw AdapterReplyError("not a VoiceXML 2.1 document: \(response.text.prefix(80))")
        }
        let ends = ["disconnect", "exit", "transfer"].contains { document.first($0) != nil }
        return AdapterReply(
            text: document.prompts.joined(separator: "\n"), ends: ends, continuation: document.submit(in: "filled"))
    }
}
