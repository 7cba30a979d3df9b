import Foundation
import HTTPTypes
import Hummingbird
import SelfCareChannels
import SelfCareCore
import SelfCareHTTP
import SelfCareTesting
import Testing

/// A deliberately broken SMS adapter: it drops the gateway's message id (so retries run twice), echoes the
/// customer's text (password digits included), and turns an unknown command into HTTP 500.
struct LeakyAdapter: ChannelAdapter {
    let name = "leaky"

    func register<Context: RequestContext>(
        on router: some RouterMethods<Context>, channels: GatewayChannels, configuration: GatewayConfiguration
    ) {
        router.get("/sms/leaky") { request, _ -> Response in
            let query = request.uri.queryParameters
            let text = query["text"].map(String.init) ?? ""
            let reply = await channels.sms.handle(InboundSMS(from: query["from"].map(String.init) ?? "", text: text))
            if reply.outcome.reason == .unknownCommand { return Response(status: .internalServerError) }
            return Gateway.plain(.ok, "You sent \(text). \(reply.text)")
        }
    }
}

/// The leaky adapter's protocol, as its gateway would drive it.
struct LeakyProbe: AdapterProbe {
    let style = AdapterStyle.message

    func request(for action: CustomerAction) -> AdapterRequest {
        guard case .message(let text) = action.kind else { return AdapterRequest(method: .get, uri: "/sms/leaky") }
        return AdapterRequest(
            method: .get, uri: "/sms/leaky?" + URLForm.encode([("from", action.caller), ("text", text)]))
    }

    func reply(to response: AdapterResponse, for action: CustomerAction) throws -> AdapterReply {
        guard response.status == .ok else { throw AdapterReplyError("HTTP \(response.status.code)") }
        return AdapterReply(text: response.text, ends: true)
    }
}

@Suite("Channel adapter conformance")
struct AdapterConformanceTests {
    static let shipped: [any ChannelAdapter] = [
        KannelAdapter(), USSDAggregatorAdapter(cumulativeText: true), USSDAggregatorAdapter(cumulativeText: false),
        VoiceXMLAdapter(), IVRJSONAdapter(), MessagesJSONAdapter(),
    ]

    @Test(arguments: 0..<shipped.count)
    func everyShippedAdapterMeetsEveryRequirement(_ index: Int) async throws {
        let report = try await AdapterConformance.check(Self.shipped[index])
        #expect(report.passed, "\(report)")
        #expect(report.exchanges >= 8, "the checker really talked to the adapter")
    }

    @Test func aBrokenAdapterIsCaughtOnEachRequirementItBreaks() async throws {
        let report = try await AdapterConformance.check(LeakyAdapter(), probe: LeakyProbe())
        #expect(!report.passed)
        #expect(report.failedRequirements.contains(.noPasswordEcho), "\(report)")
        #expect(report.failedRequirements.contains(.idempotency), "\(report)")
        #expect(report.failedRequirements.contains(.politeMistakes), "\(report)")
        #expect(
            report.failedRequirements.contains(.malformedRequests),
            "a GET-only route cannot refuse a bad body: \(report)")
        #expect(!report.failedRequirements.contains(.answers), "it does answer queries: \(report)")
    }

    /// The VoiceXML probe reads a document as a browser does, with an XML parser: entities, CDATA, comments,
    /// either quote and any attribute order; what is not a VoiceXML 2.1 document is not read as one.
    @Test func theVoiceXMLProbeReadsDocumentsAsXML() throws {
        let probe = VoiceXMLProbe()
        let action = CustomerAction(.keys("1"), caller: "18612345678", id: "c1")
        func reply(_ body: String) throws -> AdapterReply {
            try probe.reply(
                to: AdapterResponse(
                    status: .ok, headers: [.contentType: "application/voicexml+xml; charset=utf-8"],
                    body: Array(body.utf8)),
                for: action)
        }
        let header = #"<?xml version="1.0" encoding="UTF-8"?>"#
        let step = try reply(
            header + """
                <vxml xmlns="http://www.w3.org/2001/vxml" version='2.1'><!-- <exit/> in a comment -->
                  <form><field name="digits"><prompt>Balance &amp; bill: <![CDATA[<1>]]> or &#50;</prompt>
                  <filled><submit namelist="digits" method="post" next='vxml?call=c1&amp;step=2'/></filled></field></form>
                </vxml>
                """)
        #expect(
            step == AdapterReply(text: "Balance & bill: <1> or 2", ends: false, continuation: "vxml?call=c1&step=2"))
        let end = try reply(
            header + """
                <vxml version="2.1" xmlns="http://www.w3.org/2001/vxml"><form><block>
                <prompt>Goodbye.</prompt><disconnect></disconnect></block></form></vxml>
                """)
        #expect(end == AdapterReply(text: "Goodbye.", ends: true))
        for bad in [
            header + #"<vxml version="2.1" xmlns="http://www.w3.org/2001/vxml"><form><block><prompt>Hi</block>"#,
            header + #"<vxml version="2.1" xmlns="http://example.com/other"><form/></vxml>"#,
            header + #"<vxml version="2.0" xmlns="http://www.w3.org/2001/vxml"><form/></vxml>"#,
            header + #"<html><vxml version="2.1" xmlns="http://www.w3.org/2001/vxml"/></html>"#,
        ] {
            #expect(throws: AdapterReplyError.self, "\(bad)") { try reply(bad) }
        }
    }
}
