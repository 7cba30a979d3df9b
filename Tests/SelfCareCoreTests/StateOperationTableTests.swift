import Foundation
import SelfCareCore
import SelfCareTesting
import Testing

/// A subscriber state of the SPEC §1 table: life-cycle state, payment and prepaid period.
struct StateCase: Sendable, CustomTestStringConvertible {
    let label: String
    let status: SubscriberStatus
    let payment: PaymentType
    let period: PrepaidPeriod?
    var testDescription: String { label }

    static let normalPostpaid = StateCase(label: "normal/postpaid", status: .normal, payment: .postpaid, period: nil)
    static let normalValid = StateCase(
        label: "normal/prepaid-valid", status: .normal, payment: .prepaid, period: .valid)
    static let normalRecharge = StateCase(
        label: "normal/prepaid-recharge", status: .normal, payment: .prepaid, period: .recharge)
    static let normalLocked = StateCase(
        label: "normal/prepaid-locked", status: .normal, payment: .prepaid, period: .locked)
    static let lostPostpaid = StateCase(label: "lost/postpaid", status: .lost, payment: .postpaid, period: nil)
    static let lostValid = StateCase(label: "lost/prepaid-valid", status: .lost, payment: .prepaid, period: .valid)
    static let arrearsPostpaid = StateCase(label: "arrears/postpaid", status: .arrears, payment: .postpaid, period: nil)
    static let arrearsValid = StateCase(
        label: "arrears/prepaid-valid", status: .arrears, payment: .prepaid, period: .valid)
    static let suspendedPostpaid = StateCase(
        label: "suspended/postpaid", status: .suspended, payment: .postpaid, period: nil)
    static let closedPostpaid = StateCase(label: "closed/postpaid", status: .closed, payment: .postpaid, period: nil)

    static let all: [StateCase] = [
        normalPostpaid, normalValid, normalRecharge, normalLocked, lostPostpaid, lostValid, arrearsPostpaid,
        arrearsValid, suspendedPostpaid, closedPostpaid,
    ]
}

/// The expected outcome of each operation in each state, written out from SPEC §1 by hand (not computed
/// by the rules under test). `ok` means allowed.
let expectedTable: [OperationName: [String: ReasonCode]] = {
    let states = StateCase.all.map(\.label)
    func row(_ default: ReasonCode, _ overrides: [String: ReasonCode]) -> [String: ReasonCode] {
        var r = Dictionary(uniqueKeysWithValues: states.map { ($0, `default`) })
        r["closed/postpaid"] = .closed
        for (k, v) in overrides { r[k] = v }
        return r
    }
    var table: [OperationName: [String: ReasonCode]] = [:]
    for query in [
        OperationName.queryBalance, .queryPlan, .queryData, .queryPoints, .queryBill, .queryCalls,
        .queryServices, .queryPUK, .queryPayments,
    ] {
        table[query] = row(.ok, [:])
    }
    table[.lossReport] = row(
        .ok,
        [
            "normal/prepaid-recharge": .prepaidPeriod, "normal/prepaid-locked": .prepaidPeriod,
            "lost/postpaid": .alreadyLost, "lost/prepaid-valid": .alreadyLost, "suspended/postpaid": .stateSuspended,
        ])
    table[.lossCancel] = row(.notLost, ["lost/postpaid": .ok, "lost/prepaid-valid": .ok])
    table[.planChange] = row(
        .ok,
        [
            "normal/prepaid-recharge": .prepaidPeriod, "normal/prepaid-locked": .prepaidPeriod,
            "lost/postpaid": .stateLost, "lost/prepaid-valid": .stateLost, "arrears/postpaid": .arrears,
            "arrears/prepaid-valid": .arrears, "suspended/postpaid": .stateSuspended,
        ])
    table[.planCancel] = row(.nothingPending, [:])
    table[.suspendKeep] = row(
        .ok,
        [
            "lost/postpaid": .stateLost, "lost/prepaid-valid": .stateLost, "arrears/postpaid": .arrears,
            "arrears/prepaid-valid": .arrears, "suspended/postpaid": .stateSuspended,
        ])
    table[.suspendResume] = row(.notSuspended, ["suspended/postpaid": .ok])
    table[.passwordChange] = row(.ok, [:])
    return table
}()

