import Foundation
import HTTPTypes
import Hummingbird
import SelfCareChannels
import SelfCareCore

/// JSON helpers, and the operators' endpoints behind a bearer token.
enum JSONAPI {
    static func json(_ object: Any, status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// The `{"actions": …}` body as bytes.
    static func bodyBuffer(_ actions: [[String: Any]]) -> ByteBuffer? {
        (try? JSONSerialization.data(withJSONObject: ["actions": actions], options: [.sortedKeys])).map {
            ByteBuffer(bytes: $0)
        }
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

    /// The operators' endpoints: `POST /v1/admin/reload` and `GET /v1/records`, behind the bearer token.
    static func addOperations(
        to router: Router<BasicRequestContext>, _ channels: GatewayChannels, _ configuration: GatewayConfiguration
    ) {
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
