import Foundation
import SelfCareCore
import SelfCareCrypto
import SelfCareTesting
import Testing

@Suite("Business rules beyond the state table")
struct RulesTests {
    static let number = "18612345678"

    func engine(
        _ subscribers: [Subscriber], clock: any TimeSource = FixedTimeSource(Fixtures.midNovember),
        usage: [UsageMonth] = []
    ) async throws -> (MemoryServiceStore, OperationEngine) {
        let store = MemoryServiceStore()
        try await Fixtures.seed(store, subscribers: subscribers, usage: usage)
        return (store, try Fixtures.engine(store: store, clock: clock))
    }

    func change(
        _ engine: OperationEngine, plan: String, when: String? = nil, number: String = RulesTests.number
    )
        async -> OperationOutcome
    {
        var arguments = ["plan": plan]
        if let when { arguments["when"] = when }
        return await engine.perform(
            OperationRequest(
                operation: .planChange, channel: .api, caller: number, arguments: arguments, password: Fixtures.password
            ))
    }

    struct PlanCase: Sendable, CustomTestStringConvertible {
        let label: String
        let payment: PaymentType
        let contractEnd: LocalDate?
        let target: String
        let expected: ReasonCode
        var testDescription: String { "\(label): → \(target) = \(expected)" }
    }

    @Test(arguments: [
        PlanCase(label: "postpaid", payment: .postpaid, contractEnd: nil, target: "P99", expected: .unknownPlan),
        PlanCase(label: "postpaid", payment: .postpaid, contractEnd: nil, target: "P38", expected: .samePlan),
        PlanCase(label: "postpaid", payment: .postpaid, contractEnd: nil, target: "p18", expected: .ok),
        PlanCase(label: "postpaid", payment: .postpaid, contractEnd: nil, target: "L28", expected: .planNotEligible),
        PlanCase(label: "postpaid", payment: .postpaid, contractEnd: nil, target: "K19", expected: .planNotEligible),
        PlanCase(label: "prepaid", payment: .prepaid, contractEnd: nil, target: "P58", expected: .planNotEligible),
        PlanCase(label: "prepaid", payment: .prepaid, contractEnd: nil, target: "K19", expected: .ok),
        PlanCase(
            label: "contract running", payment: .postpaid, contractEnd: LocalDate(year: 2027, month: 6, day: 30),
            target: "P18", expected: .contract),
        PlanCase(
            label: "contract running", payment: .postpaid, contractEnd: LocalDate(year: 2027, month: 6, day: 30),
            target: "P58", expected: .ok),
        PlanCase(
            label: "contract ends today", payment: .postpaid, contractEnd: LocalDate(year: 2026, month: 11, day: 15),
            target: "P18", expected: .contract),
        PlanCase(
            label: "contract ended yesterday", payment: .postpaid,
            contractEnd: LocalDate(year: 2026, month: 11, day: 14), target: "P18", expected: .ok),
    ])
    func planChange(_ c: PlanCase) async throws {
        let s = Fixtures.subscriber(Self.number, payment: c.payment, contractEnd: c.contractEnd)
        let (store, engine) = try await engine([s])
        let outcome = await change(engine, plan: c.target)
        #expect(outcome.reason == c.expected, "\(outcome.reply)")
        let after = try #require(try await store.read { try $0.subscriber(Self.number) })
        #expect(after.planCode == (c.expected == .ok ? c.target.uppercased() : s.planCode))
    }

    @Test func suspendRefusedForPremiumAndContract() async throws {
        let premium = Fixtures.subscriber("18688888888", premium: true)
        let contract = Fixtures.subscriber("18611110010", contractEnd: LocalDate(year: 2027, month: 1, day: 1))
        let (store, engine) = try await engine([premium, contract])
        for (number, reason) in [("18688888888", ReasonCode.premiumNumber), ("18611110010", .contract)] {
            let o = await engine.perform(
                OperationRequest(operation: .suspendKeep, channel: .api, caller: number, password: Fixtures.password))
            #expect(o.reason == reason)
            #expect(try await store.read { try $0.subscriber(number) }?.status == .normal)
        }
    }

