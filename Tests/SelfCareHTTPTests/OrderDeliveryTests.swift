import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SelfCareCore
import SelfCareCrypto
import SelfCareHTTP
import SelfCareStore
import SelfCareTesting
import Testing

/// Service orders on their way to billing and back (docs/orders.md): delivered by files or a webhook, tried again
/// with growing waits, dead after the last try, answered accepted or rejected, escalated when billing is late.
@Suite("Service order delivery")
struct OrderDeliveryTests {
    static let numbers = ["18612345678", "18611110001", "18611110002"]

    /// A store with three subscribers who each reported their phone lost: three pending orders.
    static func withOrders(
        clock: ManualTimeSource = ManualTimeSource(Fixtures.midNovember),
        _ body: (OperationEngine, MemoryServiceStore) async throws -> Void
    ) async throws {
        let store = MemoryServiceStore()
        try await Fixtures.seed(store, subscribers: numbers.map { Fixtures.subscriber($0) })
        let engine = try Fixtures.engine(store: store, clock: clock)
        for number in numbers {
            let outcome = await engine.perform(
                OperationRequest(operation: .lossReport, channel: .sms, caller: number, password: Fixtures.password))
            #expect(outcome.isOK, "\(outcome.reason)")
        }
        #expect(try await engine.orders(OrderFilter(state: .pending)).count == 3)
        try await body(engine, store)
    }

    static func records(_ store: MemoryServiceStore, _ operation: OperationName) async throws -> [ServiceRecord] {
        try await store.records(matching: RecordFilter()).filter { $0.operation == operation.rawValue }
    }

    @Test func theWaitDoublesUpToItsCeilingWithJitter() {
        var policy = OrderDeliveryPolicy()
        policy.baseDelay = 30
        policy.maxDelay = 600
        #expect(policy.delay(afterFailures: 1, jitter: 1) == 30)
        #expect(policy.delay(afterFailures: 2, jitter: 1) == 60)
        #expect(policy.delay(afterFailures: 4, jitter: 1) == 240)
        #expect(policy.delay(afterFailures: 9, jitter: 1) == 600, "capped")
        #expect(policy.delay(afterFailures: 2, jitter: 0.5) == 30 && policy.delay(afterFailures: 2, jitter: 1.49) > 89)
        #expect(policy.delay(afterFailures: 2, jitter: 7) == 90, "the jitter factor is kept in 0.5...1.5")
    }

