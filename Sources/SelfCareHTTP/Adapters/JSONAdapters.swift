import Foundation
import HTTPTypes
import Hummingbird
import SelfCareChannels
import SelfCareCore

/// The generic JSON messages API: `POST /v1/messages`.
///
/// `{"channel":"sms","from":…,"to":…,"text":…,"id":…}` answers with the reply, its SMS parts and encoding,
/// the result and reason, and the record id; `{"channel":"ussd","from":…,"session":…,"code":"*100#",
/// "input":…}` answers with the screen and whether it ends the session. `id` makes a retry safe.
public struct MessagesJSONAdapter: ChannelAdapter {
    public let name = "messages-json"

    public init() {}

    public func register<Context: RequestContext>(
        on router: some RouterMethods<Context>, channels: GatewayChannels, configuration: GatewayConfiguration
    ) {
        router.post("/v1/messages") { request, _ -> Response in
            var request = request
            let message = try await JSONAPI.decode(MessageRequest.self, &request, limit: configuration.maxBodyBytes)
            guard let from = message.from, !from.isEmpty else {
                return JSONAPI.problem(.badRequest, "missing `from`")
            }
            if let problem = FieldCheck.first(
                FieldCheck.number(from, field: "from"), message.id.flatMap { FieldCheck.identifier($0, field: "id") },
                message.session.flatMap { FieldCheck.identifier($0, field: "session") },
                message.to.flatMap { FieldCheck.code($0, field: "to") },
                message.code.flatMap { FieldCheck.code($0, field: "code") })
            {
                return JSONAPI.problem(.badRequest, problem)
            }
            switch message.channel ?? "sms" {
            case "sms":
                guard configuration.channels.contains(.sms) else {
                    return JSONAPI.problem(.notFound, "the sms channel is turned off on this server")
                }
                guard let text = message.text else {
                    return JSONAPI.problem(.badRequest, "missing `text`")
                }
                let reply = await channels.sms.handle(
                    InboundSMS(from: from, to: message.to ?? "10010", text: text, id: message.id))
                return try JSONAPI.json(
                    SMSReplyBody(
                        reply: reply.text, segments: reply.segments, encoding: reply.encoding.rawValue,
                        result: reply.outcome.result.rawValue, reason: reply.outcome.reason.rawValue,
                        record: reply.outcome.record.map { Int($0.id) }))
            case "ussd":
                guard configuration.channels.contains(.ussd) else {
                    return JSONAPI.problem(.notFound, "the ussd channel is turned off on this server")
                }
                guard let session = message.session, !session.isEmpty, let code = message.code else {
                    return JSONAPI.problem(.badRequest, "missing `session` or `code`")
                }
                let limit = channels.ussd.configuration.maxInputsPerRequest
                guard USSDChannel.directKeys(code).count <= limit else {
                    return JSONAPI.problem(.badRequest, "`code` holds more than \(limit) keys")
                }
                let screen = await channels.ussd.handle(
                    sessionID: session, caller: from, serviceCode: code, input: message.input,
                    source: RequestSource.address ?? "")
                return try JSONAPI.json(USSDScreenBody(screen: screen.text, ends: screen.ends))
            default:
                return JSONAPI.problem(.badRequest, "`channel` is sms or ussd (use /v1/ivr for calls)")
            }
        }
    }
}

/// IVR as JSON actions, for voice platforms driven by an API: `POST /v1/ivr`.
///
/// `{"call":ID,"from":NUMBER,"start":true}` opens a call; then `{"call":ID,"from":NUMBER,"digits":"1"}` for
/// each step (`digits` absent or empty: no input). The answer is the list of actions: `collect` (`text`,
/// `audio`, `maxDigits`, `terminator`, `keys`, `noInputTimeout`, `interDigitTimeout`), `play`, `transfer`
/// (`queue`, `priority`), `hangup`. An optional `step` (the platform's step counter) makes a retry safe:
/// a repeated request with the same step and digits gets the same answer.
public struct IVRJSONAdapter: ChannelAdapter {
    public let name = "ivr-json"

    public init() {}