struct TableCase: Sendable, CustomTestStringConvertible {
    let operation: OperationName
    let state: StateCase
    let expected: ReasonCode
    var testDescription: String { "\(operation) in \(state.label) → \(expected)" }
}

let tableCases: [TableCase] = OperationName.all.flatMap { op in
    StateCase.all.map { TableCase(operation: op, state: $0, expected: expectedTable[op]![$0.label]!) }
}

@Suite("State × operation table (SPEC §1)")
struct StateOperationTableTests {
    static let number = "18612345678"

    @Test("covers every operation in every state")
    func coverage() {
        #expect(tableCases.count == OperationName.all.count * StateCase.all.count)
        #expect(Set(expectedTable.keys) == Set(OperationName.all))
    }

    @Test(arguments: tableCases)
    func outcome(_ c: TableCase) async throws {
        let store = MemoryServiceStore()
        let subject = Fixtures.subscriber(
            Self.number, status: c.state.status, payment: c.state.payment, period: c.state.period, plan: "P38")
        let lastMonth = Month(year: 2026, month: 10)
        try await Fixtures.seed(
            store, subscribers: [subject],
            usage: [
                UsageMonth(
                    msisdn: Self.number, month: lastMonth, voiceUsed: 10, smsUsed: 2, dataUsedMB: 100, chargesFen: 3800)
            ])
        let engine = try Fixtures.engine(store: store)
        let before = try await store.read { r in (try r.subscriber(Self.number), try r.pendingChanges(Self.number)) }

        var request = OperationRequest(operation: c.operation, channel: .api, caller: Self.number)
        switch c.operation {
        case .planChange: request.arguments = ["plan": "P18"]
        case .passwordChange:
            request.newPassword = Secret("147036")
            request.newPasswordAgain = Secret("147036")
        default: break
        }
        if engine.configuration.policy.needsPassword(c.operation) { request.password = Fixtures.password }

        let outcome = await engine.perform(request)
        #expect(outcome.reason == c.expected, "reply: \(outcome.reply)")
        #expect(outcome.result == (c.expected == .ok ? .ok : .refused))
        let record = try #require(outcome.record)
        #expect(record.reason == c.expected.rawValue)
        #expect(record.operation == c.operation.rawValue)
        #expect(record.subject == Self.number)
        if c.operation == .queryPUK && c.expected == .ok {
            #expect(outcome.reply.contains("12345678"))
            #expect(
                !record.reply.contains("12345678") && record.reply.contains("********"), "the PUK stays out of records")
        } else {
            #expect(record.reply == outcome.reply)
        }
        #expect(!outcome.reply.isEmpty && !outcome.reply.contains("{"), "unfilled reply: \(outcome.reply)")

        var recordCount = 0
        try store.forEachRecord(matching: RecordFilter()) { _ in recordCount += 1 }
        #expect(recordCount == 1, "exactly one record an attempt")

        let after = try await store.read { r in (try r.subscriber(Self.number), try r.pendingChanges(Self.number)) }
        if c.expected != .ok {
            #expect(after.0 == before.0, "a refused attempt changes no state")
            #expect(after.1 == before.1, "a refused attempt schedules nothing")
            return
        }
        let s = try #require(after.0)
        switch c.operation {
        case .lossReport:
            #expect(s.status == .lost)
            #expect(s.statusBeforeLoss == c.state.status)
        case .lossCancel: #expect(s.status == .normal)
        case .planChange: #expect(s.planCode == "P18")
        case .suspendKeep: #expect(s.status == .suspended)
        case .suspendResume: #expect(s.status == .normal)
        case .passwordChange:
            let hash = try #require(s.passwordHash)
            #expect(try Fixtures.hasher().verify(Secret("147036"), against: hash).matches)
            #expect(try !Fixtures.hasher().verify(Fixtures.password, against: hash).matches)
        default:
            #expect(after.0 == before.0, "a query changes nothing")
        }
    }
}
