import Foundation
import HTTPTypes
import SelfCareChannels
import SelfCareCore
import SelfCareHTTP
import SelfCareTesting
import Testing

/// A voice browser on the gateway, in process: it fetches the documents, follows their own submits as a browser
/// does (relative to `/ivr/vxml`), and keeps every document it was given.
final class VoiceBrowser {
    let gateway: InProcessGateway
    /// Every document given, with the step it was for.
    private(set) var documents: [(label: String, document: VoiceXMLDocument)] = []

    init(_ gateway: InProcessGateway) { self.gateway = gateway }

    /// `GET /ivr/vxml?QUERY` (no query: the bootstrap document).
    func get(_ label: String, _ query: [(String, String)] = []) async throws -> VoiceXMLDocument {
        let uri = "/ivr/vxml" + (query.isEmpty ? "" : "?" + URLForm.encode(query))
        return try await fetch(label, AdapterRequest(method: .get, uri: uri))
    }

    /// Posts `fields` to `next`, a submit target of a document.
    func post(_ label: String, _ next: String?, _ fields: [(String, String)] = []) async throws -> VoiceXMLDocument {
        let next = try #require(next, "\(label): the document before has no such submit")
        return try await fetch(label, AdapterRequest.form("/ivr/" + next, fields))
    }

    /// Keys entered into the document's field: its `<filled>` submit with `digits`.
    func press(_ label: String, _ keys: String, on document: VoiceXMLDocument) async throws -> VoiceXMLDocument {
        try await post(label, document.submit(in: "filled"), [("digits", keys)])
    }

    /// The browser's `noinput` or `nomatch` event: the document's own handler.
    func event(_ label: String, _ event: String, on document: VoiceXMLDocument) async throws -> VoiceXMLDocument {
        try await post(label, document.submit(in: event))
    }

    /// The caller hangs up: the document's `connection.disconnect.hangup` handler.
    func hangUp(_ label: String, on document: VoiceXMLDocument) async throws -> VoiceXMLDocument {
        try await post(label, document.submit(in: "catch"))
    }

    private func fetch(_ label: String, _ request: AdapterRequest) async throws -> VoiceXMLDocument {
        let response = try await gateway.send(request)
        #expect(response.status == .ok, "\(label): \(request.uri): \(response.text)")
        #expect(response.headers[.contentType] == "application/voicexml+xml; charset=utf-8", "\(label)")
        let document: VoiceXMLDocument
        do {
            document = try VoiceXMLDocument(response.text)
        } catch {
            throw AdapterReplyError("\(label): \(error)\n\(response.text)")
        }
        documents.append((label, document))
        return document
    }
}

@Suite(
    "VoiceXML documents against the W3C schemas", .serialized,
    .enabled(if: XMLLint.path != nil || validatorsRequired, "needs xmllint (Debian libxml2-utils)"))
struct VoiceXMLSchemaTests {
    /// A standard English caller and a gold (VIP) Chinese one; a plan on sale whose names need XML escaping.
    static func gateway() async throws -> InProcessGateway {
        let store = MemoryServiceStore()
        var standard = Fixtures.subscriber("18611110002", language: .english)
        standard.tier = .standard
        let escaped = Plan(
            code: "T5", nameZh: "畅聊<5G>&流量包", nameEn: "Talk & Text <5G>", monthlyFeeFen: 2500, voiceMinutes: 100,
            sms: 100, dataMB: 5120, payment: .both, onSale: true, contractOK: false)
        try await Fixtures.seed(store, subscribers: [Fixtures.subscriber(), standard])
        try await store.write { try $0.save(escaped) }
        // Prompts with text that needs escaping, and a recording named by a URL with a query.
        let shipped = try Fixtures.shippedPrompts()
        var templates = shipped.templates
        templates[.english]?["ivr.goodbye"] = "Thank you for calling <SelfCare> & \"goodbye\"."
        templates[.english]?["ivr.audio.ivr.menu.main"] = "https://media.example/ivr/main.wav?lang=en&v=2"
        let prompts = PromptCatalog(templates: templates, defaultLanguage: shipped.defaultLanguage)
        let engine = try Fixtures.engine(store: store, prompts: prompts)
        let grammars = try GrammarSet(
            directory: Fixtures.repositoryRoot.appendingPathComponent("grammars").path, prompts: prompts)
        let channels = GatewayChannels(
            sms: SMSChannel(engine: engine, grammars: grammars), ussd: USSDChannel(engine: engine, grammars: grammars),
            ivr: IVRChannel(engine: engine, grammars: grammars))
        var configuration = GatewayConfiguration()
        configuration.agentURI = "sip:{queue}@pbx.example;transport=tls?X-Origin=self-care&X-Channel=ivr"
        return InProcessGateway(channels, configuration: configuration)
    }

