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
    static func body(_ request: inout Request, limit: Int) async throws -> Result<[String: Any], ResponseBox> {
        guard (request.headers[.contentType] ?? "").lowercased().hasPrefix("application/json") else {
            return .failure(ResponseBox(problem(.unsupportedMediaType, "send application/json")))
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: limit)
        } catch  where isOverLimit(error) {
            return .failure(ResponseBox(problem(.contentTooLarge, "the body is over \(limit) bytes")))
        } catch {
            // A body cut off or unreadable: never acted on, and the client's mistake, not a 500.
            return .failure(ResponseBox(problem(.badRequest, "the body could not be read")))
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
            if let after = query["after"] {
                guard let id = Int64(after), id >= 0 else {
                    return problem(.badRequest, "`after` is a record id (0 or more)")
                }
                filter.afterID = id
            }
            var limit = RecordPages.defaultLimit
            if let text = query["limit"] {
                guard let n = Int(text), (1...RecordPages.maxLimit).contains(n) else {
                    return problem(.badRequest, "`limit` is 1 to \(RecordPages.maxLimit)")
                }
                limit = n
            }
            guard ["jsonl", "csv"].contains(query["format"] ?? "jsonl") else {
                return problem(.badRequest, "`format` is jsonl or csv")
            }
            let csv = query["format"] == "csv"
            let store = channels.sms.engine.store
            // The page's ids first (one id each kept), so that the next page's cursor goes in the headers;
            // then the records, read and sent in batches: memory stays bounded whatever the page's size.
            var ids: [Int64] = []
            do {
                var probe = filter
                probe.limit = limit + 1
                try store.forEachRecord(matching: probe) { ids.append($0.id) }
            } catch {
                return problem(.internalServerError, "the records could not be read")
            }
            var headers: HTTPFields = [
                .contentType: csv ? "text/csv; charset=utf-8" : "application/x-ndjson; charset=utf-8"
            ]
            if ids.count > limit {
                ids.removeLast()
                if let last = ids.last {
                    var next = query.filter { $0.key != "after" }
                    next["after"] = String(last)
                    next["limit"] = String(limit)
                    let link = "/v1/records?" + AdapterRequest.formEncode(next.keys.sorted().map { ($0, next[$0]!) })
                    headers[RecordPages.link] = "<\(link)>; rel=\"next\""
                    headers[RecordPages.nextAfter] = String(last)
                }
            }
            let page = ids
            let pageFilter = filter
            return Response(
                status: .ok, headers: headers,
                body: ResponseBody { writer in
                    // JSON Lines end in LF; CSV lines in CRLF, as RFC 4180 has them.
                    let lineEnd = csv ? ServiceRecord.csvLineEnd : "\n"
                    if csv { try await writer.write(ByteBuffer(string: ServiceRecord.csvHeader + lineEnd)) }
                    var cursor = pageFilter.afterID
                    for start in stride(from: 0, to: page.count, by: RecordPages.batch) {
                        let count = min(RecordPages.batch, page.count - start)
                        var batch = pageFilter
                        batch.afterID = cursor
                        batch.limit = count
                        var text = ""
                        try store.forEachRecord(matching: batch) { record in
                            text += (csv ? record.csvLine : record.jsonLine) + lineEnd
                        }
                        cursor = page[start + count - 1]
                        try await writer.write(ByteBuffer(string: text))
                    }
                    try await writer.finish(nil)
                })
        }
    }

    /// Paging of `GET /v1/records`.
    enum RecordPages {
        /// Records a page holds unless `limit` says otherwise, and the most it may ask for.
        static let defaultLimit = 1_000
        static let maxLimit = 10_000
        /// Records read and sent at a time.
        static let batch = 250
        /// The header that carries the next page's cursor (also in `Link: <…>; rel="next"`).
        static let nextAfter = HTTPField.Name("X-Next-After")!
        static let link = HTTPField.Name("Link")!
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
