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
    public let style = AdapterStyle.message

    public init() {}

    public func register(
        on router: Router<BasicRequestContext>, channels: GatewayChannels, configuration: GatewayConfiguration
    ) {
        router.post("/v1/messages") { request, _ -> Response in
            var request = request
            let object: [String: Any]
            switch try await JSONAPI.body(&request, limit: configuration.maxBodyBytes) {
            case .failure(let box): return box.response
            case .success(let o): object = o
            }
            guard let from = object["from"] as? String, !from.isEmpty else {
                return JSONAPI.problem(.badRequest, "missing `from`")
            }
            for key in ["channel", "text", "to", "id", "session", "code", "input"]
            where object[key] != nil && !(object[key] is String) {
                return JSONAPI.problem(.badRequest, "`\(key)` must be a string")
            }
            if let problem = FieldCheck.first(
                FieldCheck.number(from, field: "from"),
                (object["id"] as? String).flatMap { FieldCheck.identifier($0, field: "id") },
                (object["session"] as? String).flatMap { FieldCheck.identifier($0, field: "session") },
                (object["to"] as? String).flatMap { FieldCheck.code($0, field: "to") },
                (object["code"] as? String).flatMap { FieldCheck.code($0, field: "code") })
            {
                return JSONAPI.problem(.badRequest, problem)
            }
            switch object["channel"] as? String ?? "sms" {
            case "sms":
                guard configuration.channels.contains(.sms) else {
                    return JSONAPI.problem(.notFound, "the sms channel is turned off on this server")
                }
                guard let text = object["text"] as? String else {
                    return JSONAPI.problem(.badRequest, "missing `text`")
                }
                let reply = await channels.sms.handle(
                    InboundSMS(
                        from: from, to: object["to"] as? String ?? "10010", text: text, id: object["id"] as? String))
                return JSONAPI.json([
                    "reply": reply.text, "segments": reply.segments, "encoding": reply.encoding.rawValue,
                    "result": reply.outcome.result.rawValue, "reason": reply.outcome.reason.rawValue,
                    "record": reply.outcome.record.map { Int($0.id) as Any } ?? NSNull(),
                ])
            case "ussd":
                guard configuration.channels.contains(.ussd) else {
                    return JSONAPI.problem(.notFound, "the ussd channel is turned off on this server")
                }
                guard let session = object["session"] as? String, !session.isEmpty, let code = object["code"] as? String
                else {
                    return JSONAPI.problem(.badRequest, "missing `session` or `code`")
                }
                let limit = channels.ussd.configuration.maxInputsPerRequest
                guard USSDChannel.directKeys(code).count <= limit else {
                    return JSONAPI.problem(.badRequest, "`code` holds more than \(limit) keys")
                }
                let screen = await channels.ussd.handle(
                    sessionID: session, caller: from, serviceCode: code, input: object["input"] as? String,
                    source: RequestSource.address ?? "")
                return JSONAPI.json(["screen": screen.text, "ends": screen.ends])
            default:
                return JSONAPI.problem(.badRequest, "`channel` is sms or ussd (use /v1/ivr for calls)")
            }
        }
    }

    public func request(for action: CustomerAction) -> AdapterRequest {
        let text: String
        switch action.kind {
        case .message(let t), .keys(let t): text = t
        case .open, .noInput: text = ""
        }
        return .json("/v1/messages", ["channel": "sms", "from": action.caller, "text": text, "id": action.id])
    }

    public func reply(to response: AdapterResponse, for action: CustomerAction) throws -> AdapterReply {
        guard response.status == .ok,
            let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
            let reply = object["reply"] as? String
        else { throw AdapterReplyError("HTTP \(response.status.code): \(response.text)") }
        return AdapterReply(text: reply, ends: true)
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
    public let style = AdapterStyle.session

    public init() {}

    public func register(
        on router: Router<BasicRequestContext>, channels: GatewayChannels, configuration: GatewayConfiguration
    ) {
        let answers = StepCache(clock: channels.clock, like: channels.ivr.sessions)
        channels.caches.register { now in await answers.answers.sweep(now: now) }
        let serializer = KeyedSerializer()
        router.post("/v1/ivr") { request, _ -> Response in
            guard configuration.channels.contains(.ivr) else {
                return JSONAPI.problem(.notFound, "the ivr channel is turned off on this server")
            }
            var request = request
            let object: [String: Any]
            switch try await JSONAPI.body(&request, limit: configuration.maxBodyBytes) {
            case .failure(let box): return box.response
            case .success(let o): object = o
            }
            guard let call = object["call"] as? String, !call.isEmpty, let from = object["from"] as? String else {
                return JSONAPI.problem(.badRequest, "missing `call` or `from`")
            }
            if let digits = object["digits"], !(digits is String), !(digits is NSNull) {
                return JSONAPI.problem(.badRequest, "`digits` must be a string")
            }
            if let problem = FieldCheck.first(
                FieldCheck.identifier(call, field: "call"), FieldCheck.number(from, field: "from"),
                (object["digits"] as? String).flatMap { FieldCheck.keys($0, field: "digits") },
                object["step"].flatMap { FieldCheck.step($0, field: "step") })
            {
                return JSONAPI.problem(.badRequest, problem)
            }
            // With `step`, a retried step gets the same answer, also while the first is still running (one
            // request of a call at a time), and its keys are not handled twice.
            let step = object["step"].map { "\($0)" }
            let start = object["start"] as? Bool == true
            let digits = object["digits"] as? String
            let key = "\(step ?? "")|\(start)|\(digits ?? "")"
            let source = RequestSource.address ?? ""
            return await serializer.run(call) {
                if let step, !step.isEmpty, !start, let body = await answers.answer(call: call, key: key) {
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
                let encoded = actions.map(JSONAPI.encode)
                if let step, !step.isEmpty, let body = JSONAPI.bodyBuffer(encoded) {
                    await answers.store(call: call, key: key, body: body)
                }
                if let last = actions.last, last.kind == .hangup || last.kind == .transfer {
                    await answers.forget(call: call)
                }
                return JSONAPI.json(["actions": encoded])
            }
        }
    }

    public func request(for action: CustomerAction) -> AdapterRequest {
        switch action.kind {
        case .open: .json("/v1/ivr", ["call": action.id, "from": action.caller, "start": true, "step": 0])
        case .message(let keys), .keys(let keys):
            .json("/v1/ivr", ["call": action.id, "from": action.caller, "digits": keys, "step": action.inputs.count])
        case .noInput: .json("/v1/ivr", ["call": action.id, "from": action.caller, "step": action.inputs.count])
        }
    }

    public func reply(to response: AdapterResponse, for action: CustomerAction) throws -> AdapterReply {
        guard response.status == .ok,
            let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
            let actions = object["actions"] as? [[String: Any]]
        else { throw AdapterReplyError("HTTP \(response.status.code): \(response.text)") }
        let text = actions.compactMap { $0["text"] as? String }.joined(separator: "\n")
        let last = actions.last?["type"] as? String
        return AdapterReply(text: text, ends: last == "hangup" || last == "transfer" || actions.isEmpty)
    }
}
