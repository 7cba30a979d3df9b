import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SelfCareCore
import SelfCareTesting
import Testing

@testable import SelfCareHTTP

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// What a voice browser would read in a document: elements with their attributes and text.
final class VXMLDocument: NSObject, XMLParserDelegate {
    struct Element {
        var name: String
        var attributes: [String: String]
        var text = ""
    }

    private(set) var elements: [Element] = []
    private var open: [Int] = []
    let raw: String

    init(_ text: String) throws {
        raw = text
        super.init()
        let parser = XMLParser(data: Data(text.utf8))
        parser.delegate = self
        parser.shouldProcessNamespaces = false
        guard parser.parse() else {
            throw VXMLError(message: "not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "?")\n\(text)")
        }
    }

    func parser(
        _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String]
    ) {
        elements.append(Element(name: name, attributes: attributes))
        open.append(elements.count - 1)
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        for i in open { elements[i].text += string }
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        open.removeLast()
    }

    func all(_ name: String) -> [Element] { elements.filter { $0.name == name } }
    func first(_ name: String) -> Element? { elements.first { $0.name == name } }

    /// The submit target of the field's `<filled>` (`vxml?call=…`).
    var next: String? {
        guard let filled = elements.firstIndex(where: { $0.name == "filled" }) else { return nil }
        return elements[filled...].first { $0.name == "submit" }?.attributes["next"]
    }

    /// The keys a menu's DTMF grammar lists (the items of its `<one-of>`, for a one-key step).
    var keys: [String] {
        guard let rule = elements.firstIndex(where: { $0.name == "rule" }) else { return [] }
        return elements[rule...].filter { $0.name == "item" }.map(\.text)
    }

    /// Whether the grammar is a digit entry (`<item repeat="1-N">`), and its N.
    var entryLength: Int? {
        guard let item = elements.first(where: { $0.name == "item" && $0.attributes["repeat"] != nil }),
            let n = item.attributes["repeat"]?.split(separator: "-").last
        else { return nil }
        return Int(n)
    }
}

struct VXMLError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

@Suite("VoiceXML adapter")
struct VoiceXMLTests {
    static let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

    func fetch(_ client: some TestClientProtocol, _ uri: String, body: String? = nil) async throws -> VXMLDocument {
        try await client.execute(
            uri: "/ivr/" + uri, method: body == nil ? .get : .post, headers: body == nil ? [:] : Self.form,
            body: body.map { ByteBuffer(string: $0) }
        ) { response in
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/voicexml+xml; charset=utf-8")
            return try VXMLDocument(String(buffer: response.body))
        }
    }

    @Test func aFirstRequestWithoutTheCallerAsksTheBrowserForIt() async throws {
        let (app, _) = try await gateway()
        try await app.test(.router) { client in
            let doc = try await fetch(client, "vxml")
            #expect(doc.first("vxml")?.attributes["version"] == "2.1")
            #expect(doc.first("var")?.attributes["expr"] == "session.connection.remote.uri")
            #expect(doc.first("submit")?.attributes["namelist"] == "from")
            #expect(doc.first("submit")?.attributes["next"] == "vxml")
        }
    }

