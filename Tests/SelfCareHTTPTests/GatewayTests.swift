import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SelfCareChannels
import SelfCareCore
import SelfCareHTTP
import SelfCareTesting
import Testing

/// The gateway's router over a memory store with the shipped grammars and prompts.
func gateway(
    cumulative: Bool = true, adminToken: String? = nil, metrics: Bool = false
) async throws -> (Application<RouterResponder<BasicRequestContext>>, MemoryServiceStore) {
    let store = MemoryServiceStore()
    try await Fixtures.seed(
        store, subscribers: [Fixtures.subscriber(), Fixtures.subscriber("18611110001", language: .english)])
    // Each gateway has a registry of its own, so tests running side by side do not count each other.
    let gatewayMetrics = metrics ? GatewayMetrics() : nil
    var engineConfiguration = EngineConfiguration()
    engineConfiguration.metrics = gatewayMetrics?.factory
    let engine = try Fixtures.engine(store: store, configuration: engineConfiguration)
    let grammars = try GrammarSet(
        directory: Fixtures.repositoryRoot.appendingPathComponent("grammars").path,
        prompts: try Fixtures.shippedPrompts())
    let channels = GatewayChannels(
        sms: SMSChannel(engine: engine, grammars: grammars), ussd: USSDChannel(engine: engine, grammars: grammars),
        ivr: IVRChannel(engine: engine, grammars: grammars))
    var configuration = GatewayConfiguration()
    configuration.ussdCumulativeText = cumulative
    configuration.adminToken = adminToken
    configuration.metrics = gatewayMetrics
    return (Application(router: Gateway.router(channels, configuration: configuration)), store)
}

@Suite("HTTP gateway")
struct GatewayTests {
    @Test func healthz() async throws {
        let (app, _) = try await gateway()
        try await app.test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == "ok\n")
            }
        }
    }

    @Test func kannelGetAnswersWithTheReplyAndTheCoding() async throws {
        let (app, _) = try await gateway()
        try await app.test(.router) { client in
            try await client.execute(uri: "/sms/kannel?from=18612345678&to=10010&text=CXYE", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/plain; charset=utf-8")
                #expect(response.headers[HTTPField.Name("X-Kannel-Coding")!] == "2")
                #expect(String(buffer: response.body).contains("余额为123.45元"))
            }
            try await client.execute(uri: "/sms/kannel?from=18611110001&text=points", method: .get) { response in
                #expect(response.headers[HTTPField.Name("X-Kannel-Coding")!] == nil, "English fits GSM 7-bit")
                #expect(String(buffer: response.body) == "You have 3200 points.")
            }
            // Chinese percent-encoded, spaces as +, as Kannel's %a sends them.
            try await client.execute(
                uri: "/sms/kannel?from=18612345678&text=%E6%9F%A5%E8%B4%A6%E5%8D%95+258036", method: .get
            ) { response in
                #expect(
                    String(buffer: response.body).hasPrefix("暂未查询到") || String(buffer: response.body).contains("账单"))
            }
        }
    }

    @Test func kannelPostFormAndMistakes() async throws {
        let (app, _) = try await gateway()
        try await app.test(.router) { client in
            try await client.execute(
                uri: "/sms/kannel", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: "from=18612345678&to=10010&text=CXJF&id=k1")
            ) { response in
                #expect(String(buffer: response.body) == "尊敬的客户，您当前可用积分为3200分。")
            }
            try await client.execute(uri: "/sms/kannel?text=CXYE", method: .get) { response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body).contains("missing `from`"))
            }
            try await client.execute(uri: "/sms/kannel?from=18612345678&text=hello", method: .get) { response in
                #expect(response.status == .ok, "a customer's mistake gets a polite reply, not an HTTP error")
                #expect(String(buffer: response.body).hasPrefix("查余额发CXYE"))
            }
            try await client.execute(
                uri: "/sms/kannel", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: "{}")
            ) { response in
                #expect(response.status == .unsupportedMediaType)
            }
            try await client.execute(
                uri: "/sms/kannel?from=18612345678", method: .post,
                headers: [.contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: "text=" + String(repeating: "a", count: 70_000))
            ) { response in
                #expect(response.status == .contentTooLarge)
            }
        }
    }

    @Test func ussdAggregatorWithCumulativeText() async throws {
        let (app, store) = try await gateway()
        @Sendable func post(_ text: String) -> ByteBuffer {
            ByteBuffer(
                string:
                    "sessionId=at-1&serviceCode=%2A100%23&phoneNumber=%2B8618612345678&networkCode=46001&text=\(text)")
        }
        let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
        try await app.test(.router) { client in
            try await client.execute(uri: "/ussd/at", method: .post, headers: form, body: post("")) { response in
                #expect(String(buffer: response.body).hasPrefix("CON 中国联通自助服务\n1. 查询"))
            }
            try await client.execute(uri: "/ussd/at", method: .post, headers: form, body: post("1")) { response in
                #expect(String(buffer: response.body).hasPrefix("CON 查询"))
            }
            try await client.execute(uri: "/ussd/at", method: .post, headers: form, body: post("1%2A1")) { response in
                #expect(String(buffer: response.body).hasPrefix("END 尊敬的张伟客户"))
            }
            try await client.execute(
                uri: "/ussd/at", method: .post, headers: form,
                body: ByteBuffer(string: "sessionId=at-2&serviceCode=*100%23&phoneNumber=18612345678&text=1*3")
            ) { response in
                #expect(
                    String(buffer: response.body).hasPrefix("END 尊敬的客户，您本月已使用流量"), "a first request may carry inputs")
            }
            try await client.execute(uri: "/ussd/at", method: .post, headers: form, body: ByteBuffer(string: "text=1"))
            { response in
                #expect(response.status == .badRequest)
            }
        }
        var records: [ServiceRecord] = []
        try store.forEachRecord(matching: RecordFilter()) { records.append($0) }
        #expect(records.map(\.session) == ["at-1", "at-2"], "\(records.map(\.jsonLine))")
    }

    @Test func aRepeatedUSSDRequestGetsTheSameScreen() async throws {
        let (app, _) = try await gateway()
        let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
        @Sendable func post(_ text: String) -> ByteBuffer {
            ByteBuffer(string: "sessionId=r1&serviceCode=*100%23&phoneNumber=18612345678&text=\(text)")
        }
        try await app.test(.router) { client in
            _ = try await client.execute(uri: "/ussd/at", method: .post, headers: form, body: post(""))
            let first = try await client.execute(uri: "/ussd/at", method: .post, headers: form, body: post("1"))
            let again = try await client.execute(uri: "/ussd/at", method: .post, headers: form, body: post("1"))
            #expect(String(buffer: first.body).hasPrefix("CON 查询"))
            #expect(String(buffer: again.body) == String(buffer: first.body))
        }
    }

    @Test func ussdAggregatorWithCurrentInputOnly() async throws {
        let (app, _) = try await gateway(cumulative: false)
        let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
        @Sendable func post(_ text: String) -> ByteBuffer {
            ByteBuffer(string: "sessionId=s9&serviceCode=*100%23&phoneNumber=18612345678&text=\(text)")
        }
        try await app.test(.router) { client in
            _ = try await client.execute(uri: "/ussd/at", method: .post, headers: form, body: post(""))
            _ = try await client.execute(uri: "/ussd/at", method: .post, headers: form, body: post("1"))
            try await client.execute(uri: "/ussd/at", method: .post, headers: form, body: post("4")) { response in
                #expect(String(buffer: response.body).hasPrefix("END 尊敬的客户，您当前可用积分为3200分"))
            }
        }
    }
}

