import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import InMemoryLogging
import Logging
import NIOCore
import SelfCareCore
import SelfCareStore
import SelfCareTesting
import Testing

@testable import SelfCareHTTP

/// A store that cannot read the plans (their table gone under the running gateway): the plan menus say the system
/// is busy and record the fault; they never pass it off as "no plans to choose from".
@Suite("Store faults are errors, on SQLite")
struct StoreFaultTests {
    static func losePlans(_ store: SQLiteServiceStore) async throws {
        try await store.executeRaw("ALTER TABLE plans RENAME TO plans_gone")
    }

    @Test func anIVRPlanMenuOverAFaultIsAnErrorNotNoPlans() async throws {
        try await withTemporaryDatabase { store, _ in
            let app = try await sqliteGateway(store, subscribers: [Fixtures.subscriber()])
            try await Self.losePlans(store)
            try await app.test(.router) { client in
                var actions = ""
                for step in [#""start":true"#, #""digits":"3""#, #""digits":"1""#] {
                    try await client.execute(
                        uri: "/v1/ivr", method: .post, headers: [.contentType: "application/json"],
                        body: ByteBuffer(string: #"{"call":"f1","from":"18612345678",\#(step)}"#)
                    ) { response in
                        #expect(response.status == .ok)
                        actions = String(buffer: response.body)
                    }
                }
                #expect(actions.contains("系统繁忙"), "\(actions)")
                #expect(!actions.contains("暂无可选套餐"), "\(actions)")
            }
            let record = try #require(try await store.records(matching: RecordFilter()).last)
            #expect(record.operation == "plan.change" && record.result == "error" && record.reason == "internal_error")
            #expect(record.channel == "ivr" && record.session == "f1")
        }
    }

    @Test func aUSSDPlanMenuOverAFaultIsAnErrorNotNoPlans() async throws {
        try await withTemporaryDatabase { store, _ in
            let app = try await sqliteGateway(store, subscribers: [Fixtures.subscriber()])
            try await Self.losePlans(store)
            try await app.test(.router) { client in
                try await client.execute(
                    uri: "/ussd/at", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                    body: ByteBuffer(string: "sessionId=f2&serviceCode=*100%23&phoneNumber=18612345678&text=3*1")
                ) { response in
                    let screen = String(buffer: response.body)
                    #expect(screen == "END 系统繁忙，请稍后再试。", "\(screen)")
                }
            }
            let record = try #require(try await store.records(matching: RecordFilter()).last)
            #expect(record.operation == "plan.change" && record.result == "error" && record.reason == "internal_error")
        }
    }
}

/// The tick that applies due pending changes says when it cannot (it dropped the error before).
@Suite("The tick's faults are logged, on SQLite")
struct TickFaultTests {
    @Test func aTickThatCannotReadThePendingChangesLogsIt() async throws {
        try await withTemporaryDatabase { store, _ in
            try await Fixtures.seed(store, subscribers: [Fixtures.subscriber()])
            let engine = try Fixtures.engine(store: store)
            try await store.executeRaw("ALTER TABLE pending_changes RENAME TO pending_changes_gone")
            let handler = InMemoryLogHandler()
            let service = PendingChangeService(
                engine: engine, interval: 0.01, logger: Logger(label: "tick-test", factory: { _ in handler }))
            let running = Task { try await service.run() }
            defer { running.cancel() }
            for _ in 0..<400 where !handler.entries.contains(where: { "\($0.message)".contains("pending changes") }) {
                try await Task.sleep(for: .milliseconds(5))
            }
            let entry = try #require(handler.entries.first { "\($0.message)".contains("pending changes") })
            #expect(entry.level == .error)
            #expect("\(entry.metadata ?? [:])".contains("pending_changes"), "\(entry)")
        }
    }
}