    @Test func menusHaveDTMFGrammarsTimeoutsAndTermchar() async throws {
        let (app, _) = try await gateway()
        try await app.test(.router) { client in
            // The caller as the browser's session.connection.remote.uri gives it.
            let start = try await fetch(client, "vxml", body: "from=tel%3A%2B8618612345678")
            #expect(start.first("vxml")?.attributes["xml:lang"] == "zh-CN")
            let grammar = try #require(start.first("grammar"))
            #expect(grammar.attributes["mode"] == "dtmf")
            #expect(grammar.attributes["version"] == "1.0")
            // The gold caller's VIP menu: its option keys, 0 for an agent, * back; # is the termchar.
            #expect(start.keys == ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "*"])
            let properties = Dictionary(
                start.all("property").map { ($0.attributes["name"] ?? "", $0.attributes["value"] ?? "") },
                uniquingKeysWith: { a, _ in a })
            #expect(properties["termchar"] == "#")
            #expect(properties["timeout"] == "5s")
            #expect(properties["interdigittimeout"] == "3s")
            #expect(properties["inputmodes"] == "dtmf")
            #expect(start.first("prompt")?.text.contains("查询请按1") == true)
            let next = try #require(start.next)
            #expect(next.hasPrefix("vxml?call=vx-"))
            #expect(start.first("noinput") != nil && start.first("nomatch") != nil)
            #expect(start.first("catch")?.attributes["event"] == "connection.disconnect.hangup")
            // Key 1 → the queries menu; 4 → the points, played before the menu again.
            let queries = try await fetch(client, next, body: "digits=1")
            #expect(queries.first("prompt")?.text.hasPrefix("查询") == true)
            let points = try await fetch(client, next, body: "digits=4")
            #expect(points.all("prompt").first?.text == "尊敬的客户，您当前可用积分为3200分。")
            #expect(points.first("block") != nil && points.first("field") != nil)
        }
    }