    @Test func aWebhookDeliversEachOrderWithItsKeyAndTheReceiverAppliesItOnce() async throws {
        let clock = ManualTimeSource(Fixtures.midNovember)
        try await Self.withOrders(clock: clock) { engine, store in
            let receiver = BillingReceiver()
            await receiver.fail(next: 1)
            let app = Application(
                router: receiver.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
            try await app.test(.live) { client in
                let port = try #require(client.port)
                var webhook = OrderWebhook(
                    engine: engine, url: URL(string: "http://127.0.0.1:\(port)/orders")!)
                webhook.token = "billing-secret"
                webhook.policy.baseDelay = 60
                // A loaded machine (the whole suite at once) may take seconds to answer on loopback.
                webhook.timeout = 60

                // Billing is down: one try, then the pass stops; the order waits about a minute.
                let down = try await webhook.drain()
                #expect(down == OrderWebhook.Pass(delivered: 0, failed: 1))
                let first = try #require(try await engine.order(id: 1))
                #expect(first.state == .pending && first.attempts == 1 && first.lastError == "HTTP 503")
                let wait = try #require(first.nextAttempt.flatMap(ISOTime.parse)).timeIntervalSince(clock.now())
                #expect(wait >= 30 && wait < 90, "\(wait)")
                #expect(try await Self.records(store, .orderDeliver).last?.reason == "delivery_failed")

                // Before its wait, order 1 is not tried again; orders 2 and 3 are.
                let second = try await webhook.drain()
                #expect(second == OrderWebhook.Pass(delivered: 2, failed: 0))
                #expect(try await engine.order(id: 1)?.state == .pending)
                clock.advance(by: 120)
                #expect(try await webhook.drain() == OrderWebhook.Pass(delivered: 1, failed: 0))
                let orders = try await engine.orders(OrderFilter())
                #expect(orders.allSatisfy { $0.state == .delivered })
                #expect(await receiver.lastAuthorization == "Bearer billing-secret")
                #expect(Set(await receiver.applied) == Set(orders.map(\.key)))

                // Delivered twice (a lost answer): the receiver applies it once by its key.
                _ = await receiver.receive(key: orders[0].key, authorization: nil, body: orders[0].payload)
                #expect(await receiver.applied.count == 3)
                #expect(await receiver.payloads[orders[0].key] == orders[0].payload)
            }
        }
    }

    /// A claim hides the orders from every other node until its hold ends; orders a pass did not post are given
    /// back as they were, and a claim that ran out (the node stopped) lets another node take them.
    @Test func claimedOrdersAreHeldForTheirNodeAndGivenBackWhenNotPosted() async throws {
        let clock = ManualTimeSource(Fixtures.midNovember)
        try await Self.withOrders(clock: clock) { engine, store in
            let claim = try await engine.claimOrdersDue(limit: 10, hold: 60)
            #expect(claim.orders.map(\.id) == [1, 2, 3])
            #expect(try await engine.ordersDue(limit: 10).isEmpty, "claimed orders are no other node's")
            #expect(try await engine.claimOrdersDue(limit: 10, hold: 60).orders.isEmpty)
            #expect(try await Self.records(store, .orderDeliver).isEmpty, "a claim writes no record")
            try await engine.recordDelivery([1], via: "webhook", result: .failed("HTTP 500"), policy: .init())
            try await engine.release(claim, except: [1])
            #expect(try await engine.ordersDue(limit: 10).map(\.id) == [2, 3], "given back, due again")
            let again = try await engine.claimOrdersDue(limit: 10, hold: 60)
            #expect(again.orders.map(\.id) == [2, 3])
            // A claim that ran out; order 1's wait after its failure (30 s, jitter at most 1.5×) is over too.
            clock.advance(by: 61)
            #expect(try await engine.ordersDue(limit: 10).map(\.id) == [1, 2, 3])
        }
    }

    @Test func anOrderIsDeadAfterItsLastTryUntilAnOperatorRetriesIt() async throws {
        let clock = ManualTimeSource(Fixtures.midNovember)
        try await Self.withOrders(clock: clock) { engine, store in
            var policy = OrderDeliveryPolicy()
            policy.maxAttempts = 3
            for _ in 0..<3 {
                try await engine.recordDelivery([1], via: "webhook", result: .failed("HTTP 500"), policy: policy)
                clock.advance(by: 7200)
            }
            let dead = try #require(try await engine.order(id: 1))
            #expect(dead.state == .dead && dead.attempts == 3 && dead.nextAttempt == nil)
            #expect(try await Self.records(store, .orderDeliver).last?.reason == "order_dead")
            #expect(try await engine.ordersDue(limit: 10).map(\.id) == [2, 3], "a dead order is not tried")
            await #expect(throws: OrderRetryRefusal.self) { try await engine.retryOrder(id: 2, by: "ops") }
            let retried = try #require(try await engine.retryOrder(id: 1, by: "ops"))
            #expect(retried.state == .pending && retried.attempts == 0)
            let record = try #require(try await Self.records(store, .orderRetry).last)
            #expect(record.caller == "ops" && record.inputValues["was"] == "dead")
        }
    }

    @Test func outboxFilesAreSequencedCheckedAndWrittenAgainByteForByteAfterAStop() async throws {
        try await Self.withOrders { engine, store in
            try await withTemporaryDirectory { dir in
                var outbox = OrderOutbox(engine: engine, folder: dir.path)
                outbox.batch = 2
                // A pass that stopped after claiming its first file and before writing it.
                let claimed = try #require(try await engine.claimOutboxFile(limit: 2))
                #expect(claimed.sequence == 1 && claimed.orders.map(\.id) == [1, 2])
                let files = try await outbox.drain()
                #expect(
                    files.map(\.name) == [
                        "ORDER_SELFCARE_20261115_000001.jsonl", "ORDER_SELFCARE_20261115_000002.jsonl",
                    ])
                #expect(files.map(\.orders) == [2, 1])
                let data = try Data(contentsOf: dir.appendingPathComponent(files[0].name))
                let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
                #expect(lines.count == 2 && lines[0] == Substring(claimed.orders[0].payload))
                let check = try FeedCheck.parse(
                    try Data(contentsOf: dir.appendingPathComponent("ORDER_SELFCARE_20261115_000001.chk")))
                #expect(check.rows == 2 && check.bytes == data.count)
                #expect(check.sha256 == LibCrypto.sha256(data).hexString)
                #expect(try await engine.orders(OrderFilter(state: .delivered)).count == 3)
                #expect(try await outbox.drain().isEmpty, "nothing due: no empty file")
                let record = try #require(try await Self.records(store, .orderDeliver).first)
                #expect(record.inputValues["via"] == files[0].name && record.inputValues["orders"] == "2")
            }
        }
    }

