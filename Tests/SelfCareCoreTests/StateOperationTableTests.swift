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
    // The rest of the catalogue (docs/operations.md), with the arguments `outcome` gives each.
    let lost: [String: ReasonCode] = ["lost/postpaid": .stateLost, "lost/prepaid-valid": .stateLost]
    let arrears: [String: ReasonCode] = ["arrears/postpaid": .arrears, "arrears/prepaid-valid": .arrears]
    let suspended: [String: ReasonCode] = ["suspended/postpaid": .stateSuspended]
    let prepaidOut: [String: ReasonCode] = [
        "normal/prepaid-recharge": .prepaidPeriod, "normal/prepaid-locked": .prepaidPeriod,
    ]
    func merged(_ parts: [String: ReasonCode]...) -> [String: ReasonCode] {
        parts.reduce(into: [:]) { $0.merge($1) { $1 } }
    }
    table[.rechargeCard] = row(.ok, [:])
    table[.dataPackOrder] = row(.ok, merged(lost, arrears, suspended, prepaidOut))
    table[.dataPackCancel] = row(.ok, [:])
    table[.serviceSubscribe] = row(.ok, merged(lost, arrears, suspended))
    table[.serviceUnsubscribe] = row(.ok, [:])
    table[.forwardingSet] = row(.ok, merged(lost, suspended))
    table[.forwardingCancel] = row(.ok, [:])
    table[.roamingOn] = row(.ok, merged(lost, arrears, suspended, prepaidOut))
    table[.roamingOff] = row(.notRoaming, [:])
    table[.pointsRedeem] = row(.ok, lost)
    table[.complaintFile] = row(.ok, [:])
    table[.complaintStatus] = row(.ok, [:])
    table[.spamReport] = row(.ok, [:])
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
        try await Fixtures.seedCatalogue(store)
        // The account holds next month's D20 pack, caller ID and busy forwarding; roaming is off.
        var features = SubscriberFeatures()
        features.packs = [PackSubscription(code: "D20", month: "2026-12")]
        features.services = ["CLIP"]
        features.forwarding = [ForwardingKind.busy.rawValue: "13800138000"]
        try await store.write { [features] in try $0.save(features, of: Self.number) }
        let engine = try Fixtures.engine(store: store)
        let before = try await Self.snapshot(store)

        var request = OperationRequest(operation: c.operation, channel: .api, caller: Self.number)
        switch c.operation {
        case .planChange: request.arguments = ["plan": "P18"]
        case .passwordChange:
            request.newPassword = Secret("147036")
            request.newPasswordAgain = Secret("147036")
        case .rechargeCard:
            request.arguments = ["card": Fixtures.cardSerial]
            request.cardPIN = Fixtures.cardPIN
        case .dataPackOrder: request.arguments = ["pack": "D10"]
        case .dataPackCancel: request.arguments = ["pack": "D20"]
        case .serviceSubscribe: request.arguments = ["service": "CRBT"]
        case .serviceUnsubscribe: request.arguments = ["service": "CLIP"]
        case .forwardingSet: request.arguments = ["kind": "no_answer", "target": "13900001111"]
        case .pointsRedeem: request.arguments = ["reward": "R10"]
        case .complaintFile: request.arguments = ["category": "network", "text": "信号差"]
        case .spamReport: request.arguments = ["offender": "10690000123", "text": "中奖了"]
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

        let after = try await Self.snapshot(store)
        if c.expected != .ok {
            #expect(after.subscriber == before.subscriber, "a refused attempt changes no state")
            #expect(after.pending == before.pending, "a refused attempt schedules nothing")
            #expect(after.features == before.features, "a refused attempt changes no service, pack or forwarding")
            #expect(after.card == before.card, "a refused attempt uses no card")
            #expect(after.tickets == before.tickets && after.orders == 0, "a refused attempt files and orders nothing")
            return
        }
        let s = try #require(after.subscriber)
        if c.operation.isTransaction {
            #expect(after.orders == 1, "an applied transaction writes its service order")
        }
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
        case .rechargeCard:
            #expect(s.balanceFen == 12345 + 5000)
            #expect(after.card?.state == .used && after.card?.usedFor == Self.number)
            if c.state.status == .arrears { #expect(s.status == .normal, "a balance no longer negative reopens") }
            if c.state.period != nil {
                #expect(s.prepaidPeriod == .valid, "a recharge ends the recharge and locked periods")
            }
        case .dataPackOrder:
            #expect(s.balanceFen == 12345 - 1000)
            #expect(after.features.packs.contains(PackSubscription(code: "D10", month: "2026-11")))
        case .dataPackCancel:
            #expect(after.features.packs.isEmpty)
            #expect(s.balanceFen == 12345 + 2000, "next month's pack fee is refunded")
        case .serviceSubscribe: #expect(after.features.services == ["CLIP", "CRBT"])
        case .serviceUnsubscribe: #expect(after.features.services.isEmpty)
        case .forwardingSet: #expect(after.features.forwarding["no_answer"] == "13900001111")
        case .forwardingCancel: #expect(after.features.forwarding.isEmpty)
        case .roamingOn:
            #expect(after.features.roaming)
            #expect(s.balanceFen == 12345, "the gold tier pays no deposit")
        case .pointsRedeem:
            #expect(s.points == 3200 - 1000 && s.balanceFen == 12345 + 1000)
        case .complaintFile, .spamReport:
            #expect(after.tickets == 1)
            #expect(outcome.reply.contains("TS00000001"))
        default:
            #expect(after.subscriber == before.subscriber, "a query changes nothing")
            #expect(after.features == before.features && after.tickets == before.tickets)
        }
    }

    /// What an attempt could change: the subscriber, its pending changes and features, the fixture card, how many
    /// tickets and orders there are.
    struct Snapshot: Sendable {
        var subscriber: Subscriber?
        var pending: [PendingChange]
        var features: SubscriberFeatures
        var card: RechargeCard?
        var tickets: Int
        var orders: Int
    }

    static func snapshot(_ store: any ServiceStore) async throws -> Snapshot {
        try await store.read { r in
            Snapshot(
                subscriber: try r.subscriber(number), pending: try r.pendingChanges(number),
                features: try r.features(number), card: try r.card(Fixtures.cardSerial),
                tickets: try r.tickets(number, limit: 100).count, orders: try r.orders(OrderFilter()).count)
        }
    }
}