    @Test func lossCancelRestoresTheStateBeforeTheLoss() async throws {
        let (store, engine) = try await engine([Fixtures.subscriber(Self.number, status: .arrears)])
        let report = await engine.perform(
            OperationRequest(operation: .lossReport, channel: .api, caller: Self.number, password: Fixtures.password))
        #expect(report.reason == .ok)
        let cancel = await engine.perform(
            OperationRequest(operation: .lossCancel, channel: .api, caller: Self.number, password: Fixtures.password))
        #expect(cancel.reason == .ok)
        #expect(try await store.read { try $0.subscriber(Self.number) }?.status == .arrears)
    }

    @Test func lossReportFromAnotherPhoneConcernsTheKeyedInNumber() async throws {
        let (store, engine) = try await engine([Fixtures.subscriber(Self.number)])
        let o = await engine.perform(
            OperationRequest(
                operation: .lossReport, channel: .sms, caller: "+86 139 0000 0000", subject: "+8618612345678",
                password: Fixtures.password))
        #expect(o.reason == .ok)
        #expect(o.record?.caller == "13900000000")
        #expect(o.record?.subject == Self.number)
        #expect(try await store.read { try $0.subscriber(Self.number) }?.status == .lost)
    }

    @Test func queriesWithoutPasswordAlwaysConcernTheCaller() async throws {
        var other = Fixtures.subscriber("18611110001")
        other.balanceFen = 99
        let (_, engine) = try await engine([Fixtures.subscriber(Self.number), other])
        let o = await engine.perform(
            OperationRequest(operation: .queryBalance, channel: .sms, caller: Self.number, subject: "18611110001"))
        #expect(o.reason == .ok)
        #expect(o.record?.subject == Self.number)
        #expect(o.reply.contains("123.45"))
        #expect(!o.reply.contains("0.99"))
    }

    @Test func aPasswordThatIsPartOfTheNumberIsNotMaskedInsideIt() async throws {
        var s = Fixtures.subscriber(Self.number)
        s.passwordHash = try Fixtures.hasher().hash(Secret("612345"))
        let (store, engine) = try await engine([s])
        let o = await engine.perform(
            OperationRequest(operation: .lossReport, channel: .sms, caller: Self.number, password: Secret("612345")))
        #expect(o.reason == .ok)
        #expect(o.reply.contains(Self.number), "\(o.reply)")
        #expect(o.record?.subject == Self.number)
        var subjects: [String] = []
        try store.forEachRecord(matching: RecordFilter(subject: Self.number)) { subjects.append($0.subject) }
        #expect(subjects == [Self.number])
    }

    @Test func aShortKeyedNumberIsTreatedAsAMisplacedPassword() async throws {
        let (_, engine) = try await engine([Fixtures.subscriber(Self.number)])
        let o = await engine.perform(
            OperationRequest(
                operation: .lossReport, channel: .sms, caller: "13900000000", subject: "258036",
                password: Secret("258036")))
        #expect(o.reason == .invalidArgument)
        let record = try #require(o.record)
        #expect(!record.jsonLine.contains("258036"))
        #expect(record.subject == "13900000000")
        #expect(record.inputValues["subject"] == "******")
    }

    @Test func unknownSubscriberCommandAndArguments() async throws {
        let (_, engine) = try await engine([Fixtures.subscriber(Self.number)])
        let unknown = await engine.perform(
            OperationRequest(operation: .queryBalance, channel: .sms, caller: "13700000000"))
        #expect(unknown.reason == .unknownSubscriber)
        #expect(unknown.record?.subject == "13700000000")
        let keyed = await engine.perform(
            OperationRequest(
                operation: .lossReport, channel: .sms, caller: Self.number, subject: "13700000001",
                password: Fixtures.password))
        // Keyed in by a third party: the one answer that does not tell whether the number exists.
        #expect(keyed.reason == .thirdPartyRefused)
        #expect(!keyed.reply.contains("13700000001"), "\(keyed.reply)")
        #expect(keyed.record?.inputValues["cause"] == "unknown_subscriber")
        let command = await engine.perform(
            OperationRequest(operation: "query.weather", channel: .sms, caller: Self.number))
        #expect(command.reason == .unknownCommand)
        let month = await engine.perform(
            OperationRequest(
                operation: .queryBill, channel: .api, caller: Self.number, arguments: ["month": "202613"],
                password: Fixtures.password))
        #expect(month.reason == .invalidArgument)
        let noPlan = await change(engine, plan: "")
        #expect(noPlan.reason == .invalidArgument)
        let when = await change(engine, plan: "P18", when: "tomorrow")
        #expect(when.reason == .invalidArgument)
        let badSubject = await engine.perform(
            OperationRequest(
                operation: .lossReport, channel: .api, caller: Self.number, subject: "12ab", password: Fixtures.password
            ))
        #expect(badSubject.reason == .invalidArgument)
    }

