import Foundation
import HTTPTypes
import Hummingbird
import SelfCareChannels
import SelfCareCore

/// The IVR channel as VoiceXML 2.1 documents for a voice browser: `GET|POST /ivr/vxml`.
///
/// One document a step. A menu is a `<field>` whose inline SRGS DTMF grammar lists the keys the menu
/// takes (so the browser itself throws `nomatch` for others); a digit entry takes up to `maxDigits`
/// digits ended by the `termchar` `#`, or `*` to go back. `<noinput>` and `<nomatch>` submit the event to
/// the server, which keeps the counts across documents (a browser resets its event counters with every
/// new document) and answers with the apology and the same step, or the transfer on the third. A
/// transfer is a blind `<transfer>` to the agent queue's URI, with `queue` and `priority` in `aai`.
///
/// Parameters, in the query or a form body: `from` (the caller: a number, `tel:` or `sip:` URI), `call`
/// (the call id; the first document's submits carry it: the platform's `session` id given with the first
/// request, else one the server makes), `digits` (the field's
/// value), `event` (`noinput`, `nomatch` or `hangup`). A first request without `from` gets a document that
/// sends `session.connection.remote.uri` back. Every submit URL carries the document's `step`: a
/// browser's retry of a fetch gets the same document, and keys are never handled twice.
public struct VoiceXMLAdapter: ChannelAdapter {
    public let name = "vxml"

    public init() {}

    static let contentType = "application/voicexml+xml; charset=utf-8"

    /// The browser's fields, in the query (the submit URLs the documents carry) or a form body (`namelist`).
    struct Fields: Decodable {
        var from: String?
        var session: String?
        var call: String?
        var event: String?
        var digits: String?
        var step: String?
    }

    public func register<Context: RequestContext>(
        on router: some RouterMethods<Context>, channels: GatewayChannels, configuration: GatewayConfiguration
    ) {
        let ivr = channels.ivr
        let answers = StepCache(clock: channels.clock, like: channels.ivr.sessions)
        channels.caches.register { now in await answers.answers.sweep(now: now) }
        let serializer = KeyedSerializer()
        let handler: @Sendable (Request, Context) async throws -> Response = FormRequest.handler(
            Fields.self, configuration
        ) { fields in
            guard configuration.channels.contains(.ivr) else { return Gateway.channelOff(.ivr) }
            guard let call = fields.call, !call.isEmpty else {
                guard let from = fields.from, !from.isEmpty else { return Self.document(Self.bootstrap) }
                // A withheld caller is normal (below); a caller or session id no platform sends is refused.
                if let problem = FieldCheck.first(
                    FieldCheck.caller(from, field: "from"),
                    fields.session.flatMap { $0.isEmpty ? nil : FieldCheck.identifier($0, field: "session") })
                {
                    return Gateway.plain(.badRequest, problem + "\n")
                }
                let prompts = ivr.engine.prompts
                guard let caller = Self.callerNumber(from) else {
                    // A withheld or unusable caller id: the browser gets a document it can play, not an
                    // HTTP error it would turn into error.badfetch.
                    let goodbye = [
                        IVRAction.play(prompts.render(.ivrGoodbye, in: prompts.defaultLanguage)), .hangup(),
                    ]
                    return Self.document(Self.render(goodbye, call: "none", step: 1, language: nil, configuration))
                }
                // The platform's own session id when it sends one, else one of ours.
                let given = fields.session.flatMap { $0.isEmpty ? nil : $0 }
                let call = given ?? "vx-" + UUID().uuidString.lowercased()
                let source = RequestSource.address ?? ""
                return await serializer.run(call) {
                    await answers.forget(call: call)
                    let actions = await ivr.start(callID: call, caller: caller, source: source)
                    let language = await ivr.language(ofCall: call)
                    return Self.document(Self.render(actions, call: call, step: 1, language: language, configuration))
                }
            }
            if let problem = FieldCheck.identifier(call, field: "call") {
                return Gateway.plain(.badRequest, problem + "\n")
            }
            let event = fields.event ?? ""
            guard ["", "noinput", "nomatch", "hangup"].contains(event) else {
                return Gateway.plain(.badRequest, "`event` is noinput, nomatch or hangup\n")
            }
            // Browsers may hand a DTMF entry over with its keys spaced (`2 5 8`): the keys are what count.
            let digits = fields.digits.map { $0.filter { !$0.isWhitespace } }
            if let problem = digits.flatMap({ FieldCheck.keys($0, field: "digits") }) {
                return Gateway.plain(.badRequest, problem + "\n")
            }
            // Each document's submits carry its step: a browser's retry of a step gets the same document,
            // also while the first request of it is still running (one request of a call at a time).
            let step = Int(fields.step ?? "")
            if let text = fields.step, !text.isEmpty, step.map({ !(1...Int(Int32.max)).contains($0) }) ?? true {
                return Gateway.plain(.badRequest, "`step` is not a step counter (a whole number from 1)\n")
            }
            let key = "\(step ?? 0)|\(event)|\(digits ?? "")"
            return await serializer.run(call) {
                if step != nil, let body = await answers.answer(call: call, key: key) {
                    return Response(
                        status: .ok, headers: [.contentType: Self.contentType], body: .init(byteBuffer: body))
                }
                let language = await ivr.language(ofCall: call)
                let actions: [IVRAction]
                switch event {
                case "noinput": actions = await ivr.input(callID: call, digits: nil)
                case "nomatch": actions = await ivr.noMatch(callID: call)
                case "hangup":
                    await ivr.hangUp(callID: call)
                    await answers.forget(call: call)
                    return Self.document(Self.exitDocument)
                default: actions = await ivr.input(callID: call, digits: digits)
                }
                let xml = Self.render(actions, call: call, step: (step ?? 0) + 1, language: language, configuration)
                if step != nil { await answers.store(call: call, key: key, body: ByteBuffer(string: xml)) }
                return Self.document(xml)
            }
        }
        router.get("/ivr/vxml", use: handler)
        router.post("/ivr/vxml", use: handler)
        // A GET with a caller opens a call; a HEAD (a monitor's probe) says the route is there and opens nothing.
        router.head("/ivr/vxml") { _, _ in Gateway.headOnly(Self.contentType) }
    }