    public func register<Context: RequestContext>(
        on router: some RouterMethods<Context>, channels: GatewayChannels, configuration: GatewayConfiguration
    ) {
        let answers = StepCache(clock: channels.clock, like: channels.ivr.sessions)
        channels.caches.register { now in await answers.answers.sweep(now: now) }
        let serializer = KeyedSerializer()
        router.post("/v1/ivr") { request, _ -> Response in
            guard configuration.channels.contains(.ivr) else {
                return JSONAPI.problem(.notFound, "the ivr channel is turned off on this server")
            }
            var request = request
            let step = try await JSONAPI.decode(IVRStepRequest.self, &request, limit: configuration.maxBodyBytes)
            guard let call = step.call, !call.isEmpty, let from = step.from else {
                return JSONAPI.problem(.badRequest, "missing `call` or `from`")
            }
            if let problem = FieldCheck.first(
                FieldCheck.identifier(call, field: "call"), FieldCheck.number(from, field: "from"),
                step.digits.flatMap { FieldCheck.keys($0, field: "digits") },
                step.step.flatMap { (0...Int(Int32.max)).contains($0) ? nil : IVRStepRequest.stepProblem })
            {
                return JSONAPI.problem(.badRequest, problem)
            }
            // With `step`, a retried step gets the same answer, also while the first is still running (one
            // request of a call at a time), and its keys are not handled twice.
            let start = step.start == true
            let digits = step.digits
            let counter = step.step.map(String.init)
            let key = "\(counter ?? "")|\(start)|\(digits ?? "")"
            let source = RequestSource.address ?? ""
            return await serializer.run(call) {
                if counter != nil, !start, let body = await answers.answer(call: call, key: key) {
                    return Response(
                        status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                        body: .init(byteBuffer: body))
                }
                let actions: [IVRAction]
                if start {
                    await answers.forget(call: call)  // a new call with this id
                    actions = await channels.ivr.start(callID: call, caller: from, source: source)
                } else {
                    actions = await channels.ivr.input(callID: call, digits: digits)
                }
                // Plain strings and numbers: encoding them cannot fail.
                let body =
                    (try? JSONAPI.encoder.encode(IVRActionsBody(actions: actions.map(IVRActionBody.init))))
                    ?? Data(#"{"actions":[]}"#.utf8)
                let buffer = ByteBuffer(bytes: body)
                if counter != nil { await answers.store(call: call, key: key, body: buffer) }
                if let last = actions.last, last.kind == .hangup || last.kind == .transfer {
                    await answers.forget(call: call)
                }
                return Response(
                    status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                    body: .init(byteBuffer: buffer))
            }
        }
    }
}

/// The body of `POST /v1/messages` (`SMSMessage` or `USSDStep` in docs/openapi.yaml). Every field is optional here so
/// that a missing one gets its own clear refusal; a field of another type is refused by `JSONAPI.decode`.
struct MessageRequest: Decodable {
    var channel: String?
    var from: String?
    var to: String?
    var text: String?
    var id: String?
    var session: String?
    var code: String?
    var input: String?
}

/// The answer to an SMS of `POST /v1/messages` (`SMSReply`).
struct SMSReplyBody: Encodable {
    var reply: String
    var segments: [String]
    var encoding: String
    var result: String
    var reason: String
    /// Null, not absent, when no record was written.
    var record: Int?

    enum CodingKeys: String, CodingKey { case reply, segments, encoding, result, reason, record }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(reply, forKey: .reply)
        try container.encode(segments, forKey: .segments)
        try container.encode(encoding, forKey: .encoding)
        try container.encode(result, forKey: .result)
        try container.encode(reason, forKey: .reason)
        try container.encode(record, forKey: .record)
    }
}

/// The answer to a USSD step of `POST /v1/messages` (`USSDScreen`).
struct USSDScreenBody: Encodable {
    var screen: String
    var ends: Bool
}

/// The body of `POST /v1/ivr` (`IVRStep`).
struct IVRStepRequest: Decodable {
    var call: String?
    var from: String?
    var start: Bool?
    var digits: String?
    var step: Int?

    static let stepProblem = "`step` is not a step counter (a whole number from 0 to \(Int32.max))"
}

/// The answer of `POST /v1/ivr` (`IVRActions`).
struct IVRActionsBody: Encodable {
    var actions: [IVRActionBody]
}

/// One IVR action as JSON (`IVRAction`); `terminator` comes with `maxDigits`.
struct IVRActionBody: Encodable {
    var type: String
    var text: String?
    var audio: String?
    var maxDigits: Int?
    var terminator: String?
    var noInputTimeout: Int?
    var interDigitTimeout: Int?
    var keys: [String]?
    var queue: String?
    var priority: Int?

    init(_ action: IVRAction) {
        type = action.kind.rawValue
        text = action.text
        audio = action.audio
        maxDigits = action.maxDigits
        terminator = action.maxDigits == nil ? nil : "#"
        noInputTimeout = action.noInputTimeout
        interDigitTimeout = action.interDigitTimeout
        keys = action.keys
        queue = action.queue
        priority = action.priority
    }
}