    @Test func answersCloseOrdersOnceAndContradictionsAreRefused() async throws {
        try await Self.withOrders { engine, store in
            let key = try #require(try await engine.order(id: 1)?.key)
            guard
                case .closed(let accepted) = try await engine.answerOrder(
                    key: key, answer: .accepted, reason: "done", source: "http")
            else {
                Issue.record("expected the order closed")
                return
            }
            #expect(accepted.state == .accepted && accepted.answer == "done")
            guard
                case .unchanged = try await engine.answerOrder(key: key, answer: .accepted, reason: "", source: "http")
            else {
                Issue.record("the same answer again changes nothing")
                return
            }
            guard
                case .refused(let why) = try await engine.answerOrder(
                    key: key, answer: .rejected, reason: "", source: "http")
            else {
                Issue.record("a contradicting answer is refused")
                return
            }
            #expect(why == "order 1 was accepted already")
            guard
                case .refused = try await engine.answerOrder(key: "SC-nope", answer: .accepted, reason: "", source: "x")
            else {
                Issue.record("an unknown key is refused")
                return
            }
            let acks = try await Self.records(store, .orderAck)
            #expect(acks.map(\.result) == ["ok", "refused", "refused"])
            #expect(acks.map(\.reason) == ["ok", "order_unknown", "order_unknown"])
        }
    }

    @Test func ordersDeliveredAndNotAnsweredInTimeAreStale() async throws {
        let clock = ManualTimeSource(Fixtures.midNovember)
        try await Self.withOrders(clock: clock) { engine, _ in
            var policy = OrderDeliveryPolicy()
            policy.answerTimeout = 3600
            try await engine.recordDelivery([1, 2], via: "webhook", result: .delivered, policy: policy)
            #expect(try await engine.staleOrders(policy: policy).isEmpty)
            clock.advance(by: 3601)
            let key2 = try #require(try await engine.order(id: 2)?.key)
            _ = try await engine.answerOrder(key: key2, answer: .accepted, reason: "", source: "http")
            #expect(try await engine.staleOrders(policy: policy).map(\.id) == [1])
            let backlog = try await engine.orderBacklog()
            #expect(backlog.counts[.pending] == 1 && backlog.counts[.delivered] == 1 && backlog.counts[.accepted] == 1)
            #expect(backlog.oldestPending == Fixtures.midNovember)
        }
    }

