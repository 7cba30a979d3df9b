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
    let style = AdapterStyle.message

    func register(
        on router: Router<BasicRequestContext>, channels: GatewayChannels, configuration: GatewayConfiguration
    ) {
        router.get("/sms/leaky") { request, _ -> Response in
            let query = request.uri.queryParameters
            let text = query["text"].map(String.init) ?? ""
            let reply = await channels.sms.handle(InboundSMS(from: query["from"].map(String.init) ?? "", text: text))
            if reply.outcome.reason == .unknownCommand { return Response(status: .internalServerError) }
            return Gateway.plain(.ok, "You sent \(text). \(reply.text)")
        }
    }

    func request(for action: CustomerAction) -> AdapterRequest {
        guard case .message(let text) = action.kind else { return AdapterRequest(method: .get, uri: "/sms/leaky") }
        return AdapterRequest(
            method: .get, uri: "/sms/leaky?" + AdapterRequest.formEncode([("from", action.caller), ("text", text)]))
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
        let report = try await AdapterConformance.check(LeakyAdapter())
        #expect(!report.passed)
        #expect(report.failedRequirements.contains(.noPasswordEcho), "\(report)")
        #expect(report.failedRequirements.contains(.idempotency), "\(report)")
        #expect(report.failedRequirements.contains(.politeMistakes), "\(report)")
        #expect(
            report.failedRequirements.contains(.malformedRequests),
            "a GET-only route cannot refuse a bad body: \(report)")
        #expect(!report.failedRequirements.contains(.answers), "it does answer queries: \(report)")
    }
}