    static func document(_ xml: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: contentType], body: .init(byteBuffer: ByteBuffer(string: xml)))
    }

    /// `tel:+8618612345678`, `sip:18612345678@gw;user=phone` or a bare number → `18612345678`.
    static func callerNumber(_ from: String) -> String? {
        var text = Substring(from.trimmingCharacters(in: .whitespaces))
        for scheme in ["tel:", "sip:", "sips:"] where text.lowercased().hasPrefix(scheme) {
            text = text.dropFirst(scheme.count)
        }
        if let cut = text.firstIndex(where: { $0 == "@" || $0 == ";" }) { text = text[..<cut] }
        return normalizeNumber(String(text))
    }

    static let header = #"<?xml version="1.0" encoding="UTF-8"?>"#

    /// Sends the caller's URI back, so a platform that cannot add it to the first URL still works.
    static let bootstrap = """
        \(header)
        <vxml version="2.1" xmlns="http://www.w3.org/2001/vxml">
          <form id="start">
            <var name="from" expr="session.connection.remote.uri"/>
            <block><submit next="vxml" method="post" namelist="from"/></block>
          </form>
        </vxml>

        """

    static let exitDocument = """
        \(header)
        <vxml version="2.1" xmlns="http://www.w3.org/2001/vxml">
          <form id="end"><block><exit/></block></form>
        </vxml>

        """

    /// The document for one step's actions: prompts played in order, then the collect, transfer or hang-up.
    /// - Parameter language: the call's language; when the call is over (nil), read from the prompts' script.
    static func render(
        _ actions: [IVRAction], call: String, step: Int, language: Language?, _ configuration: GatewayConfiguration
    ) -> String {
        let next = "vxml?call=" + URLForm.escape(call) + "&step=\(step)"
        let tag: String
        switch language {
        case .chinese?: tag = "zh-CN"
        case .english?: tag = "en-US"
        default:
            tag =
                actions.contains { ($0.text ?? "").unicodeScalars.contains { $0.value >= 0x3000 } } ? "zh-CN" : "en-US"
        }
        var body: [String] = []
        var blocks: [String] = []
        func flushBlocks() {
            guard !blocks.isEmpty else { return }
            body.append("    <block>\n" + blocks.joined() + "    </block>")
            blocks = []
        }
        var ended = false
        for action in actions where !ended {
            switch action.kind {
            case .play:
                blocks.append("      " + prompt(action) + "\n")
            case .collect:
                flushBlocks()
                body.append(field(action, next: next))
                ended = true
            case .transfer:
                flushBlocks()
                let queue = action.queue ?? "agent"
                let dest = configuration.agentURI.replacingOccurrences(of: "{queue}", with: queue)
                body.append(
                    """
                        <transfer name="agent" type="blind" dest="\(escape(dest))" aai="\(escape("queue=\(queue);priority=\(action.priority ?? 0)"))"/>
                        <block><exit/></block>
                    """)
                ended = true
            case .hangup:
                blocks.append("      <disconnect/>\n")
                flushBlocks()
                ended = true
            }
        }
        if !ended {
            // Prompts only (should not happen: every step ends with a question or the end of the call).
            blocks.append("      <disconnect/>\n")
            flushBlocks()
        }
        return """
            \(header)
            <vxml version="2.1" xmlns="http://www.w3.org/2001/vxml" xml:lang="\(tag)">
              <property name="inputmodes" value="dtmf"/>
              <catch event="connection.disconnect.hangup"><submit next="\(escape(next + "&event=hangup"))" method="post"/></catch>
              <form id="step">
            \(body.joined(separator: "\n"))
              </form>
            </vxml>

            """
    }

    static func prompt(_ action: IVRAction) -> String {
        let text = escape(action.text ?? "")
        if let audio = action.audio { return "<prompt><audio src=\"\(escape(audio))\">\(text)</audio></prompt>" }
        return "<prompt>\(text)</prompt>"
    }

    /// A `<field>` with its DTMF grammar, timeouts and `termchar`, and the submits of its input and events.
    ///
    /// The inline grammar is an SRGS 1.0 DTMF grammar in the document's VoiceXML namespace, as the VoiceXML 2.1
    /// schema has it (an SRGS namespace declaration there makes the document invalid); the browser hands it to
    /// its recogniser as SRGS.
    static func field(_ action: IVRAction, next: String) -> String {
        let maxDigits = max(action.maxDigits ?? 1, 1)
        let rule: String
        if let keys = action.keys?.filter({ $0 != "#" }), maxDigits == 1 {
            // `#` is the termchar: the browser never hands it over as a key.
            rule = "<one-of>" + keys.map { "<item>\(escape($0))</item>" }.joined() + "</one-of>"
        } else {
            let digit = "<one-of>" + (0...9).map { "<item>\($0)</item>" }.joined() + "</one-of>"
            // `#` alone (the empty entry) skips an optional slot; `*` goes back.
            rule =
                "<one-of><item repeat=\"1-\(maxDigits)\">\(digit)</item><item>*</item>"
                + "<item><ruleref special=\"NULL\"/></item></one-of>"
        }
        return """
                <field name="digits">
                  <property name="timeout" value="\(action.noInputTimeout ?? 5)s"/>
                  <property name="interdigittimeout" value="\(action.interDigitTimeout ?? 3)s"/>
                  <property name="termchar" value="#"/>
                  <grammar mode="dtmf" version="1.0" root="keys" type="application/srgs+xml"><rule id="keys" scope="public">\(rule)</rule></grammar>
                  \(prompt(action))
                  <noinput><submit next="\(escape(next + "&event=noinput"))" method="post"/></noinput>
                  <nomatch><submit next="\(escape(next + "&event=nomatch"))" method="post"/></nomatch>
                  <filled><submit next="\(escape(next))" method="post" namelist="digits"/></filled>
                </field>
            """
    }

    /// `text` for the document: markup escaped, what XML 1.0 cannot hold (most control characters) left out.
    static func escape(_ text: String) -> String { XMLText.escape(text) }

}
