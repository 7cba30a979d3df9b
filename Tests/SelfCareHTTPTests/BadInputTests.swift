import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SelfCareChannels
import SelfCareCore
import SelfCareHTTP
import SelfCareStore
import SelfCareTesting
import Testing

/// One hostile or broken request.
struct BadRequest: Sendable, CustomStringConvertible {
    var method: HTTPRequest.Method = .get
    var uri: String
    var contentType: String?
    var body: [UInt8]?
    var description: String { "\(method) \(uri.prefix(80)) \(contentType ?? "")" }

    static func form(_ uri: String, _ body: String) -> BadRequest {
        BadRequest(method: .post, uri: uri, contentType: "application/x-www-form-urlencoded", body: Array(body.utf8))
    }

    static func json(_ uri: String, _ body: String) -> BadRequest {
        BadRequest(method: .post, uri: uri, contentType: "application/json", body: Array(body.utf8))
    }
}

let tenKB = String(repeating: "A", count: 10 * 1024)
let tenKBDigits = String(repeating: "7", count: 10 * 1024)

let badRequests: [BadRequest] = [
    // Kannel: empty, 10 KB, invalid UTF-8, control characters, emoji, SQL, enormous and unknown numbers.
    BadRequest(uri: "/sms/kannel?from=18612345678&text="),
    BadRequest(uri: "/sms/kannel?from=18612345678&text=\(tenKB)"),
    BadRequest(uri: "/sms/kannel?from=18612345678&text=%FF%FE%C3%28"),
    BadRequest(uri: "/sms/kannel?from=18612345678&text=%00%01%07%1B%7F"),
    BadRequest(uri: "/sms/kannel?from=18612345678&text=%F0%9F%98%80%E6%9F%A5%E4%BD%99%E9%A2%9D"),
    BadRequest(uri: "/sms/kannel?from=18612345678&text=%27%3B%20DROP%20TABLE%20records%3B%20--"),
    BadRequest(uri: "/sms/kannel?from=%27%3B%20DROP%20TABLE%20subscribers%3B--&text=CXYE"),
    BadRequest(uri: "/sms/kannel?from=999999999999999999999999999999999999&text=CXYE"),
    BadRequest(uri: "/sms/kannel?from=13900000000&text=CXYE"),
    BadRequest(uri: "/sms/kannel?from=18612345678&text=CXZD+\(tenKBDigits)"),
    BadRequest(uri: "/sms/kannel?from=18612345678&from=18611110001&text=CXYE&text=CXJF"),
    BadRequest(uri: "/sms/kannel?from=18612345678&text=%"),
    BadRequest(uri: "/sms/kannel?from=18612345678&text=%E6%9F"),
    BadRequest(uri: "/sms/kannel?&&&=&=="),
    .form("/sms/kannel", "from=186123&te"),
    .form("/sms/kannel", "from=18612345678&text=CX%"),
    BadRequest(
        method: .post, uri: "/sms/kannel?from=18612345678", contentType: "text/plain; charset=utf-8",
        body: [0xFF, 0xFE, 0x00, 0x41]),
    BadRequest(method: .post, uri: "/sms/kannel", contentType: "application/json", body: Array(#"{"from":"1"}"#.utf8)),
    BadRequest(
        method: .post, uri: "/sms/kannel", contentType: "multipart/form-data; boundary=x", body: Array("--x--".utf8)),
    BadRequest(method: .post, uri: "/sms/kannel", contentType: nil, body: Array(repeating: 0x41, count: 70_000)),
    // USSD: missing and duplicated fields, 10 KB of keys, control characters, invalid UTF-8.
    .form("/ussd/at", "sessionId=&serviceCode=*100%23&phoneNumber=18612345678"),
    .form("/ussd/at", "sessionId=b1&sessionId=b2&serviceCode=*100%23&phoneNumber=18612345678&text="),
    .form(
        "/ussd/at",
        "sessionId=b3&serviceCode=*100%23&phoneNumber=18612345678&text=\(String(repeating: "1*", count: 5000))"),
    .form("/ussd/at", "sessionId=b4&serviceCode=*100%23&phoneNumber=18612345678&text=%00%1B%FF"),
    .form("/ussd/at", "sessionId=\(String(repeating: "s", count: 1000))&serviceCode=*100%23&phoneNumber=18612345678"),
    .form("/ussd/at", "sessionId=b5&serviceCode=%FF%FE&phoneNumber=%F0%9F%98%80"),
    // JSON: malformed, wrong types, deep nesting, invalid UTF-8.
    .json("/v1/messages", "{"),
    .json("/v1/messages", #"{"channel":"sms","from":18612345678,"text":"CXYE"}"#),
    .json("/v1/messages", #"{"channel":"fax","from":"18612345678","text":"CXYE"}"#),
    .json("/v1/messages", String(repeating: "[", count: 5000)),
    BadRequest(method: .post, uri: "/v1/messages", contentType: "application/json", body: [0x7B, 0xFF, 0x7D]),
    .json("/v1/messages", #"{"channel":"sms","from":"18612345678","text":"\#(tenKB)"}"#),
    .json("/v1/ivr", #"{"call":"x","from":"18612345678","digits":123}"#),
    .json("/v1/ivr", #"{"call":"x","from":"18612345678","digits":"\#(tenKBDigits)"}"#),
    // VoiceXML: garbage events, long ids, 10 KB of digits for an unknown call.
    BadRequest(uri: "/ivr/vxml?call=nope&event=%00"),
    BadRequest(uri: "/ivr/vxml?call=\(String(repeating: "c", count: 500))"),
    .form("/ivr/vxml?call=nope&step=1", "digits=\(tenKBDigits)"),
    BadRequest(uri: "/ivr/vxml?from=%FF%FE"),
    // Operators' endpoints and unknown routes.
    BadRequest(uri: "/v1/records?subject=%27%20OR%201%3D1"),
    BadRequest(uri: "/nowhere"),
]

@Suite("Bad input over HTTP, on SQLite")
struct BadInputTests {
    @Test func everyBadRequestGetsAClearAnswerAndTheServerKeepsServingWithRecordsIntact() async throws {
        try await withTemporaryDatabase { store, _ in
            let app = try await sqliteGateway(
                store, subscribers: [Fixtures.subscriber(), Fixtures.subscriber("18611110001", language: .english)])
            try await app.test(.router) { client in
                for bad in badRequests {
                    var headers: HTTPFields = [:]
                    if let type = bad.contentType { headers[.contentType] = type }
                    try await client.execute(
                        uri: bad.uri, method: bad.method, headers: headers,
                        body: bad.body.map { ByteBuffer(bytes: $0) }
                    ) { response in
                        #expect(response.status.code < 500, "\(bad) → \(response.status)")
                        #expect(
                            response.body.readableBytes > 0 || response.status == .notFound,
                            "\(bad): every answer says something")
                        let text = String(buffer: response.body)
                        #expect(!text.contains(tenKBDigits.prefix(32)), "\(bad): the input is not echoed back")
                    }
                }
                // Still serving, tables intact, chain intact.
                try await client.execute(uri: "/sms/kannel?from=18612345678&text=CXYE", method: .get) { response in
                    #expect(String(buffer: response.body).contains("余额为123.45元"))
                }
                let subscribers = try await store.read { reader in try reader.subscriber("18612345678") }
                #expect(subscribers != nil)
                let report = try store.verifyRecords()
                #expect(report.firstBreak == nil)
                // Those that reached the engine; a form the decoder cannot read is refused before it.
                #expect(report.checked >= 12)
            }
        }
    }

    /// Forms are read by Hummingbird's `URLEncodedFormDecoder`: invalid UTF-8 becomes U+FFFD and gets the polite
    /// reply; what it cannot read gets 400 naming the field, never repeating a value (it may hold a password).
    @Test func formsTheDecoderCannotReadAreRefusedNamingTheFieldNeverTheValue() async throws {
        try await withTemporaryDatabase { store, _ in
            let app = try await sqliteGateway(
                store, subscribers: [Fixtures.subscriber(), Fixtures.subscriber("18611110001", language: .english)])
            try await app.test(.router) { client in
                let refused: [(BadRequest, String)] = [
                    (
                        BadRequest(uri: "/sms/kannel?from=18612345678&from=18611110001&text=CXYE"),
                        "`from` is given twice"
                    ),
                    (
                        .form("/sms/kannel?from=18612345678&text=CXYE", "text=CXZD+258036"),
                        "`text` is given twice"
                    ),
                    (
                        BadRequest(uri: "/sms/kannel?from=18612345678&text=CXZD+258036%"),
                        "a `%` not followed by two hex digits"
                    ),
                    (
                        .form("/ussd/at", "sessionId=s1&serviceCode=*100%23&phoneNumber=18612345678&text[]=258036"),
                        "each is a single value"
                    ),
                    (.form("/ussd/at", "sessionId=s2&phone[258036=1"), "brackets"),
                    (BadRequest(uri: "/ivr/vxml?call=c1&step=1&step=2&digits=258036"), "`step` is given twice"),
                    // A name of password digits is not repeated either (a hostile pass found it was).
                    (BadRequest(uri: "/sms/kannel?from=18612345678&text=CXYE&258036=1&258036=2"), "a field is given"),
                    (
                        .form(
                            "/ussd/at",
                            "sessionId=h1&serviceCode=*100%23&phoneNumber=18612345678&text=1&258036=&258036="),
                        "a field is given twice"
                    ),
                    (.form("/ivr/vxml?call=h2&step=1", "digits=1&x[p258036]=1&x[p258036]=2"), "a field is given"),
                ]
                for (bad, reason) in refused {
                    var headers: HTTPFields = [:]
                    if let type = bad.contentType { headers[.contentType] = type }
                    try await client.execute(
                        uri: bad.uri, method: bad.method, headers: headers, body: bad.body.map { ByteBuffer(bytes: $0) }
                    ) { response in
                        let text = String(buffer: response.body)
                        #expect(response.status == .badRequest, "\(bad)")
                        #expect(text.contains(reason), "\(bad): \(text)")
                        #expect(!text.contains("258036"), "\(bad): a value is repeated: \(text)")
                    }
                }
                // An empty text/plain body is no second `text`, as an empty form body is no field.
                for type in ["text/plain;charset=UTF-8", "application/x-www-form-urlencoded"] {
                    try await client.execute(
                        uri: "/sms/kannel?from=18612345678&text=CXYE&id=e-\(type.prefix(4))", method: .post,
                        headers: [.contentType: type], body: ByteBuffer()
                    ) { response in
                        #expect(response.status == .ok, "\(type): \(String(buffer: response.body))")
                    }
                }
                // Nothing of the refused reached the engine.
                #expect(try store.verifyRecords().checked == 2)
                // Invalid UTF-8 is a polite reply, the text recorded with U+FFFD where the bytes were.
                try await client.execute(
                    uri: "/sms/kannel?from=18611110001&text=CX%FF%FEYE&id=u1", method: .get
                ) { response in
                    #expect(response.status == .ok)
                    #expect(response.body.readableBytes > 0)
                }
                var records: [ServiceRecord] = []
                try store.forEachRecord(matching: RecordFilter()) { records.append($0) }
                #expect(records.count == 3)
                #expect(records.last?.reason == "unknown_command", "\(records)")
                #expect(records.last?.inputs.contains("CX\u{FFFD}\u{FFFD}YE") == true, "\(records)")
            }
        }
    }

    @Test func aFullDatabaseNeverGetsAReplyThatClaimsSuccess() async throws {
        try await withTemporaryDatabase { store, _ in
            let app = try await sqliteGateway(
                store, subscribers: [Fixtures.subscriber("18611110001", language: .english)])
            try await app.test(.router) { client in
                try await client.execute(
                    uri: "/sms/kannel?from=18611110001&text=LOST+258036&id=f1", method: .get
                ) { response in
                    #expect(String(buffer: response.body).contains("will be reported lost"))
                }
                // The disk is full: the writer's connection may not grow the file by a page, and the pages
                // it has are filled with records until a write fails.
                let pages = try await store.integerRaw("PRAGMA page_count") ?? 1
                _ = try await store.integerRaw("PRAGMA max_page_count = \(pages)")
                var filled = 0
                for i in 0..<100_000 {
                    let draft = RecordDraft(
                        time: Fixtures.midNovember, channel: .api, session: "fill-\(i)", caller: "18611110001",
                        subject: "18611110001",
                        operation: "query.balance", inputs: [:], auth: .none, result: .ok, reason: .ok,
                        reply: "filler", durationMS: 0)
                    do {
                        _ = try await store.write { try $0.append(draft) }
                        filled += 1
                    } catch {
                        break
                    }
                }
                #expect(filled < 100_000, "the database filled up")
                var seen: [String] = []
                for i in 0..<40 {
                    try await client.execute(
                        uri: "/sms/kannel?from=18611110001&text=Y&id=f-y\(i)", method: .get
                    ) { response in
                        #expect(response.status == .ok)
                        seen.append(String(buffer: response.body))
                    }
                }
                #expect(
                    !seen.contains { $0.contains("was reported lost") }, "no reply claims success: \(seen.last ?? "")")
                #expect(seen.allSatisfy { $0 == "The system is busy. Please try again later." }, "\(seen.first ?? "")")
                #expect(try await store.read { try $0.subscriber("18611110001")?.status } == .normal)
            }
        }
    }

    @Test func aReadOnlyDatabaseRefusesClearlyAndChangesNothing() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir.appendingPathComponent("ro.sqlite").path
            do {
                let store = try SQLiteServiceStore(path: path)
                try await Fixtures.seed(store, subscribers: [Fixtures.subscriber("18611110001", language: .english)])
            }
            var configuration = SQLiteStoreConfiguration()
            configuration.readonly = true
            let store = try SQLiteServiceStore(path: path, configuration: configuration)
            let engine = try Fixtures.engine(store: store)
            let grammars = try GrammarSet(
                directory: Fixtures.repositoryRoot.appendingPathComponent("grammars").path,
                prompts: try Fixtures.shippedPrompts())
            let channels = GatewayChannels(
                sms: SMSChannel(engine: engine, grammars: grammars),
                ussd: USSDChannel(engine: engine, grammars: grammars),
                ivr: IVRChannel(engine: engine, grammars: grammars))
            let app = Application(router: Gateway.router(channels, configuration: GatewayConfiguration()))
            try await app.test(.router) { client in
                try await client.execute(
                    uri: "/ussd/at", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                    body: ByteBuffer(
                        string: "sessionId=ro1&serviceCode=*100%23&phoneNumber=18611110001&text=2*1*258036*1")
                ) { response in
                    let text = String(buffer: response.body)
                    #expect(response.status == .ok)
                    #expect(!text.contains("was reported lost"), "\(text)")
                    #expect(text.contains("The system is busy"), "\(text)")
                }
            }
            #expect(try await store.read { try $0.subscriber("18611110001")?.status } == .normal)
        }
    }
}
