import Foundation
import HTTPTypes
import Hummingbird
import SelfCareChannels
import SelfCareCore

/// JSON helpers, and the operators' endpoints behind a bearer token.
enum JSONAPI {
    /// A refusal: `{"error": MESSAGE}` with `status`.
    static func problem(_ status: HTTPResponse.Status, _ message: String) -> Response {
        struct Problem: Encodable { var error: String }
        return (try? json(Problem(error: message), status: status)) ?? Response(status: status)
    }

    /// The JSON encoding of every answer: keys sorted, so an answer reads the same every time.
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    /// An `Encodable` answer as a JSON response.
    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }

    /// The request's body decoded as `T`; throws the `JSONProblem` that refuses it: 415 when it is not JSON, 413
    /// when it is too large, 400 when it cannot be read, is not a JSON object, or has a field of another type.
    static func decode<T: Decodable>(_ type: T.Type, _ request: inout Request, limit: Int) async throws -> T {
        guard (request.headers[.contentType] ?? "").lowercased().hasPrefix("application/json") else {
            throw JSONProblem(.unsupportedMediaType, "send application/json")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: limit)
        } catch  where isOverLimit(error) {
            throw JSONProblem(.contentTooLarge, "the body is over \(limit) bytes")
        } catch {
            // A body cut off or unreadable: never acted on, and the client's mistake, not a 500.
            throw JSONProblem(.badRequest, "the body could not be read")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch let DecodingError.typeMismatch(expected, context) where !context.codingPath.isEmpty {
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw JSONProblem(.badRequest, "`\(field)` must be \(Self.describe(expected))")
        } catch let DecodingError.dataCorrupted(context) where !context.codingPath.isEmpty {
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw JSONProblem(.badRequest, "`\(field)` must be \(field == "step" ? "a whole number" : "another value")")
        } catch {
            throw JSONProblem(.badRequest, "the body is not a JSON object")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        case is Int.Type: "a whole number"
        default: "another type"
        }
    }

    /// The operators' endpoints: `POST /v1/admin/reload` and `GET /v1/records`, behind the bearer token.
    static func addOperations(
        to router: Router<BasicRequestContext>, _ channels: GatewayChannels, _ configuration: GatewayConfiguration
    ) {
        // Behind the bearer token, checked once for the group (`AdminTokenMiddleware`).
        let operators = router.group().add(middleware: AdminTokenMiddleware(token: configuration.adminToken))
        operators.post("/v1/admin/reload") { _, _ -> Response in
            guard let reload = configuration.reload else { return problem(.notFound, "nothing to reload") }
            do {
                try reload()
                return try json(ReloadBody(reloaded: true))
            } catch {
                return try json(ReloadBody(reloaded: false, error: "\(error)"), status: .unprocessableContent)
            }
        }
        operators.post("/v1/orders/answer") { request, _ -> Response in
            var request = request
            let body = try await JSONAPI.decode(OrderAnswerBody.self, &request, limit: configuration.maxBodyBytes)
            guard let key = body.key, ServiceOrder.isKey(key) else {
                return problem(.badRequest, "`key` is required: the order's key, SC- and 32 hex digits")
            }
            guard let text = body.result, let answer = OrderAnswer(rawValue: text) else {
                return problem(.badRequest, "`result` is accepted or rejected")
            }
            let reason = body.reason ?? ""
            guard reason.count <= 200,
                !reason.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
            else { return problem(.badRequest, "`reason` is at most 200 characters, without control characters") }
            switch try await channels.engine.answerOrder(key: key, answer: answer, reason: reason, source: "http") {
            case .closed(let order), .unchanged(let order):
                return try json(OrderAnswerReply(order: order.id, state: order.state.rawValue))
            case .refused(let why):
                return problem(why.contains("already") ? .conflict : .notFound, why)
            }
        }
        operators.get("/v1/records") { request, _ -> Response in
            let query: RecordsQuery
            do {
                query = try FormRequest.decode(RecordsQuery.self, form: request.uri.query ?? "")
            } catch let error as HTTPError {
                return problem(.badRequest, error.body ?? "the query could not be read")
            }
            var filter = RecordFilter()
            if let subject = query.subject {
                guard let number = normalizeNumber(subject) else {
                    return problem(.badRequest, "`subject` is not a number")
                }
                filter.subject = number
            }
            if let since = query.since {
                guard let date = ISOTime.parse(since) else {
                    return problem(.badRequest, "`since` is not an ISO 8601 time")
                }
                filter.since = date
            }
            if let after = query.after {
                guard let id = Int64(after), id >= 0 else {
                    return problem(.badRequest, "`after` is a record id (0 or more)")
                }
                filter.afterID = id
            }
            var limit = RecordPages.defaultLimit
            if let text = query.limit {
                guard let n = Int(text), (1...RecordPages.maxLimit).contains(n) else {
                    return problem(.badRequest, "`limit` is 1 to \(RecordPages.maxLimit)")
                }
                limit = n
            }
            guard ["jsonl", "csv"].contains(query.format ?? "jsonl") else {
                return problem(.badRequest, "`format` is jsonl or csv")
            }
            let csv = query.format == "csv"
            let engine = channels.engine
            // The page's ids first (one id each kept), so that the next page's cursor goes in the headers;
            // then the records, read and sent in batches: memory stays bounded whatever the page's size.
            var ids: [Int64]
            do {
                var probe = filter
                probe.limit = limit + 1
                ids = try await engine.recordIDs(matching: probe)
            } catch {
                return problem(.internalServerError, "the records could not be read")
            }
            var headers: HTTPFields = [
                .contentType: csv ? "text/csv; charset=utf-8" : "application/x-ndjson; charset=utf-8"
            ]
            if ids.count > limit {
                ids.removeLast()
                if let last = ids.last {
                    var next = query
                    next.after = String(last)
                    next.limit = String(limit)
                    let link = "/v1/records?" + URLForm.encode(next.fields)
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
                        let text = try await engine.records(matching: batch).map {
                            (csv ? $0.csvLine : $0.jsonLine) + lineEnd
                        }.joined()
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

    static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        Secret(a).matches(Secret(b))
    }
}

/// A refusal of a JSON route, thrown from anywhere in its handler and answered `{"error": MESSAGE}` with its
/// status: the shape docs/openapi.yaml gives every JSON refusal (Hummingbird's `HTTPError` answers another one).
struct JSONProblem: HTTPResponseError {
    let status: HTTPResponse.Status
    let message: String

    init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        JSONAPI.problem(status, message)
    }
}

/// The operators' routes (`/v1/records`, `/v1/admin/reload`): off (404) without a configured token, 401 with
/// `WWW-Authenticate: Bearer` without the right `Authorization: Bearer TOKEN`, compared in constant time.
///
/// Not hummingbird-auth's `BearerAuthenticator`: that one resolves a token to a user kept in the request
/// context (`AuthRequestContext`), and the operators' API has one shared token and no users yet, so the gateway
/// would need a context of its own for nothing. Operators with their own identities and roles come with the
/// web console, and with them that authenticator.
struct AdminTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String?

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    )
        async throws -> Response
    {
        guard let token, !token.isEmpty else {
            return JSONAPI.problem(.notFound, "the admin API is off: start the server with SELFCARE_ADMIN_TOKEN")
        }
        guard let auth = request.headers[.authorization], auth.hasPrefix("Bearer "),
            JSONAPI.constantTimeEquals(String(auth.dropFirst(7)), token)
        else {
            var response = JSONAPI.problem(.unauthorized, "a bearer token is required")
            response.headers[.wwwAuthenticate] = "Bearer"
            return response
        }
        return try await next(request, context)
    }
}

/// The body of `POST /v1/orders/answer`: billing's answer to one order. Every field optional here, so that a
/// missing one gets its own refusal.
struct OrderAnswerBody: Decodable {
    var key: String?
    var result: String?
    var reason: String?
}

/// The reply to `POST /v1/orders/answer`: the order and where it stands now.
struct OrderAnswerReply: Encodable {
    var order: Int64
    var state: String
}

/// The answer of `POST /v1/admin/reload`: `error` only when refused.
struct ReloadBody: Encodable {
    var reloaded: Bool
    var error: String?
}

/// The query of `GET /v1/records`. Every field is text here, so that each gets its own clear refusal.
struct RecordsQuery: Decodable {
    var subject: String?
    var since: String?
    var after: String?
    var limit: String?
    var format: String?

    /// The fields given, by name, for the next page's link.
    var fields: [(String, String)] {
        [("after", after), ("format", format), ("limit", limit), ("since", since), ("subject", subject)]
            .compactMap { name, value in value.map { (name, $0) } }
    }
}