@Suite("HTTP gateway on a real socket")
struct LiveGatewayTests {
    @Test func kannelAndUSSDOverTCP() async throws {
        let (app, _) = try await gateway()
        try await app.test(.live) { client in
            try await client.execute(
                uri: "/sms/kannel?from=18612345678&to=10010&text=%E6%9F%A5%E4%BD%99%E9%A2%9D", method: .get
            ) {
                response in
                #expect(response.status == .ok)
                #expect(response.headers[HTTPField.Name("X-Kannel-Coding")!] == "2")
                #expect(String(buffer: response.body).contains("余额为123.45元"))
            }
            try await client.execute(
                uri: "/ussd/at", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: "sessionId=live&serviceCode=*100*1*4%23&phoneNumber=18612345678&text=")
            ) { response in
                #expect(String(buffer: response.body) == "END 尊敬的客户，您当前可用积分为3200分。")
            }
        }
    }

    @Test func ivrAsJSONAndAsVoiceXMLOverTCP() async throws {
        let (app, _) = try await gateway()
        try await app.test(.live) { client in
            try await client.execute(
                uri: "/v1/ivr", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"call":"live-1","from":"18612345678","start":true}"#)
            ) { response in
                #expect(String(buffer: response.body).contains(#""type":"collect""#))
            }
            try await client.execute(
                uri: "/v1/ivr", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"call":"live-1","from":"18612345678","digits":"14"}"#)
            ) { response in
                #expect(String(buffer: response.body).contains("3200"))
            }
            let next = try await client.execute(uri: "/ivr/vxml?from=18612345678", method: .get) { response in
                #expect(response.headers[.contentType] == "application/voicexml+xml; charset=utf-8")
                return try #require(try VXMLDocument(String(buffer: response.body)).next)
            }
            try await client.execute(
                uri: "/ivr/" + next, method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: "digits=14")
            ) { response in
                let doc = try VXMLDocument(String(buffer: response.body))
                #expect(doc.first("prompt")?.text == "尊敬的客户，您当前可用积分为3200分。")
            }
        }
    }
}