    @Test func noMatchAndNoInputAreCountedOnTheServerAndTheThirdTransfers() async throws {
        let (app, _) = try await gateway()
        try await app.test(.router) { client in
            let start = try await fetch(client, "vxml?from=18611110001")
            #expect(start.first("vxml")?.attributes["xml:lang"] == "en-US")
            let next = try #require(start.next)
            let first = try await fetch(client, next + "&event=nomatch", body: "")
            #expect(first.first("prompt")?.text.hasPrefix("Sorry") == true, "\(first.raw)")
            // Each document's submits carry the next step; a retry of the same step gets the same document.
            let again = try await fetch(client, next + "&event=nomatch", body: "")
            #expect(again.raw == first.raw)
            let second = try await fetch(client, try #require(first.next) + "&event=noinput", body: "")
            #expect(second.first("field") != nil)
            let third = try await fetch(client, try #require(second.next) + "&event=nomatch", body: "")
            #expect(third.first("field") != nil, "no-input and no-match are counted apart")
            let fourth = try await fetch(client, try #require(third.next) + "&event=nomatch", body: "")
            let transfer = try #require(fourth.first("transfer"), "\(fourth.raw)")
            // The fixture callers are gold: the VIP queue, at gold's priority.
            #expect(transfer.attributes["dest"] == "sip:agent-vip@localhost")
            #expect(transfer.attributes["type"] == "blind")
            #expect(transfer.attributes["aai"] == "queue=agent-vip;priority=3")
            // The call is over: a late request gets a document that ends it.
            let late = try await fetch(client, next, body: "digits=1")
            #expect(late.first("disconnect") != nil)
        }
    }

    @Test func passwordEntryTakesDigitsEndedByHashAndNeverEchoesThem() async throws {
        let (app, store) = try await gateway()
        try await app.test(.router) { client in
            let start = try await fetch(client, "vxml?from=18611110001")
            let queries = try await fetch(client, try #require(start.next), body: "digits=1")
            // History bill: first the month, optional; no input skips it; then the password.
            let month = try await fetch(client, try #require(queries.next), body: "digits=5")
            let ask = try await fetch(client, try #require(month.next) + "&event=noinput", body: "")
            #expect(month.first("prompt")?.text != ask.first("prompt")?.text)
            #expect(ask.entryLength == 6)
            #expect(ask.raw.contains("<item>*</item>"), "* goes back")
            #expect(ask.raw.contains(#"<ruleref special="NULL"/>"#), "# alone is an empty entry")
            var seen = [ask.raw]
            // Some browsers hand a DTMF entry over with its keys spaced.
            let answer = try await fetch(client, try #require(ask.next), body: "digits=2+5+8+0+3+6")
            seen.append(answer.raw)
            #expect(answer.first("field") != nil, "the bill is played, then the menu again")
            #expect(answer.all("prompt").count == 2)
            #expect(!seen.joined().contains("258036"))
            var records: [ServiceRecord] = []
            try store.forEachRecord(matching: RecordFilter()) { records.append($0) }
            #expect(!records.map { "\($0.reply) \($0.inputs)" }.joined().contains("258036"))
            #expect(records.last?.channel == "ivr")
            #expect(records.last?.operation == "query.bill")
            #expect(records.last?.auth == "ok", "the spaced keys were the right password")
        }
    }

    @Test func retriesSentTogetherAreHandledOnceOnEveryIVRAndUSSDAdapter() async throws {
        let (app, store) = try await gateway()
        try await app.test(.router) { client in
            func points() throws -> Int {
                var n = 0
                try store.forEachRecord(matching: RecordFilter()) {
                    if $0.operation == "query.points" && $0.reason == "ok" { n += 1 }
                }
                return n
            }
            // VoiceXML: the same step submitted twice at once.
            let start = try await fetch(client, "vxml?from=18611110001")
            let queries = try await fetch(client, try #require(start.next), body: "digits=1")
            let next = try #require(queries.next)
            async let a = fetch(client, next, body: "digits=4")
            async let b = fetch(client, next, body: "digits=4")
            let (first, second) = try await (a, b)
            #expect(first.raw == second.raw)
            #expect(try points() == 1)
            // IVR JSON with a step counter.
            let form: HTTPFields = [.contentType: "application/json"]
            try await client.execute(
                uri: "/v1/ivr", method: .post, headers: form,
                body: ByteBuffer(string: #"{"call":"r1","from":"18611110001","start":true,"step":0}"#)
            ) { _ in }
            let body = #"{"call":"r1","from":"18611110001","digits":"14","step":1}"#
            async let c = client.execute(uri: "/v1/ivr", method: .post, headers: form, body: ByteBuffer(string: body))
            async let d = client.execute(uri: "/v1/ivr", method: .post, headers: form, body: ByteBuffer(string: body))
            let (third, fourth) = try await (c, d)
            #expect(String(buffer: third.body) == String(buffer: fourth.body))
            #expect(try points() == 2)
            // USSD: the request that ends the session, twice at once.
            let ussd: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
            let ending = "sessionId=r2&serviceCode=*100%23&phoneNumber=18611110001&text=1*4"
            async let e = client.execute(
                uri: "/ussd/at", method: .post, headers: ussd, body: ByteBuffer(string: ending))
            async let f = client.execute(
                uri: "/ussd/at", method: .post, headers: ussd, body: ByteBuffer(string: ending))
            let (fifth, sixth) = try await (e, f)
            #expect(String(buffer: fifth.body) == String(buffer: sixth.body))
            #expect(String(buffer: fifth.body).hasPrefix("END "))
            #expect(try points() == 3)
            // The same USSD session id from another phone is a new session, never the first one's screen.
            try await client.execute(
                uri: "/ussd/at", method: .post, headers: ussd,
                body: ByteBuffer(string: "sessionId=r2&serviceCode=*100%23&phoneNumber=18612345678&text=1*4")
            ) { response in
                #expect(String(buffer: response.body).contains("积分为3200分"), "the other caller's own points, in Chinese")
            }
            #expect(try points() == 4)
        }
    }

    @Test func aHangUpEndsTheCallAndBadCallersAreRefused() async throws {
        let (app, _) = try await gateway()
        try await app.test(.router) { client in
            let start = try await fetch(client, "vxml?from=sip:18612345678@gw.example;user=phone")
            let next = try #require(start.next)
            let bye = try await fetch(client, next + "&event=hangup", body: "")
            #expect(bye.first("exit") != nil)
            // A withheld caller id: a goodbye the browser can play, not an HTTP error.
            let anonymous = try await fetch(client, "vxml?from=sip:anonymous@invalid")
            #expect(anonymous.first("disconnect") != nil)
            #expect(anonymous.first("prompt")?.text.isEmpty == false)
            try await client.execute(uri: "/ivr/vxml?call=x&event=boom", method: .get) { response in
                #expect(response.status == .badRequest)
            }
        }
    }

    @Test func textIsEscapedForXML() async throws {
        #expect(VoiceXMLAdapter.escape("a<b>&\"c'\u{1}") == "a&lt;b&gt;&amp;&quot;c&apos;")
    }
}