    /// Whole calls, every kind of step the adapter writes; every document must be valid VoiceXML 2.1 and every
    /// inline grammar, on its own, a valid SRGS 1.0 DTMF grammar.
    @Test func everyDocumentOfWholeCallsIsValidVoiceXMLWithValidSRGSGrammars() async throws {
        guard XMLLint.path != nil else {
            Issue.record("CI is set but \(XMLLint.missing)")
            return
        }
        let browser = VoiceBrowser(try await Self.gateway())

        // The bootstrap, then a standard caller as the browser sends the caller back, with a call id of its own.
        let bootstrap = try await browser.get("bootstrap (no from)")
        #expect(bootstrap.first("var")?.attributes["expr"] == "session.connection.remote.uri")
        let main = try await browser.post(
            "standard: main menu", bootstrap.submit(in: "block"),
            [("from", "tel:+8618611110002"), ("session", "pbx-7&<call>\"'")])
        #expect(main.first("audio")?.attributes["src"] == "https://media.example/ivr/main.wav?lang=en&v=2")
        #expect(main.raw.contains("main.wav?lang=en&amp;v=2"))
        let queries = try await browser.press("standard: queries menu", "1", on: main)
        let points = try await browser.press("standard: points, then the menu", "4", on: queries)
        #expect(points.prompts.first == "You have 3200 points.")
        let again = try await browser.press("standard: a browser's retry of the same step", "4", on: queries)
        #expect(again.raw == points.raw)
        let back = try await browser.press("standard: * back to the main menu", "*", on: points)
        let planMenu = try await browser.press("standard: plan menu", "3", on: back)
        let plans = try await browser.press("standard: plans read out", "1", on: planMenu)
        #expect(plans.prompts.contains { $0.contains("Talk & Text <5G>") }, "\(plans.raw)")
        #expect(plans.raw.contains("Talk &amp; Text &lt;5G&gt;"))
        let noMatch = try await browser.event("standard: no-match at the plan choice", "nomatch", on: plans)
        let noInput = try await browser.event("standard: no-input at the plan choice", "noinput", on: noMatch)
        let chosen = try await browser.press("standard: a plan chosen, password asked", "1", on: noInput)
        let confirm = try await browser.press("standard: password entered, confirm", "258036", on: chosen)
        #expect(!confirm.raw.contains("258036"), "a password is never echoed")
        let cancelled = try await browser.press("standard: change cancelled, the plan menu", "2", on: confirm)
        let main2 = try await browser.press("standard: * back to the main menu", "*", on: cancelled)
        let queries2 = try await browser.press("standard: queries again", "1", on: main2)
        let month = try await browser.press("standard: bill, month asked", "5", on: queries2)
        let password = try await browser.event("standard: no month (no input), password asked", "noinput", on: month)
        #expect(password.raw.contains(#"repeat="1-6""#), "\(password.raw)")
        let backFromEntry = try await browser.press("standard: * back from the password entry", "*", on: password)
        let transfer = try await browser.press("standard: 0 for an agent", "0", on: backFromEntry)
        let standardTransfer = try #require(transfer.first("transfer"), "\(transfer.raw)")
        #expect(
            standardTransfer.attributes["dest"]
                == "sip:agent@pbx.example;transport=tls?X-Origin=self-care&X-Channel=ivr")
        #expect(standardTransfer.attributes["aai"] == "queue=agent;priority=0")
        _ = try await browser.press("standard: a late request after the transfer", "1", on: backFromEntry)

        // A VIP caller: the bill with a password, then three misses and the VIP queue.
        let vip = try await browser.get("vip: main menu", [("from", "sip:18612345678@gw.example;user=phone")])
        #expect(vip.first("vxml")?.attributes["xml:lang"] == "zh-CN")
        let vipQueries = try await browser.press("vip: queries menu", "1", on: vip)
        let vipMonth = try await browser.press("vip: bill, month asked", "5", on: vipQueries)
        let vipPassword = try await browser.press(
            "vip: month 202610 (# ends it), password asked", "202610", on: vipMonth)
        let bill = try await browser.press("vip: the bill, then the menu", "258036", on: vipPassword)
        #expect(bill.all("prompt").count == 2, "\(bill.raw)")
        let miss1 = try await browser.event("vip: no-match 1", "nomatch", on: bill)
        let miss2 = try await browser.event("vip: no-input 1", "noinput", on: miss1)
        let miss3 = try await browser.event("vip: no-match 2", "nomatch", on: miss2)
        let vipTransfer = try await browser.event("vip: no-match 3, the transfer", "nomatch", on: miss3)
        let vipDestination = try #require(vipTransfer.first("transfer"), "\(vipTransfer.raw)")
        #expect(vipDestination.attributes["aai"] == "queue=agent-vip;priority=3")
        #expect(vipDestination.attributes["dest"]?.hasPrefix("sip:agent-vip@pbx.example;") == true)
        let manager = try await browser.press(
            "vip: the manager", "8", on: try await browser.get("vip: a new call", [("from", "18612345678")]))
        #expect(manager.first("transfer")?.attributes["aai"]?.hasPrefix("queue=manager;") == true)