    @Test func billDefaultsToLastMonthAndSaysNoData() async throws {
        let usage = [
            UsageMonth(
                msisdn: Self.number, month: Month(year: 2026, month: 10), voiceUsed: 1, smsUsed: 2, dataUsedMB: 3,
                chargesFen: 4321),
            UsageMonth(
                msisdn: Self.number, month: Month(year: 2026, month: 9), voiceUsed: 1, smsUsed: 2, dataUsedMB: 3,
                chargesFen: 1234),
        ]
        let (_, engine) = try await engine([Fixtures.subscriber(Self.number)], usage: usage)
        func bill(_ month: String?) async -> OperationOutcome {
            await engine.perform(
                OperationRequest(
                    operation: .queryBill, channel: .api, caller: Self.number,
                    arguments: month.map { ["month": $0] } ?? [:], password: Fixtures.password))
        }
        #expect(await bill(nil).reply.contains("43.21"))
        #expect(await bill("202609").reply.contains("12.34"))
        #expect(await bill("2026-09").reply.contains("12.34"))
        #expect(await bill("202608").reason == .noData)
    }

    @Test func repliesInTheCustomersLanguage() async throws {
        let english = Fixtures.subscriber("18611110001", language: .english)
        let (_, engine) = try await engine([Fixtures.subscriber(Self.number), english])
        let en = await engine.perform(OperationRequest(operation: .queryBalance, channel: .sms, caller: "18611110001"))
        #expect(en.language == .english)
        #expect(en.reply.hasPrefix("Dear"))
        let zh = await engine.perform(OperationRequest(operation: .queryBalance, channel: .sms, caller: Self.number))
        #expect(zh.language == .chinese)
        #expect(zh.reply.contains("余额为123.45元"))
        // A caller who is not a subscriber gets the subject's language once the subject's password is proved
        // (before that, refusals never tell the subject's language: ThirdPartyPasswordTests).
        let fromFriend = await engine.perform(
            OperationRequest(
                operation: .lossReport, channel: .sms, caller: "13900000000", subject: "18611110001",
                password: Fixtures.password))
        #expect(fromFriend.language == .english)
        #expect(fromFriend.reply.contains("reported lost"))
        // Nobody known: Chinese.
        let nobody = await engine.perform(
            OperationRequest(operation: .queryBalance, channel: .sms, caller: "13700000000"))
        #expect(nobody.language == .chinese)
    }
}

@Suite("Pending next-month changes")
struct PendingChangeTests {
    static let number = "18612345678"