    @Test func billingAnswersOverHTTPBehindTheToken() async throws {
        let (app, store) = try await gateway(adminToken: "t")
        let engine = try Fixtures.engine(store: store)
        _ = await engine.perform(
            OperationRequest(operation: .lossReport, channel: .sms, caller: "18612345678", password: Fixtures.password))
        let key = try #require(try await engine.order(id: 1)?.key)
        let auth: HTTPFields = [.authorization: "Bearer t", .contentType: "application/json"]
        try await app.test(.router) { client in
            func answer(_ body: String, headers: HTTPFields? = nil) async throws -> (HTTPResponse.Status, String) {
                try await client.execute(
                    uri: "/v1/orders/answer", method: .post, headers: headers ?? auth, body: ByteBuffer(string: body)
                ) { ($0.status, String(buffer: $0.body)) }
            }
            #expect(try await answer("{}", headers: [.contentType: "application/json"]).0 == .unauthorized)
            #expect(try await answer(#"{"result":"accepted"}"#).0 == .badRequest)
            #expect(try await answer(#"{"key":"\#(key)","result":"maybe"}"#).0 == .badRequest)
            #expect(try await answer(#"{"key":"SC-0000","result":"accepted"}"#).0 == .badRequest)
            #expect(try await answer(#"{"key":"\#(key)\u0000zzz","result":"accepted"}"#).0 == .badRequest)
            let unknown = "SC-" + String(repeating: "0", count: 32)
            #expect(try await answer(#"{"key":"\#(unknown)","result":"accepted"}"#).0 == .notFound)
            let (status, body) = try await answer(#"{"key":"\#(key)","result":"rejected","reason":"no such account"}"#)
            #expect(status == .ok && body == #"{"order":1,"state":"rejected"}"#)
            #expect(try await answer(#"{"key":"\#(key)","result":"accepted"}"#).0 == .conflict)
        }
        #expect(try await engine.order(id: 1)?.answer == "no such account")
    }

    @Test func anAnswerFileInTheInboxClosesOrdersWholeOrNothing() async throws {
        try await withTemporaryDatabase { store, dir in
            try await Fixtures.seed(store, subscribers: Self.numbers.map { Fixtures.subscriber($0) })
            let engine = try Fixtures.engine(store: store)
            for number in Self.numbers.prefix(2) {
                _ = await engine.perform(
                    OperationRequest(operation: .lossReport, channel: .sms, caller: number, password: Fixtures.password)
                )
            }
            let keys = try await engine.orders(OrderFilter()).map(\.key)
            let inbox = dir.appendingPathComponent("inbox")
            try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
            let billing = BillingSimulator(inbox: inbox)
            let sync = InboxSync(
                importer: CSVImporter(engine: engine, hasher: nil, pool: nil),
                configuration: InboxSync.Configuration(inbox: inbox.path))
            // An unknown key spoils the whole file.
            try billing.deliver(
                .answers, sequence: 1,
                csv: "key,result,reason\n\(keys[0]),accepted,\nSC-unknown,rejected,x\n")
            _ = try await sync.drain()
            #expect(try await engine.order(id: 1)?.state == .pending)
            try FileManager.default.removeItem(at: inbox.appendingPathComponent("quarantine"))
            try billing.deliver(
                .answers, sequence: 1,
                csv: "key,result,reason\n\(keys[0]),accepted,\n\(keys[1]),rejected,账户已销户\n")
            let report = try await sync.drain()
            #expect(
                report.files.map(\.outcome) == [
                    .applied(applied: 2, unchanged: 0, omitted: 0, mode: .delta, encoding: .utf8)
                ])
            #expect(try await engine.order(id: 1)?.state == .accepted)
            let rejected = try #require(try await engine.order(id: 2))
            #expect(rejected.state == .rejected && rejected.answer == "账户已销户")
        }
    }

