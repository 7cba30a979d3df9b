import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SelfCareChannels
import SelfCareCore
import SelfCareHTTP
import SelfCareTesting
import Testing

/// A gateway over a memory store whose clock the test moves, with small session stores.
func floodGateway(
    clock: ManualTimeSource, capacity: Int
) async throws -> (Application<RouterResponder<BasicRequestContext>>, GatewayChannels) {
    let store = MemoryServiceStore()
    try await Fixtures.seed(
        store, subscribers: [Fixtures.subscriber(), Fixtures.subscriber("18611110001", language: .english)])
    let engine = try Fixtures.engine(store: store, clock: clock)
    let grammars = try Fixtures.shippedGrammars()
    let channels = GatewayChannels(engine: engine, grammars: grammars, sessions: SessionLimits(capacity: capacity))
    var configuration = GatewayConfiguration()
    configuration.metrics = GatewayMetrics()
    return (Application(router: Gateway.router(channels, configuration: configuration)), channels)
}

private let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
private let json: HTTPFields = [.contentType: "application/json"]

private func ussd(
    _ client: some TestClientProtocol, _ session: String, _ phone: String, _ text: String
) async throws
    -> String
{
    try await client.execute(
        uri: "/ussd/at", method: .post, headers: form,
        body: ByteBuffer(string: "sessionId=\(session)&serviceCode=*100%23&phoneNumber=\(phone)&text=\(text)")
    ) { String(buffer: $0.body) }
}

private func ivr(_ client: some TestClientProtocol, _ body: String) async throws -> String {
    try await client.execute(uri: "/v1/ivr", method: .post, headers: json, body: ByteBuffer(string: body)) {
        String(buffer: $0.body)
    }
}

@Suite("Session floods")
struct SessionFloodTests {
    @Test func aCustomerAtThePasswordScreenOutlivesAFloodOfNewUSSDSessions() async throws {
        let clock = ManualTimeSource(Fixtures.midNovember)
        let (app, _) = try await floodGateway(clock: clock, capacity: 300)
        try await app.test(.router) { client in
            #expect(try await ussd(client, "customer", "18612345678", "").hasPrefix("CON "))
            #expect(try await ussd(client, "customer", "18612345678", "1*8") == "CON 请输入6位服务密码：")
            // The customer looks for the password for a minute, while new sessions pour in: four times the
            // store's capacity, from numbers that are nobody's.
            clock.advance(by: 61)
            for i in 0..<1_200 {
                _ = try await ussd(client, "flood-\(i)", "139\(String(format: "%08d", i))", "")
            }
            let reply = try await ussd(client, "customer", "18612345678", "1*8*258036")
            #expect(reply.hasPrefix("END ") && reply.contains("12345678"), "\(reply)")
        }
    }

    @Test func aCallerAtAConfirmationOutlivesAFloodOfNewCalls() async throws {
        let clock = ManualTimeSource(Fixtures.midNovember)
        let (app, _) = try await floodGateway(clock: clock, capacity: 300)
        try await app.test(.router) { client in
            _ = try await ivr(client, #"{"call":"caller","from":"18611110001","start":true}"#)
            // Loss report for the own number: the password, then the confirmation is read out.
            let asked = try await ivr(client, #"{"call":"caller","from":"18611110001","digits":"21258036#"}"#)
            #expect(asked.contains("Press 1 to confirm"), "\(asked)")
            clock.advance(by: 30)
            for i in 0..<1_200 {
                _ = try await ivr(
                    client, #"{"call":"flood-\#(i)","from":"139\#(String(format: "%08d", i))","start":true}"#)
            }
            let done = try await ivr(client, #"{"call":"caller","from":"18611110001","digits":"1"}"#)
            #expect(done.contains("was reported lost"), "\(done)")
        }
    }

    @Test func expiredSessionsAreFreedWithoutBeingAskedFor() async throws {
        let clock = ManualTimeSource(Fixtures.midNovember)
        let (app, channels) = try await floodGateway(clock: clock, capacity: 1_000)
        try await app.test(.router) { client in
            for i in 0..<500 {
                _ = try await ussd(client, "gone-\(i)", "139\(String(format: "%08d", i))", "")
                _ = try await ivr(
                    client, #"{"call":"gone-\#(i)","from":"139\#(String(format: "%08d", i))","start":true}"#)
            }
            #expect(await channels.ussd.sessions.count() == 500)
            clock.advance(by: 601)
            // Nobody comes back for them: the scrape reads the live sessions once the idle ones are freed.
            let metrics = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            #expect(sample(metrics, "selfcare_live_sessions", ["channel": "ussd"]) == 0, "\(metrics)")
            #expect(sample(metrics, "selfcare_live_sessions", ["channel": "ivr"]) == 0)
            #expect(await channels.ussd.sessions.count() == 0)
            #expect(await channels.ivr.sessions.count() == 0)
        }
    }

    @Test func aUSSDRequestCarryingThousandsOfInputsIsRefusedAtTheAdapter() async throws {
        let clock = ManualTimeSource(Fixtures.midNovember)
        let (app, channels) = try await floodGateway(clock: clock, capacity: 1_000)
        // Into a menu and back out, 15,000 times: every input draws a screen, and none ends the session.
        let inputs = Array(repeating: "1*0", count: 15_000).joined(separator: "*")
        try await app.test(.router) { client in
            #expect(try await ussd(client, "cpu", "18612345678", "").hasPrefix("CON "))
            try await client.execute(
                uri: "/ussd/at", method: .post, headers: form,
                body: ByteBuffer(string: "sessionId=cpu&serviceCode=*100%23&phoneNumber=18612345678&text=\(inputs)")
            ) { response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body).contains("inputs"), "\(String(buffer: response.body))")
            }
            // The refused request changed nothing: the session is still at the main menu.
            #expect(try await ussd(client, "cpu", "18612345678", "1").hasPrefix("CON 查询"))
            // The same for a direct string of thousands of keys.
            try await client.execute(
                uri: "/ussd/at", method: .post, headers: form,
                body: ByteBuffer(
                    string: "sessionId=cpu2&serviceCode=*100*\(inputs)%23&phoneNumber=18612345678&text=")
            ) { response in
                #expect(response.status == .badRequest)
            }
            #expect(await channels.ussd.sessions.count() == 1)
        }
    }
}