    @Test func scheduleQueryReplaceCancel() async throws {
        let store = MemoryServiceStore()
        try await Fixtures.seed(store, subscribers: [Fixtures.subscriber(Self.number)])
        let engine = try Fixtures.engine(store: store)
        func op(_ name: OperationName, _ arguments: [String: String] = [:]) async -> OperationOutcome {
            await engine.perform(
                OperationRequest(
                    operation: name, channel: .api, caller: Self.number, arguments: arguments,
                    password: Fixtures.password))
        }
        #expect(await op(.planCancel).reason == .nothingPending)
        let first = await op(.planChange, ["plan": "P18", "when": "next"])
        #expect(first.reason == .ok)
        #expect(first.reply.contains("2026-12-01"))
        let replaced = await op(.planChange, ["plan": "P58", "when": "次月"])
        #expect(replaced.reason == .ok)
        let pending = try await store.read { try $0.pendingChanges(Self.number) }
        #expect(pending.count == 1)
        #expect(pending.first?.planCode == "P58")
        #expect(pending.first?.effective == LocalDate(year: 2026, month: 12, day: 1))
        #expect(try await store.read { try $0.subscriber(Self.number) }?.planCode == "P38", "nothing changes now")
        #expect(await op(.queryPlan).reply.contains("畅享58元套餐"))
        #expect(await op(.queryServices).reply.contains("2026-12-01起变更为畅享58元套餐"))
        #expect(await op(.suspendKeep, ["when": "next"]).reason == .ok)
        let services = await op(.queryServices)
        #expect(services.reply.contains("2026-12-01起停机保号"), "\(services.reply)")
        #expect(!services.reply.contains("suspend.keep"), "no raw operation names in replies")
        let cancelled = await op(.planCancel)
        #expect(cancelled.reason == .ok)
        #expect(try await store.read { try $0.pendingChanges(Self.number) }.isEmpty)
        #expect(await op(.planCancel).reason == .nothingPending)
    }

    @Test func tickAppliesOnTheFirstLocalDayOfNextMonth() async throws {
        let store = MemoryServiceStore()
        try await Fixtures.seed(
            store, subscribers: [Fixtures.subscriber(Self.number), Fixtures.subscriber("18611110001")])
        // 2026-11-30 23:30 Beijing is still November there.
        let clock = ManualTimeSource(ISOTime.parse("2026-11-30T23:30:00+08:00")!)
        let engine = try Fixtures.engine(store: store, clock: clock)
        let request = OperationRequest(
            operation: .planChange, channel: .api, caller: Self.number, arguments: ["plan": "P18", "when": "next"],
            password: Fixtures.password)
        #expect(await engine.perform(request).reason == .ok)
        let suspend = OperationRequest(
            operation: .suspendKeep, channel: .api, caller: "18611110001", arguments: ["when": "next"],
            password: Fixtures.password)
        #expect(await engine.perform(suspend).reason == .ok)

        #expect(try await engine.applyDueChanges().isEmpty, "not due before local midnight")
        clock.set(ISOTime.parse("2026-11-30T16:00:00Z")!)  // 2026-12-01 00:00 in Beijing
        let records = try await engine.applyDueChanges()
        #expect(records.count == 2)
        #expect(records.allSatisfy { $0.result == "ok" && $0.channel == "api" && $0.session == "tick" })
        let s = try #require(try await store.read { try $0.subscriber(Self.number) })
        #expect(s.planCode == "P18")
        #expect(try await store.read { try $0.subscriber("18611110001") }?.status == .suspended)
        #expect(
            try await store.read { try $0.duePendingChanges(onOrBefore: LocalDate(year: 2030, month: 1, day: 1)) }
                .isEmpty)
        #expect(try await engine.applyDueChanges().isEmpty, "applied once")
        #expect(try store.verifyRecords().firstBreak == nil)
    }

    @Test func duePlanChangeAppliesDuringALossButNotToAWithdrawnPlan() async throws {
        let store = MemoryServiceStore()
        try await Fixtures.seed(
            store, subscribers: [Fixtures.subscriber(Self.number), Fixtures.subscriber("18611110001")])
        let clock = ManualTimeSource(Fixtures.midNovember)
        let engine = try Fixtures.engine(store: store, clock: clock)
        for (number, plan) in [(Self.number, "P18"), ("18611110001", "P58")] {
            let r = OperationRequest(
                operation: .planChange, channel: .api, caller: number, arguments: ["plan": plan, "when": "next"],
                password: Fixtures.password)
            #expect(await engine.perform(r).reason == .ok)
        }
        let report = OperationRequest(
            operation: .lossReport, channel: .api, caller: Self.number, password: Fixtures.password)
        #expect(await engine.perform(report).reason == .ok)
        try await store.write { w in
            var p = try w.plan("P58")!
            p.onSale = false
            try w.save(p)
        }
        clock.set(ISOTime.parse("2026-12-01T09:00:00+08:00")!)
        let records = try await engine.applyDueChanges()
        #expect(records.map(\.reason) == ["plan_not_eligible", "ok"], "due changes go in number order")
        #expect(try await store.read { try $0.subscriber(Self.number) }?.planCode == "P18")
        #expect(try await store.read { try $0.subscriber("18611110001") }?.planCode == "P38")
    }

    @Test func dueChangeForAnAccountNoLongerAllowedIsDroppedWithARecord() async throws {
        let store = MemoryServiceStore()
        try await Fixtures.seed(store, subscribers: [Fixtures.subscriber(Self.number)])
        let clock = ManualTimeSource(Fixtures.midNovember)
        let engine = try Fixtures.engine(store: store, clock: clock)
        let suspend = OperationRequest(
            operation: .suspendKeep, channel: .api, caller: Self.number, arguments: ["when": "next"],
            password: Fixtures.password)
        #expect(await engine.perform(suspend).reason == .ok)
        let report = OperationRequest(
            operation: .lossReport, channel: .api, caller: Self.number, password: Fixtures.password)
        #expect(await engine.perform(report).reason == .ok)
        clock.set(ISOTime.parse("2026-12-02T09:00:00+08:00")!)
        let records = try await engine.applyDueChanges()
        #expect(records.map(\.reason) == ["state_lost"])
        #expect(try await store.read { try $0.subscriber(Self.number) }?.status == .lost)
        #expect(try await store.read { try $0.pendingChanges(Self.number) }.isEmpty)
    }
}