    /// The webhook follows no redirect (it would carry the token to another host) and gives up at its deadline.
    @Test func theWebhookFollowsNoRedirectAndKeepsItsDeadline() async throws {
        try await Self.withOrders { engine, _ in
            let receiver = BillingReceiver()
            let app = Application(
                router: receiver.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
            try await app.test(.live) { client in
                let port = try #require(client.port)
                var moved = OrderWebhook(engine: engine, url: URL(string: "http://127.0.0.1:\(port)/moved")!)
                moved.token = "secret"
                // The redirect is the point, not the time: generous under a loaded machine.
                moved.timeout = 120
                #expect(try await moved.drain() == OrderWebhook.Pass(delivered: 0, failed: 1))
                #expect(try await engine.order(id: 1)?.lastError == "HTTP 307")
                #expect(await receiver.calls.isEmpty, "the redirect was not followed")
                var slow = OrderWebhook(engine: engine, url: URL(string: "http://127.0.0.1:\(port)/slow")!)
                slow.timeout = 1
                #expect(try await slow.drain() == OrderWebhook.Pass(delivered: 0, failed: 1))
                #expect(try await engine.order(id: 2)?.state == .pending)
            }
        }
    }

    @Test func theOutboxNeverWritesThroughALink() async throws {
        try await Self.withOrders { engine, _ in
            try await withTemporaryDirectory { dir in
                let outbox = dir.appendingPathComponent("outbox")
                try FileManager.default.createDirectory(at: outbox, withIntermediateDirectories: true)
                let victim = dir.appendingPathComponent("victim")
                try Data("keep".utf8).write(to: victim)
                try FileManager.default.createSymbolicLink(
                    atPath: outbox.appendingPathComponent("ORDER_SELFCARE_20261115_000001.jsonl").path,
                    withDestinationPath: victim.path)
                let files = try await OrderOutbox(engine: engine, folder: outbox.path).drain()
                #expect(files.count == 1 && files[0].failure == nil)
                #expect(try String(contentsOf: victim, encoding: .utf8) == "keep")
                let written = outbox.appendingPathComponent("ORDER_SELFCARE_20261115_000001.jsonl")
                let type = try FileManager.default.attributesOfItem(atPath: written.path)[.type] as? FileAttributeType
                #expect(type == .typeRegular)
            }
        }
    }

    /// The whole loop with the billing simulator: orders out by webhook, answers back as a feed file, a rejected
    /// plan change undone and the customer's notice queued, the accepted loss report closed.
    @Test func theLoopClosesThroughTheWebhookAndAnAnswerFile() async throws {
        try await withTemporaryDatabase { store, dir in
            try await Fixtures.seed(store, subscribers: Self.numbers.map { Fixtures.subscriber($0) })
            let engine = try Fixtures.engine(store: store)
            _ = await engine.perform(
                OperationRequest(
                    operation: .lossReport, channel: .sms, caller: Self.numbers[0], password: Fixtures.password))
            _ = await engine.perform(
                OperationRequest(
                    operation: .planChange, channel: .sms, caller: Self.numbers[1],
                    arguments: ["plan": "P58", "when": "next"],
                    password: Fixtures.password))
            // Billing refuses plan changes, takes everything else.
            let receiver = BillingReceiver { $0.contains("\"operation\":\"plan.change\"") ? .rejected : .accepted }
            let app = Application(
                router: receiver.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
            try await app.test(.live) { client in
                let port = try #require(client.port)
                var webhook = OrderWebhook(engine: engine, url: URL(string: "http://127.0.0.1:\(port)/orders")!)
                // The loop is the point here, not the time a call takes: a test run that loads both cores for a
                // minute must not turn a slow answer into a failed delivery.
                webhook.timeout = 120
                #expect(try await webhook.drain() == OrderWebhook.Pass(delivered: 2, failed: 0))
            }
            let inbox = dir.appendingPathComponent("inbox")
            try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
            let csv = try #require(await receiver.answerFile())
            try BillingSimulator(inbox: inbox).deliver(.answers, sequence: 1, csv: csv)
            #expect(await receiver.answerFile() == nil, "each order answered once")
            let sync = InboxSync(
                importer: CSVImporter(engine: engine, hasher: nil, pool: nil),
                configuration: InboxSync.Configuration(inbox: inbox.path))
            _ = try await sync.drain()
            let orders = try await engine.orders(OrderFilter())
            #expect(orders.map(\.state) == [.accepted, .rejected])
            #expect(
                try await store.read { try $0.pendingChanges(Self.numbers[1]) }.isEmpty, "the rejected change undone")
            #expect(
                try await store.read { try $0.subscriber(Self.numbers[0]) }?.status == .lost, "the accepted one stays")
            let notices = try await engine.notices(NoticeFilter())
            #expect(notices.map(\.kind) == ["order.compensated"] && notices[0].msisdn == Self.numbers[1])
        }
    }
}
