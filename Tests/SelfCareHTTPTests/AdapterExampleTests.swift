import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SelfCareChannels
import SelfCareCore
import SelfCareHTTP
import SelfCareTesting
import Testing

// The example of docs/adapters.md ("Writing an adapter of your own"), compiled and checked here: the test
// below fails when the docs' code and this code part.

// docs/adapters.md: adapter
/// An SMS aggregator that posts `{"msisdn":…,"message":…,"messageId":…}` and wants `{"reply":…}` back.
struct AcmeSMSAdapter: ChannelAdapter {
    let name = "acme-sms"

    struct Inbound: Decodable {
        var msisdn: String
        var message: String
        var messageId: String?
    }

    struct Outbound: ResponseEncodable {
        var reply: String
    }

    func register<Context: RequestContext>(
        on router: some RouterMethods<Context>, channels: GatewayChannels, configuration: GatewayConfiguration
    ) {
        router.post("/sms/acme") { request, context -> Outbound in
            // 1. Refuse what is malformed with a 4xx and a reason; cap the body (413 past the limit).
            guard request.headers[.contentType]?.hasPrefix("application/json") == true else {
                throw HTTPError(.unsupportedMediaType, message: "send application/json")
            }
            var request = request
            let body = try await request.collectBody(upTo: configuration.maxBodyBytes)
            guard let inbound = try? JSONDecoder().decode(Inbound.self, from: body) else {
                throw HTTPError(.badRequest, message: "send msisdn and message as strings")
            }
            // 2. Pass the gateway's message id: a retry is answered but applied once.
            let reply = await channels.sms.handle(
                InboundSMS(from: inbound.msisdn, text: inbound.message, id: inbound.messageId))
            // 3. Answer with what the channel returned, and nothing of the request.
            return Outbound(reply: reply.text)
        }
    }
}
// docs/adapters.md: end

// docs/adapters.md: probe
/// The aggregator's side of the protocol, for the conformance checker and other tools.
struct AcmeSMSProbe: AdapterProbe {
    let style = AdapterStyle.message

    struct Sent: Encodable {
        var msisdn: String
        var message: String
        var messageId: String
    }

    struct Received: Decodable {
        var reply: String
    }

    func request(for action: CustomerAction) -> AdapterRequest {
        var text = ""
        if case .message(let message) = action.kind { text = message }
        return .json("/sms/acme", Sent(msisdn: action.caller, message: text, messageId: action.id))
    }

    func reply(to response: AdapterResponse, for action: CustomerAction) throws -> AdapterReply {
        guard response.status == .ok,
            let received = try? JSONDecoder().decode(Received.self, from: Data(response.body))
        else { throw AdapterReplyError("HTTP \(response.status.code): \(response.text)") }
        return AdapterReply(text: received.reply, ends: true)
    }
}
// docs/adapters.md: end

/// A request context of an integrator's own, as an adapter may be registered under.
struct PartnerContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    init(source: ApplicationRequestContextSource) { coreContext = .init(source: source) }
}

@Suite("The adapter example of the docs")
struct AdapterExampleTests {
    @Test func theExampleMeetsEveryRequirement() async throws {
        let report = try await AdapterConformance.check(AcmeSMSAdapter(), probe: AcmeSMSProbe())
        #expect(report.passed, "\(report)")
    }

    /// The docs show this file's code, character for character.
    @Test func theDocsShowThisCode() throws {
        let source = try String(contentsOfFile: #filePath, encoding: .utf8)
        let docs = try String(
            contentsOf: Fixtures.repositoryRoot.appendingPathComponent("docs/adapters.md"), encoding: .utf8)
        for part in ["adapter", "probe"] {
            let start = try #require(source.range(of: "// docs/adapters.md: \(part)\n"))
            let end = try #require(
                source.range(of: "// docs/adapters.md: end\n", range: start.upperBound..<source.endIndex))
            let code = String(source[start.upperBound..<end.lowerBound])
            #expect(docs.contains(code), "docs/adapters.md does not show the \(part) of \(#fileID) as it is")
        }
    }

    /// An adapter goes under any request context and any group: here the example and the shipped Kannel adapter
    /// under `/partners`, on a router of another context.
    @Test func adaptersRegisterOnAGroupOfAnotherContext() async throws {
        let store = MemoryServiceStore()
        try await Fixtures.seed(store, subscribers: [Fixtures.subscriber()])
        let engine = try Fixtures.engine(store: store)
        let channels = GatewayChannels(
            engine: engine, grammars: try Fixtures.shippedGrammars(), sessions: SessionLimits(capacity: 100))
        let router = Router(context: PartnerContext.self)
        let partners = router.group("/partners")
        for adapter: any ChannelAdapter in [AcmeSMSAdapter(), KannelAdapter()] {
            adapter.register(on: partners, channels: channels, configuration: GatewayConfiguration())
        }
        let app = Application(router: router)
        try await app.test(.router) { client in
            try await client.execute(
                uri: "/partners/sms/acme", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"msisdn":"18612345678","message":"CXYE","messageId":"a1"}"#)
            ) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains("123.45"))
            }
            try await client.execute(uri: "/partners/sms/kannel?from=18612345678&text=CXJF", method: .get) {
                response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains("3200"))
            }
            try await client.execute(uri: "/sms/kannel?from=18612345678&text=CXJF", method: .get) { response in
                #expect(response.status == .notFound)
            }
        }
    }
}
