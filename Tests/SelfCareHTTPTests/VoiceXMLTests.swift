import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
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

    /// The keys the menu's DTMF grammar takes.
    var keys: [String] {
        guard let rule = first("rule") else { return [] }
        return elements.filter { $0.name == "item" && $0.attributes["repeat"] == nil }.map(\.text)
            .filter { _ in rule.name == "rule" }
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
            #expect(start.keys == ["1", "2", "3", "4", "5", "8", "9", "0", "*"])
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
            let next = try #require(start.next)
            _ = try await fetch(client, next, body: "digits=1")
            let month = try await fetch(client, next, body: "digits=5")  // history bill: the month, optional
            let skip = try await fetch(client, next + "&event=noinput", body: "")  // no input skips it
            let ask = skip  // then the password
            #expect(month.first("prompt")?.text != ask.first("prompt")?.text)
            let item = try #require(ask.all("item").first { $0.attributes["repeat"] != nil })
            #expect(item.attributes["repeat"] == "1-6")
            #expect(ask.keys.contains("*"))
            var seen = [ask.raw]
            let answer = try await fetch(client, next, body: "digits=258036")
            seen.append(answer.raw)
            #expect(answer.first("field") != nil, "the bill is played, then the menu again")
            #expect(!seen.joined().contains("258036"))
            var records: [ServiceRecord] = []
            try store.forEachRecord(matching: RecordFilter()) { records.append($0) }
            #expect(!records.map { "\($0.reply) \($0.inputs)" }.joined().contains("258036"))
            #expect(records.last?.channel == "ivr")
            #expect(records.last?.operation == "query.bill")
        }
    }

    @Test func aHangUpEndsTheCallAndBadCallersAreRefused() async throws {
        let (app, _) = try await gateway()
        try await app.test(.router) { client in
            let start = try await fetch(client, "vxml?from=sip:18612345678@gw.example;user=phone")
            let next = try #require(start.next)
            let bye = try await fetch(client, next + "&event=hangup", body: "")
            #expect(bye.first("exit") != nil)
            try await client.execute(uri: "/ivr/vxml?from=hello", method: .get) { response in
                #expect(response.status == .badRequest)
            }
            try await client.execute(uri: "/ivr/vxml?call=x&event=boom", method: .get) { response in
                #expect(response.status == .badRequest)
            }
        }
    }

    @Test func textIsEscapedForXML() async throws {
        #expect(VoiceXMLAdapter.escape("a<b>&\"c'\u{1}") == "a&lt;b&gt;&amp;&quot;c&apos;")
    }
}