        // Changing the password: three entries in a row.
        let call = try await browser.get("standard: a new call", [("from", "18611110002"), ("session", "pw-1")])
        let old = try await browser.press("password change: old password asked", "5", on: call)
        let new = try await browser.press("password change: new password asked", "258036", on: old)
        let repeated = try await browser.press("password change: new password again", "147036", on: new)
        let changed = try await browser.press("password change: done", "147036", on: repeated)
        #expect(!changed.raw.contains("147036"))

        // Endings: goodbye from the menu, a hang-up, a withheld caller.
        let goodbye = try await browser.press(
            "standard: 9 to end the call", "9",
            on: try await browser.get("standard: another call", [("from", "18611110002")]))
        #expect(goodbye.first("disconnect") != nil)
        #expect(goodbye.raw.contains("&lt;SelfCare&gt; &amp; &quot;goodbye&quot;"), "\(goodbye.raw)")
        let hangUp = try await browser.hangUp(
            "hang-up", on: try await browser.get("vip: a call to hang up", [("from", "18612345678")]))
        #expect(hangUp.first("exit") != nil)
        let withheld = try await browser.get("withheld caller", [("from", "sip:anonymous@anonymous.invalid")])
        #expect(withheld.first("disconnect") != nil)

        try validate(browser.documents)
    }

    /// Every document against vxml.xsd, every inline grammar against grammar.xsd, and each grammar a DTMF one.
    func validate(_ documents: [(label: String, document: VoiceXMLDocument)]) throws {
        try withScratchFolder { folder in
            var files: [URL] = []
            var grammarFiles: [URL] = []
            var labels: [String: String] = [:]
            for (n, (label, document)) in documents.enumerated() {
                let file = folder.appendingPathComponent(String(format: "%02d.vxml", n))
                try document.raw.write(to: file, atomically: true, encoding: .utf8)
                files.append(file)
                labels[file.path] = label
                for (g, grammar) in document.grammars.enumerated() {
                    let grammarFile = folder.appendingPathComponent(String(format: "%02d-%d.grxml", n, g))
                    try grammar.write(to: grammarFile, atomically: true, encoding: .utf8)
                    grammarFiles.append(grammarFile)
                    labels[grammarFile.path] = label + ", grammar \(g + 1)"
                    try checkDTMF(grammar, label)
                }
            }
            let documentsChecked = try XMLLint.validate(files, schema: Schemas.voiceXML)
            let grammarsChecked = try XMLLint.validate(grammarFiles, schema: Schemas.srgs)
            for (checked, schema) in [(documentsChecked, "VoiceXML 2.1"), (grammarsChecked, "SRGS 1.0")] {
                let invalid = (schema == "SRGS 1.0" ? grammarFiles : files).filter { !checked.valid.contains($0.path) }
                #expect(
                    checked.status == 0 && invalid.isEmpty,
                    """
                    \(invalid.count) not valid \(schema): \(invalid.map { labels[$0.path] ?? $0.path })
                    \(checked)
                    """)
            }
            #expect(files.count >= 35 && grammarFiles.count >= 25, "the calls went through every kind of step")
            print(
                "VoiceXML: \(files.count) documents valid against vxml.xsd, \(grammarFiles.count) inline grammars "
                    + "valid against grammar.xsd (\(XMLLint.version))")
        }
    }

    /// What the schema cannot say of a DTMF grammar: `mode="dtmf"`, a root rule that exists, and DTMF tokens only.
    func checkDTMF(_ grammar: String, _ label: String) throws {
        let document = try VoiceXMLDocument(grammar)
        let root = try #require(document.first("grammar"))
        #expect(root.attributes["mode"] == "dtmf", "\(label)")
        #expect(root.attributes["version"] == "1.0", "\(label)")
        let rules = Set(document.all("rule").compactMap { $0.attributes["id"] })
        #expect(rules.contains(root.attributes["root"] ?? ""), "\(label): the root rule is missing")
        let dtmf = Set("0123456789*#ABCD")
        for element in document.elements {
            let tokens = element.ownText.split(whereSeparator: \.isWhitespace)
            #expect(tokens.allSatisfy { $0.count == 1 && dtmf.contains($0.first!) }, "\(label): `\(element.ownText)`")
        }
    }
}
