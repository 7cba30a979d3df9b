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

/// The gateway's router over a real SQLite store seeded with `subscribers`.
func sqliteGateway(
    _ store: SQLiteServiceStore, subscribers: [Subscriber]
) async throws -> Application<RouterResponder<BasicRequestContext>> {
    try await Fixtures.seed(store, subscribers: subscribers)
    let engine = try Fixtures.engine(store: store)
    let grammars = try Fixtures.shippedGrammars()
    // One phone's hundred sessions at once must all reach the engine here, which is what these tests race: the
    // per-caller bound on live sessions (8 by default, its own tests in SessionStoreTests) would end most of them
    // first, more of them the more cores run them.
    var sms = SMSConfiguration()
    sms.rateLimit = 100_000
    let channels = GatewayChannels(
        engine: engine, grammars: grammars, sms: sms, sessions: SessionLimits(perCaller: 1_000))
    return Application(router: Gateway.router(channels, configuration: GatewayConfiguration()))
}

func allRecords(_ store: some ServiceStore) throws -> [ServiceRecord] {
    var records: [ServiceRecord] = []
    try store.forEachRecord(matching: RecordFilter()) { records.append($0) }
    return records
}

let jsonHeaders: HTTPFields = [.contentType: "application/json"]

@Suite("Concurrency and attacks, on SQLite")
struct ConcurrencyTests {
    @Test func a100WrongPasswordsInParallelLockAfterExactlyTheThresholdWithNoBypass() async throws {
        try await withTemporaryDatabase { store, _ in
            let app = try await sqliteGateway(
                store, subscribers: [Fixtures.subscriber("18611110001", language: .english)])
            try await app.test(.router) { client in
                await withTaskGroup(of: Void.self) { group in
                    for i in 0..<100 {
                        group.addTask {
                            _ = try? await client.execute(
                                uri: "/v1/messages", method: .post, headers: jsonHeaders,
                                body: ByteBuffer(
                                    string:
                                        #"{"channel":"sms","from":"18611110001","text":"CXZD 11\#(String(format: "%04d", i))","id":"w\#(i)"}"#
                                ))
                        }
                    }
                }
                let attempts = try allRecords(store).filter { $0.operation == "query.bill" }
                #expect(attempts.count == 100)
                #expect(attempts.filter { $0.reason == "bad_password" }.count == 5, "exactly the threshold is checked")
                #expect(attempts.filter { $0.reason == "password_locked" }.count == 95)
                // Locked: the right password is refused too, until the lock ends.
                try await client.execute(
                    uri: "/v1/messages", method: .post, headers: jsonHeaders,
                    body: ByteBuffer(string: #"{"channel":"sms","from":"18611110001","text":"CXZD 258036","id":"r1"}"#)
                ) { response in
                    #expect(String(buffer: response.body).contains(#""reason":"password_locked""#))
                }
                let subscriber = try await store.read { try $0.subscriber("18611110001") }
                #expect(subscriber?.passwordLockedUntil != nil)
            }
        }
    }

    @Test func a100ThirdPartyGuessesInParallelLockTheCallerAfterExactlyTheThresholdWithNoBypass() async throws {
        try await withTemporaryDatabase { store, _ in
            let app = try await sqliteGateway(
                store,
                subscribers: [
                    Fixtures.subscriber("18611110001", language: .english), Fixtures.subscriber("18612345678"),
                ])
            try await app.test(.router) { client in
                // One phone guesses at two numbers (and at numbers nobody has) a hundred times at once, by SMS
                // and in USSD sessions of its own (the SMS channel takes one number's messages in turn, USSD
                // sessions run side by side).
                await withTaskGroup(of: Void.self) { group in
                    for i in 0..<100 {
                        let subject = ["18611110001", "18612345678", "1370000\(String(format: "%04d", i))"][i % 3]
                        let password = "11\(String(format: "%04d", i))"
                        group.addTask {
                            if i % 2 == 0 {
                                _ = try? await client.execute(
                                    uri: "/v1/messages", method: .post, headers: jsonHeaders,
                                    body: ByteBuffer(
                                        string:
                                            #"{"channel":"sms","from":"13900000001","text":"GS \#(subject) \#(password)","id":"g\#(i)"}"#
                                    ))
                            } else {
                                _ = try? await client.execute(
                                    uri: "/ussd/at", method: .post,
                                    headers: [.contentType: "application/x-www-form-urlencoded"],
                                    body: ByteBuffer(
                                        string:
                                            "sessionId=g\(i)&serviceCode=*100%23&phoneNumber=13900000001&text=2*2*\(subject)*\(password)"
                                    ))
                            }
                        }
                    }
                }
                let attempts = try allRecords(store).filter { $0.operation == "loss.report" }
                #expect(attempts.count == 100)
                #expect(
                    attempts.filter { $0.reason == "third_party_refused" }.count == 5,
                    "exactly the threshold is counted")
                #expect(attempts.filter { $0.reason == "third_party_locked" }.count == 95)
                // Locked: the right password of either number is refused too, until the lock ends.
                try await client.execute(
                    uri: "/v1/messages", method: .post, headers: jsonHeaders,
                    body: ByteBuffer(
                        string: #"{"channel":"sms","from":"13900000001","text":"GS 18612345678 258036","id":"r1"}"#)
                ) { response in
                    #expect(String(buffer: response.body).contains(#""reason":"third_party_locked""#))
                }
                // Neither owner is locked: each still reports the phone lost from the phone itself.
                for owner in ["18611110001", "18612345678"] {
                    let s = try await store.read { try $0.subscriber(owner) }
                    #expect(s?.passwordLockedUntil == nil && s?.failedPasswordAttempts == 0, "\(owner)")
                    try await client.execute(
                        uri: "/v1/messages", method: .post, headers: jsonHeaders,
                        body: ByteBuffer(
                            string: #"{"channel":"sms","from":"\#(owner)","text":"CXPUK 258036","id":"o1"}"#)
                    ) { response in
                        #expect(String(buffer: response.body).contains(#""reason":"ok""#), "\(owner)")
                    }
                }
            }
        }
    }

    @Test func theSameSMSMessageIdSentConcurrentlyIsAppliedOnce() async throws {
        try await withTemporaryDatabase { store, _ in
            let app = try await sqliteGateway(
                store, subscribers: [Fixtures.subscriber("18611110001", language: .english)])
            try await app.test(.router) { client in
                try await client.execute(
                    uri: "/v1/messages", method: .post, headers: jsonHeaders,
                    body: ByteBuffer(string: #"{"channel":"sms","from":"18611110001","text":"LOST 258036","id":"l1"}"#)
                ) { _ in }
                // The confirming Y, retried 30 times at once by the gateway with its message id.
                let replies = await withTaskGroup(of: String.self) { group in
                    for _ in 0..<30 {
                        group.addTask {
                            let response = try? await client.execute(
                                uri: "/sms/kannel?from=18611110001&text=Y&id=y1", method: .get)
                            return response.map { String(buffer: $0.body) } ?? ""
                        }
                    }
                    return await group.reduce(into: [String]()) { $0.append($1) }
                }
                let records = try allRecords(store)
                #expect(records.filter { $0.operation == "loss.report" && $0.result == "ok" }.count == 1)
                #expect(records.filter { $0.reason == "duplicate" }.count == 29)
                #expect(Set(replies).count == 1, "every retry is answered with the first reply")
                #expect(try await store.read { try $0.subscriber("18611110001")?.status } == .lost)
            }
        }
    }

    @Test func a1000ConcurrentSessionsAcrossChannelsNeverSeeEachOthersState() async throws {
        try await withTemporaryDatabase { store, _ in
            // Each caller has a balance of its own: 1.00 yuan times its index, plus 0.01.
            let subscribers = (0..<1000).map { i -> Subscriber in
                var s = Fixtures.subscriber("1880000\(String(format: "%04d", i))", language: .english, hasher: nil)
                s.balanceFen = 100 * i + 1
                return s
            }
            let app = try await sqliteGateway(store, subscribers: subscribers)
            try await app.test(.router) { client in
                let mismatches = await withTaskGroup(of: String?.self) { group in
                    for i in 0..<1000 {
                        group.addTask {
                            let number = "1880000\(String(format: "%04d", i))"
                            let expected = "CNY \(i).01"
                            do {
                                if i % 2 == 0 {
                                    // USSD, step by step in one session: menu, queries, balance.
                                    var last = ""
                                    for text in ["", "1", "1*1"] {
                                        last = try await client.execute(
                                            uri: "/ussd/at", method: .post,
                                            headers: [.contentType: "application/x-www-form-urlencoded"],
                                            body: ByteBuffer(
                                                string:
                                                    "sessionId=s\(i)&serviceCode=*100%23&phoneNumber=\(number)&text=\(text)"
                                            )
                                        ) { String(buffer: $0.body) }
                                    }
                                    return last.contains(expected) ? nil : "ussd \(number): \(last)"
                                } else {
                                    _ = try await client.execute(
                                        uri: "/v1/ivr", method: .post, headers: jsonHeaders,
                                        body: ByteBuffer(string: #"{"call":"c\#(i)","from":"\#(number)","start":true}"#)
                                    )
                                    _ = try await client.execute(
                                        uri: "/v1/ivr", method: .post, headers: jsonHeaders,
                                        body: ByteBuffer(string: #"{"call":"c\#(i)","from":"\#(number)","digits":"1"}"#)
                                    )
                                    let reply = try await client.execute(
                                        uri: "/v1/ivr", method: .post, headers: jsonHeaders,
                                        body: ByteBuffer(string: #"{"call":"c\#(i)","from":"\#(number)","digits":"1"}"#)
                                    ) { String(buffer: $0.body) }
                                    return reply.contains(expected) ? nil : "ivr \(number): \(reply)"
                                }
                            } catch {
                                return "\(number): \(error)"
                            }
                        }
                    }
                    return await group.reduce(into: [String]()) { if let m = $1 { $0.append(m) } }
                }
                #expect(mismatches.isEmpty, "\(mismatches.prefix(3))")
                let balances = try allRecords(store).filter { $0.operation == "query.balance" }
                #expect(balances.count == 1000)
                #expect(balances.allSatisfy { $0.caller == $0.subject })
            }
        }
    }

    @Test func aFloodFromOneNumberIsCutAtExactlyTheRateLimit() async throws {
        try await withTemporaryDatabase { store, _ in
            try await Fixtures.seed(store, subscribers: [Fixtures.subscriber()])
            // Two channels, as two gateway processes on one database would be: each serialises a number's
            // messages only among its own, so the limit holds only because the check and the record
            // share one transaction.
            let engine = try Fixtures.engine(store: store)
            let channels = [
                try Fixtures.smsChannel(engine: engine, rateLimit: 10),
                try Fixtures.smsChannel(engine: engine, rateLimit: 10),
            ]
            let reasons = await withTaskGroup(of: ReasonCode.self) { group in
                for i in 0..<40 {
                    group.addTask {
                        await channels[i % 2].handle(
                            InboundSMS(from: "18612345678", text: i % 4 < 2 ? "CXYE" : "XYZ", id: "f\(i)")
                        ).outcome.reason
                    }
                }
                return await group.reduce(into: [ReasonCode]()) { $0.append($1) }
            }
            #expect(reasons.filter { $0 == .rateLimited }.count == 30)
            let records = try allRecords(store)
            #expect(records.count == 40)
            #expect(records.filter { $0.reason != "rate_limited" }.count == 10)
            #expect(try store.verifyRecords().firstBreak == nil)
        }
    }
}
