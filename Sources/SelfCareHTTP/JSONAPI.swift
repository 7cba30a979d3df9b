import Foundation
import HTTPTypes
import Hummingbird
import SelfCareChannels
import SelfCareCore

/// The JSON APIs: `POST /v1/messages` (any channel), `POST /v1/ivr` (IVR actions), and the operators'
/// `GET /v1/records` behind a bearer token.
enum JSONAPI {
    static func json(_ object: Any, status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func problem(_ status: HTTPResponse.Status, _ message: String) -> Response {
        json(["error": message], status: status)
    }

    /// The request's JSON object, or the response that refuses it.
    static func body(_ request: inout Request, limit: Int) async -> Result<[String: Any], ResponseBox> {
        guard (request.headers[.contentType] ?? "").lowercased().hasPrefix("application/json") else {
            return .failure(ResponseBox(problem(.unsupportedMediaType, "send application/json")))
        }
        guard let buffer = try? await request.collectBody(upTo: limit) else {
            return .failure(ResponseBox(problem(.contentTooLarge, "the body is over \(limit) bytes")))
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any]
        else {
            return .failure(ResponseBox(problem(.badRequest, "the body is not a JSON object")))
        }
        return .success(object)
    }

    struct ResponseBox: Error { let response: Response; init(_ r: Response) { response = r } }

    static func add(
        to router: Router<BasicRequestContext>, _ channels: GatewayChannels, _ configuration: GatewayConfiguration
    ) {
        router.post("/v1/messages") { request, _ -> Response in
            var request = request
            let object: [String: Any]
            switch await body(&request, limit: configuration.maxBodyBytes) {
            case .failure(let box): return box.response
            case .success(let o): object = o
            }
            guard let from = object["from"] as? String, !from.isEmpty else {
                return problem(.badRequest, "missing `from`")
            }
            for key in ["text", "to", "id", "session", "code", "input"]
            where object[key] != nil && !(object[key] is String) {
                return problem(.badRequest, "`\(key)` must be a string")
            }
            switch object["channel"] as? String ?? "sms" {
            case "sms":
                guard let text = object["text"] as? String else { return problem(.badRequest, "missing `text`") }
                let reply = await channels.sms.handle(
                    InboundSMS(
                        from: from, to: object["to"] as? String ?? "10010", text: text, id: object["id"] as? String))
                return json([
                    "reply": reply.text, "segments": reply.segments, "encoding": reply.encoding.rawValue,
                    "result": reply.outcome.result.rawValue, "reason": reply.outcome.reason.rawValue,
                    "record": reply.outcome.record.map { Int($0.id) as Any } ?? NSNull(),
                ])
            case "ussd":
                guard let session = object["session"] as? String, let code = object["code"] as? String else {
                    return problem(.badRequest, "missing `session` or `code`")
                }
                let screen = await channels.ussd.handle(
                    sessionID: session, caller: from, serviceCode: code, input: object["input"] as? String)
                return json(["screen": screen.text, "ends": screen.ends])
            default:
                return problem(.badRequest, "`channel` is sms or ussd (use /v1/ivr for calls)")
            }
        }
        router.post("/v1/ivr") { request, _ -> Response in
            var request = request
            let object: [String: Any]
            switch await body(&request, limit: configuration.maxBodyBytes) {
            case .failure(let box): return box.response
            case .success(let o): object = o
            }
            guard let call = object["call"] as? String, !call.isEmpty, let from = object["from"] as? String else {
                return problem(.badRequest, "missing `call` or `from`")
            }
            if let digits = object["digits"], !(digits is String), !(digits is NSNull) {
                return problem(.badRequest, "`digits` must be a string")
            }
            let actions: [IVRAction]
            if object["start"] as? Bool == true {
                actions = await channels.ivr.start(callID: call, caller: from)
            } else {
                actions = await channels.ivr.input(callID: call, digits: object["digits"] as? String)
            }
            return json(["actions": actions.map(encode)])
        }
        router.post("/v1/admin/reload") { request, _ -> Response in
            if let refusal = authorize(request, configuration) { return refusal }
            guard let reload = configuration.reload else { return problem(.notFound, "nothing to reload") }
            do {
                try reload()
                return json(["reloaded": true])
            } catch {
                return json(["reloaded": false, "error": "\(error)"], status: .unprocessableContent)
            }
        }
        router.get("/v1/records") { request, _ -> Response in
            if let refusal = authorize(request, configuration) { return refusal }
            let query = FormFields.parse(request.uri.query ?? "")
            var filter = RecordFilter()
            if let subject = query["subject"] {
                guard let number = normalizeNumber(subject) else {
                    return problem(.badRequest, "`subject` is not a number")
                }
                filter.subject = number
            }
            if let since = query["since"] {
                guard let date = ISOTime.parse(since) else {
                    return problem(.badRequest, "`since` is not an ISO 8601 time")
                }
                filter.since = date
            }
            let csv = query["format"] == "csv"
            var lines: [String] = csv ? [ServiceRecord.csvHeader] : []
            do {
                try channels.sms.engine.store.forEachRecord(matching: filter) {
                    lines.append(csv ? $0.csvLine : $0.jsonLine)
                }
            } catch {
                return problem(.internalServerError, "the records could not be read")
            }
            return Response(
                status: .ok,
                headers: [.contentType: csv ? "text/csv; charset=utf-8" : "application/x-ndjson; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: lines.map { $0 + "\n" }.joined())))
        }
    }

    /// Nil when the request carries the admin bearer token; else the refusal (404 when no token is set).
    static func authorize(_ request: Request, _ configuration: GatewayConfiguration) -> Response? {
        guard let token = configuration.adminToken, !token.isEmpty else {
            return problem(.notFound, "the admin API is off: start the server with SELFCARE_ADMIN_TOKEN")
        }
        guard let auth = request.headers[.authorization], auth.hasPrefix("Bearer "),
            constantTimeEquals(String(auth.dropFirst(7)), token)
        else {
            var response = problem(.unauthorized, "a bearer token is required")
            response.headers[.wwwAuthenticate] = "Bearer"
            return response
        }
        return nil
    }

    static func encode(_ action: IVRAction) -> [String: Any] {
        var out: [String: Any] = ["type": action.kind.rawValue]
        if let text = action.text { out["text"] = text }
        if let audio = action.audio { out["audio"] = audio }
        if let n = action.maxDigits { out["maxDigits"] = n; out["terminator"] = "#" }
        if let t = action.noInputTimeout { out["noInputTimeout"] = t }
        if let t = action.interDigitTimeout { out["interDigitTimeout"] = t }
        if let keys = action.keys { out["keys"] = keys }
        if let q = action.queue { out["queue"] = q }
        if let p = action.priority { out["priority"] = p }
        return out
    }

    static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        Secret(a).matches(Secret(b))
    }
}