@Suite("JSON APIs")
struct JSONAPITests {
    func makeApp(
        token: String? = "s3cret"
    ) async throws -> (
        Application<RouterResponder<BasicRequestContext>>, MemoryServiceStore
    ) {
        try await gateway(adminToken: token)
    }

    static let json: HTTPFields = [.contentType: "application/json"]

    func object(_ buffer: ByteBuffer) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any])
    }

    @Test func messagesForSMSAndUSSD() async throws {
        let (app, _) = try await makeApp()
        try await app.test(.router) { client in
            try await client.execute(
                uri: "/v1/messages", method: .post, headers: Self.json,
                body: ByteBuffer(string: #"{"channel":"sms","from":"18612345678","text":"CXJF","id":"j1"}"#)
            ) { response in
                let o = try object(response.body)
                #expect(o["reply"] as? String == "尊敬的客户，您当前可用积分为3200分。")
                #expect(o["encoding"] as? String == "ucs2")
                #expect(o["reason"] as? String == "ok")
                #expect(o["record"] as? Int == 1)
            }
            try await client.execute(
                uri: "/v1/messages", method: .post, headers: Self.json,
                body: ByteBuffer(string: #"{"channel":"ussd","from":"18612345678","session":"u1","code":"*100*1*4#"}"#)
            ) { response in
                let o = try object(response.body)
                #expect(o["ends"] as? Bool == true)
                #expect((o["screen"] as? String)?.hasPrefix("尊敬的客户") == true)
            }
            try await client.execute(
                uri: "/v1/messages", method: .post, headers: Self.json, body: ByteBuffer(string: "[1]")
            ) {
                #expect($0.status == .badRequest)
            }
            try await client.execute(uri: "/v1/messages", method: .post, body: ByteBuffer(string: "{}")) {
                #expect($0.status == .unsupportedMediaType)
            }
        }
    }

    @Test func ivrActionsAsJSON() async throws {
        let (app, _) = try await makeApp()
        try await app.test(.router) { client in
            try await client.execute(
                uri: "/v1/ivr", method: .post, headers: Self.json,
                body: ByteBuffer(string: #"{"call":"c1","from":"18612345678","start":true}"#)
            ) { response in
                let actions = try #require(try object(response.body)["actions"] as? [[String: Any]])
                #expect(actions.first?["type"] as? String == "collect")
                #expect(actions.first?["maxDigits"] as? Int == 1)
                #expect(actions.first?["terminator"] as? String == "#")
            }
            try await client.execute(
                uri: "/v1/ivr", method: .post, headers: Self.json,
                body: ByteBuffer(string: #"{"call":"c1","from":"18612345678","digits":"0"}"#)
            ) { response in
                let actions = try #require(try object(response.body)["actions"] as? [[String: Any]])
                #expect(actions.last?["type"] as? String == "transfer")
                #expect(actions.last?["queue"] as? String == "agent-vip")
            }
        }
    }

    @Test func recordsNeedTheBearerToken() async throws {
        let (app, _) = try await makeApp()
        try await app.test(.router) { client in
            _ = try await client.execute(uri: "/sms/kannel?from=18612345678&text=CXYE", method: .get)
            try await client.execute(uri: "/v1/records", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/v1/records", method: .get, headers: [.authorization: "Bearer wrong"]) {
                #expect($0.status == .unauthorized)
            }
            try await client.execute(
                uri: "/v1/records?subject=18612345678&format=jsonl", method: .get,
                headers: [.authorization: "Bearer s3cret"]
            ) { response in
                #expect(response.status == .ok)
                let lines = String(buffer: response.body).split(separator: "\n")
                #expect(lines.count == 1 && lines[0].contains("\"operation\":\"query.balance\""))
            }
            try await client.execute(
                uri: "/v1/records?format=csv", method: .get, headers: [.authorization: "Bearer s3cret"]
            ) {
                #expect(String(buffer: $0.body).hasPrefix("id,time,channel"))
            }
        }
        let (off, _) = try await makeApp(token: nil)
        try await off.test(.router) { client in
            try await client.execute(uri: "/v1/records", method: .get, headers: [.authorization: "Bearer s3cret"]) {
                #expect($0.status == .notFound, "no token configured: the endpoint is off")
            }
        }
    }
}

@Suite("Reload")
struct ReloadTests {
    @Test func theAdminReloadSwapsOrRefusesAndTheOldGrammarStays() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("reload-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = try String(
            contentsOf: Fixtures.repositoryRoot.appendingPathComponent("grammars/sms.grammar"), encoding: .utf8)
        let file = dir.appendingPathComponent("sms.grammar")
        try good.write(to: file, atomically: true, encoding: .utf8)
        let store = MemoryServiceStore()
        try await Fixtures.seed(store, subscribers: [Fixtures.subscriber()])
        let engine = try Fixtures.engine(store: store)
        let prompts = try Fixtures.shippedPrompts()
        let grammars = try GrammarSet(directory: dir.path, prompts: prompts)
        let channels = GatewayChannels(
            sms: SMSChannel(engine: engine, grammars: grammars), ussd: USSDChannel(engine: engine, grammars: grammars),
            ivr: IVRChannel(engine: engine, grammars: grammars))
        var configuration = GatewayConfiguration()
        configuration.adminToken = "t"
        configuration.reload = { try grammars.reload(directory: dir.path, prompts: prompts) }
        let app = Application(router: Gateway.router(channels, configuration: configuration))
        let auth: HTTPFields = [.authorization: "Bearer t"]
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/admin/reload", method: .post) { #expect($0.status == .unauthorized) }
            try good.replacingOccurrences(of: "CXJF |", with: "CXJF | JIFEN |")
                .write(to: file, atomically: true, encoding: .utf8)
            try await client.execute(uri: "/v1/admin/reload", method: .post, headers: auth) {
                #expect($0.status == .ok)
            }
            try await client.execute(uri: "/sms/kannel?from=18612345678&text=jifen", method: .get) {
                #expect(String(buffer: $0.body).contains("3200"), "the new keyword works")
            }
            try good.replacingOccurrences(of: "{op = query.points}", with: "{op = query.pionts}")
                .write(to: file, atomically: true, encoding: .utf8)
            try await client.execute(uri: "/v1/admin/reload", method: .post, headers: auth) { response in
                #expect(response.status == .unprocessableContent)
                #expect(String(buffer: response.body).contains("query.pionts"))
            }
            try await client.execute(uri: "/sms/kannel?from=18612345678&text=jifen", method: .get) {
                #expect(String(buffer: $0.body).contains("3200"), "a broken reload keeps the working grammar")
            }
        }
    }
}

@Suite("Records over HTTP")
struct RecordPagesTests {
    /// `GET /v1/records` comes in pages: a limit (1,000 by default, 10,000 at most) and a cursor in
    /// `X-Next-After` and `Link`; following the pages gives every record once, in order.
    @Test func recordsComeInPagesWithACursor() async throws {
        let (app, store) = try await gateway(adminToken: "s3cret")
        try await store.write { w in
            for n in 0..<2_600 {
                _ = try w.append(
                    RecordDraft(
                        time: Fixtures.midNovember, channel: .api, session: nil, caller: "18612345678",
                        subject: n % 2 == 0 ? "18612345678" : "18611110001", operation: "query.balance", inputs: [:],
                        auth: .none, result: .ok, reason: .ok, reply: "r\(n)", durationMS: 0))
            }
        }
        let auth: HTTPFields = [.authorization: "Bearer s3cret"]
        try await app.test(.router) { client in
            var seen: [Int] = []
            var uri: String? = "/v1/records"
            var pages = 0
            while let next = uri {
                try await client.execute(uri: next, method: .get, headers: auth) { response in
                    #expect(response.status == .ok)
                    let lines = String(buffer: response.body).split(separator: "\n")
                    #expect(lines.count <= 1_000)
                    for line in lines {
                        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                        seen.append(object?["id"] as? Int ?? -1)
                    }
                    uri = response.headers[HTTPField.Name("Link")!].flatMap { link in
                        link.firstIndex(of: ">").map { String(link[link.index(after: link.startIndex)..<$0]) }
                    }
                    if uri != nil { #expect(response.headers[HTTPField.Name("X-Next-After")!] == String(seen.last!)) }
                }
                pages += 1
            }
            #expect(pages == 3)
            #expect(seen == Array(1...2_600))
            try await client.execute(
                uri: "/v1/records?subject=18611110001&limit=300&after=1000&format=csv", method: .get, headers: auth
            ) { response in
                // CSV lines end in CRLF (RFC 4180): one Character in Swift.
                let lines = String(buffer: response.body).split(separator: "\r\n")
                #expect(lines.count == 301, "a header and 300 rows")
                #expect(String(buffer: response.body).hasSuffix("\r\n"))
                #expect(lines[1].hasPrefix("1002,"))
                #expect(response.headers[HTTPField.Name("X-Next-After")!] == "1600")
            }
            for bad in ["limit=0", "limit=10001", "limit=x", "after=-1", "after=one"] {
                try await client.execute(uri: "/v1/records?\(bad)", method: .get, headers: auth) {
                    #expect($0.status == .badRequest, "\(bad)")
                }
            }
        }
    }
}