@Suite("Formatting")
struct FormattingTests {
    @Test(arguments: [
        (0, "0.00"), (5, "0.05"), (1234, "12.34"), (100, "1.00"), (-5, "-0.05"), (-4580, "-45.80"),
        (123_456_789, "1234567.89"),
    ])
    func yuan(_ fen: Int, _ text: String) { #expect(formatYuan(fen) == text) }

    @Test func isoTimesRoundTripAtMillisecondPrecision() throws {
        for text in [
            "2026-11-01T08:00:00.3336+08:00", "2026-11-01T08:00:00.1234Z", "1969-12-31T23:59:59.9996Z",
            "2026-12-31T23:59:59.9999Z",
        ] {
            let once = ISOTime.format(try #require(ISOTime.parse(text)))
            #expect(ISOTime.format(try #require(ISOTime.parse(once))) == once, "\(text) → \(once)")
        }
        #expect(ISOTime.format(ISOTime.parse("2026-11-01T08:00:00.3336+08:00")!) == "2026-11-01T00:00:00.334Z")
        #expect(ISOTime.format(ISOTime.parse("2026-12-31T23:59:59.9999Z")!) == "2027-01-01T00:00:00.000Z")
        #expect(ISOTime.format(Date(timeIntervalSince1970: -0.5)) == "1969-12-31T23:59:59.500Z")
    }

    @Test func masking() {
        #expect(maskNumber("18612345678") == "186****5678")
        #expect(maskNumber("123") == "***")
    }

    @Test(arguments: [
        ("18612345678", "18612345678"), ("+8618612345678", "18612345678"), ("008618612345678", "18612345678"),
        ("8618612345678", "18612345678"), ("186 1234 5678", "18612345678"), ("186-1234-5678", "18612345678"),
    ])
    func numbers(_ input: String, _ expected: String) { #expect(normalizeNumber(input) == expected) }

    @Test(arguments: ["", "abc", "1234", "1234567890123456", "186１2345678"])
    func badNumbers(_ input: String) { #expect(normalizeNumber(input) == nil) }

    @Test func months() {
        #expect(Month("202611") == Month(year: 2026, month: 11))
        #expect(Month("2026-11") == Month(year: 2026, month: 11))
        #expect(Month("2026-13") == nil)
        #expect(Month("20261") == nil)
        #expect(Month(year: 2026, month: 12).next == Month(year: 2027, month: 1))
        #expect(Month(year: 2026, month: 1).previous == Month(year: 2025, month: 12))
        #expect(LocalDate(iso: "2028-02-29") != nil)
        #expect(LocalDate(iso: "2026-02-29") == nil)
    }
}
